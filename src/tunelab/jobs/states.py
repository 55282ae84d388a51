"""Fine-tuning job states (OpenAI's names) and the only transitions allowed between them."""

from __future__ import annotations

from tunelab.errors import TunelabError

VALIDATING_FILES = "validating_files"
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

STATES = (VALIDATING_FILES, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})

# running -> queued is only for re-queueing a job whose worker died, so that it resumes.
TRANSITIONS: dict[str, frozenset[str]] = {
    VALIDATING_FILES: frozenset({QUEUED, FAILED, CANCELLED}),
    QUEUED: frozenset({RUNNING, CANCELLED, FAILED}),
    RUNNING: frozenset({SUCCEEDED, FAILED, CANCELLED, QUEUED}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


def is_terminal(state: str) -> bool:
    """True for states a job never leaves: succeeded, failed, cancelled."""
    return state in TERMINAL


def check_transition(old: str, new: str) -> None:
    """Raise ``invalid_state_transition`` unless ``old -> new`` is a legal edge."""
    if new not in TRANSITIONS.get(old, frozenset()):
        if old in TERMINAL:
            why = f"the job has already {old}"
        elif old not in TRANSITIONS or new not in TRANSITIONS:
            why = "unknown state"
        else:
            why = f"allowed from {old}: {', '.join(sorted(TRANSITIONS[old]))}"
        raise TunelabError(
            f"A job cannot move from {old!r} to {new!r} ({why}).",
            code="invalid_state_transition",
            param="status",
        )
