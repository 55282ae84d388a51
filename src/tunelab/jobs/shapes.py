"""tunelab's rows in OpenAI's shapes: ``file``, ``fine_tuning.job``, its events and checkpoints,
``model``, and tunelab's model versions and aliases. Formatting only: no database access."""

from __future__ import annotations

import os
from pathlib import Path

from tunelab.jobs.records import shown_path
from tunelab.store.tables import Checkpoint, File, Job, JobEvent, Model
from tunelab.train.methods import method_for_job_type

ORGANIZATION = "org-local"


def file_to_openai(row: File) -> dict:
    """OpenAI's ``file`` object."""
    return {
        "id": row.id,
        "object": "file",
        "bytes": row.bytes,
        "created_at": row.created_at,
        "filename": row.filename,
        "purpose": row.purpose,
        "status": row.status,
        "status_details": None,
    }


def job_to_openai(job: Job) -> dict:
    """OpenAI's ``fine_tuning.job`` object."""
    kind = (job.method or {}).get("type", "supervised")
    given = job.hyperparameters or {}
    method = method_for_job_type(kind)  # None when the plugin that had it is gone
    hp = {key: given.get(key, "auto") for key in (method.hyperparameters if method else given)}
    return {
        "id": job.id,
        "object": "fine_tuning.job",
        "model": job.model,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "fine_tuned_model": job.fine_tuned_model,
        "organization_id": ORGANIZATION,
        "result_files": [],
        "status": job.status,
        "validation_file": job.validation_file,
        "training_file": job.training_file,
        "hyperparameters": hp,
        "trained_tokens": job.trained_tokens,
        "error": _error(job.error),
        "seed": job.seed,
        "method": {"type": kind, kind: {"hyperparameters": hp}},
        "suffix": job.suffix,
        "user_provided_suffix": job.suffix,
        "estimated_finish": None,
        "integrations": [],
        "metadata": None,
        # tunelab's addition: why a queued job waits (e.g. another job holds the device)
        "queue_reason": job.queue_reason if job.status == "queued" else None,
        # tunelab's: task, parent, new, change, over the threshold (eval.forgetting), once done
        "forgetting": (job.method or {}).get("forgetting"),
        "tuning": (job.method or {}).get("tuning", "lora"),  # tunelab's: lora or full
    }


def _error(error: dict | None) -> dict | None:
    if not error:
        return None
    return {"code": error.get("code"), "message": error.get("message"), "param": error.get("param")}


def event_to_openai(event: JobEvent) -> dict:
    """OpenAI's ``fine_tuning.job.event`` object."""
    return {
        "id": event.id,
        "object": "fine_tuning.job.event",
        "created_at": event.created_at,
        "level": event.level,
        "message": event.message,
        "data": event.data or {},
        "type": event.type,
    }


def checkpoint_to_openai(checkpoint: Checkpoint) -> dict:
    """OpenAI's ``fine_tuning.job.checkpoint`` object; its model id is usable for chat."""
    return {
        "id": checkpoint.id,
        "object": "fine_tuning.job.checkpoint",
        "created_at": checkpoint.created_at,
        "fine_tuned_model_checkpoint": checkpoint.model_id,
        "step_number": checkpoint.step,
        "metrics": checkpoint.metrics or {},
        "fine_tuning_job_id": checkpoint.job_id,
    }


def model_object(model_id: str, created: int, owner: str) -> dict:
    """OpenAI's ``model`` object (a base model's whole object)."""
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}


def root_base(model_id: str) -> str:
    """The base a version descends from, as its id names it (``ft:<base>:...``)."""
    return model_id.split(":")[1] if model_id.startswith("ft:") else model_id


def version_object(row: Model, aliases: list[str] | None = None) -> dict:
    """A model version: OpenAI's ``model`` fields plus tunelab's record of it. Paths are
    relative to ``TUNELAB_HOME``; deleted versions are never listed."""
    run_dir = Path(row.run_dir) if row.run_dir else None
    artifacts = row.artifacts or {}

    def shown(name: str | None) -> str | None:
        return shown_path(run_dir / name) if name and run_dir else None

    return model_object(row.id, row.created_at, ORGANIZATION) | {
        "base": root_base(row.id),
        "parent": row.parent,
        "method": row.method,
        "tuning": row.tuning,
        "job_id": row.job_id,
        "training_file": _data_file(row.training_file, row.training_sha256),
        "validation_file": _data_file(row.validation_file, row.validation_sha256),
        "config": _shown_paths(row.config),
        "metrics": row.metrics or [],
        "report": shown_path(row.report_path),
        "size_bytes": row.size_bytes,
        "artifacts": {
            "adapter": shown(artifacts.get("adapter")),
            "weights": shown(artifacts.get("weights")),
            "merged_parent": shown(artifacts.get("merged_parent")),
            "checkpoints": [shown(p) for p in artifacts.get("checkpoints") or []],
        },
        "aliases": aliases or [],
    }


def checkpoint_object(checkpoint: Checkpoint) -> dict:
    """A checkpoint as a ``model`` (its id chats, trains further and takes aliases)."""
    return model_object(checkpoint.model_id, checkpoint.created_at, ORGANIZATION) | {
        "base": root_base(checkpoint.model_id),
        "kind": "checkpoint",
        "job_id": checkpoint.job_id,
        "step": checkpoint.step,
        "metrics": checkpoint_metric_rows(checkpoint.metrics),
    }


def checkpoint_metric_rows(metrics: dict | None) -> list[dict]:
    keys = ("valid_loss", "train_loss", "valid_mean_token_accuracy")
    found = [(k, (metrics or {}).get(k)) for k in keys]
    return [
        {"metric": k, "base": None, "tuned": v, "change": None} for k, v in found if v is not None
    ]


def alias_object(state: dict) -> dict:
    """tunelab's ``model.alias``: ``name``, ``model`` (its target), ``previous`` (where a
    rollback goes), times and ``history`` (newest first)."""
    return {"object": "model.alias", **state}


def _data_file(file_id: str | None, sha256: str | None) -> dict | None:
    return {"id": file_id, "sha256": sha256} if file_id or sha256 else None


def _shown_paths(value):
    """A config with every absolute path made relative to the home (no server layout shown)."""
    if isinstance(value, dict):
        return {k: _shown_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown_paths(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return shown_path(value)
    return value
