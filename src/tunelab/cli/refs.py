"""Model references on the command line: a base name, a folder, a run folder, or, through the
local registry, a version id, a checkpoint id or an alias."""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from pathlib import Path

from tunelab.models.catalog import BUILTINS

log = logging.getLogger(__name__)


def is_registered_ref(ref: str) -> bool:
    """Whether ``ref`` names something only the registry knows (not a base, not a folder)."""
    return ref not in BUILTINS and not Path(ref).expanduser().exists()


def load_model_ref(ref: str, *, device: str = "cpu"):
    """(model, tokenizer) for any reference; a registry id is verified as the server does."""
    from tunelab.models.load import load_any, load_result

    if not is_registered_ref(ref):
        return load_any(ref, device=device)
    from tunelab.jobs import records, registry

    with local_store() as store:
        found = registry.resolve_model_id(store, ref)
    dtype = records.read_run_record(found["run_dir"])["resolved"].get("dtype", "float32")
    folder = found["adapter_dir"] or found["full_dir"]
    return load_result(found["base"], folder, device=device, dtype=dtype)


def training_base_ref(ref: str) -> str:
    """A config's ``model`` as a local training run loads it: a registered version (or alias, or
    checkpoint) becomes its weights' folder, a LoRA parent merged into its base once under
    ``$TUNELAB_HOME/bases/``; anything else as given."""
    if not is_registered_ref(ref):
        return ref
    from tunelab.jobs import registry
    from tunelab.jobs.bases import trainable_base
    from tunelab.settings import home_dir

    with local_store() as store:
        concrete = registry.concrete_model_id(store, ref)
        digest = hashlib.sha256(concrete.encode()).hexdigest()[:16]
        return trainable_base(store, concrete, home_dir() / "bases" / digest)


def register_local_run(run_dir: str | Path, report: dict) -> str | None:
    """Record a finished local run in the local registry; its version id. A registry that cannot
    be written costs a warning, not the run (it stays in its folder)."""
    from sqlalchemy.exc import SQLAlchemyError

    from tunelab.errors import TunelabError
    from tunelab.jobs import registry

    try:
        with local_store() as store:
            return registry.register_run(store, Path(run_dir), report)
    except (SQLAlchemyError, TunelabError) as exc:
        log.warning("warning: the run was not registered in the local registry: %s", exc)
        return None


def open_local_store():
    """The local store: ``$TUNELAB_DATABASE_URL`` or SQLite in the tunelab home."""
    import os

    from tunelab.cli.backend import DATABASE_URL_ENV
    from tunelab.store.db import default_url, open_store

    return open_store(os.environ.get(DATABASE_URL_ENV) or default_url())


@contextmanager
def local_store():
    store = open_local_store()
    try:
        yield store
    finally:
        store.dispose()
