"""What a run keeps on disk besides checkpoints: metrics.jsonl, the best weights, RNG state and
once-per-run results. Shared by the training recipes; file names come from ``store.runs``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
from safetensors.torch import save_file

from tunelab.store.atomic import atomic_path, fsync_path, write_json_atomic, write_text_atomic
from tunelab.store.runs import RunLayout
from tunelab.train import checkpoint as ckpt


def rng_state(device: str) -> dict:
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1])}
    if device == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, device: str) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    if device == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


class MetricsLog:
    """metrics.jsonl: one JSON object per step or evaluation; trimmed on resume."""

    def __init__(self, path: Path, resume_step: int | None = None, listener=None):
        self.path = path
        self.listener = listener  # called with every row (the job worker streams them)
        if resume_step is not None and path.exists():
            kept = [
                line
                for line in path.read_text().splitlines()
                if line and json.loads(line).get("step", 0) <= resume_step
            ]
            write_text_atomic(path, "".join(k + "\n" for k in kept))
        elif resume_step is None:
            write_text_atomic(path, "")

    def write(self, row: dict) -> None:
        with open(self.path, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if self.listener is not None:
            self.listener(row)

    def sync(self) -> None:
        """fsync the log: called before each checkpoint, so its steps' rows are on disk too."""
        fsync_path(self.path)


def save_best(run_dir: Path, model) -> None:
    with atomic_path(RunLayout(run_dir).best_weights) as tmp:
        save_file(ckpt.trainable_state(model), str(tmp))


def cached_json(path: Path, compute):
    """Compute once per run: a resumed run reuses the base model's evaluation."""
    if path.exists():
        return json.loads(path.read_text())
    value = compute()
    write_json_atomic(path, value)
    return value


def start_or_resume(run_dir, model, optimizer, scheduler, device: str, on_metrics, **extra):
    """(state, metrics log) of a training loop: a fresh state (``extra`` adds a loop's own
    keys), or the newest checkpoint's trainable weights, optimizer, schedule, RNG and state."""
    import logging

    state = {
        "step": 0,
        "epoch": 0,
        "batch": 0,
        "best_loss": None,
        "best_step": None,
        "bad_evals": 0,
        "trained_tokens": 0,
        **extra,
    }
    checkpoints = ckpt.list_checkpoints(run_dir)
    if checkpoints:
        weights, saved, state = ckpt.load_checkpoint(checkpoints[-1])
        ckpt.restore_trainable(model, weights)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        set_rng_state(saved["rng"], device)
        logging.getLogger(__name__).info("resumed from %s", checkpoints[-1].name)
    metrics = MetricsLog(
        RunLayout(run_dir).metrics, state["step"] if checkpoints else None, on_metrics
    )
    return state, metrics
