"""What a new version trains from, as a folder or a built-in name: a model id, checkpoint id or
alias made into weights a training run can load.

A full parent (a version's ``final/`` or a checkpoint's export) is its folder. A LoRA parent is
merged into its base once, into a folder the caller names (a job's ``run_dir/base``): the
adapter of the checkpoint's export for a checkpoint id, else the version's ``final/``. LoRA on
LoRA is merged, never stacked. Torch loads only when a merge is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.jobs import records, registry
from tunelab.models.catalog import BUILTINS
from tunelab.store.atomic import atomic_dir
from tunelab.store.db import Store


def trainable_base(store: Store, ref: str, merged: Path) -> str:
    """``ref`` as a training run's ``model``: a built-in name or a folder, as it is for a base;
    for an ``ft:`` id or an alias, its full weights' folder, or ``merged`` (written once) holding
    its LoRA adapter merged into its base, marked with the version it came from."""
    if ref in BUILTINS or Path(ref).expanduser().is_dir():  # a folder wins over an alias
        return ref
    ref = registry.concrete_model_id(store, ref)
    if not ref.startswith("ft:"):
        return ref
    parent = registry.resolve_model_id(store, ref)
    if parent["full_dir"] is not None:
        return str(parent["full_dir"])
    if not (merged / "config.json").exists():
        merge_adapter(parent, merged, ref)
    return str(merged)


def merge_adapter(parent: dict, target: Path, model_id: str) -> None:
    """Write ``parent``'s base with its adapter merged in (a ``resolve_model_id`` result)."""
    from tunelab.models.load import load_result

    dtype = records.read_run_record(parent["run_dir"])["resolved"].get("dtype", "float32")
    model, tokenizer = load_result(parent["base"], parent["adapter_dir"], dtype=dtype)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(target) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        (tmp / records.PARENT_MARKER).write_text(json.dumps({"model_id": model_id}))
