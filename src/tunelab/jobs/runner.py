"""One fine-tuning job in its own process.

``python -m tunelab.jobs.runner --job ID`` with ``TUNELAB_DATABASE_URL`` in the environment: a
worker starts this for a job it claimed (``running``). It looks the job's method up in the method
table (``train.methods``: its ``method.type``), builds that method's config from the job's row,
trains with the method's run function (resuming when the run folder already holds a run), streams
metrics into the job's events through the method's event mapping, and records the result: the
fine-tuned model, its checkpoints (each a usable model id) and ``succeeded``; or ``failed`` with
an error naming the cause. Exit code 0: succeeded; 2: a failure was recorded. Anything else (a
signal, a crash) is for the worker to settle.

The module imports without torch (the worker uses its helpers); training code loads lazily.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from tunelab.errors import DataIssue, DataValidationError, TunelabError
from tunelab.jobs import ancestry, bases, queue, registry
from tunelab.jobs.files import get_file, upload_suffix
from tunelab.jobs.pii import job_pii_policy
from tunelab.jobs.states import FAILED, RUNNING, SUCCEEDED
from tunelab.settings import force_offline, runs_dir
from tunelab.store import artifacts, runs
from tunelab.store.atomic import (
    MANIFEST,
    atomic_dir,
    atomic_path,
    disk_full_as_error,
    verify_manifest,
)
from tunelab.store.db import Store, open_store
from tunelab.store.runs import RunLayout, has_record, read_run
from tunelab.store.tables import Job, JobEvent
from tunelab.train.methods import Method, get_method, method_for_job_type

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED = 0, 2
JOB_ID = re.compile(r"ftjob-[0-9a-f]{24}")
OWNER_CHECK_S = 5.0


# ---------------------------------------------------------------- job -> files and config


def job_run_dir(job_id: str) -> Path:
    """``$TUNELAB_HOME/runs/<job id>``; the id must be one the server made."""
    if not JOB_ID.fullmatch(job_id):
        raise TunelabError(f"Not a job id: {job_id!r}.", code="job_not_found", param="job")
    return runs_dir() / job_id


@disk_full_as_error()
def job_data_files(store: Store, job: Job) -> dict[str, Path | None]:
    """The job's training and validation files, hard-linked into its run folder once.

    The link gives the reader the suffix it needs and keeps the bytes for a resume even if the
    upload is deleted later. Names come from the role, never from the user's filename.
    """
    data_dir = RunLayout(job_run_dir(job.id)).data
    data_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path | None] = {"training_file": None, "validation_file": None}
    for role in files:
        file_id = getattr(job, role)
        if file_id is None:
            continue
        existing = list(data_dir.glob(f"{role}.*"))  # temp files start with a dot
        if existing:
            files[role] = existing[0]
            continue
        row = get_file(store, file_id, param=role)
        source = artifacts.path_for(row.storage_key)
        if not source.exists():
            raise TunelabError(f"The content of {role} {file_id} is gone.", code="file_not_found")
        target = data_dir / (role + upload_suffix(row.filename))
        with atomic_path(target) as tmp:
            try:
                os.link(source, tmp)
            except OSError:  # another filesystem: copy instead
                shutil.copyfile(source, tmp)
        files[role] = target
    return files


def data_error(issues: list[DataIssue], files: dict[str, Path | None], job: Job) -> dict:
    """``{code, message, param}`` from a file's first error; param ``line N /pointer``."""
    errors = [i for i in issues if i.severity == "error"]
    first = errors[0]
    role = next((r for r, p in files.items() if p is not None and str(p) == first.file), None)
    role = role or "training_file"
    where = f"line {first.line} {first.pointer}".strip() if first.line else None
    more = f" ({len(errors) - 1} more error(s) in the file)" if len(errors) > 1 else ""
    message = f"Invalid {role} {getattr(job, role)}"
    message += f", {where}: " if where else ": "
    return {
        "code": first.code,
        "message": f"{message}{first.message}{more}",
        "param": where or role,
    }


def base_reference(job: Job) -> str:
    """What the job trains from, as the service recorded it: built-in name, folder or ``ft:`` id."""
    return (job.method or {}).get("base") or job.model


def training_base(store: Store, job: Job, run_dir: Path) -> str:
    """A built-in name or a model folder: what the job recorded, with an ``ft:`` parent (a
    version or a checkpoint) made into weights by ``jobs.bases`` (a LoRA parent merged into
    ``run_dir/base`` once: the checkpoint's adapter for a checkpoint id)."""
    return bases.trainable_base(store, base_reference(job), run_dir / "base")


def job_method(job: Job) -> Method:
    """The table's method for the job's ``method.type`` (jobs.requests checked it exists)."""
    kind = (job.method or {}).get("type", "supervised")
    method = method_for_job_type(kind)
    if method is None:
        raise TunelabError(
            f"No training method has type {kind!r} (was its plugin removed?).",
            code="invalid_method",
            param="method.type",
        )
    return method


def build_config(store: Store, job: Job, run_dir: Path, files: dict):
    """The config of a new run of the job's method: OpenAI hyperparameters mapped onto its
    keys by the method table."""
    from tunelab.train.config import load_config

    method = job_method(job)
    values = {
        "method": method.name,
        "model": training_base(store, job, run_dir),
        "train_file": str(files["training_file"]),
        "validation_file": str(files["validation_file"]) if files["validation_file"] else None,
        "output_dir": str(run_dir),
        "name": job.suffix or "job",
        "seed": job.seed if job.seed is not None else 42,
        "device": (job.device or "auto").split(":")[0],
    }
    ref = base_reference(job)
    if "update" in method.config.model_fields and ref.startswith("ft:"):  # an update
        values["update"] = {"ancestors": ancestry.ancestors_of(store, ref)}
    if "tuning" in method.config.model_fields and (job.method or {}).get("tuning"):
        values["tuning"] = job.method["tuning"]
    if "privacy" in method.config.model_fields:  # the job's privacy keys; its worker did pii
        values["privacy"] = (job.method or {}).get("privacy", {}) | {"pii": job_pii_policy(job)}
    return load_config(None, values | method.config_values(job.hyperparameters or {}))


# ---------------------------------------------------------------- events while training


class MetricsEvents:
    """``on_metrics`` for a run: one ``metrics`` event per step, with validation merged in, its
    data made by the method's event mapping.

    A step's row waits for the evaluation row of the same step; steps replayed after a resume
    (already in the events) are not written twice. Every few seconds it checks that the job is
    still this process's to run, and exits when its worker is gone or the job moved on.
    """

    def __init__(self, store: Store, job: Job, run_dir: Path, method: Method):
        self.store, self.job, self.run_dir, self.method = store, job, run_dir, method
        self.last_step = last_metrics_step(store, job.id)
        self.pending: dict | None = None
        self.total: int | None = None
        self.parent = os.getppid()
        self.checked = time.monotonic()

    def __call__(self, row: dict) -> None:
        try:
            if self.total is None:
                self._start()
            if "train_loss" in row:
                self.flush()
                self.pending = dict(row)
            elif self.pending is not None and self.pending["step"] == row.get("step"):
                self.pending.update(row)
                self.flush()
            self._check_owner()
        except SQLAlchemyError:  # a database hiccup costs an event, not the training run
            log.warning("could not record metrics of step %s", row.get("step"), exc_info=True)

    def _start(self) -> None:
        record = read_run(self.run_dir)
        self.total = record.resolved.get("total_steps")
        hp = self.method.resolved_hyperparameters(record)
        queue.update_running_job(self.store, self.job.id, hyperparameters=hp)

    def flush(self) -> None:
        row, self.pending = self.pending, None
        if row is None or row["step"] <= self.last_step:
            return
        self.last_step = row["step"]
        data = {"step": row["step"], "total_steps": self.total, **self.method.events(row)}
        message = f"Step {row['step']}/{self.total}: training loss={row['train_loss']:.4f}"
        if "valid_loss" in row:
            message += f", validation loss={row['valid_loss']:.4f}"
        if "epsilon" in row:
            message += f", epsilon spent={row['epsilon']:.2f}"
        queue.add_event(self.store, self.job.id, message, type="metrics", data=data)

    def _check_owner(self) -> None:
        if os.getppid() != self.parent:
            log.error("the worker that started this run is gone; stopping")
            os._exit(3)
        if time.monotonic() - self.checked < OWNER_CHECK_S:
            return
        self.checked = time.monotonic()
        job = queue.get_job(self.store, self.job.id)
        if job.status != RUNNING or job.worker_id != self.job.worker_id:
            log.error("job %s is %s now (worker %s); stopping", job.id, job.status, job.worker_id)
            os._exit(3)


def last_metrics_step(store: Store, job_id: str) -> int:
    with store.session(readonly=True) as s:
        query = select(JobEvent.data).where(JobEvent.job_id == job_id, JobEvent.type == "metrics")
        data = s.scalar(query.order_by(JobEvent.seq.desc()).limit(1))
    return int((data or {}).get("step", 0))


# ---------------------------------------------------------------- results


@disk_full_as_error()
def finish_job(store: Store, job: Job, run_dir: Path, report: dict, base: str) -> str:
    """Register the model version (its checkpoints are registered already) with its parent,
    data and report, then mark the job ``succeeded``."""
    model_id = registry.fine_tuned_model_id(job)
    register_checkpoints(store, job, run_dir)
    parent = base_reference(job)
    registry.register_model(
        store,
        model_id,
        job_id=job.id,
        base=base,
        run_dir=run_dir,
        parent=parent if parent.startswith("ft:") else None,
        training_file=job.training_file,
        validation_file=job.validation_file,
        report=report,
    )
    if report.get("forgetting"):  # the job object carries the forgetting table
        method = dict(job.method or {}) | {"forgetting": report["forgetting"]}
        queue.update_running_job(store, job.id, method=method)
        over = [r for r in report["forgetting"] if r["over"]]
        verdict = (
            f"{len(over)} task(s) over the forgetting threshold"
            if over
            else "no forgetting over the threshold"
        )
        queue.add_event(store, job.id, f"Forgetting measured against the starting model: {verdict}")
    queue.add_event(store, job.id, f"New fine-tuned model created: {model_id}")
    queue.add_event(store, job.id, "The job has successfully completed")
    try:
        queue.set_status(
            store,
            job.id,
            SUCCEEDED,
            owner=job.worker_id,  # a job taken from this run's worker is not this run's result
            fine_tuned_model=model_id,
            trained_tokens=report["trained_tokens"],
        )
    except TunelabError:  # cancelled while finishing: the model must not outlive the job
        registry.retract_model(store, job.id)
        raise
    return model_id


# ---------------------------------------------------------------- checkpoints


def register_checkpoints(store: Store, job: Job, run_dir: Path) -> list[int]:
    """Make the job's checkpoint rows match its verified checkpoint folders: each new one is
    exported and registered (with its step's metrics) at once, so a job that fails or is
    cancelled later keeps them listed and usable; the rows and exports of pruned ones go.
    Returns the steps registered now."""
    layout = RunLayout(run_dir)
    folders = {runs.checkpoint_step(f): f for f in runs.list_checkpoints(run_dir)}
    registered = queue.checkpoint_steps(store, job.id)
    gone = registered - set(folders)
    queue.delete_checkpoints(store, job.id, gone)
    for step in gone:
        shutil.rmtree(layout.export(step), ignore_errors=True)
    new = sorted(set(folders) - registered)
    if not new:
        return []
    events = get_method(read_run(run_dir).method, source="run.json").events
    rows = runs.metrics_by_step(run_dir)
    model_id = registry.fine_tuned_model_id(job)
    for step in new:
        export_checkpoint(run_dir, folders[step])
        queue.add_checkpoint(
            store,
            job.id,
            step=step,
            model_id=registry.checkpoint_model_id(model_id, step),
            path_key=layout.checkpoint_key(step),
            metrics={"step": step, **events(rows.get(step, {}))},
        )
        queue.add_event(store, job.id, f"Checkpoint created at step {step}")
    return new


class CheckpointHook:
    """``on_checkpoint`` for a run: registers each checkpoint as it is written. A database
    hiccup costs only the delay until the next checkpoint (or the finish) registers it."""

    def __init__(self, store: Store, job: Job):
        self.store, self.job = store, job

    def __call__(self, folder: Path) -> None:
        try:
            register_checkpoints(self.store, self.job, runs.run_dir_of(folder))
        except SQLAlchemyError:
            log.warning("could not register checkpoint %s", folder.name, exc_info=True)


def export_checkpoint(run_dir: Path, folder: Path) -> Path:
    """A checkpoint as a loadable model with a manifest: a PEFT adapter folder (LoRA: the run's
    ``model_files/`` hold an adapter config) or a full model folder. Files other than weights
    (adapter or model config, tokenizer) come from ``model_files/``, written when training
    starts: no ``final/`` is needed."""
    from safetensors.torch import load_file, save_file

    layout = RunLayout(run_dir)
    target = layout.export(runs.checkpoint_step(folder))
    if verify_manifest(target):
        return target
    with atomic_dir(target, manifest=True) as tmp:
        for item in layout.model_files.iterdir():
            if item.is_file() and item.name != MANIFEST:
                shutil.copyfile(item, tmp / item.name)
        weights = load_file(str(folder / runs.CHECKPOINT_WEIGHTS))
        if runs.is_adapter(layout.model_files):
            weights = runs.peft_saved_names(weights)
            save_file(weights, str(tmp / runs.ADAPTER_WEIGHTS), metadata={"format": "pt"})
        else:
            save_file(weights, str(tmp / runs.MODEL_WEIGHTS), metadata={"format": "pt"})
    return target


def fail_job(store: Store, job_id: str, error: dict, *, owner: str | None = None) -> None:
    """Mark the job ``failed`` with ``error`` unless something else settled it first (or, with
    ``owner``, the job is no longer that worker's)."""
    try:
        failed = queue.set_status(store, job_id, FAILED, owner=owner, error=error)
    except TunelabError as exc:
        log.warning("could not mark job %s failed: %s", job_id, exc.message)
        return
    message = f"Fine-tuning job failed: {failed.error['message']}"
    queue.add_event(store, job_id, message, level="error")


# ---------------------------------------------------------------- the process


def run_job(store: Store, job_id: str) -> int:
    """Train the running job ``job_id`` and record how it ended; returns the exit code."""
    job = queue.get_job(store, job_id)
    if job.status != RUNNING:
        log.error("job %s is %s, not running; nothing to do", job_id, job.status)
        return EXIT_FAILED
    run_dir = job_run_dir(job.id)
    files: dict = {}
    owner = job.worker_id  # a job taken from this run's worker is not this run's to settle
    try:
        files = job_data_files(store, job)
        report, base = train_job(store, job, run_dir, files)
        finish_job(store, job, run_dir, report, base)
    except DataValidationError as exc:
        fail_job(store, job.id, data_error(exc.issues, files, job), owner=owner)
        return EXIT_FAILED
    except TunelabError as exc:
        fail_job(store, job.id, exc.to_dict(), owner=owner)
        return EXIT_FAILED
    except Exception:
        fail_job(store, job.id, queue.internal_error("training job", job.id), owner=owner)
        return EXIT_FAILED
    return EXIT_OK


def train_job(store: Store, job: Job, run_dir: Path, files: dict) -> tuple[dict, str]:
    """The job's method run on it, resuming its run folder if a run was started there."""
    queue.update_running_job(store, job.id, run_dir=str(run_dir))
    if has_record(run_dir):
        record = read_run(run_dir)
        method, base = get_method(record.method, source="run.json"), record.base_model
        config = None
    else:
        method = job_method(job)
        config = build_config(store, job, run_dir, files)
        base = config.model
    events = MetricsEvents(store, job, run_dir, method)
    hooks = {"progress": False, "on_metrics": events, "on_checkpoint": CheckpointHook(store, job)}
    run = method.run_function()
    if config is None:
        message = f"Resuming the run (attempt {job.attempt})"
        queue.add_event(store, job.id, message, data={"attempt": job.attempt})
        register_checkpoints(store, job, run_dir)  # one the last attempt wrote as it died
        report = run(None, resume=run_dir, **hooks)
    else:
        report = run(config, **hooks)
    events.flush()
    return report, base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tunelab.jobs.runner", description="Run one claimed fine-tuning job."
    )
    parser.add_argument("--job", required=True, help="Id of a running job (ftjob-...).")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TUNELAB_DATABASE_URL"),
        help="The server's database URL (default: $TUNELAB_DATABASE_URL, which workers set: a "
        "URL in the arguments is readable by every user of the machine).",
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set TUNELAB_DATABASE_URL (or pass --database-url)")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    force_offline()
    store = open_store(args.database_url)
    try:
        return run_job(store, args.job)
    finally:
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
