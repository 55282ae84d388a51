"""Fault injection for the kill-and-resume tests: ``TUNELAB_FAULT=kill_at:step:N`` or
``kill_at:checkpoint:N`` SIGKILLs the process at that point. Inert unless the variable is set."""

from __future__ import annotations

import os
import signal


def maybe_fail(where: str, step: int | None) -> None:
    spec = os.environ.get("TUNELAB_FAULT", "")
    if not spec.startswith("kill_at:"):
        return
    _, place, at = spec.split(":")
    if place == where and step is not None and int(at) == step:
        os.kill(os.getpid(), signal.SIGKILL)
