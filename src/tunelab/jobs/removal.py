"""Deleting model versions and collecting run folders nothing uses any more.

Deleting a version refuses (409 ``model_in_use``) while live versions descend from it, aliases
point at it or at its checkpoints, or unfinished jobs train from it, unless forced. It then marks
the row deleted (the row stays, so descendants keep their lineage), removes the aliases that
pointed at it and its checkpoints' rows, and removes the run folder's weights (``final/``,
``exports/``, ``checkpoints/``, ``base/``, ``model_files/``, ``best.safetensors``), keeping its
history (``run.json``, ``report.*``, ``metrics.jsonl``, ``loss.png``, ``data/``).

``collect_garbage`` removes whole folders under ``$TUNELAB_HOME/runs`` that no live version, alias
or unfinished job uses. Paths always come from rows the server wrote, never from an id.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from sqlalchemy import or_, select

from tunelab.errors import TunelabError
from tunelab.jobs import aliases, queue
from tunelab.jobs.records import shown_path, tree_size, weight_paths
from tunelab.jobs.states import TERMINAL
from tunelab.models.catalog import BUILTINS
from tunelab.settings import runs_dir
from tunelab.store.db import Store
from tunelab.store.tables import Checkpoint, Job, Model, ModelAlias, now

JOB_FOLDER = re.compile(r"ftjob-[0-9a-f]{24}")  # runner.job_run_dir's names
IDLE_S = 3600  # an unregistered run untouched this long is not a `tunelab train` still running


class ModelInUse(TunelabError):
    """A version that others still use (409)."""

    status_code = 409


def delete_model(store: Store, model_id: str, *, force: bool = False) -> dict:
    """Delete a version and its weights; returns ``{id, object, deleted, removed, aliases}``
    where ``removed`` is ``{"bytes", "paths"}`` (paths relative to ``TUNELAB_HOME``)."""
    row = _deletable_row(store, model_id)
    users = model_users(store, model_id)
    if any(users.values()) and not force:
        raise ModelInUse(_in_use_message(model_id, users), code="model_in_use", param="model")
    with store.session(readonly=True) as s:
        checkpoint_ids = set(s.scalars(select(Checkpoint.model_id).where(_of_job(row.job_id))))
    note = f"target {model_id} deleted"
    removed_aliases = aliases.remove_aliases_of(store, {model_id} | checkpoint_ids, note)
    with store.session() as s:
        live = s.scalar(select(Model).where(Model.id == model_id))
        live.deleted, live.deleted_at = True, now()
    if row.job_id is not None:
        queue.delete_checkpoints(store, row.job_id, queue.checkpoint_steps(store, row.job_id))
    removed = remove_weights(Path(row.run_dir)) if row.run_dir else _nothing()
    return {
        "id": model_id,
        "object": "model",
        "deleted": True,
        "removed": removed,
        "aliases_removed": removed_aliases,
    }


def _deletable_row(store: Store, model_id: str) -> Model:
    if model_id in BUILTINS:
        raise TunelabError(
            f"{model_id!r} is a base model; only fine-tuned models can be deleted.",
            code="model_not_deletable",
            param="model",
        )
    if aliases.resolve_alias(store, model_id) is not None:
        raise TunelabError(
            f"{model_id!r} is an alias: delete the version by its id, or the alias itself.",
            code="model_not_deletable",
            param="model",
        )
    with store.session(readonly=True) as s:
        row = s.scalar(select(Model).where(Model.id == model_id, Model.deleted.is_(False)))
    if row is None:
        raise TunelabError(
            f"The model {model_id!r} does not exist or you do not have access to it.",
            code="model_not_found",
            param="model",
        )
    return row


def model_users(store: Store, model_id: str) -> dict[str, list[str]]:
    """What uses a version or one of its checkpoints: live ``descendants``, ``aliases`` and
    unfinished ``jobs`` training from it."""
    prefix = f"{model_id}:ckpt-step-"

    def ours(column):
        return or_(column == model_id, column.startswith(prefix, autoescape=True))

    with store.session(readonly=True) as s:
        children = select(Model.id).where(Model.deleted.is_(False), ours(Model.parent))
        names = select(ModelAlias.name).where(ours(ModelAlias.model_id))
        unfinished = s.scalars(select(Job).where(Job.status.not_in(TERMINAL))).all()
        return {
            "descendants": list(s.scalars(children.order_by(Model.seq))),
            "aliases": list(s.scalars(names.order_by(ModelAlias.name))),
            "jobs": [j.id for j in unfinished if _trains_from(j, model_id, prefix)],
        }


def _trains_from(job: Job, model_id: str, prefix: str) -> bool:
    ref = (job.method or {}).get("base") or job.model
    return ref == model_id or ref.startswith(prefix)


def _in_use_message(model_id: str, users: dict[str, list[str]]) -> str:
    what = "; ".join(f"{kind}: {', '.join(ids)}" for kind, ids in users.items() if ids)
    return (
        f"The model {model_id!r} is in use ({what}). Delete or re-point them first, or delete "
        "it anyway with force (?force=true, `tunelab models delete --force`)."
    )


def _of_job(job_id: str | None):
    return Checkpoint.job_id == job_id if job_id is not None else Checkpoint.id.is_(None)


def remove_weights(run_dir: Path) -> dict:
    """Remove a run folder's weight artifacts; ``{"bytes", "paths"}`` of what went."""
    removed = _nothing()
    for path in weight_paths(run_dir):
        removed["bytes"] += tree_size(path)
        removed["paths"].append(shown_path(path))
        _remove(path)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _nothing() -> dict:
    return {"bytes": 0, "paths": []}


# ---------------------------------------------------------------- garbage collection


def collect_garbage(store: Store, *, dry_run: bool = False) -> dict:
    """Remove run folders under ``$TUNELAB_HOME/runs`` that nothing uses: those of deleted
    versions, of failed or cancelled jobs (their checkpoints go with them) and of jobs that no
    longer exist, and unregistered local runs idle for an hour. Folders that a live version, an
    alias or an unfinished job uses are kept. ``dry_run`` only reports."""
    kept, models, jobs = _referenced_folders(store)
    removed = []
    for folder in sorted(p for p in runs_dir().iterdir() if _candidate(p)):
        if folder.resolve() in kept:
            continue
        reason = _reason(folder, models.get(folder.resolve()), jobs.get(folder.name))
        if reason is None:
            continue
        removed.append({"path": shown_path(folder), "bytes": tree_size(folder), "reason": reason})
        if not dry_run:
            shutil.rmtree(folder)
    return {
        "object": "registry.gc",
        "dry_run": dry_run,
        "removed": removed,
        "bytes": sum(r["bytes"] for r in removed),
    }


def _candidate(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not path.name.startswith(".")


def _referenced_folders(store: Store) -> tuple[set[Path], dict[Path, Model], dict[str, Job]]:
    """(folders in use, every model row by run folder, every job by id)."""
    root = runs_dir().resolve()
    with store.session(readonly=True) as s:
        models = {Path(m.run_dir).resolve(): m for m in s.scalars(select(Model)) if m.run_dir}
        jobs = {j.id: j for j in s.scalars(select(Job))}
        checkpoint_jobs = dict(s.execute(select(Checkpoint.model_id, Checkpoint.job_id)).all())
        targets = set(s.scalars(select(ModelAlias.model_id)))
    folder_of = {m.id: folder for folder, m in models.items()}
    kept: set[Path] = set()
    for folder, model in models.items():
        if not model.deleted:
            kept |= {folder, *_run_folder_of(model.base, root)}
    for job in jobs.values():
        if job.status not in TERMINAL:
            kept |= _job_folders(job, root)
            targets.add((job.method or {}).get("base") or job.model)
    for target in targets:  # aliased or trained-from versions and checkpoints
        if target in folder_of:
            kept.add(folder_of[target])
        job = jobs.get(checkpoint_jobs.get(target, ""))
        if job is not None:
            kept |= _job_folders(job, root)
    return kept, models, jobs


def _job_folders(job: Job, root: Path) -> set[Path]:
    return {root / job.id, *([Path(job.run_dir).resolve()] if job.run_dir else [])}


def _run_folder_of(base: str | None, root: Path) -> list[Path]:
    """The run folder a version's base weights lie in (a full parent's ``final/``), if any."""
    if not base or base in BUILTINS:
        return []
    path = Path(base).resolve()
    if root in path.parents:
        return [root / path.relative_to(root).parts[0]]
    return []


def _reason(folder: Path, model: Model | None, job: Job | None) -> str | None:
    if model is not None:
        return "model deleted" if model.deleted else None
    if JOB_FOLDER.fullmatch(folder.name):
        if job is None:
            return "no such job"
        return f"job {job.status}" if job.status in TERMINAL else None
    if (folder / "run.json").exists() and time.time() - _last_write(folder) > IDLE_S:
        return "unregistered run"
    return None


def _last_write(folder: Path) -> float:
    stamps = [folder.stat().st_mtime]
    for name in ("run.json", "metrics.jsonl", "checkpoints", "final"):
        path = folder / name
        if path.exists():
            stamps.append(path.stat().st_mtime)
    return max(stamps)
