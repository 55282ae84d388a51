"""The job queue: create, list, claim, heartbeat, cancel and reconcile fine-tuning jobs.

Functions take a ``Store``. Every state change is a conditional UPDATE (``WHERE status = old``) in a
write transaction, so a lost race raises ``state_conflict`` instead of overwriting. Claiming is
serialised per device (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock on the device plus
``FOR UPDATE SKIP LOCKED``), so a device never runs two jobs and a job is never claimed twice.

A claim is a lease: the claiming worker stamps ``heartbeat_at`` with the database's clock and
renews it every few seconds. Only a job whose lease has run out may be taken by anyone else, so
several servers and ``tunelab worker`` processes can share one database without taking, running
twice or failing each other's live jobs.
"""

from __future__ import annotations

import logging
import secrets
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tunelab.errors import TunelabError, hide_server_paths
from tunelab.jobs.states import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    VALIDATING_FILES,
    check_transition,
    is_terminal,
)
from tunelab.store.db import Store
from tunelab.store.tables import Checkpoint, Job, JobEvent, db_now, now

log = logging.getLogger(__name__)

MAX_LIMIT = 100
EVENT_LEVELS = ("info", "warn", "error")
EVENT_TYPES = ("message", "metrics")
_FIXED = {"seq", "id", "status", "created_at"}
SETTABLE_FIELDS = frozenset(c.key for c in Job.__table__.columns) - _FIXED


@dataclass(frozen=True)
class Page:
    """One page of a list; ``has_more`` as in OpenAI's list objects."""

    data: list[Any]
    has_more: bool


def create_job(
    store: Store,
    *,
    model: str,
    training_file: str,
    validation_file: str | None = None,
    hyperparameters: dict | None = None,
    method: dict | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    run_dir: str | None = None,
    status: str = VALIDATING_FILES,
) -> Job:
    """Record a new job in ``validating_files`` (``queued`` if its files are already checked)."""
    if status not in (VALIDATING_FILES, QUEUED):
        raise TunelabError(
            f"A new job cannot start as {status!r}.", code="invalid_state_transition"
        )
    job = Job(
        model=model,
        training_file=training_file,
        validation_file=validation_file,
        hyperparameters=hyperparameters or {},
        method=method,
        suffix=suffix,
        seed=seed,
        run_dir=run_dir,
        status=status,
    )
    with store.session() as s:
        s.add(job)
        s.flush()
        _event(s, job.id, f"Created fine-tuning job: {job.id}")
    return job


def get_job(store: Store, job_id: str) -> Job:
    """The job ``job_id``; ``job_not_found`` if there is none."""
    with store.session(readonly=True) as s:
        return _get(s, job_id)


def list_jobs(store: Store, *, after: str | None = None, limit: int = 20) -> Page:
    """Jobs newest first; ``after`` is the id of the last job of the previous page."""
    with store.session(readonly=True) as s:
        return _page(s, Job, [], after, limit)


def set_status(
    store: Store, job_id: str, new: str, *, owner: str | None = None, **fields: Any
) -> Job:
    """Move a job to ``new`` along a legal edge and set ``fields`` in the same UPDATE.

    Entering ``running`` stamps ``started_at``/``heartbeat_at``; entering a final state stamps
    ``finished_at``; re-queueing clears the worker. With ``owner`` the change happens only while
    that worker still holds the job's lease (a worker never settles a job taken from it). An
    ``error`` is stored as users will see it (``public_error``). Raises
    ``invalid_state_transition`` for an illegal edge and ``state_conflict`` if another process
    changed the job first.
    """
    unknown = set(fields) - SETTABLE_FIELDS
    if unknown:
        raise ValueError(f"not settable job fields: {sorted(unknown)}")
    if fields.get("error"):
        fields["error"] = public_error(fields["error"])
    with store.session() as s:
        job = _get(s, job_id)
        _transition(s, job, new, fields, owner)
    return get_job(store, job_id)


def public_error(error: dict) -> dict:
    """``{code, message, param}`` with server paths reduced to their last part.

    Job errors are shown to whoever can see the job; the full detail belongs in the server log.
    """
    message = hide_server_paths(str(error.get("message")))
    return {"code": error.get("code"), "message": message, "param": error.get("param")}


def claim_next_job(store: Store, worker_id: str, device: str = "cpu") -> Job | None:
    """Move the oldest queued job to ``running`` on ``device``, unless that device is busy.

    Returns the claimed job, or None (nothing queued, or the device runs a job: queued jobs then
    get a ``queue_reason`` saying what they wait for).
    """
    with store.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            key = zlib.crc32(f"tunelab-device:{device}".encode())
            s.execute(select(func.pg_advisory_xact_lock(key)))
        busy = s.scalar(select(Job.id).where(Job.status == RUNNING, Job.device == device).limit(1))
        if busy is not None:
            _mark_waiting(s, f"waiting for device {device} (job {busy} is running)")
            return None
        oldest = select(Job.id).where(Job.status == QUEUED).order_by(Job.seq).limit(1)
        job_id = s.scalar(oldest.with_for_update(skip_locked=True))
        if job_id is None:
            return None
        values = dict(worker_id=worker_id, device=device, heartbeat_at=db_now(), queue_reason=None)
        values["started_at"] = func.coalesce(Job.started_at, now())
        if not _update_if(s, job_id, QUEUED, status=RUNNING, **values):
            return None
        _event(s, job_id, f"Fine-tuning job started on {device}", data={"worker_id": worker_id})
    return get_job(store, job_id)


def heartbeat(store: Store, job_id: str, worker_id: str, status: str = RUNNING) -> bool:
    """Renew ``worker_id``'s lease on ``job_id`` (in ``status``); False if it no longer holds it."""
    with store.session() as s:
        where = (Job.id == job_id, Job.worker_id == worker_id, Job.status == status)
        result = s.execute(update(Job).where(*where).values(heartbeat_at=db_now()))
        return result.rowcount == 1


def lease_expired(lease_s: float):
    """SQL condition: the job's last heartbeat (or start) is older than ``lease_s`` seconds."""
    last_seen = func.coalesce(Job.heartbeat_at, Job.started_at, 0)
    return last_seen < db_now() - int(lease_s)


def claim_validation(store: Store, worker_id: str, lease_s: float) -> Job | None:
    """Claim the oldest job in ``validating_files`` that nobody holds (or whose lease ran out)."""
    free = or_(Job.worker_id.is_(None), lease_expired(lease_s))
    with store.session() as s:
        oldest = select(Job.id).where(Job.status == VALIDATING_FILES, free).order_by(Job.seq)
        job_id = s.scalar(oldest.limit(1))
        if job_id is None:
            return None
        where = (Job.id == job_id, Job.status == VALIDATING_FILES, free)
        claim = update(Job).where(*where).values(worker_id=worker_id, heartbeat_at=db_now())
        if s.execute(claim).rowcount != 1:
            return None
    return get_job(store, job_id)


def request_cancel(store: Store, job_id: str) -> Job:
    """Cancel a job: at once if not yet running; a running one gets ``cancel_requested``.

    The worker polls ``is_cancel_requested``, stops, and sets ``cancelled`` itself. Cancelling a
    finished job raises ``invalid_state_transition``.
    """
    with store.session() as s:
        job = _get(s, job_id)
        if job.status != RUNNING:
            _transition(s, job, CANCELLED, {})
            _event(s, job_id, "Fine-tuning job cancelled")
        elif not job.cancel_requested:
            _update_if(s, job_id, RUNNING, cancel_requested=True)
            _event(s, job_id, "Cancellation requested; stopping the job")
    return get_job(store, job_id)


def is_cancel_requested(store: Store, job_id: str) -> bool:
    """True when a cancel was requested for a running job (the worker's poll)."""
    return get_job(store, job_id).cancel_requested


def add_event(
    store: Store,
    job_id: str,
    message: str,
    level: str = "info",
    type: str = "message",
    data: dict | None = None,
) -> JobEvent:
    """Append an event (a message, or per-step metrics with ``type="metrics"``) to a job."""
    with store.session() as s:
        return _event(s, job_id, message, level, type, data)


def list_events(
    store: Store, job_id: str, *, after: str | None = None, limit: int = 20, newest_first=True
) -> Page:
    """A job's events, newest first like OpenAI (``newest_first=False`` to follow a job)."""
    with store.session(readonly=True) as s:
        _get(s, job_id)
        return _page(s, JobEvent, [JobEvent.job_id == job_id], after, limit, newest_first)


def add_checkpoint(
    store: Store, job_id: str, *, step: int, model_id: str, path_key: str, metrics: dict
) -> Checkpoint:
    """Record a complete checkpoint of a job (its files already written and verified)."""
    checkpoint = Checkpoint(
        job_id=job_id, step=step, model_id=model_id, path_key=path_key, metrics=metrics
    )
    with store.session() as s:
        _get(s, job_id)
        s.add(checkpoint)
    return checkpoint


def list_checkpoints(
    store: Store, job_id: str, *, after: str | None = None, limit: int = 10
) -> Page:
    """A job's checkpoints, newest first."""
    with store.session(readonly=True) as s:
        _get(s, job_id)
        return _page(s, Checkpoint, [Checkpoint.job_id == job_id], after, limit)


def checkpoint_steps(store: Store, job_id: str) -> set[int]:
    """The steps of a job's registered checkpoints."""
    with store.session(readonly=True) as s:
        return set(s.scalars(select(Checkpoint.step).where(Checkpoint.job_id == job_id)))


def delete_checkpoints(store: Store, job_id: str, steps: Iterable[int]) -> int:
    """Unregister a job's checkpoints at ``steps`` (their folders were pruned); returns how many."""
    steps = list(steps)
    if not steps:
        return 0
    with store.session() as s:
        where = (Checkpoint.job_id == job_id, Checkpoint.step.in_(steps))
        return s.execute(delete(Checkpoint).where(*where)).rowcount


def reconcile_orphans(
    store: Store, lease_s: float, can_resume: Callable[[Job], bool]
) -> dict[str, str]:
    """Re-queue or fail ``running`` jobs whose lease ran out (no heartbeat for ``lease_s``).

    Such a job goes back to ``queued`` (attempt+1) when ``can_resume(job)`` says so, to
    ``cancelled`` if a cancel was pending, else to ``failed`` with error code ``worker_lost``.
    Returns ``{job_id: new status}`` for the jobs it moved. A live job is never touched, whoever
    runs it; a worker whose job was moved sees ``heartbeat`` return False and must stop.
    """
    expired = lease_expired(lease_s)
    with store.session(readonly=True) as s:
        stale = list(s.scalars(select(Job).where(Job.status == RUNNING, expired)))
    moved = {}
    for job in stale:
        new, values, message = _orphan_outcome(job, can_resume)
        with store.session() as s:
            # the same worker and an expired lease: a heartbeat since the read keeps the job
            where = (Job.id == job.id, Job.status == RUNNING, expired)
            where += (Job.worker_id == job.worker_id,) if job.worker_id else ()
            if s.execute(update(Job).where(*where).values(status=new, **values)).rowcount:
                _event(s, job.id, message, level="error" if new == FAILED else "warn")
                moved[job.id] = new
    return moved


def internal_error(doing: str, job_id: str) -> dict:
    """A job error for the exception being handled: its detail goes to the log under a reference;
    the job says only that (never a traceback or a server path). Call from an ``except`` block."""
    reference = f"err-{secrets.token_hex(4)}"
    log.exception("%s %s failed [%s]", doing, job_id, reference)
    message = (
        f"An internal error stopped {doing} {job_id}; the server log has the details "
        f"under reference {reference}."
    )
    return {"code": "internal_error", "message": message, "param": None}


def _orphan_outcome(job: Job, can_resume: Callable[[Job], bool]) -> tuple[str, dict, str]:
    lost = f"Worker {job.worker_id} stopped sending heartbeats"
    if job.cancel_requested:
        return CANCELLED, {"finished_at": now()}, f"{lost}; job cancelled as requested"
    try:
        resumable = bool(can_resume(job))
    except Exception:  # a broken check must not leave the job running
        log.exception("can_resume failed for job %s; failing it", job.id)
        resumable = False
    if resumable:
        attempt = job.attempt + 1
        reason = f"re-queued after worker loss (attempt {attempt})"
        values = dict(attempt=attempt, worker_id=None, heartbeat_at=None, queue_reason=reason)
        return QUEUED, values, f"{lost}; job re-queued to resume (attempt {attempt})"
    error = {"code": "worker_lost", "message": f"{lost} and the job cannot resume.", "param": None}
    return FAILED, {"finished_at": now(), "error": error}, f"{lost}; job failed"


def _get(s: Session, job_id: str) -> Job:
    job = s.scalar(select(Job).where(Job.id == job_id))
    if job is None:
        raise _not_found(job_id)
    return job


def _not_found(job_id: str) -> TunelabError:
    message = f"No fine-tuning job {job_id!r}."
    return TunelabError(message, code="job_not_found", param="fine_tuning_job_id")


def _transition(
    s: Session, job: Job, new: str, fields: dict[str, Any], owner: str | None = None
) -> None:
    old = job.status
    check_transition(old, new)
    values = dict(fields)
    if new == RUNNING:
        values.setdefault("started_at", func.coalesce(Job.started_at, now()))
        values.setdefault("heartbeat_at", db_now())
    elif new == QUEUED and old == RUNNING:
        values.update(worker_id=None, heartbeat_at=None)
    if is_terminal(new):
        values.setdefault("finished_at", now())
    if not _update_if(s, job.id, old, owner, status=new, **values):
        raise TunelabError(
            f"Job {job.id} changed state while moving it from {old!r} to {new!r}; try again.",
            code="state_conflict",
        )


def _update_if(
    s: Session, job_id: str, expected: str, owner: str | None = None, /, **values: Any
) -> bool:
    """UPDATE the job only if its status is still ``expected`` (and ``owner`` holds it, when
    given); True if it was."""
    where = (Job.id == job_id, Job.status == expected)
    where += (Job.worker_id == owner,) if owner is not None else ()
    stmt = update(Job).where(*where).values(**values).execution_options(synchronize_session=False)
    result = s.execute(stmt)
    s.expire_all()
    return result.rowcount == 1


def _mark_waiting(s: Session, reason: str) -> None:
    stale = (Job.queue_reason.is_(None)) | (Job.queue_reason != reason)
    s.execute(update(Job).where(Job.status == QUEUED, stale).values(queue_reason=reason))


def _event(
    s: Session,
    job_id: str,
    message: str,
    level: str = "info",
    type: str = "message",
    data: dict | None = None,
) -> JobEvent:
    if level not in EVENT_LEVELS or type not in EVENT_TYPES:
        raise ValueError(f"event level must be one of {EVENT_LEVELS}, type one of {EVENT_TYPES}")
    event = JobEvent(job_id=job_id, message=message, level=level, type=type, data=data)
    s.add(event)
    try:
        s.flush()
    except IntegrityError as exc:
        raise _not_found(job_id) from exc
    return event


def _page(
    s: Session, table: Any, where: list, after: str | None, limit: int, newest_first: bool = True
) -> Page:
    if not 1 <= limit <= MAX_LIMIT:
        raise TunelabError(
            f"limit must be between 1 and {MAX_LIMIT}.", code="invalid_limit", param="limit"
        )
    query = select(table).where(*where)
    if after is not None:
        cursor = s.scalar(select(table.seq).where(table.id == after, *where))
        if cursor is None:
            raise TunelabError(
                f"No item {after!r} to list after.", code="invalid_cursor", param="after"
            )
        query = query.where(table.seq < cursor if newest_first else table.seq > cursor)
    order = table.seq.desc() if newest_first else table.seq.asc()
    rows = list(s.scalars(query.order_by(order).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)


def update_running_job(store: Store, job_id: str, **values) -> None:
    """Set fields of a job that is still running (no status change)."""
    with store.session() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.status == RUNNING).values(**values))


def mark_queued_waiting(store: Store, reason: str) -> None:
    """Tell queued jobs that do not know it yet why they wait."""
    with store.session() as s:
        where = (Job.status == QUEUED, Job.queue_reason.is_(None))
        s.execute(update(Job).where(*where).values(queue_reason=reason))


def delete_jobs(store: Store, job_ids: Iterable[str]) -> int:
    """Remove finished jobs with their events and checkpoints (a dataset deleted with everything
    derived from it); returns how many jobs went."""
    ids = sorted(set(job_ids))
    if not ids:
        return 0
    with store.session() as s:
        for table in (JobEvent, Checkpoint):
            s.execute(delete(table).where(table.job_id.in_(ids)))
        return s.execute(delete(Job).where(Job.id.in_(ids))).rowcount
