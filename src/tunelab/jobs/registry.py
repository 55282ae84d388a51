"""The model registry: every model version (a job's result, a checkpoint, a registered local
run) as a model id with its lineage and record; what to load for an id or an alias; listing.

Ids a user sends are looked up in the database and never joined into paths. Aliases live in
``jobs.aliases``; deleting and garbage collection in ``jobs.removal``; what a version records,
read from its run folder, in ``jobs.records``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy import select, update

from tunelab.errors import TunelabError
from tunelab.jobs import aliases, records

# deleting and garbage collection are the registry's too; they live in their own module
from tunelab.jobs.removal import collect_garbage, delete_model, model_users  # noqa: F401
from tunelab.jobs.shapes import (
    checkpoint_metric_rows,
    checkpoint_object,
    model_object,
    root_base,
    version_object,
)
from tunelab.jobs.states import SUCCEEDED
from tunelab.models.catalog import BUILTINS
from tunelab.store.db import Store
from tunelab.store.runs import final_dir
from tunelab.store.tables import Checkpoint, File, Job, Model

CHECKPOINT_KEY = re.compile(r"checkpoints/step-\d{7}")
CHECKPOINT_SUFFIX = re.compile(r":ckpt-step-\d+$")
ID_PART = re.compile(r"[^A-Za-z0-9._-]+")
MAX_LINEAGE = 64


def fine_tuned_model_id(job: Job) -> str:
    """``ft:<base name>:<suffix or tunelab>:<job id>``; a tuned base keeps its root base's name
    (for a job asked for by alias, that of the version the alias named)."""
    ref = job.model
    recorded = (job.method or {}).get("base") or ""
    if not ref.startswith("ft:") and ref not in BUILTINS:  # an alias or an allow-listed base
        ref = recorded if recorded.startswith("ft:") or recorded in BUILTINS else ref
    return f"ft:{root_base(ref)}:{job.suffix or 'tunelab'}:{job.id}"


def checkpoint_model_id(model_id: str, step: int) -> str:
    return f"{model_id}:ckpt-step-{step}"


def resolve_model_id(
    store: Store, model_id: str, *, extra_bases: dict[str, str | Path] | None = None
) -> dict:
    """What to load for ``model_id``: ``{"base", "adapter_dir", "checkpoint", "full_dir", ...}``.

    ``base`` is a built-in name or a folder; ``adapter_dir`` a PEFT adapter to put on it;
    ``full_dir`` a full model folder used instead of the base; ``checkpoint`` the training
    checkpoint a checkpoint id came from. An alias resolves to its target. Unknown ids raise
    ``model_not_found``.
    """
    spec = dict.fromkeys(("base", "adapter_dir", "checkpoint", "full_dir", "run_dir"))
    if model_id in BUILTINS:
        return spec | {"base": model_id}
    if extra_bases and model_id in extra_bases:
        return spec | {"base": str(Path(extra_bases[model_id]).resolve())}
    if not model_id.startswith("ft:"):
        target = aliases.resolve_alias(store, model_id)
        if target is None:
            raise _model_not_found(model_id)
        return resolve_model_id(store, target, extra_bases=extra_bases)  # never another alias
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
    base = records.read_run_record(run_dir)["config"]["model"]  # what it was trained on
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
    """The live (not deleted) row of version ``model_id``."""
    with store.session(readonly=True) as s:
        return s.scalar(select(Model).where(Model.id == model_id, Model.deleted.is_(False)))


def concrete_model_id(store: Store, model_id: str) -> str:
    """The id an alias points at; any other id as given."""
    if model_id.startswith("ft:") or model_id in BUILTINS:
        return model_id
    return aliases.resolve_alias(store, model_id) or model_id


def _model_not_found(model_id: str) -> TunelabError:
    return TunelabError(
        f"The model {model_id!r} does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )


# ---------------------------------------------------------------- listing and lineage


def list_models(store: Store, *, extra_bases: dict[str, str | Path] | None = None) -> list[dict]:
    """OpenAI ``model`` objects: the bases, then model versions newest first (with tunelab's
    fields: parent, method, data, config, metrics, report, size, artifacts, aliases)."""
    bases = [*BUILTINS, *(extra_bases or {})]
    out = [model_object(name, 0, "tunelab") for name in bases]
    named = aliases.aliases_by_target(store)
    with store.session(readonly=True) as s:
        rows = s.scalars(select(Model).where(Model.deleted.is_(False)).order_by(Model.seq.desc()))
        out += [version_object(row, named.get(row.id)) for row in rows]
    return out


def get_model(
    store: Store, model_id: str, *, extra_bases: dict[str, str | Path] | None = None
) -> dict:
    """One model object (a base, a version or a checkpoint, or the target of an alias, which
    adds ``alias``) with its ``lineage``; ``model_not_found`` if none."""
    if model_id in BUILTINS or (extra_bases and model_id in extra_bases):
        return model_object(model_id, 0, "tunelab")
    target = concrete_model_id(store, model_id)
    if target in BUILTINS:
        found = model_object(target, 0, "tunelab")
    else:
        found = _version_or_checkpoint(store, target)
        found["lineage"] = lineage(store, target)
    return found | ({"alias": model_id} if target != model_id else {})


def _version_or_checkpoint(store: Store, model_id: str) -> dict:
    if not model_id.startswith("ft:"):
        raise _model_not_found(model_id)
    row = model_row(store, model_id)
    if row is not None:
        return version_object(row, aliases.aliases_by_target(store).get(row.id))
    with store.session(readonly=True) as s:
        checkpoint = s.scalar(select(Checkpoint).where(Checkpoint.model_id == model_id))
    if checkpoint is None:
        raise _model_not_found(model_id)
    resolve_model_id(store, model_id)  # model_not_found once its model is deleted
    return checkpoint_object(checkpoint)


def lineage(store: Store, model_id: str) -> list[dict]:
    """The chain from the root base to ``model_id``: ``[{id, kind, method, metrics, deleted}]``
    with ``kind`` ``base``, ``model`` or ``checkpoint``; a deleted ancestor stays in the chain."""
    chain, current, seen = [], model_id, set()
    with store.session(readonly=True) as s:
        while current and current.startswith("ft:") and current not in seen:
            seen.add(current)
            step, current = _lineage_step(s, current)
            if step is None or len(chain) >= MAX_LINEAGE:
                break
            chain.append(step)
    root = {"id": root_base(model_id), "kind": "base", "method": None, "tuning": None}
    return [root | {"metrics": [], "deleted": False}, *reversed(chain)]


def _lineage_step(s, model_id: str) -> tuple[dict | None, str | None]:
    """(this version's entry, its parent's id)."""
    row = s.scalar(select(Model).where(Model.id == model_id))
    if row is not None:
        entry = {"id": row.id, "kind": "model", "method": row.method, "tuning": row.tuning}
        return entry | {"metrics": row.metrics or [], "deleted": bool(row.deleted)}, row.parent
    entry = {"id": model_id, "kind": "checkpoint", "method": None, "tuning": None}
    checkpoint = s.scalar(select(Checkpoint).where(Checkpoint.model_id == model_id))
    if checkpoint is None:  # gone with its deleted model, whose parent is the checkpoint's
        owner = s.scalar(select(Model).where(Model.id == CHECKPOINT_SUFFIX.sub("", model_id)))
        if owner is None or owner.id == model_id:
            return None, None
        return entry | {"metrics": [], "deleted": True}, owner.parent
    job = s.scalar(select(Job).where(Job.id == checkpoint.job_id))
    parent = (job.method or {}).get("base") if job is not None else None
    entry |= {"metrics": checkpoint_metric_rows(checkpoint.metrics), "deleted": False}
    return entry, parent if parent and parent.startswith("ft:") else None


# ---------------------------------------------------------------- registering versions


def register_model(
    store: Store,
    model_id: str,
    *,
    job_id: str | None,
    base: str,
    run_dir: Path,
    parent: str | None = None,
    training_file: str | None = None,
    validation_file: str | None = None,
    report: dict | None = None,
) -> None:
    """Record a version with what its run folder says (config, data hashes, metrics, report,
    artifacts, size); a resumed finish finds the row of the attempt that died finishing and
    brings it back."""
    run_dir = Path(run_dir)
    record = records.version_record(run_dir, report) if (run_dir / "run.json").exists() else {}
    with store.session() as s:
        row = s.scalar(select(Model).where(Model.id == model_id))
        if row is None:
            row = Model(id=model_id)
            s.add(row)
        for name, value in record.items():
            setattr(row, name, value)
        row.job_id, row.base, row.run_dir, row.parent = job_id, base, str(run_dir), parent
        row.deleted, row.deleted_at = False, None
        row.training_file, row.validation_file = training_file, validation_file
        for file_id, column in (
            (training_file, "training_sha256"),
            (validation_file, "validation_sha256"),
        ):
            if file_id is not None and getattr(row, column) is None:  # hash of the upload
                setattr(row, column, s.scalar(select(File.sha256).where(File.id == file_id)))


def register_run(store: Store, run_dir: Path, report: dict | None = None) -> str:
    """Register a run trained locally by ``tunelab train`` (no job) as a version; returns its id,
    ``ft:<base>:<name>:run-<folder>`` (with ``-<8 hex>`` of the folder's path added when another
    folder of that name holds the id). Registering the same folder again updates its row."""
    run_dir = Path(run_dir).resolve()
    if final_dir(run_dir) is None:
        raise TunelabError(
            f"{run_dir.name}: no finished run here (no final/ folder).", code="model_not_found"
        )
    config = records.read_run_record(run_dir)["config"]
    base = _local_base(config.get("model") or "")
    parent = _parent_of_folder(store, base)
    model_id = _local_run_id(store, run_dir, config, root_base(parent) if parent else base)
    register_model(
        store, model_id, job_id=None, base=base, run_dir=run_dir, parent=parent, report=report
    )
    return model_id


def _local_base(model: str) -> str:
    """A config's ``model`` as a version records it: a built-in name or an absolute folder."""
    if model in BUILTINS or not Path(model).expanduser().exists():
        return model
    return str(Path(model).expanduser().resolve())


def _local_run_id(store: Store, run_dir: Path, config: dict, base: str) -> str:
    def part(value: str) -> str:
        return ID_PART.sub("-", value).strip("-")[:64] or "run"

    name = part(str(config.get("name") or "run"))
    model_id = f"ft:{part(Path(base).name)}:{name}:run-{part(run_dir.name)}"
    with store.session(readonly=True) as s:
        holder = s.scalar(select(Model.run_dir).where(Model.id == model_id))
    if holder is not None and Path(holder) != run_dir:
        model_id += "-" + hashlib.sha256(str(run_dir).encode()).hexdigest()[:8]
    return model_id


def _parent_of_folder(store: Store, base: str) -> str | None:
    """The version ``base`` comes from: the one a merged base folder names, or the live version
    whose result it is (its run folder or its ``final/``); None for a base model."""
    if base in BUILTINS:
        return None
    path = Path(base)
    candidates = [str(path)] + ([str(path.parent)] if path.name == "final" else [])
    merged_from = records.merged_parent(path)  # a LoRA parent (version or checkpoint) merged
    if merged_from is not None:
        return merged_from
    with store.session(readonly=True) as s:
        query = select(Model.id).where(Model.run_dir.in_(candidates), Model.deleted.is_(False))
        return s.scalar(query.order_by(Model.seq.desc()))


def retract_model(store: Store, job_id: str) -> None:
    """Hide a model registered by a job that did not succeed after all (stopped mid-finish)."""
    with store.session() as s:
        s.execute(update(Model).where(Model.job_id == job_id).values(deleted=True))
