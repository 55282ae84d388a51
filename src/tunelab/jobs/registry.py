"""The model registry: fine-tuned models and their checkpoints as model ids, what to load for an
id, listing and deleting.

Ids a user sends are looked up in the database and never joined into paths.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, update

from tunelab.errors import TunelabError
from tunelab.jobs.shapes import ORGANIZATION, model_object
from tunelab.jobs.states import SUCCEEDED
from tunelab.models.catalog import BUILTINS
from tunelab.models.load import final_dir, read_run
from tunelab.store.db import Store
from tunelab.store.tables import Checkpoint, Job, Model

CHECKPOINT_KEY = re.compile(r"checkpoints/step-\d{7}")


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
    row = model_row(store, model_id)
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


def model_row(store: Store, model_id: str) -> Model | None:
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
    out = [model_object(name, 0, "tunelab") for name in bases]
    with store.session(readonly=True) as s:
        rows = s.scalars(select(Model).where(Model.deleted.is_(False)).order_by(Model.seq.desc()))
        out += [model_object(row.id, row.created_at, ORGANIZATION) for row in rows]
    return out


def get_model(
    store: Store, model_id: str, *, extra_bases: dict[str, str | Path] | None = None
) -> dict:
    """One OpenAI ``model`` object (a base or a fine-tuned model); ``model_not_found`` if none."""
    if model_id in BUILTINS or (extra_bases and model_id in extra_bases):
        return model_object(model_id, 0, "tunelab")
    row = model_row(store, model_id)
    if row is None:
        raise _model_not_found(model_id)
    return model_object(row.id, row.created_at, ORGANIZATION)


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


def register_model(store: Store, model_id: str, *, job_id: str, base: str, run_dir: Path) -> None:
    """Record a job's fine-tuned model; a resumed finish finds the row of the attempt that died
    finishing and brings it back."""
    with store.session() as s:
        row = s.scalar(select(Model).where(Model.id == model_id))
        if row is None:
            s.add(Model(id=model_id, job_id=job_id, base=base, run_dir=str(run_dir)))
        else:
            row.base, row.run_dir, row.deleted = base, str(run_dir), False


def retract_model(store: Store, job_id: str) -> None:
    """Hide a model registered by a job that did not succeed after all (stopped mid-finish)."""
    with store.session() as s:
        s.execute(update(Model).where(Model.job_id == job_id).values(deleted=True))
