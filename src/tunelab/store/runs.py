"""A run folder's layout and its record (``run.json``): the one module that knows their names.

Training writes a run folder, jobs register its checkpoints, serving and ``models.load`` read its
result; all of them go through ``RunLayout`` for paths and ``RunRecord`` for ``run.json``, so a
format lives in one place. Imports without torch.

```
<run>/run.json              RunRecord: method, config, resolved values, data, memory, versions
     metrics.jsonl          one JSON row per step or evaluation
     base_eval.json         the base model's evaluation, computed once per run
     best.safetensors       the best evaluation's trainable weights
     model_files/           what checkpoint weights need to load as a model (configs, tokenizer)
     checkpoints/step-NNNNNNN/   trainable.safetensors, state.pt, trainer.json, manifest.json
     exports/ckpt-step-NNNNNNN/  a checkpoint as a loadable model (PEFT adapter or full model)
     final/                 the result: a PEFT adapter or a full model, with a manifest
     report.json            the report (report.md and loss.png beside it)
     data/                  a job's data files, linked in once
```
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunelab.errors import TunelabError
from tunelab.store.atomic import existing_dir, verify_manifest, write_json_atomic

RUN_RECORD = "run.json"
METRICS = "metrics.jsonl"
BASE_EVAL = "base_eval.json"
BEST_WEIGHTS = "best.safetensors"
REPORT = "report.json"
FINAL = "final"
MODEL_FILES = "model_files"
CHECKPOINTS = "checkpoints"
EXPORTS = "exports"
DATA = "data"

# a checkpoint folder's parts, all hashed in its manifest
CHECKPOINT_WEIGHTS = "trainable.safetensors"
CHECKPOINT_STATE = "state.pt"
CHECKPOINT_TRAINER = "trainer.json"
CHECKPOINT_FILES = frozenset({CHECKPOINT_WEIGHTS, CHECKPOINT_STATE, CHECKPOINT_TRAINER})

# weight files of a loadable model folder (final/, exports/...), as PEFT and transformers name them
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
MODEL_WEIGHTS = "model.safetensors"

_STEP = re.compile(r"step-(\d{7})")


def checkpoint_name(step: int) -> str:
    return f"step-{step:07d}"


def checkpoint_step(folder: Path) -> int:
    """``.../checkpoints/step-0000012`` -> 12."""
    match = _STEP.fullmatch(folder.name)
    if match is None:
        raise ValueError(f"not a checkpoint folder name: {folder.name!r}")
    return int(match.group(1))


@dataclass(frozen=True)
class RunLayout:
    """Where each part of a run lives, from its folder."""

    root: Path

    @property
    def record(self) -> Path:
        return self.root / RUN_RECORD

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def base_eval(self) -> Path:
        return self.root / BASE_EVAL

    @property
    def best_weights(self) -> Path:
        return self.root / BEST_WEIGHTS

    @property
    def report(self) -> Path:
        return self.root / REPORT

    @property
    def final(self) -> Path:
        """Where the result is written (``final_dir`` finds the one to read)."""
        return self.root / FINAL

    @property
    def model_files(self) -> Path:
        return self.root / MODEL_FILES

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def exports(self) -> Path:
        return self.root / EXPORTS

    @property
    def data(self) -> Path:
        return self.root / DATA

    def checkpoint(self, step: int) -> Path:
        return self.checkpoints / checkpoint_name(step)

    def checkpoint_key(self, step: int) -> str:
        """The checkpoint's path relative to the run folder, as the database records it."""
        return f"{CHECKPOINTS}/{checkpoint_name(step)}"

    def export(self, step: int) -> Path:
        return self.exports / f"ckpt-{checkpoint_name(step)}"


def run_dir_of(folder: Path) -> Path:
    """The run folder of one of its result folders (``final/``, a checkpoint, an export)."""
    if folder.parent.name in (CHECKPOINTS, EXPORTS):
        return folder.parent.parent
    return folder.parent


def is_run_result(folder: Path) -> bool:
    """Whether ``folder`` is a run's ``final/`` or exported checkpoint (so it must verify)."""
    return folder.parent.name != CHECKPOINTS and has_record(run_dir_of(folder))


def has_record(run_dir: Path) -> bool:
    return (Path(run_dir) / RUN_RECORD).is_file()


def final_dir(run_dir: Path) -> Path | None:
    """A run's ``final/``, or the previous one if a crash interrupted its replacement."""
    return existing_dir(RunLayout(Path(run_dir)).final)


def is_run_dir(path: Path) -> bool:
    """A finished run: a record and a result."""
    return has_record(path) and final_dir(path) is not None


def is_adapter(folder: Path) -> bool:
    """Whether a model folder (``final/``, ``model_files/``, an export) holds a PEFT adapter."""
    return (folder / ADAPTER_CONFIG).exists()


def verify_checkpoint(folder: Path) -> bool:
    """True when the manifest exists and every part of the checkpoint has its hash."""
    return verify_manifest(folder, CHECKPOINT_FILES)


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete, verified checkpoints, oldest first."""
    root = RunLayout(Path(run_dir)).checkpoints
    if not root.exists():
        return []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and _STEP.fullmatch(p.name))
    return [p for p in folders if verify_checkpoint(p)]


def strip_adapter_name(name: str) -> str:
    """``...q_proj.lora_A.default.weight`` -> ``...q_proj.lora_A.weight``: PEFT names a live
    adapter's weights with its adapter name ("default") and saves them without it."""
    return re.sub(r"\.default(\.|$)", r"\1", name)


def peft_saved_names(weights: dict[str, Any]) -> dict[str, Any]:
    """Trainable LoRA weights (a checkpoint's) under the names PEFT saves and loads."""
    return {strip_adapter_name(name): value for name, value in weights.items()}


def metrics_by_step(run_dir: Path) -> dict[int, dict]:
    """metrics.jsonl merged per step (a step's training row and its evaluation row)."""
    rows: dict[int, dict] = {}
    path = RunLayout(Path(run_dir)).metrics
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.strip():
            row = json.loads(line)
            rows.setdefault(row.get("step", 0), {}).update(row)
    return rows


# ---------------------------------------------------------------- run.json

LEGACY_TUNING = ("lora", "full")  # ``method`` before it named the training method


class DataRecord(BaseModel):
    """What a run trained on: SHA-256 of each data file (a resume refuses changed files) and
    counts (examples per split, examples over max_length, duplicates ...)."""

    model_config = ConfigDict(extra="forbid")

    hashes: dict[str, str] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat_counts(cls, value):
        """run.json before this record kept the counts beside ``hashes``."""
        if isinstance(value, dict) and "counts" not in value:
            counts = {k: v for k, v in value.items() if k != "hashes"}
            return {"hashes": value.get("hashes", {}), "counts": counts}
        return value


class RunRecord(BaseModel):
    """``run.json``: enough to reproduce and to resume a run. ``config`` is the method's config
    as validated (``train.config.config_from_record`` reads it back); ``resolved`` every ``auto``
    as chosen. Unknown keys are kept, so a newer writer's fields survive a rewrite."""

    model_config = ConfigDict(extra="allow")

    method: str = Field(description="The training method (sft, ...).")
    config: dict[str, Any] = Field(description="The config as validated, in JSON form.")
    resolved: dict[str, Any] = Field(default_factory=dict, description="Every auto resolved.")
    data: DataRecord = Field(default_factory=DataRecord)
    memory: dict[str, Any] | None = Field(None, description="The memory plan, if one was made.")
    versions: dict[str, str] = Field(default_factory=dict)
    created_at: str = Field(description="ISO time the run started.")
    run_dir: str = Field(description="The run folder when the run started.")

    @model_validator(mode="before")
    @classmethod
    def _method_from_config(cls, value):
        """run.json before this record had no ``method``: it was an SFT run (its config's
        ``method`` was then ``lora`` or ``full``)."""
        if isinstance(value, dict) and "method" not in value:
            named = (value.get("config") or {}).get("method")
            method = named if named and named not in LEGACY_TUNING else "sft"
            return {**value, "method": method}
        return value

    @property
    def base_model(self) -> str:
        """What the run trained from: a built-in name or a model folder."""
        return str(self.config["model"])

    @property
    def layout(self) -> RunLayout:
        return RunLayout(Path(self.run_dir))


def read_run(run_dir: Path) -> RunRecord:
    """A run's record; ``run_not_found`` without one, ``invalid_run_record`` when unreadable."""
    path = RunLayout(Path(run_dir)).record
    try:
        return RunRecord.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise TunelabError(
            f"{Path(run_dir).name}: not a run folder (no {RUN_RECORD})", code="run_not_found"
        ) from None
    except (OSError, ValidationError) as e:
        raise TunelabError(
            f"{Path(run_dir).name}/{RUN_RECORD} cannot be read: {e}", code="invalid_run_record"
        ) from None


def write_run(run_dir: Path, record: RunRecord) -> Path:
    """Write ``run.json`` atomically (fsynced, renamed into place)."""
    return write_json_atomic(RunLayout(Path(run_dir)).record, record.model_dump(mode="json"))
