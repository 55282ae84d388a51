"""What the engine serves, resolved by the caller from a model id (never from a user's path), and
where its weights are: a checkpoint's verified weights file, whether it holds LoRA or full weights,
and the LoRA config to load it with. Imports without torch."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from tunelab.errors import CheckpointError
from tunelab.models.load import check_model_files
from tunelab.store.atomic import read_manifest, sha256_file
from tunelab.store.runs import (
    CHECKPOINT_WEIGHTS,
    final_dir,
    is_adapter,
    read_run,
    run_dir_of,
    strip_adapter_name,  # noqa: F401 (the engine imports the one PEFT key fix from here)
)

WEIGHTS = CHECKPOINT_WEIGHTS  # a checkpoint's trainable weights


@dataclass(frozen=True)
class ModelSpec:
    """What to serve, resolved from a model id by the caller (never from a user's path).

    ``adapter_dir``: a PEFT LoRA folder (a run's ``final/``) on ``base``. ``checkpoint``: a run's
    ``checkpoints/step-N`` folder (LoRA weights on ``base``, or full weights). ``full_dir``: a fully
    fine-tuned model folder, served as its own model.
    """

    base: str
    adapter_dir: Path | None = None
    checkpoint: Path | None = None
    full_dir: Path | None = None

    @classmethod
    def from_mapping(cls, values: dict) -> ModelSpec:
        """From a dict with these keys (others, such as ``run_dir``, are ignored)."""
        paths = {
            k: Path(values[k]) for k in ("adapter_dir", "checkpoint", "full_dir") if values.get(k)
        }
        return cls(base=str(values["base"]), **paths)


def checkpoint_weights(folder: Path) -> Path:
    """The weights file of a complete checkpoint: its manifest exists and the hash matches
    (only the weights are hashed: the optimizer state is not served)."""
    weights = folder / WEIGHTS
    expected = (read_manifest(folder) or {}).get(WEIGHTS)
    if expected is None or not weights.is_file():
        raise CheckpointError(f"checkpoint {folder.name} is incomplete")
    if sha256_file(weights) != expected:
        raise CheckpointError(f"checkpoint {folder.name} does not match its manifest")
    return weights


@functools.lru_cache(maxsize=256)
def is_lora_checkpoint(folder: Path) -> bool:
    """Whether a checkpoint holds LoRA weights (else full weights); reads only the header."""
    from safetensors import safe_open

    try:
        with safe_open(str(folder / WEIGHTS), framework="pt") as fh:
            return any(".lora_" in key for key in fh.keys())
    except Exception:  # missing or not safetensors
        raise CheckpointError(f"checkpoint {folder.name} is incomplete") from None


def lora_config(spec: ModelSpec):
    """The LoRA config of a checkpoint: the adapter's, the run's final adapter's, or run.json's."""
    from peft import LoraConfig, PeftConfig

    run_dir = run_dir_of(spec.checkpoint)
    for folder in (spec.adapter_dir, final_dir(run_dir)):
        if folder is not None and is_adapter(folder):
            return PeftConfig.from_pretrained(str(check_model_files(folder)))
    lora = read_run(run_dir).config["lora"]
    return LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        task_type="CAUSAL_LM",
    )
