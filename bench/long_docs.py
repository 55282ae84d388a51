"""Long documents: today's length-grouped padded batches against tunelab's token-budget packed
steps, on the same generated long-document data and the same steps, in one run.

The data imitates a public e-mail corpus (median ~340 tokens after the chat template, p99 ~900,
a few up to ~3,000): each row is a long message to summarise in one line. Both sides train the
built-in model with LoRA r=16. The packed side is default training: the memory plan's token
budget and checkpointing, and compiled layers when ``compile: auto`` would compile.

- Throughput: both contenders in one process, their steps interleaved so that the machine's
  drift falls on both alike: a warm-up pass over the first 3 steps of the seeded epoch order
  (allocation, and for tunelab compiling the layers: once per run, reported apart), then the
  timed pass over the first ``--steps`` steps (``--steps 0``: the whole epoch but the step holding
  the longest examples). A step the peer cannot allocate (under ``--limit-gb`` + 4 GB for the
  process holding both) counts for neither side and is reported.
- Peak memory: each contender in a fresh process of its own (so the peak RSS is its own) trains
  the same steps, then the step holding the longest examples, where memory peaks. The padded peer
  runs under an address-space limit, so running out of memory is reported instead of waking the
  kernel's OOM killer.

``--mix long`` makes every row long (2,000-3,000 tokens) to check that the peak does not follow
the mix.

    .venv/bin/python bench/long_docs.py [--steps 6|0] [--rows 160] [--mix long] [--skip-peak]
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
WARMUP_STEPS = 3  # untimed steps before the timed pass: allocation, compiling the layers


def make_rows(n: int, seed: int, mix: str = "corpus") -> list[dict]:
    """Chat rows whose user message has a log-normal word count (median ~230 words), or for
    ``mix="long"`` only long ones (1,500-2,200 words: ~2,000-3,000 tokens)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = min(2200, int(rng.lognormvariate(5.45, 0.45)))
        if i % 40 == 0 or mix == "long":  # the long tail: a few near the corpus' longest
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


class Contender:
    """One way of training the steps: its own model (LoRA r=16), optimizer and step function."""

    def __init__(self, kind: str, rows_path: str):
        import torch
        from peft import LoraConfig, get_peft_model

        from tunelab.data.batches import epoch_batches
        from tunelab.data.formats import Example
        from tunelab.data.render import render_example
        from tunelab.models.compile import auto_compile
        from tunelab.models.load import base_model_dir, load_base
        from tunelab.train.memory import ModelShape, plan_memory, trainable_parameters

        model, tokenizer, _ = load_base("smollm2-135m-instruct")
        lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear")
        self.kind, self.model = kind, get_peft_model(model, lora)
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=1e-4)
        with open(rows_path) as fh:
            rows = json.load(fh)
        examples = [Example(line=i, messages=r["messages"]) for i, r in enumerate(rows)]
        self.items = [render_example(tokenizer, e) for e in examples]
        self.lengths = [len(r.input_ids) for r in self.items]
        self.order = epoch_batches(self.lengths, 8, 0, 0)
        shape = ModelShape.from_model_dir(base_model_dir("smollm2-135m-instruct"))
        # default training compiles when a run is long enough; so does the packed side
        self.compiled = kind == "packed" and auto_compile(
            "cpu", shape.parameters, sum(self.lengths), 0.0
        )
        self.plan = plan_memory(
            shape,
            lengths=self.lengths,
            trained=[r.n_trained for r in self.items],
            trainable=trainable_parameters(shape, "lora", 16, "all-linear"),
            compiled=self.compiled,
        )
        if kind == "packed" and self.plan.gradient_checkpointing:
            self.model.get_base_model().gradient_checkpointing_enable()

    def longest_step(self) -> list[int]:
        return max(self.order, key=lambda step: max(self.lengths[i] for i in step))

    def step(self, step: list[int]) -> float:
        """Train one step; its seconds."""
        from tunelab.data.batches import collate, pack, token_groups
        from tunelab.models.compile import training_pass
        from tunelab.models.forward import trained_token_loss
        from tunelab.train.memory import checkpointed

        started = time.perf_counter()
        items, model, plan = self.items, self.model, self.plan
        if self.kind == "padded":
            loss_sum, count, _ = trained_token_loss(model, collate([items[i] for i in step], 0))
            (loss_sum / count).backward()
        else:
            count = sum(sum(1 for x in items[i].labels[1:] if x != -100) for i in step)
            gc = plan.gradient_checkpointing
            for part in token_groups(step, self.lengths, plan.token_budget):
                tokens = sum(self.lengths[i] for i in part)
                batch = pack([items[i] for i in part])
                recompute = checkpointed(gc, plan.token_budget, tokens) if gc else None
                with training_pass(model, batch, compiled=self.compiled, recompute=recompute):
                    loss_sum, _, _ = trained_token_loss(model, batch)
                    (loss_sum / count).backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return time.perf_counter() - started


def arithmetic(shape, rows: list[list[int]], padded: bool, rank: int = 16) -> float:
    """FLOPs of training the rows (lists of example lengths): the decoder's linear layers with
    LoRA (forward, input gradients, LoRA weight gradients: ~2x forward for the frozen weights)
    and attention scores and values (forward and backward: 3x forward). A padded batch computes
    every row at its longest length and every query against every key (the dense mask); a packed
    row computes each example alone and causally (about half the pairs)."""
    linear = sum(i * o for i, o in shape.linear_shapes().values())
    lora = sum(rank * (i + o) for i, o in shape.linear_shapes().values())
    per_token = shape.layers * (2 * 2 * linear + 3 * 2 * lora)
    per_pair = shape.layers * 3 * 2 * 2 * shape.heads * shape.head_dim
    total = 0.0
    for lengths in rows:
        if padded:
            longest = max(lengths)
            total += len(lengths) * (longest * per_token + longest * longest * per_pair)
        else:
            total += sum(n * per_token + n * (n + 1) / 2 * per_pair for n in lengths)
    return total


def matmul_rate(shape, tokens: int = 2048, repeats: int = 20) -> float:
    """FLOP/s of this machine on the decoder's own float32 matmuls (a 2,048-token row through
    every linear layer shape, best of ``repeats``): the ceiling for any training step here."""
    import torch

    best = 0.0
    shapes = list(shape.linear_shapes().values())
    xs = {i: torch.randn(tokens, i) for i, _ in shapes}
    ws = [torch.randn(i, o) for i, o in shapes]
    flops = sum(2 * tokens * i * o for i, o in shapes)
    for _ in range(repeats):
        started = time.perf_counter()
        for w in ws:
            xs[w.shape[0]] @ w
        best = max(best, flops / (time.perf_counter() - started))
    return best


def throughput(rows_path: str, steps: int) -> dict:
    """In a subprocess: both contenders, their steps interleaved (a warm-up pass, then the timed
    pass), so that the machine's drift falls on both alike."""
    from tunelab.models.load import base_model_dir
    from tunelab.train.memory import ModelShape, describe_checkpointing

    both = {kind: Contender(kind, rows_path) for kind in ("padded", "packed")}
    packed = both["packed"]
    lengths, longest = packed.lengths, packed.longest_step()
    # steps 0: every step of the epoch but the one the padded peer cannot run
    chosen = [s for s in packed.order if s != longest][: steps or None]
    seconds = dict.fromkeys(both, 0.0)
    warmup = dict.fromkeys(both, 0.0)
    ran, failed = [], 0
    for timed, pass_steps in ((False, chosen[:WARMUP_STEPS]), (True, chosen)):
        for step in pass_steps:
            try:  # the peer first: a step it cannot allocate counts for neither side
                spent = {"padded": both["padded"].step(step)}
            except RuntimeError as e:
                if "allocate" not in str(e):
                    raise
                both["padded"].opt.zero_grad(set_to_none=True)
                failed += timed
                continue
            spent["packed"] = packed.step(step)
            for kind, value in spent.items():
                (seconds if timed else warmup)[kind] += value
            if timed:
                ran.append(step)
    tokens = sum(lengths[i] for step in ran for i in step)
    shape = ModelShape.from_model_dir(base_model_dir("smollm2-135m-instruct"))
    rows = [[lengths[i] for i in step] for step in ran]
    work = {kind: arithmetic(shape, rows, kind == "padded") for kind in both}
    return {
        "work_ratio": work["padded"] / work["packed"],
        "gflops": {kind: work[kind] / seconds[kind] / 1e9 for kind in both},
        "matmul_gflops": matmul_rate(shape) / 1e9,
        "steps": len(ran),
        "peer_failed_steps": failed,
        "tokens": tokens,
        "tokens_per_second": {kind: tokens / s for kind, s in seconds.items()},
        "warmup_seconds": warmup,
        "compiled": packed.compiled,
        "checkpointing": describe_checkpointing(packed.plan.gradient_checkpointing),
        "token_budget": packed.plan.token_budget,
    }


def peak(kind: str, rows_path: str, steps: int) -> dict:
    """In a subprocess of its own (its peak RSS is its own): the first steps, then the step
    holding the longest examples."""
    from tunelab.train.memory import process_peak_rss

    contender = Contender(kind, rows_path)
    for b in range(steps or 6):
        contender.step(contender.order[b])
    print(json.dumps({"peak_rss_gb": process_peak_rss() / GB}), flush=True)  # if the next fails
    longest = contender.longest_step()
    contender.step(longest)
    return {
        "peak_rss_gb": process_peak_rss() / GB,
        "estimate_gb": contender.plan.estimate.total / GB,
        "longest_step_tokens": sum(contender.lengths[i] for i in longest),
        "longest_example": max(contender.lengths),
    }


def run(what: str, kind: str, rows_path: str, steps: int, limit_gb: float) -> dict:
    """``throughput`` or ``peak`` in a fresh process; the padded peer's peak under RLIMIT_AS."""
    code = (
        "import json, sys, resource; sys.path.insert(0, sys.argv[5]); import long_docs as m;"
        f"lim = int({limit_gb} * 2**30) if sys.argv[2] == 'padded' else resource.RLIM_INFINITY;"
        "lim = int(sys.argv[6]) if sys.argv[1] == 'throughput' else lim;"
        "resource.setrlimit(resource.RLIMIT_AS, (lim, lim));"
        "f = m.throughput if sys.argv[1] == 'throughput' else m.peak;"
        "args = (sys.argv[3], int(sys.argv[4]));"
        "print(json.dumps(f(*args) if sys.argv[1] == 'throughput' else f(sys.argv[2], *args)))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    # both models share the throughput process: the peer's steps get the room left beside tunelab
    both = int((limit_gb + 4) * GB)
    args = [sys.executable, "-c", code, what, kind, rows_path, str(steps), here, str(both)]
    done = subprocess.run(args, capture_output=True, text=True)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        return {
            **(lines[-1] if lines else {}),
            "failed": f"exit {done.returncode}: {tail[0][:100]}",
        }
    return lines[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rows", type=int, default=160)
    parser.add_argument("--limit-gb", type=float, default=14.0)
    parser.add_argument("--mix", choices=["corpus", "long"], default="corpus")
    parser.add_argument("--skip-throughput", action="store_true", help="Peak memory only.")
    parser.add_argument("--skip-peak", action="store_true", help="Throughput only.")
    args = parser.parse_args()
    rows = make_rows(args.rows, seed=0, mix=args.mix)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fh:
        json.dump(rows, fh)
        fh.flush()
        kinds = () if args.skip_peak else ("padded", "packed")
        peaks = {k: run("peak", k, fh.name, args.steps, args.limit_gb) for k in kinds}
        speed = None
        if not args.skip_throughput:
            speed = run("throughput", "packed", fh.name, args.steps, args.limit_gb)
    for kind, r in peaks.items():
        seen = f"peak {r['peak_rss_gb']:.2f} GB" if "peak_rss_gb" in r else "no peak"
        if "failed" in r:
            print(
                f"{kind:<8} {seen} over the first steps, then the longest step failed: "
                f"{r['failed']}"
            )
            continue
        planned = f" (estimate {r['estimate_gb']:.2f} GB)" if kind == "packed" else ""
        print(
            f"{kind:<8} {seen}{planned} for the first {args.steps} steps and the longest step "
            f"({r['longest_step_tokens']} tokens, longest example {r['longest_example']})"
        )
    if speed is None:
        return
    if "failed" in speed:
        print(f"throughput run failed: {speed['failed']}")
        return
    rates, warm = speed["tokens_per_second"], speed["warmup_seconds"]
    print(
        f"packed: token budget {speed['token_budget']}, compiled "
        f"{'on' if speed['compiled'] else 'off'}, gradient checkpointing {speed['checkpointing']}"
    )
    for kind in ("padded", "packed"):
        print(
            f"{kind:<8} {rates[kind]:7.1f} tokens/s over {speed['steps']} steps, "
            f"{speed['tokens']} tokens, interleaved "
            f"(warm-up pass {warm[kind]:.1f} s)"
        )
    if speed["peer_failed_steps"]:
        print(
            f"(the padded peer could not allocate {speed['peer_failed_steps']} more steps of the "
            "epoch; they count for neither side)"
        )
    print(f"packed / padded throughput: {rates['packed'] / rates['padded']:.2f}x")
    print(
        f"arithmetic the padded peer does for the same steps: {speed['work_ratio']:.2f}x "
        "tunelab's (padding, dense-mask attention); the rest of the ratio is per-FLOP speed"
    )
    done = speed["gflops"]
    print(
        f"arithmetic done per second: padded {done['padded']:.0f}, packed {done['packed']:.0f} "
        f"GFLOP/s; this machine's float32 matmuls on the model's shapes: "
        f"{speed['matmul_gflops']:.0f} GFLOP/s (no training step can beat that: the most any "
        f"step could gain on the peer here is "
        f"{speed['work_ratio'] * speed['matmul_gflops'] / done['padded']:.2f}x)"
    )


if __name__ == "__main__":
    main()
