"""Atomic, verified checkpoints.

A checkpoint is written into a temporary folder with its manifest (the SHA-256 of every file)
written last, fsynced and renamed into place: a folder without a manifest, or whose hashes do not
match, is ignored.

Weights are safetensors. The rest (optimizer, scheduler, RNG) is a plain tensor/number tree loaded
only with ``torch.load(weights_only=True)`` and only after the manifest verifies: tunelab loads only
checkpoints it wrote, never a pickle someone handed it (see CVE-2026-1839 in Transformers' resume).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from tunelab.errors import CheckpointError
from tunelab.store import atomic, runs
from tunelab.store.atomic import TEMP_PREFIX, atomic_dir
from tunelab.store.runs import (
    RunLayout,
    list_checkpoints,  # noqa: F401 (the recipes' and tests' name)
    verify_checkpoint,
)
from tunelab.train import faults

MANIFEST = atomic.MANIFEST
sha256_file = atomic.sha256_file  # checkpoints' users (recipes, tests) need not know store.atomic

# a checkpoint's file names are the run layout's (store.runs), which lists and verifies them
WEIGHTS = runs.CHECKPOINT_WEIGHTS
STATE = runs.CHECKPOINT_STATE
TRAINER = runs.CHECKPOINT_TRAINER


def trainable_state(model) -> dict[str, torch.Tensor]:
    """The weights that training changes (LoRA adapters, or everything for full fine-tuning)."""
    return {
        name: p.detach().contiguous().clone()
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def restore_trainable(model, weights: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in weights]
    if missing:
        raise CheckpointError(f"checkpoint lacks trainable weights, e.g. {missing[0]}")
    with torch.no_grad():
        for name, tensor in weights.items():
            params[name].copy_(tensor)


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    return RunLayout(run_dir).checkpoint(step)


def save_checkpoint(folder: Path, model, state: dict, trainer: dict) -> Path:
    """Write ``folder`` atomically (``store.atomic.atomic_dir``): files, manifest last, fsync,
    rename. On any error (a full disk) the partial temp folder goes and older checkpoints stay."""
    with atomic_dir(folder, manifest=True) as tmp:
        save_file(trainable_state(model), str(tmp / WEIGHTS))
        torch.save(state, tmp / STATE)
        (tmp / TRAINER).write_text(json.dumps(trainer, indent=1))
        faults.maybe_fail("checkpoint", trainer.get("step"))
    return folder


def load_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """(weights, state, trainer info) of a verified checkpoint."""
    if not verify_checkpoint(folder):
        raise CheckpointError(f"checkpoint {folder.name} is incomplete or altered")
    weights = load_file(str(folder / WEIGHTS))
    state = torch.load(folder / STATE, weights_only=True, map_location="cpu")
    trainer = json.loads((folder / TRAINER).read_text())
    return weights, state, trainer


def prune_checkpoints(run_dir: Path, keep: int, protect: set[str] = frozenset()) -> None:
    """Delete all but the newest ``keep`` checkpoints (and stale temp folders)."""
    root = RunLayout(run_dir).checkpoints
    for tmp in root.glob(f"{TEMP_PREFIX}*"):
        shutil.rmtree(tmp, ignore_errors=True)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))
    for old in folders[:-keep]:
        if old.name not in protect:
            shutil.rmtree(old, ignore_errors=True)
