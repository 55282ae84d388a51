"""Fault injection for the kill-and-resume and full-disk tests, inert unless ``TUNELAB_FAULT``
is set: ``kill_at:step:N`` or ``kill_at:checkpoint:N`` SIGKILLs the process at that point;
``enospc_at:checkpoint:N`` raises ``OSError(ENOSPC)`` there, as a full disk would;
``slow_steps:SECONDS`` makes every step take that much longer (a job that is still running when
a multi-process test acts, whatever early stopping decides)."""

from __future__ import annotations

import errno
import os
import signal
import time


def maybe_fail(where: str, step: int | None) -> None:
    spec = os.environ.get("TUNELAB_FAULT", "")
    if spec.startswith("slow_steps:") and where == "step":
        time.sleep(float(spec.split(":")[1]))
        return
    if not spec.startswith(("kill_at:", "enospc_at:")):
        return
    kind, place, at = spec.split(":")
    if place != where or step is None or int(at) != step:
        return
    if kind == "enospc_at":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.kill(os.getpid(), signal.SIGKILL)
