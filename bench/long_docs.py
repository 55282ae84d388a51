"""Long documents: today's length-grouped padded batches against tunelab's token-budget packed
steps, on the same generated long-document data and the same steps, in one run.

The data imitates a public e-mail corpus (median ~340 tokens after the chat template, p99 ~900,
a few up to ~3,000): each row is a long message to summarise in one line. Each contender runs in
its own subprocess (so its peak resident memory is its own) on the built-in model with LoRA r=16:
the first ``--steps`` steps of the seeded epoch order, then the step holding the longest examples
(where memory peaks). The padded peer runs under an address-space limit, so running out of memory
is reported instead of waking the kernel's OOM killer.

    .venv/bin/python bench/long_docs.py [--steps 3] [--rows 160] [--limit-gb 14]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDS = (
    "meeting contract invoice schedule shipment delay review budget quarter client policy "
    "renewal approval draft clause payment account update request deadline report team office "
    "please attached regarding following discussed agreed pending confirm thanks regards"
).split()
GB = 2**30


def make_rows(n: int, seed: int) -> list[dict]:
    """Chat rows whose user message has a log-normal word count (median ~230 words)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = min(2200, int(rng.lognormvariate(5.45, 0.45)))
        if i % 40 == 0:  # the long tail: a few near the corpus' longest
            words = rng.randint(1500, 2200)
        body = " ".join(rng.choice(WORDS) for _ in range(words))
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "Summarise the e-mail in one line."},
                    {"role": "user", "content": f"E-mail {i}:\n{body}"},
                    {"role": "assistant", "content": f"Summary {i}: {' '.join(body.split()[:12])}"},
                ]
            }
        )
    return rows


def contender(kind: str, rows_path: str, steps: int) -> dict:
    """In the subprocess: train the chosen steps one way; tokens/s and peak RSS."""
    import torch
    from peft import LoraConfig, get_peft_model

    from tunelab.data.batches import collate, epoch_batches, pack, token_groups
    from tunelab.data.formats import Example
    from tunelab.data.render import render_example
    from tunelab.models.attention import packed_attention
    from tunelab.models.forward import trained_token_loss
    from tunelab.models.load import base_model_dir, load_base
    from tunelab.train.memory import (
        ModelShape,
        plan_memory,
        process_peak_rss,
        trainable_parameters,
    )

    model, tokenizer, _ = load_base("smollm2-135m-instruct")
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear")
    model = get_peft_model(model, lora)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    with open(rows_path) as fh:
        rows = json.load(fh)
    examples = [Example(line=i, messages=r["messages"]) for i, r in enumerate(rows)]
    items = [render_example(tokenizer, e) for e in examples]
    lengths = [len(r.input_ids) for r in items]
    order = epoch_batches(lengths, 8, 0, 0)
    longest = max(range(len(order)), key=lambda b: max(lengths[i] for i in order[b]))
    chosen = [order[b] for b in range(steps)] + [order[longest]]
    shape = ModelShape.from_model_dir(base_model_dir("smollm2-135m-instruct"))
    plan = plan_memory(
        shape,
        lengths=lengths,
        trained=[r.n_trained for r in items],
        trainable=trainable_parameters(shape, "lora", 16, "all-linear"),
    )
    tokens = seconds = 0.0
    for n, step in enumerate(chosen):
        started = time.perf_counter()
        if kind == "padded":
            loss_sum, count, _ = trained_token_loss(model, collate([items[i] for i in step], 0))
            (loss_sum / count).backward()
        else:
            count = sum(sum(1 for x in items[i].labels[1:] if x != -100) for i in step)
            for part in token_groups(step, lengths, plan.token_budget):
                with packed_attention(model):
                    loss_sum, _, _ = trained_token_loss(model, pack([items[i] for i in part]))
                    (loss_sum / count).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if n < steps:  # the longest step counts for memory only
            tokens += sum(lengths[i] for i in step)
            seconds += time.perf_counter() - started
        if n == steps - 1:  # the throughput stands even if the longest step then fails
            print(json.dumps({"tokens_per_second": tokens / seconds}), flush=True)
    return {
        "tokens_per_second": tokens / seconds,
        "peak_rss_gb": process_peak_rss() / GB,
        "estimate_gb": plan.estimate.total / GB,
        "token_budget": plan.token_budget,
        "longest_step_tokens": sum(lengths[i] for i in chosen[-1]),
        "longest_example": max(lengths),
    }


def run(kind: str, rows: list[dict], steps: int, limit_gb: float) -> dict:
    code = (
        "import json, sys, resource; sys.path.insert(0, sys.argv[4]);"
        "from long_docs import contender;"
        f"lim = int({limit_gb} * 2**30) if sys.argv[1] == 'padded' else resource.RLIM_INFINITY;"
        "resource.setrlimit(resource.RLIMIT_AS, (lim, lim));"
        "print(json.dumps(contender(sys.argv[1], sys.argv[2], int(sys.argv[3]))))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fh:
        json.dump(rows, fh)
        fh.flush()
        args = [sys.executable, "-c", code, kind, fh.name, str(steps), here]
        done = subprocess.run(args, capture_output=True, text=True)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        return {
            **(lines[-1] if lines else {}),
            "failed": f"exit {done.returncode}: {tail[0][:120]}",
        }
    return lines[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=160)
    parser.add_argument("--limit-gb", type=float, default=14.0)
    args = parser.parse_args()
    rows = make_rows(args.rows, seed=0)
    results = {kind: run(kind, rows, args.steps, args.limit_gb) for kind in ("padded", "packed")}
    for kind, r in results.items():
        if "failed" in r:
            speed = (
                f"{r['tokens_per_second']:7.1f} tokens/s, then " if "tokens_per_second" in r else ""
            )
            print(f"{kind:<8} {speed}the longest step failed: {r['failed']}")
            continue
        planned = (
            f", estimate {r['estimate_gb']:.2f} GB at token budget {r['token_budget']}"
            if kind == "packed"
            else ""
        )
        print(
            f"{kind:<8} {r['tokens_per_second']:7.1f} tokens/s  peak {r['peak_rss_gb']:.2f} GB"
            f"{planned} (longest example {r['longest_example']}, longest step "
            f"{r['longest_step_tokens']} tokens)"
        )
    if all("tokens_per_second" in r for r in results.values()):
        ratio = results["packed"]["tokens_per_second"] / results["padded"]["tokens_per_second"]
        print(f"packed / padded throughput: {ratio:.2f}x")


if __name__ == "__main__":
    main()
