"""What an update needs to know of the versions it descends from: each ancestor's data.

An update (training from a fine-tuned version) replays part of its ancestors' training data and
measures forgetting on their validation sets and test files (``train.update``,
``eval.forgetting``). Their files are found through the registry: each version's row keeps the
config its run trained with, and a job's files stay linked in its run folder (``data/``). The
result is plain data the run's config records (``update.ancestors``), so a resume or a
reproduction needs no registry.
"""

from __future__ import annotations

from pathlib import Path

from tunelab.jobs import registry
from tunelab.store.db import Store

KEYS = ("train_file", "validation_file", "test_file", "seed", "validation_fraction")


def ancestors_of(store: Store, model_id: str) -> list[dict]:
    """The data of ``model_id`` and of every version above it, oldest first: ``{model,
    train_file, validation_file, test_file, seed, validation_fraction}`` with the paths that
    still exist (a version whose files are gone contributes what is left, or nothing). A
    checkpoint stands for the version of its job."""
    out = []
    for step in registry.lineage(store, model_id):
        if step["kind"] == "base":
            continue
        owner = registry.CHECKPOINT_SUFFIX.sub("", step["id"])
        row = registry.model_row(store, owner)
        if row is None:
            continue
        config = (row.config or {}).get("config") or {}
        data = {key: config.get(key) for key in KEYS}
        for key in ("train_file", "validation_file", "test_file"):
            data[key] = _existing(data[key], row.run_dir)
        if data["train_file"] or data["validation_file"] or data["test_file"]:
            entry = {"model": step["id"]} | {k: v for k, v in data.items() if v is not None}
            if not out or out[-1]["model"] != entry["model"]:
                out.append(entry)
    return out


def _existing(path: str | None, run_dir: str | None) -> str | None:
    """A recorded data path made absolute, if the file is still there: as recorded (runs
    record absolute paths; older ones a path relative to where they were started), else
    relative to the run folder."""
    if not path:
        return None
    for candidate in (Path(path), Path(run_dir or ".") / path):
        if candidate.is_file():
            return str(candidate.resolve())
    return None
