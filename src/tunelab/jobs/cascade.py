"""Deleting a dataset with everything derived from it: the file, the jobs that trained on it
(their run folders: the linked data copy, checkpoints, weights, reports, metrics), the versions
those jobs made and every version descended from them (weights and rows), and aliases that
pointed at any of them.

A job still queued or running on the file is refused (409 ``file_in_use``): cancel it first.
Paths come from rows the server wrote, never from an id.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import or_, select

from tunelab.errors import TunelabError
from tunelab.jobs import queue
from tunelab.jobs.files import delete_file, get_file
from tunelab.jobs.records import shown_path, tree_size
from tunelab.jobs.removal import delete_model
from tunelab.jobs.states import TERMINAL
from tunelab.settings import runs_dir
from tunelab.store.db import Store
from tunelab.store.tables import Job, Model


class FileInUse(TunelabError):
    """A file that an unfinished job still trains on (409)."""

    status_code = 409


def delete_file_cascade(store: Store, file_id: str) -> dict:
    """Delete ``file_id`` and everything derived from it; returns what went:
    ``{id, object, deleted, jobs, models, removed: {bytes, paths}}``."""
    get_file(store, file_id)  # file_not_found before anything else
    with store.session(readonly=True) as s:
        used = or_(Job.training_file == file_id, Job.validation_file == file_id)
        jobs = list(s.scalars(select(Job).where(used).order_by(Job.seq)))
    unfinished = [j.id for j in jobs if j.status not in TERMINAL]
    if unfinished:
        raise FileInUse(
            f"The file {file_id!r} is used by unfinished jobs ({', '.join(unfinished)}); cancel "
            "them first.",
            code="file_in_use",
            param="file_id",
        )
    versions = derived_versions(store, [j.id for j in jobs])
    folders = {Path(j.run_dir) for j in jobs if j.run_dir}
    for model_id in reversed(versions):  # descendants first
        row = _model_row(store, model_id)
        if not row.deleted:
            delete_model(store, model_id, force=True)
        if row.run_dir:
            folders.add(Path(row.run_dir))
    removed = _remove_folders(folders)
    job_ids = [j.id for j in jobs] + _jobs_of(store, versions)
    _forget_models(store, versions)
    queue.delete_jobs(store, job_ids)
    delete_file(store, file_id)
    return {
        "id": file_id,
        "object": "file",
        "deleted": True,
        "jobs": [j.id for j in jobs],
        "models": versions,
        "removed": removed,
    }


def derived_versions(store: Store, job_ids: list[str]) -> list[str]:
    """The versions the jobs made, then every version descended from them (deleted ones too:
    their rows still carry metrics and config), parents before children."""
    with store.session(readonly=True) as s:
        found = list(s.scalars(select(Model.id).where(Model.job_id.in_(job_ids))))
        frontier = list(found)
        while frontier:
            prefixes = [Model.parent.startswith(f"{m}:ckpt-step-") for m in frontier]
            children = select(Model.id).where(or_(Model.parent.in_(frontier), *prefixes))
            frontier = [m for m in s.scalars(children) if m not in found]
            found += frontier
    return found


def _model_row(store: Store, model_id: str) -> Model:
    with store.session(readonly=True) as s:
        return s.scalar(select(Model).where(Model.id == model_id))


def _jobs_of(store: Store, versions: list[str]) -> list[str]:
    with store.session(readonly=True) as s:
        query = select(Model.job_id).where(Model.id.in_(versions), Model.job_id.is_not(None))
        return list(s.scalars(query))


def _forget_models(store: Store, versions: list[str]) -> None:
    """Drop the rows too: they hold the data's hashes, the config and the metrics."""
    with store.session() as s:
        for row in s.scalars(select(Model).where(Model.id.in_(versions))):
            s.delete(row)


def _remove_folders(folders: set[Path]) -> dict:
    """Remove whole run folders that lie under the runs folder; their bytes and shown paths."""
    root = runs_dir().resolve()
    total, paths = 0, []
    for folder in sorted(folders):
        folder = folder.resolve()
        if root not in folder.parents or not folder.is_dir():
            continue  # never outside the runs folder (a local run's own output_dir stays)
        total += tree_size(folder)
        shutil.rmtree(folder, ignore_errors=True)
        paths.append(shown_path(folder))
    return {"bytes": total, "paths": paths}
