"""Training-step throughput of packed rows against padded, length-grouped batches, same run.

Both take the same examples in the same steps (each padded batch of ``epoch_batches`` is also packed
into one row), so the work is identical and only the layout differs: padded batches compute on
padding and attend through an [B, T, T] mask; packed rows have no padding and attend per example
(``models.attention``). Examples are random tokens with lengths drawn like a long-document corpus
(log-normal, median ``--median`` tokens, capped at ``--max-length``), the last 40% of each trained.
Machines here are noisy: the two are interleaved, each step's time is the best of ``--repeats``, and
the ratio is what to read.

    .venv/bin/python bench/packing_speed.py [--examples 8] [--repeats 2] [--median 250]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time
from contextlib import nullcontext

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402

from tunelab.data.batches import collate, epoch_batches, pack  # noqa: E402
from tunelab.data.render import IGNORE, Rendered  # noqa: E402
from tunelab.models.attention import packed_attention  # noqa: E402
from tunelab.models.forward import trained_token_loss  # noqa: E402
from tunelab.models.load import load_base  # noqa: E402


def long_documents(n: int, median: int, cap: int, vocab: int, seed: int = 0) -> list[Rendered]:
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        length = max(16, min(cap, int(rng.lognormvariate(math.log(median), 0.6))))
        ids = [rng.randrange(vocab) for _ in range(length)]
        prompt = int(length * 0.6)
        items.append(Rendered(ids, [IGNORE] * prompt + ids[prompt:]))
    return items


def timed(model, opt, batch: dict, *, packed: bool) -> float:
    """Seconds of one training step (forward, backward, optimizer)."""
    with packed_attention(model) if packed else nullcontext():
        started = time.perf_counter()
        loss_sum, n, _ = trained_token_loss(model, batch)
        (loss_sum / n).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--median", type=int, default=250)
    parser.add_argument("--max-length", type=int, default=1200)
    args = parser.parse_args()
    model, tokenizer, _ = load_base("smollm2-135m-instruct")
    config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    items = long_documents(args.examples, args.median, args.max_length, len(tokenizer))
    order = epoch_batches([len(r.input_ids) for r in items], args.batch_size, 0, 0)
    padded = [collate([items[i] for i in b], tokenizer.pad_token_id) for b in order]
    packed = [pack([items[i] for i in b]) for b in order]
    tokens = [sum(len(items[i].input_ids) for i in b) for b in order]
    width = sum(b["input_ids"].numel() for b in padded)
    print(f"{len(items)} examples, {sum(tokens)} tokens, padded to {width} ({len(order)} steps)")
    warm = sorted(items, key=lambda r: len(r.input_ids))[:2]  # short: warm-up, not counted
    timed(model, opt, collate(warm, tokenizer.pad_token_id), packed=False)
    timed(model, opt, pack(warm), packed=True)
    seconds = {"padded": 0.0, "packed": 0.0}
    for i in range(len(order)):
        # padded, packed, packed, padded...: each layout's best of its repeats, so a burst of
        # load from elsewhere on the machine hits neither layout alone
        runs = {"padded": [], "packed": []}
        for r in range(args.repeats):
            for name in ("padded", "packed") if r % 2 == 0 else ("packed", "padded"):
                batch = padded[i] if name == "padded" else packed[i]
                runs[name].append(timed(model, opt, batch, packed=name == "packed"))
        for name, times in runs.items():
            seconds[name] += min(times)
    for name, sec in seconds.items():
        print(f"{name:<8} {sum(tokens) / sec:7.1f} example tokens/s")
    print(f"packed / padded: {seconds['padded'] / seconds['packed']:.2f}x")


if __name__ == "__main__":
    main()
