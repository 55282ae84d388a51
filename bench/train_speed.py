"""Training-step throughput of tunelab's SFT step against the plain transformers path, same run.

Peer: ``model(input_ids, labels=labels).loss`` on right-padded batches (full-vocabulary logits
at every position, as the transformers Trainer and TRL's SFTTrainer compute it) with PEFT's usual
``lora_dropout=0.05``. tunelab: the step its recipe runs (``collate_or_pack``: one packed row with
attention per example unless the rows are of similar length, logits only at trained positions,
``lora_dropout=0``, compiled layers as ``compile: auto`` picks for the demo's run). Same model,
data, batches, LoRA rank; tokens/s counts real (unpadded) tokens for both.
"tunelab before" is tunelab's step before token budgets and compiled layers (padded batch, eager
layers, trained-position logits): the demo's "no slower than before" check.
Machines here are noisy: the three are interleaved and the ratio is what to read.

    .venv/bin/python bench/train_speed.py [--steps 6] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402

from tunelab.data.batches import collate, collate_or_pack, epoch_batches  # noqa: E402
from tunelab.data.render import render_example  # noqa: E402
from tunelab.data.validate import load_examples  # noqa: E402
from tunelab.models.attention import attention_for  # noqa: E402
from tunelab.models.compile import auto_compile, compiled_layers  # noqa: E402
from tunelab.models.forward import trained_token_loss  # noqa: E402
from tunelab.models.load import load_base  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "examples" / "support" / "train.jsonl"


def build(dropout: float):
    model, tokenizer, _ = load_base("smollm2-135m-instruct")
    model = get_peft_model(
        model,
        LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    return model, tokenizer, opt


def step(model, opt, items, pad_id: int, tunelab: bool | str, compiled: bool = False) -> int:
    if tunelab == "before":  # the step before token budgets: padded batch, eager layers
        loss_sum, n, _ = trained_token_loss(model, collate(items, pad_id))
        (loss_sum / n).backward()
    elif tunelab:
        batch = collate_or_pack(items, pad_id)
        with attention_for(model, batch), compiled_layers(model, compiled):
            loss_sum, n, _ = trained_token_loss(model, batch)
            (loss_sum / n).backward()
    else:
        model(**collate(items, pad_id)).loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return sum(len(r.input_ids) for r in items)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    contenders = {
        "plain transformers (peer)": (build(0.05), False),
        "tunelab before (padded)": (build(0.0), "before"),
        "tunelab": (build(0.0), True),
    }
    tokenizer = contenders["tunelab"][0][1]
    items = [render_example(tokenizer, e) for e in load_examples(DATA)]
    order = epoch_batches([len(r.input_ids) for r in items], args.batch_size, 0, 0)
    batches = [[items[i] for i in b] for b in order]
    # the demo's run (4 epochs of this data) is long enough for compile: auto to compile
    run_tokens = 4 * sum(len(r.input_ids) for r in items)
    compiled = auto_compile("cpu", 134_515_008, run_tokens, 0.0)
    totals = {name: [0, 0.0] for name in contenders}
    first = dict.fromkeys(contenders, 0.0)
    # pass 0 warms up: allocation, and for compiled layers one graph per kind of batch (padded
    # with or without a mask, packed); it is timed apart. Pass 1 is the steady state.
    for timed in (False, True):
        for i in range(args.steps):
            for name, ((model, _, opt), is_tunelab) in contenders.items():
                started = time.perf_counter()
                batch = batches[i % len(batches)]
                tokens = step(model, opt, batch, tokenizer.pad_token_id, is_tunelab, compiled)
                if timed:
                    totals[name][0] += tokens
                    totals[name][1] += time.perf_counter() - started
                else:
                    first[name] += time.perf_counter() - started
    rates = {name: tok / sec for name, (tok, sec) in totals.items()}
    for name, rate in rates.items():
        print(f"{name:<28} {rate:7.1f} tokens/s  (warm-up pass {first[name]:.1f} s)")
    print(f"tunelab compiled layers: {'on' if compiled else 'off'}")
    peer = rates["plain transformers (peer)"]
    print(f"tunelab / peer: {rates['tunelab'] / peer:.2f}x")
    print(f"tunelab / tunelab before: {rates['tunelab'] / rates['tunelab before (padded)']:.2f}x")


if __name__ == "__main__":
    main()
