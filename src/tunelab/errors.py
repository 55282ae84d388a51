"""Error types with stable codes. Every rejection names a code, a message and a location."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
