"""One fine-tuning job in its own process.

``python -m tunelab.jobs.runner --job ID`` with ``TUNELAB_DATABASE_URL`` in the environment: a
worker starts this for a job it claimed (``running``). It builds the SFT config from the job's
row, trains with ``run_sft``
(resuming when the run folder already holds a run), streams metrics into the job's events, and
records the result: the fine-tuned model, its checkpoints (each a usable model id) and
``succeeded``; or ``failed`` with an error naming the cause. Exit code 0: succeeded; 2: a failure
was recorded. Anything else (a signal, a crash) is for the worker to settle.

The module imports without torch (the worker uses its helpers); training code loads lazily.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import time
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from tunelab.errors import DataIssue, DataValidationError, TunelabError
from tunelab.jobs import queue, registry
from tunelab.jobs.files import get_file
from tunelab.jobs.states import FAILED, RUNNING, SUCCEEDED
from tunelab.settings import force_offline, runs_dir
from tunelab.store import artifacts
from tunelab.store.atomic import (
    MANIFEST,
    atomic_dir,
    atomic_path,
    disk_full_as_error,
    verify_manifest,
)
from tunelab.store.db import Store, open_store
from tunelab.store.tables import Job, JobEvent

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED = 0, 2
JOB_ID = re.compile(r"ftjob-[0-9a-f]{24}")
DATA_SUFFIXES = {".csv": ".csv"}  # the upload's display name picks CSV; all else is JSON Lines
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
    data_dir = job_run_dir(job.id) / "data"
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
        target = data_dir / (role + DATA_SUFFIXES.get(Path(row.filename).suffix.lower(), ".jsonl"))
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
    """A built-in name or a model folder; a LoRA ``ft:`` parent is merged into a folder once."""
    ref = base_reference(job)
    if not ref.startswith("ft:"):
        return ref
    parent = registry.resolve_model_id(store, ref)
    if parent["full_dir"] is not None:
        return str(parent["full_dir"])
    merged = run_dir / "base"
    if not (merged / "config.json").exists():
        from tunelab.models.load import load_tuned

        model, tokenizer = load_tuned(parent["run_dir"], merge=True)
        with atomic_dir(merged) as tmp:
            model.save_pretrained(str(tmp), safe_serialization=True)
            tokenizer.save_pretrained(str(tmp))
    return str(merged)


def build_config(store: Store, job: Job, run_dir: Path, files: dict):
    """The SFTConfig of a new run: OpenAI hyperparameters mapped onto the recipe's keys."""
    from tunelab.train.config import load_config

    hp = job.hyperparameters or {}
    values = {
        "model": training_base(store, job, run_dir),
        "train_file": str(files["training_file"]),
        "validation_file": str(files["validation_file"]) if files["validation_file"] else None,
        "output_dir": str(run_dir),
        "name": job.suffix or "job",
        "seed": job.seed if job.seed is not None else 42,
        "device": (job.device or "auto").split(":")[0],
    }
    if hp.get("n_epochs", "auto") != "auto":
        values["epochs"] = hp["n_epochs"]
    if hp.get("batch_size", "auto") != "auto":
        values["batch_size"] = hp["batch_size"]
    if hp.get("learning_rate_multiplier", "auto") != "auto":
        values["learning_rate_multiplier"] = hp["learning_rate_multiplier"]
    return load_config(None, values)


# ---------------------------------------------------------------- events while training


class MetricsEvents:
    """``on_metrics`` for run_sft: one ``metrics`` event per step, with validation merged in.

    A step's row waits for the evaluation row of the same step; steps replayed after a resume
    (already in the events) are not written twice. Every few seconds it checks that the job is
    still this process's to run, and exits when its worker is gone or the job moved on.
    """

    def __init__(self, store: Store, job: Job, run_dir: Path):
        self.store, self.job, self.run_dir = store, job, run_dir
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
        resolved = json.loads((self.run_dir / "run.json").read_text())["resolved"]
        self.total = resolved["total_steps"]
        multiplier = (self.job.hyperparameters or {}).get("learning_rate_multiplier", "auto")
        hp = {
            "n_epochs": resolved["epochs"],
            "batch_size": resolved["batch_size"],
            "learning_rate_multiplier": 1.0 if multiplier == "auto" else multiplier,
        }
        update_running_job(self.store, self.job.id, hyperparameters=hp)

    def flush(self) -> None:
        row, self.pending = self.pending, None
        if row is None or row["step"] <= self.last_step:
            return
        self.last_step = row["step"]
        data = {"step": row["step"], "total_steps": self.total, **_metrics(row)}
        message = f"Step {row['step']}/{self.total}: training loss={row['train_loss']:.4f}"
        if "valid_loss" in row:
            message += f", validation loss={row['valid_loss']:.4f}"
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


def _metrics(row: dict) -> dict:
    keys = ("train_loss", "valid_loss", "learning_rate", "epoch", "grad_norm", "tokens_per_second")
    out = {k: row[k] for k in keys if k in row}
    if "valid_token_accuracy" in row:
        out["valid_mean_token_accuracy"] = row["valid_token_accuracy"]
    if "valid_loss" in row:  # our validation always covers the whole validation set
        out["full_valid_loss"] = row["valid_loss"]
    return out


def last_metrics_step(store: Store, job_id: str) -> int:
    with store.session(readonly=True) as s:
        query = select(JobEvent.data).where(JobEvent.job_id == job_id, JobEvent.type == "metrics")
        data = s.scalar(query.order_by(JobEvent.seq.desc()).limit(1))
    return int((data or {}).get("step", 0))


def update_running_job(store: Store, job_id: str, **values) -> None:
    """Set fields of a job this runner still runs (no status change)."""
    with store.session() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.status == RUNNING).values(**values))


# ---------------------------------------------------------------- results


@disk_full_as_error()
def finish_job(store: Store, job: Job, run_dir: Path, report: dict, base: str) -> str:
    """Register the model (its checkpoints are registered already), then mark it ``succeeded``."""
    model_id = registry.fine_tuned_model_id(job)
    register_checkpoints(store, job, run_dir)
    registry.register_model(store, model_id, job_id=job.id, base=base, run_dir=run_dir)
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
    from tunelab.models.load import read_run
    from tunelab.train.checkpoint import list_checkpoints

    folders = {int(f.name.split("-")[1]): f for f in list_checkpoints(run_dir)}
    registered = queue.checkpoint_steps(store, job.id)
    gone = registered - set(folders)
    queue.delete_checkpoints(store, job.id, gone)
    for step in gone:
        shutil.rmtree(export_dir(run_dir, step), ignore_errors=True)
    new = sorted(set(folders) - registered)
    if not new:
        return []
    method, rows = read_run(run_dir)["config"]["method"], _metrics_by_step(run_dir)
    model_id = registry.fine_tuned_model_id(job)
    for step in new:
        export_checkpoint(run_dir, folders[step], method)
        queue.add_checkpoint(
            store,
            job.id,
            step=step,
            model_id=registry.checkpoint_model_id(model_id, step),
            path_key=f"checkpoints/{folders[step].name}",
            metrics={"step": step, **_metrics(rows.get(step, {}))},
        )
        queue.add_event(store, job.id, f"Checkpoint created at step {step}")
    return new


class CheckpointHook:
    """``on_checkpoint`` for run_sft: registers each checkpoint as it is written. A database
    hiccup costs only the delay until the next checkpoint (or the finish) registers it."""

    def __init__(self, store: Store, job: Job):
        self.store, self.job = store, job

    def __call__(self, folder: Path) -> None:
        try:
            register_checkpoints(self.store, self.job, folder.parent.parent)
        except SQLAlchemyError:
            log.warning("could not register checkpoint %s", folder.name, exc_info=True)


def export_dir(run_dir: Path, step: int) -> Path:
    return run_dir / "exports" / f"ckpt-step-{step:07d}"


def export_checkpoint(run_dir: Path, folder: Path, method: str) -> Path:
    """A checkpoint as a loadable model with a manifest: a PEFT adapter folder (LoRA) or a full
    model folder. Files other than weights (adapter or model config, tokenizer) come from the
    run's ``model_files/``, written when training starts: no ``final/`` is needed."""
    from safetensors.torch import load_file, save_file

    from tunelab.train.checkpoint import WEIGHTS
    from tunelab.train.sft import MODEL_FILES

    target = export_dir(run_dir, int(folder.name.split("-")[1]))
    if verify_manifest(target):
        return target
    with atomic_dir(target, manifest=True) as tmp:
        for item in (run_dir / MODEL_FILES).iterdir():
            if item.is_file() and item.name != MANIFEST:
                shutil.copyfile(item, tmp / item.name)
        weights = load_file(str(folder / WEIGHTS))
        if method == "lora":  # PEFT saves adapter weights without the adapter's name ("default")
            weights = {name.replace(".default.", "."): t for name, t in weights.items()}
            save_file(weights, str(tmp / "adapter_model.safetensors"), metadata={"format": "pt"})
        else:
            save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    return target


def _metrics_by_step(run_dir: Path) -> dict[int, dict]:
    rows: dict[int, dict] = {}
    path = run_dir / "metrics.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        row = json.loads(line)
        rows.setdefault(row.get("step", 0), {}).update(row)
    return rows


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
    """run_sft for the job, resuming its run folder if a run was started there."""
    from tunelab.train.sft import run_sft

    update_running_job(store, job.id, run_dir=str(run_dir))
    events = MetricsEvents(store, job, run_dir)
    hooks = {"progress": False, "on_metrics": events, "on_checkpoint": CheckpointHook(store, job)}
    if (run_dir / "run.json").exists():
        base = json.loads((run_dir / "run.json").read_text())["config"]["model"]
        message = f"Resuming the run (attempt {job.attempt})"
        queue.add_event(store, job.id, message, data={"attempt": job.attempt})
        register_checkpoints(store, job, run_dir)  # one the last attempt wrote as it died
        report = run_sft(None, resume=run_dir, **hooks)
    else:
        config = build_config(store, job, run_dir, files)
        base = config.model
        report = run_sft(config, **hooks)
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
