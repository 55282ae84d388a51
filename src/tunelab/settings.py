"""Process-wide settings read once from the environment: the home directory and its layout."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tunelab.errors import ConfigError


def home_dir() -> Path:
    """The tunelab home (``TUNELAB_HOME`` or ``~/.tunelab``), created on first use."""
    root = Path(os.environ.get("TUNELAB_HOME") or Path.home() / ".tunelab").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def model_cache_dir() -> Path:
    """Where converted base models (safetensors + tokenizer) are cached."""
    path = home_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Default parent folder of training runs."""
    path = home_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


DEFAULT_JOB_LEASE_S = 60.0


def job_lease_seconds() -> float:
    """How long a job's claim lasts without a heartbeat (``TUNELAB_JOB_LEASE_S``, default 60).

    Workers renew it every couple of seconds; only a job whose lease has run out may be taken
    by another worker or server. Every process sharing a database should use the same value.
    """
    raw = os.environ.get("TUNELAB_JOB_LEASE_S", "")
    try:
        value = float(raw) if raw else DEFAULT_JOB_LEASE_S
    except ValueError:
        value = DEFAULT_JOB_LEASE_S
    return value if value > 0 else DEFAULT_JOB_LEASE_S


def force_offline() -> None:
    """Nothing is fetched from a model hub at run time: every load is from local files."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


DEFAULT_COMPLETIONS_MAX_AGE_DAYS = 30.0
DEFAULT_COMPLETIONS_MAX_COUNT = 100_000


@dataclass(frozen=True)
class CompletionRetention:
    """How long the server keeps the chat completions it served (the feedback API refers to them).

    ``enabled`` False stores nothing. Otherwise, each time a completion is stored, rows older
    than ``max_age_days`` and all but the newest ``max_count`` rows (one per choice) are deleted;
    ``None`` means no limit of that kind. Feedback keeps its own copy of the prompt and outputs,
    so pruning a completion never changes feedback already given or its export.
    """

    enabled: bool = True
    max_age_days: float | None = DEFAULT_COMPLETIONS_MAX_AGE_DAYS
    max_count: int | None = DEFAULT_COMPLETIONS_MAX_COUNT

    def __post_init__(self) -> None:
        if self.max_age_days is not None and not self.max_age_days > 0:
            raise ValueError("max_age_days must be positive (None: no age limit)")
        if self.max_count is not None and self.max_count < 1:
            raise ValueError("max_count must be at least 1 (None: no count limit)")


def parse_retention(
    store: str, max_age_days: str | float, max_count: str | int
) -> CompletionRetention:
    """From text as the environment or the command line gives it: ``store`` ``on``/``off``;
    ``max_age_days`` and ``max_count`` numbers, ``0`` (or empty) for no limit. A bad value is a
    ``ConfigError`` naming the setting."""
    choice = str(store).strip().lower()
    if choice not in ("on", "off"):
        message = f"TUNELAB_STORE_COMPLETIONS must be on or off, not {store!r}"
        raise ConfigError(message, param="store_completions")
    age = _number(max_age_days, float, "TUNELAB_COMPLETIONS_MAX_AGE_DAYS", "max_age_days")
    count = _number(max_count, int, "TUNELAB_COMPLETIONS_MAX_COUNT", "max_count")
    return CompletionRetention(choice == "on", age or None, count or None)


def _number(raw: str | float, kind: type, name: str, param: str):
    try:
        value = kind(raw) if str(raw).strip() else kind(0)
    except ValueError:
        value = None
    if value is None or value != value or value < 0:  # NaN != NaN
        raise ConfigError(
            f"{name} must be a number, 0 or more (0: no limit), not {raw!r}", param=param
        )
    return value


def completion_retention(
    store: str | None = None, max_age_days: float | None = None, max_count: int | None = None
) -> CompletionRetention:
    """The retention of served completions: each argument given (``tunelab serve``'s options)
    wins over ``TUNELAB_STORE_COMPLETIONS`` (``on``, the default, or ``off``),
    ``TUNELAB_COMPLETIONS_MAX_AGE_DAYS`` (default 30; 0: no age limit) and
    ``TUNELAB_COMPLETIONS_MAX_COUNT`` (default 100000; 0: no count limit)."""
    env = os.environ.get
    return parse_retention(
        store if store is not None else env("TUNELAB_STORE_COMPLETIONS") or "on",
        max_age_days
        if max_age_days is not None
        else env("TUNELAB_COMPLETIONS_MAX_AGE_DAYS") or DEFAULT_COMPLETIONS_MAX_AGE_DAYS,
        max_count
        if max_count is not None
        else env("TUNELAB_COMPLETIONS_MAX_COUNT") or DEFAULT_COMPLETIONS_MAX_COUNT,
    )
