"""A small HTTP client for the CLI: the server at ``TUNELAB_URL`` with ``TUNELAB_API_KEY``.

Every failure becomes a ``TunelabError`` (printed by ``cli.main`` as ``error [code]: message``,
exit status 2): a server that is not running, and the server's own OpenAI-shaped errors.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tunelab.errors import TunelabError

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_S = 30.0


def server_url() -> str:
    """``TUNELAB_URL`` without a trailing slash (default http://127.0.0.1:8000)."""
    return (os.environ.get("TUNELAB_URL") or DEFAULT_URL).rstrip("/")


class Client:
    """``get``/``post``/``delete`` return the decoded JSON body or raise ``TunelabError``."""

    def __init__(self, url: str | None = None, api_key: str | None = None):
        self.url = (url or server_url()).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("TUNELAB_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT_S)

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self._send("GET", path, params=clean)

    def post(self, path: str, json: dict | None = None) -> Any:
        return self._send("POST", path, json=json)

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path)

    def upload(self, path: Path, purpose: str) -> Any:
        with open(path, "rb") as fh:
            files = {"file": (path.name, fh, "application/octet-stream")}
            return self._send("POST", "/v1/files", data={"purpose": purpose}, files=files)

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TunelabError(
                f"cannot reach tunelab server at {self.url}; start it with `tunelab serve`",
                code="server_unreachable",
            ) from exc
        except httpx.TransportError as exc:
            raise TunelabError(
                f"lost the connection to the tunelab server at {self.url}: {exc}",
                code="server_connection_error",
            ) from exc
        if response.is_success:
            return response.json()
        raise _server_error(response)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _server_error(response: httpx.Response) -> TunelabError:
    try:
        error = response.json()["error"]
        message, code, param = error["message"], error.get("code"), error.get("param")
    except (ValueError, KeyError, TypeError):
        message, code, param = response.text[:300] or response.reason_phrase, None, None
    return TunelabError(
        f"{message} (HTTP {response.status_code})",
        code=code or f"http_{response.status_code}",
        param=param,
    )


def path_part(value: str) -> str:
    """Quote an id as one path segment (model ids contain ':', which stays readable)."""
    return quote(value, safe=":")


def format_time(ts: int | None) -> str:
    """Unix seconds as local ``YYYY-MM-DD HH:MM:SS``; ``-`` for none."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def format_table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """Left-aligned columns, two spaces apart; ``-`` for empty cells."""
    cells = [[str(v) if v not in (None, "") else "-" for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
    lines = [header, *cells]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=1))
