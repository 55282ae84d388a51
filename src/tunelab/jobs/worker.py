"""The job worker: checks new jobs' files, then runs queued jobs one at a time on its device.

``run_worker`` is what ``tunelab serve`` starts in each worker process. A thread validates jobs in
``validating_files`` (every error named by line, before any compute is spent); the main loop
claims the oldest queued job for the device and runs it in a subprocess (``jobs.runner``; this
process never trains), sending heartbeats, stopping it within seconds on cancel, and settling
jobs whose process died: re-queued to resume from their newest checkpoint, or failed.
Every claim is a lease renewed by heartbeats (``jobs.queue``): ``reconcile_orphans`` (at start
and every few seconds) takes back only jobs whose lease ran out, so several servers and workers
can share one database. A worker started by ``tunelab serve`` watches its server and stops when
the server dies, however it died.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy.exc import SQLAlchemyError

from tunelab.errors import TunelabError
from tunelab.jobs import queue, registry, runner
from tunelab.jobs.pii import apply_pii_policy
from tunelab.jobs.states import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    VALIDATING_FILES,
    is_terminal,
)
from tunelab.models.catalog import model_context
from tunelab.settings import job_lease_seconds
from tunelab.store.db import Store, open_store
from tunelab.store.runs import has_record, list_checkpoints
from tunelab.store.tables import Job

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
STOP_GRACE_S = 10.0  # SIGTERM, then SIGKILL after this long
RECONCILE_EVERY_S = 5.0
VALIDATOR_JOIN_S = 5.0  # a validation still running at stop keeps its lease until it expires
PARENT_POLL_S = 0.5
MAX_ATTEMPTS = 3
DATABASE_URL_ENV = "TUNELAB_DATABASE_URL"


def run_worker(
    database_url: str,
    *,
    worker_id: str,
    device: str = "cpu",
    poll_s: float = 0.5,
    stop_event: threading.Event | None = None,
    parent_pid: int | None = None,
) -> None:
    """Validate and run jobs until ``stop_event`` is set (or SIGTERM/SIGINT in a main thread).

    With ``parent_pid`` (the server that started this worker) it also stops when that process
    is gone: its running job is stopped and re-queued, and the worker exits.
    """
    stop = stop_event if stop_event is not None else threading.Event()
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid, stop), daemon=True).start()
    if threading.current_thread() is threading.main_thread():
        # Event.set takes a lock the interrupted main thread may hold (inside stop.wait): set it
        # from another thread, or the handler deadlocks the worker.
        def request_stop(*_):
            threading.Thread(target=stop.set, daemon=True).start()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, request_stop)
    store = open_store(database_url)
    validator = threading.Thread(
        target=_validation_loop, args=(store, worker_id, poll_s, stop), name=f"{worker_id}-check"
    )
    validator.start()
    next_reconcile = 0.0
    try:
        while not stop.is_set():
            try:
                if time.monotonic() >= next_reconcile:
                    next_reconcile = time.monotonic() + RECONCILE_EVERY_S
                    queue.reconcile_orphans(store, job_lease_seconds(), can_resume)
                job = queue.claim_next_job(store, worker_id, device)
                if job is None:
                    stop.wait(poll_s)
                    continue
                run_claimed_job(store, job, database_url, worker_id, poll_s=poll_s, stop=stop)
            except Exception:  # a database hiccup must not end the worker
                log.exception("worker %s: error in the job loop; retrying", worker_id)
                stop.wait(max(poll_s, 2.0))
    finally:
        stop.set()
        validator.join(VALIDATOR_JOIN_S)
        store.dispose()


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    """Set ``stop`` once the parent is gone (this process is re-parented when it dies)."""
    while not stop.wait(PARENT_POLL_S):
        if os.getppid() != parent_pid:
            log.error("the server (pid %d) that started this worker is gone; stopping", parent_pid)
            stop.set()


def reconcile_on_start(store: Store) -> dict[str, str]:
    """At server start: jobs whose lease ran out (their worker died) are re-queued (they have a
    verified checkpoint to resume from) or failed with ``worker_lost``. Jobs another live server
    or worker holds are left alone; expired validation claims are taken by the next claim."""
    return queue.reconcile_orphans(store, job_lease_seconds(), can_resume)


def prepare_store(database_url: str) -> dict[str, str]:
    """What a server or a stand-alone worker does before it starts: migrate the database,
    reconcile jobs whose lease ran out, and sweep upload temp files a crash left behind."""
    from tunelab.store.artifacts import sweep_temp_files

    store = open_store(database_url)
    try:
        moved = reconcile_on_start(store)
    finally:
        store.dispose()
    for name in sweep_temp_files():
        log.info("removed %s, an upload a crash left unfinished", name)
    return moved


def can_resume(job: Job) -> bool:
    """A job may be re-queued: attempts left and a verified checkpoint in its run folder."""
    run_dir = runner.job_run_dir(job.id)
    return job.attempt < MAX_ATTEMPTS and has_record(run_dir) and bool(list_checkpoints(run_dir))


# ---------------------------------------------------------------- validating_files


def _validation_loop(store: Store, worker_id: str, poll_s: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            job = validate_next_job(store, worker_id)
        except Exception:
            log.exception("worker %s: error while validating; retrying", worker_id)
            job = None
        if job is None:
            stop.wait(poll_s)


def validate_next_job(store: Store, worker_id: str) -> Job | None:
    """Claim one job in ``validating_files``, check its files completely, and move it on:
    ``queued``, or ``failed`` with ``{code, message, param: "line N /pointer"}``. None if idle."""
    job = queue.claim_validation(store, worker_id, job_lease_seconds())
    if job is None:
        return None
    with renewed_lease(store, job.id, worker_id, VALIDATING_FILES):
        try:
            error, summary = check_job_files(store, job)
        except TunelabError as exc:
            error, summary = exc.to_dict(), ""
        except Exception:  # never leave a job stuck in validating_files
            error, summary = queue.internal_error("validating the files of job", job.id), ""
    release = {"owner": worker_id, "worker_id": None, "heartbeat_at": None}
    try:
        if error:
            failed = queue.set_status(store, job.id, FAILED, error=error, **release)
            queue.add_event(store, job.id, f"Validation failed: {failed.error['message']}", "error")
        else:
            queue.set_status(store, job.id, QUEUED, **release)
            queue.add_event(store, job.id, f"Files validated: {summary}")
    except TunelabError as exc:  # cancelled meanwhile, or the lease was lost
        log.info("job %s changed while validating: %s", job.id, exc.message)
    return queue.get_job(store, job.id)


@contextmanager
def renewed_lease(store: Store, job_id: str, worker_id: str, status: str):
    """Renew ``worker_id``'s lease on the job every ``HEARTBEAT_S`` while the block runs."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(HEARTBEAT_S):
            try:
                if not queue.heartbeat(store, job_id, worker_id, status):
                    return
            except SQLAlchemyError:
                log.warning("job %s: could not renew the lease", job_id, exc_info=True)

    thread = threading.Thread(target=renew, daemon=True, name=f"{worker_id}-lease")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def check_job_files(store: Store, job: Job) -> tuple[dict | None, str]:
    """(error or None, summary): the job's files validated as its method's training will read
    them (the method's ``check_data``)."""
    from tunelab.data.render import token_counter

    validate_file = runner.job_method(job).data_checker()
    files = runner.job_data_files(store, job)
    model_dir = _tokenizer_dir(store, job)
    count_tokens = token_counter(_tokenizer(str(model_dir)))
    context = model_context(model_dir)
    counts = []
    for role, path in files.items():
        if path is None:
            continue
        report = validate_file(
            path,
            count_tokens=count_tokens,
            max_length=context,
            min_examples=10 if role == "training_file" else 1,
        )
        if not report.ok:
            return runner.data_error(report.issues, files, job), ""
        warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
        counts.append(f"{len(report.examples)} {role.split('_')[0]} examples{warned}")
    error, scanned = apply_pii_policy(job, files)
    return error, "; ".join(counts + ([scanned] if scanned else []))


def _tokenizer_dir(store: Store, job: Job):
    from tunelab.models.load import base_model_dir

    ref = runner.base_reference(job)
    if ref.startswith("ft:"):  # a tuned model keeps its base's tokenizer and context
        ref = registry.resolve_model_id(store, ref)["base"]
    return base_model_dir(ref)


@lru_cache(maxsize=4)
def _tokenizer(model_dir: str):
    from tunelab.models.load import load_tokenizer

    return load_tokenizer(model_dir)


# ---------------------------------------------------------------- running a job


def run_claimed_job(
    store: Store,
    job: Job,
    database_url: str,
    worker_id: str,
    *,
    poll_s: float = 0.5,
    stop: threading.Event | None = None,
) -> str:
    """Run a job this worker claimed in a runner subprocess and settle it; returns how it ended:
    ``exited`` (the runner finished or died), ``cancelled``, ``lost`` (the job was taken from
    this worker) or ``stopping`` (the worker is shutting down)."""
    stop = stop if stop is not None else threading.Event()
    run_dir = runner.job_run_dir(job.id)
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tunelab.jobs.runner", "--job", job.id]
    with open(run_dir / "runner.log", "ab") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=runner_env(database_url, job.device or "cpu"),
            start_new_session=True,  # a Ctrl-C reaches the worker, which stops the runner itself
        )
    try:
        outcome = _supervise(store, process, job, worker_id, poll_s, stop)
    finally:
        if process.poll() is None:  # the worker itself is failing: never leave a runner behind
            _stop_process(process)
    _settle(store, job.id, worker_id, process.returncode, outcome)
    return outcome


def runner_env(database_url: str, device: str) -> dict:
    """The runner's environment: the database URL (it may hold a password) travels here, never
    in the command line that every user of the machine can read in ``/proc/*/cmdline``; the
    API keys the runner does not need are left out."""
    env = {k: v for k, v in os.environ.items() if k != "TUNELAB_API_KEYS"}
    env.update({DATABASE_URL_ENV: database_url, "PYTHONUNBUFFERED": "1"})
    kind, _, index = device.partition(":")
    if kind == "cuda" and index:
        env["CUDA_VISIBLE_DEVICES"] = index
    return env


def _supervise(
    store: Store, process: subprocess.Popen, job: Job, worker_id: str, poll_s: float, stop
) -> str:
    next_beat = 0.0
    while process.poll() is None:
        if stop.is_set():
            _stop_process(process)
            return "stopping"
        try:
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + HEARTBEAT_S
                if not queue.heartbeat(store, job.id, worker_id):
                    return _lost_or_finished(store, process, job.id)
                _mark_waiting(store, job)
            if queue.is_cancel_requested(store, job.id):
                _stop_process(process)
                return "cancelled"
        except SQLAlchemyError:  # keep training through a database hiccup; retry next tick
            log.warning("job %s: database error while supervising", job.id, exc_info=True)
        stop.wait(poll_s)
    return "exited"


def _lost_or_finished(store: Store, process: subprocess.Popen, job_id: str) -> str:
    """Heartbeat refused: the runner recorded a result (let it exit) or the job was taken."""
    if is_terminal(queue.get_job(store, job_id).status):
        try:
            process.wait(STOP_GRACE_S)
            return "exited"
        except subprocess.TimeoutExpired:
            pass
    log.warning("job %s is no longer this worker's; stopping its runner", job_id)
    _stop_process(process)
    return "lost"


def _stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after a grace period. Checkpoints are atomic, so either is safe."""
    process.terminate()
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _mark_waiting(store: Store, running: Job) -> None:
    """Queued jobs learn why they wait (claim_next_job does this too, but only when it polls)."""
    reason = f"waiting for device {running.device} (job {running.id} is running)"
    queue.mark_queued_waiting(store, reason)


def _settle(store: Store, job_id: str, worker_id: str, returncode: int | None, outcome: str):
    """Record the end of a run the runner did not record itself (cancel, crash, shutdown)."""
    job = queue.get_job(store, job_id)
    if job.status != RUNNING or job.worker_id != worker_id or outcome == "lost":
        return
    registry.retract_model(store, job_id)  # registered by a runner stopped while finishing
    try:
        if outcome == "cancelled" or job.cancel_requested:
            queue.set_status(store, job_id, CANCELLED, owner=worker_id)
            queue.add_event(store, job_id, "Fine-tuning job cancelled; its last checkpoint is kept")
        elif outcome == "stopping":
            reason = "re-queued: the worker stopped; the job resumes from its last checkpoint"
            queue.set_status(store, job_id, QUEUED, owner=worker_id, queue_reason=reason)
            queue.add_event(store, job_id, reason.capitalize(), level="warn")
        elif returncode not in (runner.EXIT_OK, runner.EXIT_FAILED) and can_resume(job):
            attempt = job.attempt + 1
            reason = f"re-queued after the training process died (attempt {attempt})"
            values = {"attempt": attempt, "queue_reason": reason}
            queue.set_status(store, job_id, QUEUED, owner=worker_id, **values)
            queue.add_event(store, job_id, reason.capitalize(), level="warn")
        else:
            runner.fail_job(store, job_id, _death_error(returncode, job.attempt), owner=worker_id)
    except TunelabError as exc:  # the job moved meanwhile (a late cancel, a reconcile)
        log.info("job %s changed while settling: %s", job_id, exc.message)


def _death_error(returncode: int | None, attempt: int) -> dict:
    if returncode in (runner.EXIT_OK, runner.EXIT_FAILED):
        message = f"The training process exited ({returncode}) without recording a result."
        return {"code": "internal_error", "message": message, "param": None}
    how = f"signal {-returncode}" if returncode and returncode < 0 else f"exit code {returncode}"
    message = f"The training process died ({how}) on attempt {attempt} and cannot resume."
    return {"code": "training_process_died", "message": message, "param": None}
