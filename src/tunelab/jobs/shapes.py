"""tunelab's rows in OpenAI's shapes: ``file``, ``fine_tuning.job``, its events and checkpoints,
``model``. Formatting only: no database access."""

from __future__ import annotations

from tunelab.store.tables import Checkpoint, File, Job, JobEvent

HYPERPARAMETER_LIMITS = {  # OpenAI's names -> (type, lowest, highest); bounds as in api.schemas
    "n_epochs": (int, 1, 100),
    "batch_size": (int, 1, 1024),
    "learning_rate_multiplier": (float, 1e-6, 100.0),
}

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
    hp = {key: (job.hyperparameters or {}).get(key, "auto") for key in HYPERPARAMETER_LIMITS}
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
        "method": {"type": "supervised", "supervised": {"hyperparameters": hp}},
        "suffix": job.suffix,
        "user_provided_suffix": job.suffix,
        "estimated_finish": None,
        "integrations": [],
        "metadata": None,
        # tunelab's addition: why a queued job waits (e.g. another job holds the device)
        "queue_reason": job.queue_reason if job.status == "queued" else None,
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
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}
