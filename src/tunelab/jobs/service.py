"""What the API routes and the CLI call for files, fine-tuning jobs and models (OpenAI's shapes).

Routes parse, call one function here and format. Nothing here imports torch: a job only gets a
row; workers validate and train it (``jobs.worker``, ``jobs.runner``). Ids a user sends (file ids,
model ids) are looked up in the database and never joined into paths.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from tunelab.errors import TunelabError
from tunelab.jobs import queue
from tunelab.jobs.states import SUCCEEDED
from tunelab.models.catalog import BUILTINS
from tunelab.models.load import final_dir, read_run
from tunelab.store import artifacts
from tunelab.store.db import Store
from tunelab.store.tables import Checkpoint, File, Job, JobEvent, Model

FILE_PURPOSES = ("fine-tune",)
MAX_FILE_LIST = 10_000
HYPERPARAMETER_LIMITS = {  # OpenAI's names -> (type, lowest, highest); bounds as in api.schemas
    "n_epochs": (int, 1, 100),
    "batch_size": (int, 1, 1024),
    "learning_rate_multiplier": (float, 1e-6, 100.0),
}
SUFFIX_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHECKPOINT_KEY = re.compile(r"checkpoints/step-\d{7}")
SUPPORTED_METHODS = ("supervised",)
LATER_METHODS = ("dpo", "reinforcement")
ORGANIZATION = "org-local"


# ---------------------------------------------------------------- files


def create_file(
    store: Store, stream: BinaryIO | Any, filename: str, purpose: str, max_bytes: int
) -> File:
    """Stream an upload to disk under a new server id and record it; the name is display only."""
    if purpose not in FILE_PURPOSES:
        raise TunelabError(
            f"purpose must be one of {', '.join(FILE_PURPOSES)}, not {purpose!r}.",
            code="invalid_purpose",
            param="purpose",
        )
    key, size, sha256 = artifacts.save_upload(stream, max_bytes=max_bytes, prefix="file")
    row = File(
        purpose=purpose,
        filename=display_filename(filename),
        bytes=size,
        sha256=sha256,
        storage_key=key,
        status="processed",
    )
    try:
        with store.session() as s:
            s.add(row)
    except BaseException:
        artifacts.delete(key)
        raise
    return row


def display_filename(name: str | None) -> str:
    """The name as sent, without control characters, at most 255 characters; never a path."""
    cleaned = "".join(ch for ch in (name or "") if ch.isprintable()).strip()
    return cleaned[:255] or "upload.jsonl"


def list_files(
    store: Store,
    *,
    purpose: str | None = None,
    after: str | None = None,
    limit: int = MAX_FILE_LIST,
    order: str = "desc",
) -> queue.Page:
    """Files newest first (``order="asc"``: oldest first); ``after`` is the last id of a page."""
    if not 1 <= limit <= MAX_FILE_LIST:
        raise TunelabError(
            f"limit must be between 1 and {MAX_FILE_LIST}.", code="invalid_limit", param="limit"
        )
    if order not in ("asc", "desc"):
        raise TunelabError("order must be 'asc' or 'desc'.", code="invalid_order", param="order")
    query = select(File)
    if purpose is not None:
        query = query.where(File.purpose == purpose)
    with store.session(readonly=True) as s:
        if after is not None:
            cursor = s.scalar(select(File.seq).where(File.id == after))
            if cursor is None:
                raise TunelabError(
                    f"No file {after!r} to list after.", code="invalid_cursor", param="after"
                )
            query = query.where(File.seq < cursor if order == "desc" else File.seq > cursor)
        sort = File.seq.desc() if order == "desc" else File.seq.asc()
        rows = list(s.scalars(query.order_by(sort).limit(limit + 1)))
    return queue.Page(rows[:limit], len(rows) > limit)


def get_file(store: Store, file_id: str, *, param: str = "file_id") -> File:
    """The file ``file_id``; ``file_not_found`` (naming ``param``) if there is none."""
    with store.session(readonly=True) as s:
        row = s.scalar(select(File).where(File.id == file_id))
    if row is None:
        raise TunelabError(f"No such file: {file_id!r}.", code="file_not_found", param=param)
    return row


def delete_file(store: Store, file_id: str) -> File:
    """Delete a file's row and bytes; returns the deleted row."""
    with store.session() as s:
        row = s.scalar(select(File).where(File.id == file_id))
        if row is None:
            message = f"No such file: {file_id!r}."
            raise TunelabError(message, code="file_not_found", param="file_id")
        s.delete(row)
    artifacts.delete(row.storage_key)
    return row


def file_content_path(store: Store, file_id: str) -> Path:
    """Where the bytes of ``file_id`` are stored."""
    path = artifacts.path_for(get_file(store, file_id).storage_key)
    if not path.exists():
        raise TunelabError(
            f"The content of file {file_id!r} is gone.", code="file_not_found", param="file_id"
        )
    return path


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


# ---------------------------------------------------------------- fine-tuning jobs


def create_fine_tuning_job(
    store: Store,
    *,
    model: str,
    training_file: str,
    validation_file: str | None = None,
    hyperparameters: dict | None = None,
    method: dict | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    extra_bases: dict[str, str | Path] | None = None,
) -> Job:
    """Check the request and record the job in ``validating_files``; a worker takes it from there.

    ``model`` is a built-in base, a fine-tuned model id, or a name in ``extra_bases`` (an
    allow-list of local base folders given by the server's owner, e.g. tests).
    """
    base = training_base(store, model, extra_bases)
    get_file(store, training_file, param="training_file")
    if validation_file is not None:
        get_file(store, validation_file, param="validation_file")
    hp = job_hyperparameters(hyperparameters, method)
    suffix = check_suffix(suffix)
    seed = check_seed(seed)
    stored_method = {"type": "supervised", "supervised": {"hyperparameters": hp}, "base": base}
    return queue.create_job(
        store,
        model=model,
        training_file=training_file,
        validation_file=validation_file,
        hyperparameters=hp,
        method=stored_method,
        suffix=suffix,
        seed=seed,
    )


def training_base(store: Store, model: str, extra_bases: dict[str, str | Path] | None) -> str:
    """What the runner trains from: a built-in name, an allow-listed folder, or an ``ft:`` id."""
    if model in BUILTINS:
        return model
    if extra_bases and model in extra_bases:
        folder = Path(extra_bases[model])
        if not folder.is_dir():
            raise TunelabError(
                f"The base folder of model {model!r} is missing.",
                code="model_not_found",
                param="model",
            )
        return str(folder.resolve())
    if model.startswith("ft:") and _model_row(store, model) is not None:
        return model
    raise TunelabError(
        f"The model {model!r} does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )


def job_hyperparameters(hyperparameters: dict | None, method: dict | None) -> dict:
    """OpenAI's hyperparameters (top level or in ``method.supervised``), checked, auto filled."""
    given = dict(hyperparameters or {})
    if method is not None:
        kind = method.get("type") if isinstance(method, dict) else None
        if kind in LATER_METHODS:
            raise TunelabError(
                f"Method {kind!r} is not supported yet; use 'supervised'.",
                code="unsupported_method",
                param="method.type",
            )
        if kind not in SUPPORTED_METHODS:
            raise TunelabError(
                f"Unknown method type {kind!r}; use 'supervised'.",
                code="invalid_method",
                param="method.type",
            )
        inner = (method.get(kind) or {}).get("hyperparameters") or {}
        if inner and given:
            raise TunelabError(
                "Give hyperparameters either at the top level or in method.supervised, not both.",
                code="invalid_hyperparameters",
                param="hyperparameters",
            )
        given = given or dict(inner)
    result = {}
    for key, (kind, low, high) in HYPERPARAMETER_LIMITS.items():
        value = given.pop(key, None)
        result[key] = "auto" if value is None else _check_number(key, value, kind, low, high)
    if given:
        unknown = sorted(given)[0]
        raise TunelabError(
            f"Unknown hyperparameter {unknown!r}; known: {', '.join(HYPERPARAMETER_LIMITS)}.",
            code="invalid_hyperparameters",
            param=f"hyperparameters.{unknown}",
        )
    return result


def _check_number(key: str, value: Any, kind: type, low: float, high: float) -> Any:
    if value == "auto":
        return value
    number_ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and not (isinstance(value, int) or (number_ok and float(value).is_integer())):
        number_ok = False
    if not number_ok or not low <= value <= high:
        raise TunelabError(
            f"hyperparameters.{key} must be 'auto' or a {kind.__name__} from {low} to {high}.",
            code="invalid_hyperparameters",
            param=f"hyperparameters.{key}",
        )
    return kind(value)


def check_suffix(suffix: str | None) -> str | None:
    if suffix in (None, ""):
        return None
    if not isinstance(suffix, str) or not SUFFIX_PATTERN.fullmatch(suffix):
        raise TunelabError(
            "suffix must be 1 to 64 letters, digits, '-' or '_'.",
            code="invalid_suffix",
            param="suffix",
        )
    return suffix


def check_seed(seed: int | None) -> int:
    """The given seed, or a random one that is recorded so the run can be reproduced."""
    if seed is None:
        return secrets.randbelow(2**31)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise TunelabError(
            "seed must be an integer from 0 to 2147483647.", code="invalid_seed", param="seed"
        )
    return seed


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


# ---------------------------------------------------------------- models


def fine_tuned_model_id(job: Job) -> str:
    """``ft:<base name>:<suffix or tunelab>:<job id>``; a tuned base keeps its root base's name."""
    base = job.model.split(":")[1] if job.model.startswith("ft:") else job.model
    return f"ft:{base}:{job.suffix or 'tunelab'}:{job.id}"


def checkpoint_model_id(model_id: str, step: int) -> str:
    return f"{model_id}:ckpt-step-{step}"


def resolve_model_id(
    store: Store, model_id: str, *, extra_bases: dict[str, str | Path] | None = None
) -> dict:
    """What to load for ``model_id``: ``{"base", "adapter_dir", "checkpoint", "full_dir", ...}``.

    ``base`` is a built-in name or a folder; ``adapter_dir`` a PEFT adapter to put on it;
    ``full_dir`` a full model folder used instead of the base; ``checkpoint`` the training
    checkpoint a checkpoint id came from. Unknown ids raise ``model_not_found``.
    """
    spec = dict.fromkeys(("base", "adapter_dir", "checkpoint", "full_dir", "run_dir"))
    if model_id in BUILTINS:
        return spec | {"base": model_id}
    if extra_bases and model_id in extra_bases:
        return spec | {"base": str(Path(extra_bases[model_id]).resolve())}
    if not model_id.startswith("ft:"):
        raise _model_not_found(model_id)
    row = _model_row(store, model_id)
    if row is not None:
        final = final_dir(Path(row.run_dir)) if row.run_dir else None
        if final is None:
            raise _model_not_found(model_id)
        return spec | _result_dirs(Path(row.run_dir), final) | {"base": row.base}
    return spec | _checkpoint_spec(store, model_id)


def _checkpoint_spec(store: Store, model_id: str) -> dict:
    """A checkpoint of a job whose model was not deleted: running, failed and cancelled jobs'
    checkpoints are usable too. The run folder comes from the job's row, never from the id."""
    with store.session(readonly=True) as s:
        checkpoint = s.scalar(select(Checkpoint).where(Checkpoint.model_id == model_id))
        job = checkpoint and s.scalar(select(Job).where(Job.id == checkpoint.job_id))
        model = job and s.scalar(select(Model).where(Model.job_id == job.id))
    if not job or not job.run_dir or not CHECKPOINT_KEY.fullmatch(checkpoint.path_key):
        raise _model_not_found(model_id)
    if job.status == SUCCEEDED and (model is None or model.deleted):
        raise _model_not_found(model_id)  # deleting a model takes its checkpoints with it
    run_dir = Path(job.run_dir)
    export = run_dir / checkpoint.path_key.replace("checkpoints/step-", "exports/ckpt-step-")
    if not export.is_dir() or not (run_dir / "run.json").is_file():
        raise _model_not_found(model_id)
    folder = run_dir / checkpoint.path_key
    base = read_run(run_dir)["config"]["model"]  # what the checkpoint was trained on
    return _result_dirs(run_dir, export) | {
        "base": base,
        "checkpoint": folder if folder.is_dir() else None,
    }


def _result_dirs(run_dir: Path, folder: Path) -> dict:
    adapter = (folder / "adapter_config.json").exists()
    return {
        "run_dir": run_dir,
        "adapter_dir": folder if adapter else None,
        "full_dir": None if adapter else folder,
    }


def _model_row(store: Store, model_id: str) -> Model | None:
    with store.session(readonly=True) as s:
        return s.scalar(select(Model).where(Model.id == model_id, Model.deleted.is_(False)))


def _model_not_found(model_id: str) -> TunelabError:
    return TunelabError(
        f"The model {model_id!r} does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )


def list_models(store: Store, *, extra_bases: dict[str, str | Path] | None = None) -> list[dict]:
    """OpenAI ``model`` objects: the bases, then fine-tuned models newest first."""
    bases = [*BUILTINS, *(extra_bases or {})]
    out = [_model_object(name, 0, "tunelab") for name in bases]
    with store.session(readonly=True) as s:
        rows = s.scalars(select(Model).where(Model.deleted.is_(False)).order_by(Model.seq.desc()))
        out += [_model_object(row.id, row.created_at, ORGANIZATION) for row in rows]
    return out


def get_model(
    store: Store, model_id: str, *, extra_bases: dict[str, str | Path] | None = None
) -> dict:
    """One OpenAI ``model`` object (a base or a fine-tuned model); ``model_not_found`` if none."""
    if model_id in BUILTINS or (extra_bases and model_id in extra_bases):
        return _model_object(model_id, 0, "tunelab")
    row = _model_row(store, model_id)
    if row is None:
        raise _model_not_found(model_id)
    return _model_object(row.id, row.created_at, ORGANIZATION)


def _model_object(model_id: str, created: int, owner: str) -> dict:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owner}


def delete_model(store: Store, model_id: str) -> dict:
    """Hide a fine-tuned model (its files and history stay); bases cannot be deleted."""
    if model_id in BUILTINS:
        raise TunelabError(
            f"{model_id!r} is a base model; only fine-tuned models can be deleted.",
            code="model_not_deletable",
            param="model",
        )
    with store.session() as s:
        row = s.scalar(select(Model).where(Model.id == model_id, Model.deleted.is_(False)))
        if row is None:
            raise _model_not_found(model_id)
        row.deleted = True
    return {"id": model_id, "object": "model", "deleted": True}
