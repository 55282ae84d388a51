"""Request plumbing shared by the routes: the store, id checks, API keys and
body-size limits.

The two guards are plain ASGI middleware rather than per-route dependencies, so that a route added
later (or by another module, like chat) cannot forget them: every path except ``/health`` needs a
key when auth is on, and no body is read past its limit.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tunelab.api.errors import error_response
from tunelab.errors import TunelabError
from tunelab.jobs.queue import Page
from tunelab.store.db import Store

OPEN_PATHS = frozenset({"/health"})
PAGE_PREFIX = "/ui/"  # the web UI's page shells and static files: the same for everyone, no data


def is_open(path: str) -> bool:
    """Paths served without an API key: ``/health`` and the web UI's shells (``/``, ``/ui/...``),
    whose scripts then call the API with the key the user gives them."""
    return path in OPEN_PATHS or path == "/" or path.startswith(PAGE_PREFIX)


MAX_ID_CHARS = 256
JSON_BODY_LIMIT = 16 * 1024 * 1024
MULTIPART_OVERHEAD = 1024 * 1024  # boundaries, headers and the purpose field around the file


def get_store(request: Request) -> Store:
    """The app's open store (``app.state.store``)."""
    return request.app.state.store


def check_id(value: str, *, code: str, param: str, what: str) -> str:
    """Reject ids that cannot exist before they reach the database (NUL breaks PostgreSQL).

    Ids are only ever looked up; this is not what keeps paths safe, it keeps the errors 404s.
    """
    if len(value) > MAX_ID_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise TunelabError(f"No {what} {value[:64]!r}.", code=code, param=param)
    return value


def list_object(page: Page, to_openai: Callable[[Any], dict]) -> dict:
    """OpenAI's cursor list: ``{"object": "list", "data", "has_more", "first_id", "last_id"}``."""
    data = [to_openai(row) for row in page.data]
    return {
        "object": "list",
        "data": data,
        "has_more": page.has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def key_matches(given: str, keys: Iterable[bytes]) -> bool:
    """Constant-time comparison against every key (no early exit on the first match)."""
    candidate = given.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key)
    return found


class AuthMiddleware:
    """401 for every request without ``Authorization: Bearer <one of the keys>``, except /health."""

    def __init__(self, app: ASGIApp, *, api_keys: list[str]):
        if not api_keys:
            raise ValueError("auth is required but no API keys were given")
        self.app = app
        self.keys = [k.encode() for k in api_keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip() and key_matches(token.strip(), self.keys):
            await self.app(scope, receive, send)
            return
        message = (
            "Incorrect API key provided."
            if header
            else "Missing API key: send Authorization: Bearer <key>."
        )
        response = error_response(401, message, code="invalid_api_key")
        await response(scope, receive, send)


class RequestTooLarge(TunelabError, HTTPException):
    """413 for a body or file over its limit.

    An ``HTTPException`` too, so that FastAPI passes it on unchanged when it is raised while a
    JSON body is read (it turns other errors there into a generic 400).
    """

    def __init__(self, message: str, *, code: str = "request_too_large", param: str | None = None):
        TunelabError.__init__(self, message, code=code, param=param)
        # set after: TunelabError's super().__init__(message) reaches HTTPException.__init__
        self.status_code, self.detail, self.headers = 413, message, None

    def __str__(self) -> str:
        return self.message


class BodyLimitMiddleware:
    """Refuse bodies over a limit: at once by Content-Length, else as soon as the count passes it.

    Uploads (``POST /v1/files``) get the upload cap plus room for the multipart framing; every
    other route gets ``JSON_BODY_LIMIT``. The upload route enforces the exact file cap itself.
    """

    def __init__(self, app: ASGIApp, *, max_upload_bytes: int):
        self.app = app
        self.upload_limit = max_upload_bytes + MULTIPART_OVERHEAD

    def limit_for(self, scope: Scope) -> tuple[int, str]:
        """(limit in bytes, error code) for this request."""
        if scope["method"] == "POST" and scope["path"].rstrip("/") == "/v1/files":
            return self.upload_limit, "file_too_large"
        return JSON_BODY_LIMIT, "request_too_large"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, code = self.limit_for(scope)
        too_large = f"The request body is larger than the limit of {limit} bytes."
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await error_response(413, too_large, code=code)(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise RequestTooLarge(too_large, code=code)
            return message

        async def closing_send(message: Message) -> None:
            # After a 413 the rest of the body is unread: uvicorn would drain it from a
            # keep-alive connection (a 1 GB upload in full), so ask it to close instead.
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, limited_receive, closing_send)
