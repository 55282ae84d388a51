"""Error types with stable codes. Every rejection names a code, a message and a location."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from functools import lru_cache

# An absolute path of two or more parts, not inside a word, a URL or a relative path (``../x``).
_ABSOLUTE_PATH = re.compile(r"(?<![\w./~:-])/([\w.@+~-]+)(?:/[\w.@+~-]+)+/?")
# Top-level folders a server path may start with, besides those of this machine's ``/``.
_COMMON_ROOTS = frozenset(
    "home root tmp usr opt srv var etc mnt media data work run Users Volumes private nix".split()
)


@dataclass(frozen=True)
class DataIssue:
    """One problem found in a data file.

    ``line`` is 1-based in the file as stored (CRLF and blank lines counted); ``pointer`` is a JSON
    pointer into that line's record (``/messages/2/content``), empty for the whole record.
    """

    code: str
    message: str
    file: str = ""
    line: int | None = None
    pointer: str = ""
    severity: str = "error"  # "error" stops training; "warning" is reported only

    def location(self) -> str:
        parts = [self.file or "<data>"]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.pointer:
            parts.append(self.pointer)
        return ":".join(parts[:1]) + ("" if len(parts) == 1 else " " + ", ".join(parts[1:]))

    def __str__(self) -> str:
        return f"{self.location()}: [{self.code}] {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


def hide_server_paths(text: str) -> str:
    """``text`` with server paths cut to their last part (``/srv/models/tiny`` -> ``tiny``).

    Messages shown to users (API errors, ``job.error``) never reveal the server's layout; callers
    log the full text. Only paths under a real top-level folder count, so JSON pointers such as
    ``/messages/0/content`` in a data error stay as they are.
    """

    def cut(match: re.Match) -> str:
        if match.group(1) not in _filesystem_roots():
            return match.group(0)
        return match.group(0).rstrip("/").rsplit("/", 1)[-1]

    return _ABSOLUTE_PATH.sub(cut, text)


@lru_cache(maxsize=1)
def _filesystem_roots() -> frozenset[str]:
    try:
        return _COMMON_ROOTS | frozenset(os.listdir("/"))
    except OSError:
        return _COMMON_ROOTS


class TunelabError(Exception):
    """Base of every error shown to a user: a stable ``code`` and a human message."""

    code = "tunelab_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.param = param

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "param": self.param}


class DataValidationError(TunelabError):
    """A data file failed validation; ``issues`` lists every error found (not just the first)."""

    code = "invalid_data"

    def __init__(self, issues: list[DataIssue]):
        self.issues = issues
        errors = [i for i in issues if i.severity == "error"]
        head = "\n".join(str(i) for i in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        first = errors[0] if errors else None
        super().__init__(
            f"{len(errors)} error(s) in the data:\n{head}{more}",
            code=first.code if first else self.code,
            param=f"line {first.line}{first.pointer}" if first and first.line else None,
        )


class ConfigError(TunelabError):
    """A configuration value is invalid; the message names the user's key."""

    code = "invalid_config"


class ModelError(TunelabError):
    """A model cannot be found or must not be loaded (pickle weights, remote code)."""

    code = "invalid_model"


class CheckpointError(TunelabError):
    """A checkpoint is incomplete or its manifest does not verify."""

    code = "invalid_checkpoint"


class ChatTemplateError(ModelError):
    """The model's chat template refused or failed to render a conversation (for example one that
    demands strict user/assistant alternation). ``message`` is the template's own text."""

    code = "template_error"
