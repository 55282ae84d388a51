"""Estimated vs measured peak memory of a training step (``tunelab.train.memory``), built-in model.

Each configuration runs in a fresh process: load SmolLM2-135M, wrap it (LoRA r=16 all-linear, or
full fine-tuning), give AdamW its state (one zero-gradient step, so the measured step is a
steady-state one), then three forward + backward + optimizer steps of a micro-batch; the peak RSS
(``VmHWM``, via ``process_peak_rss``) of that process is the measurement. Target: within 20%.

A micro-batch is a packed row. "k x L" feeds k unpadded rows of L tokens to the plain causal
forward: the same tensors as one packed row of k*L tokens with attention per example (SDPA's
flash kernel keeps O(L) per example in both layouts). Half of each example's tokens are trained
(the second half), as in chat data where replies are trained.

    .venv/bin/python bench/memory_estimate.py [--save FILE] [--from FILE] [--only NAME ...]

``--from`` re-prints a saved run's measurements against the current estimate (for calibrating
the constants in ``tunelab/train/memory.py`` without re-measuring).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tunelab.models.load import base_model_dir  # noqa: E402
from tunelab.train.memory import (  # noqa: E402
    GB,
    ModelShape,
    estimate_peak,
    process_peak_rss,
    trainable_parameters,
)

MODEL = "smollm2-135m-instruct"
TRAINED_FRACTION = 0.5
# name: (method, rows, length, gradient checkpointing, compiled layers)
CONFIGS = {
    "lora 1x512": ("lora", 1, 512, False, False),
    "lora 1x2048": ("lora", 1, 2048, False, False),
    "lora 4x512 packed": ("lora", 4, 512, False, False),
    "lora 1x2048 ckpt": ("lora", 1, 2048, True, False),
    "lora 4x256 ckpt": ("lora", 4, 256, True, False),
    "full 1x256": ("full", 1, 256, False, False),
    "lora 1x512 compiled": ("lora", 1, 512, False, True),
    "lora 1x2048 compiled": ("lora", 1, 2048, False, True),
    "lora 1x3072 compiled": ("lora", 1, 3072, False, True),
    "lora 4x512 compiled": ("lora", 4, 512, False, True),
    "lora 1x2048 ckpt compiled": ("lora", 1, 2048, True, True),
    "full 1x256 compiled": ("full", 1, 256, False, True),
}
STEPS = 3  # the peak of a few steps: the allocator's holdings grow after the first


def run_one(method: str, rows: int, length: int, checkpointing: bool, compiled: bool) -> dict:
    """``STEPS`` steady-state training steps in this process; their peak RSS and the last one's
    time."""
    import torch
    from peft import LoraConfig, get_peft_model

    from tunelab.models.compile import compiled_layers
    from tunelab.models.forward import trained_token_loss
    from tunelab.models.load import load_base

    model, _, _ = load_base(MODEL)
    if checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if method == "lora":
        lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    for p in params:  # allocate AdamW's state as every step after the first holds it
        p.grad = torch.zeros_like(p)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    ids = torch.randint(
        10, shape_of().vocab - 10, (rows, length), generator=torch.Generator().manual_seed(0)
    )
    labels = ids.clone()
    labels[:, : int(length * (1 - TRAINED_FRACTION))] = -100  # [rows, length]
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    for _ in range(STEPS):
        started = time.perf_counter()
        with compiled_layers(model, compiled):
            loss_sum, n_trained, _ = trained_token_loss(model, batch)
            (loss_sum / n_trained).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return {"peak": process_peak_rss(), "seconds": round(time.perf_counter() - started, 1)}


def shape_of() -> ModelShape:
    return ModelShape.from_model_dir(base_model_dir(MODEL))


def estimate_for(config: list) -> int:
    method, rows, length, checkpointing, compiled = config
    shape = shape_of()
    return estimate_peak(
        shape,
        tokens=rows * length,
        longest=length,
        trained_tokens=rows * int(length * TRAINED_FRACTION),
        trainable=trainable_parameters(shape, method),
        gradient_checkpointing=checkpointing,
        compiled=compiled,
    ).total


def measure(names: list[str]) -> dict:
    results = {}
    for name in names:
        code = f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        code += f"import memory_estimate as m; print(json.dumps(m.run_one(*m.CONFIGS[{name!r}])))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"{name}: {out.stderr[-2000:]}")
        results[name] = json.loads(out.stdout.strip().splitlines()[-1]) | {"config": CONFIGS[name]}
        print(f"  measured {name}: {results[name]}", file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--save", type=Path, help="Write the measurements to this JSON file.")
    parser.add_argument("--from", dest="source", type=Path, help="Saved measurements to print.")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS), help="Configurations to run.")
    args = parser.parse_args()
    if args.source:
        results = json.loads(args.source.read_text())
    else:
        results = measure(args.only or list(CONFIGS))
    if args.save:
        args.save.write_text(json.dumps(results, indent=1))
    print(
        f"{'configuration':<20} {'estimate GB':>11} {'measured GB':>11} {'error':>7} {'step s':>7}"
    )
    worst = 0.0
    for name, got in results.items():
        est = estimate_for(got["config"])
        error = (est - got["peak"]) / got["peak"]
        worst = max(worst, abs(error))
        print(
            f"{name:<20} {est / GB:>11.2f} {got['peak'] / GB:>11.2f} {error:>+7.1%} "
            f"{got['seconds']:>7.1f}"
        )
    print(f"worst error {worst:.1%} (target: within 20%)")


if __name__ == "__main__":
    main()
