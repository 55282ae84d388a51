"""Process-wide settings read once from the environment: the home directory and its layout."""

from __future__ import annotations

import os
from pathlib import Path


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
