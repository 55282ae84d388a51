"""What every training recipe sets up the same way: the device and dtype, a new run folder, the
data files' hashes and the library versions for its record, and the optimizer with its
learning-rate schedule. Plain functions of the config's shared parts (``train.parts``)."""

from __future__ import annotations

import platform
from datetime import datetime
from pathlib import Path

import torch

import tunelab
from tunelab.errors import ConfigError
from tunelab.settings import runs_dir
from tunelab.store.atomic import sha256_file
from tunelab.store.runs import has_record


def pick_device(choice: str) -> str:
    if choice != "auto":
        return choice
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(choice: str, device: str) -> str:
    """float32 on CPU (these cores run bf16 matmuls ~4x slower), bf16 on GPUs that have it."""
    if choice != "auto":
        return choice
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float32"


def new_run_dir(config) -> Path:
    """``output_dir`` (refused if it holds a run already) or ``runs/<name>-<time>``; created."""
    if config.output_dir:
        run_dir = Path(config.output_dir)
        if has_record(run_dir):
            raise ConfigError(
                f"output_dir {run_dir} already holds a run; use --resume {run_dir} to continue it",
                param="output_dir",
            )
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = runs_dir() / f"{config.name or config.method}-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def versions() -> dict[str, str]:
    import peft
    import transformers

    return {
        "tunelab": tunelab.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "python": platform.python_version(),
    }


def file_hashes(config) -> dict[str, str]:
    """SHA-256 of each data file the config names (every ``*_file`` key that is set)."""
    files = {k: v for k, v in config if k.endswith("_file") and v is not None}
    return {k: sha256_file(Path(v)) for k, v in files.items()}


def make_optimizer(model, config, resolved: dict):
    """AdamW on the weights that train, and the warm-up + schedule of ``lr_scheduler``; returns
    (params, optimizer, scheduler)."""
    from transformers import get_scheduler

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=resolved["learning_rate"], weight_decay=config.weight_decay
    )
    total = resolved["total_steps"]
    scheduler = get_scheduler(
        config.lr_scheduler if config.lr_scheduler != "constant" else "constant_with_warmup",
        optimizer,
        num_warmup_steps=int(total * config.warmup_ratio),
        num_training_steps=total,
    )
    return params, optimizer, scheduler


def autocast_for(resolved: dict):
    """The training passes' autocast: off in float32, the resolved dtype on its device."""
    import torch

    return torch.autocast(
        device_type=resolved["device"].split(":")[0],
        dtype=getattr(torch, resolved["dtype"]),
        enabled=resolved["dtype"] != "float32",
    )
