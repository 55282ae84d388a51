"""Predict a training step's peak resident memory before any compute, and plan around it.

``estimate_peak`` adds up weights, gradients and AdamW state, the activations autograd keeps for
the largest micro-batch (one packed row of at most ``token_budget`` tokens), the logits of its
trained tokens and a constant for the process. ``plan_memory`` picks the token budget and whether
gradient checkpointing is needed, or refuses with ``insufficient_memory`` and the numbers.

Torch-free: the numbers come from the model's config.json and safetensors headers. The constants
are calibrated on the built-in SmolLM2-135M (float32, CPU, SDPA attention) with
``bench/memory_estimate.py``: peak RSS of a fresh process per configuration. Recalibrate there
when the model code, the attention path or the allocator changes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from tunelab.errors import TunelabError

GB = 2**30  # binary gigabytes, as free(1) and the reports show them
# Saved floats per token per layer, as multiples of the structural count in ``_layer_floats``:
# RSS also holds autograd's transient copies and what the allocator keeps after a free.
# Measured over three steps (the allocator's holdings grow after the first): ~3.3 MB per token on
# SmolLM2-135M with LoRA (1x512, 1x2048 and 4x512 rows within 4%).
ACTIVATION_FACTOR = 1.85
# Compiled layers (``models.compile``): inductor fuses the element-wise chains, so autograd keeps
# fewer intermediates per token: ~1.9 MB per token measured (1x512 to 1x3072 within 4%).
COMPILED_ACTIVATION_FACTOR = 0.98
# With checkpointing, each layer keeps its input and one layer is recomputed at a time, yet the
# measured peak (3.73 GB for 2,048 tokens in one row, 2.49 GB for 4 x 256) is what ~10 layers'
# worth of activations gives: glibc keeps the recomputed layers' freed blocks. Calibrated.
CHECKPOINT_LAYERS = 10.0
COMPILED_CHECKPOINT_LAYERS = 6.0  # the same, with compiled layers (2.41 GB measured for 1x2048)
# [trained, vocab] float32 copies alive at once: logits, log-softmax, their gradients.
LOGIT_COPIES = 3.0
# AdamW's foreach update allocates temporaries, about a quarter of the trainable parameters' size
# (full fine-tuning of 1 x 256 tokens: 3.15 GB measured eager, 3.04 GB compiled).
OPTIMIZER_TEMP_COPIES = 0.25
# torch + transformers + peft imported (236 MB RSS measured), the autograd graph, thread pools,
# and with compiled layers inductor's kernels.
PROCESS_OVERHEAD = 420e6
SAFETY_FRACTION = 0.8  # of the available memory: page cache, the tokenizer, the data, eval
DEFAULT_MAX_BUDGET = 2048  # on CPU tokens/s stops growing beyond ~2k tokens a row; memory doesn't
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class ModelShape:
    """The sizes that memory depends on, read from a model folder without torch."""

    parameters: int
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int

    @classmethod
    def from_model_dir(cls, model_dir: Path) -> ModelShape:
        from tunelab.models.catalog import count_safetensors_parameters

        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        return cls.from_config(config, count_safetensors_parameters(Path(model_dir)))

    @classmethod
    def from_config(cls, config: dict, parameters: int) -> ModelShape:
        heads = int(config["num_attention_heads"])
        hidden = int(config["hidden_size"])
        return cls(
            parameters=parameters,
            layers=int(config["num_hidden_layers"]),
            hidden=hidden,
            intermediate=int(config.get("intermediate_size") or 4 * hidden),
            heads=heads,
            kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or hidden // heads),
            vocab=int(config["vocab_size"]),
        )

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each linear layer of a decoder layer, by the names PEFT targets."""
        h, i = self.hidden, self.intermediate
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return {
            "q_proj": (h, q),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (q, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }


def trainable_parameters(
    shape: ModelShape, tuning: str, r: int = 16, targets: Sequence[str] | str = "all-linear"
) -> int:
    """Parameters that get gradients: all of them for ``full``, the adapters' A and B for LoRA."""
    if tuning == "full":
        return shape.parameters
    names = LORA_TARGETS if targets == "all-linear" else targets
    shapes = shape.linear_shapes().items()
    per_layer = sum(r * (n_in + n_out) for name, (n_in, n_out) in shapes if name in names)
    return per_layer * shape.layers


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak resident bytes of one training step, by part."""

    weights: int
    optimizer: int  # gradients + AdamW's two states + its update temporaries
    activations: int  # attention included
    logits: int
    overhead: int
    per_example: int = 0  # DP-SGD: a micro-batch's per-example gradients, their clipped sum

    @property
    def total(self) -> int:
        parts = self.weights + self.optimizer + self.activations + self.logits + self.overhead
        return parts + self.per_example

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total}

    def describe(self) -> str:
        shown = {k: v for k, v in self.to_dict().items() if k != "total"}
        if not self.per_example:
            del shown["per_example"]
        parts = ", ".join(f"{k} {v / GB:.2f}" for k, v in shown.items())
        return f"{self.total / GB:.1f} GB ({parts} GB)"


def _layer_floats(shape: ModelShape) -> int:
    """Floats autograd saves per token in one decoder layer: two RMSNorms (input, normalised,
    scaled), q/k/v and their rotated copies, attention output and its contiguous copy, the
    residuals, and the MLP's gate, up, activation and product."""
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    return 8 * shape.hidden + 3 * q + 4 * kv + 4 * shape.intermediate


def _attention_bytes(shape: ModelShape, longest: int, attention: str, dtype_bytes: int) -> int:
    """SDPA's flash kernel (CPU and CUDA) keeps only the output and log-sum-exp: linear in
    length, counted in ``_layer_floats``. The eager path keeps [heads, L, L] probabilities per
    layer for each example, so its cost is quadratic in the longest example."""
    if attention == "sdpa":
        return 0
    return 2 * shape.layers * shape.heads * longest * longest * dtype_bytes


def estimate_peak(
    shape: ModelShape,
    *,
    tokens: int,
    longest: int | None = None,
    trained_tokens: int | None = None,
    trainable: int | None = None,
    gradient_checkpointing: bool = False,
    dtype_bytes: int = 4,
    attention: str = "sdpa",
    compiled: bool = False,
    per_example_rows: int = 0,
) -> MemoryEstimate:
    """Peak of a step whose largest micro-batch has ``tokens`` tokens (packed, no padding), its
    longest example ``longest`` tokens and ``trained_tokens`` positions through the head
    (default: all). ``trainable`` defaults to every parameter (full fine-tuning).
    ``per_example_rows``: DP-SGD's rows in that micro-batch, each with its own gradient of every
    trainable weight (Opacus' ``grad_sample``), beside the clipped sum kept across them."""
    longest = tokens if longest is None else longest
    trained_tokens = tokens if trained_tokens is None else trained_tokens
    trainable = shape.parameters if trainable is None else trainable
    # grads in the weights' dtype; AdamW's exp_avg and exp_avg_sq in float32
    optimizer = trainable * (dtype_bytes * (1 + OPTIMIZER_TEMP_COPIES) + 8)
    factor = COMPILED_ACTIVATION_FACTOR if compiled else ACTIVATION_FACTOR
    per_layer = factor * _layer_floats(shape) * dtype_bytes  # bytes per token
    if gradient_checkpointing:
        kept = COMPILED_CHECKPOINT_LAYERS if compiled else CHECKPOINT_LAYERS
        layers = shape.hidden * dtype_bytes * shape.layers + kept * per_layer
    else:
        layers = per_layer * shape.layers
    outside = 5 * shape.hidden * dtype_bytes  # embeddings, final norm, the head's input rows
    attention_part = _attention_bytes(shape, longest, attention, dtype_bytes)
    if gradient_checkpointing:
        attention_part //= shape.layers  # one layer's probabilities at a time
    return MemoryEstimate(
        weights=shape.parameters * dtype_bytes,
        optimizer=int(optimizer),
        activations=int(tokens * (layers + outside) + attention_part),
        logits=int(trained_tokens * shape.vocab * 4 * LOGIT_COPIES),
        overhead=int(PROCESS_OVERHEAD),
        per_example=trainable * (per_example_rows * dtype_bytes + 4) if per_example_rows else 0,
    )


# ---------------------------------------------------------------- what this process may use


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _stat_value(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_room(cgroup: Path) -> int | None:
    """Limit minus usage of this container's memory cgroup (v2, else v1); the inactive page
    cache counts as free since the kernel reclaims it before killing anything."""
    for folder, limit, usage, cache in (
        (cgroup, "memory.max", "memory.current", "inactive_file"),
        (
            cgroup / "memory",
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
            "total_inactive_file",
        ),
    ):
        cap = _read_int(folder / limit)
        used = _read_int(folder / usage)
        if cap is not None and used is not None and cap < 1 << 60:  # v1: 2^63 means none
            return max(0, cap - used + _stat_value(folder / "memory.stat", cache))
    return None


def _meminfo_available(meminfo: Path) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def available_memory(
    meminfo: Path = Path("/proc/meminfo"), cgroup: Path = Path("/sys/fs/cgroup")
) -> int | None:
    """Bytes this process can still allocate: the smaller of the kernel's MemAvailable and the
    room left under a cgroup limit; elsewhere psutil's figure; None when nothing tells."""
    found = [v for v in (_meminfo_available(meminfo), _cgroup_room(cgroup)) if v is not None]
    if found:
        return min(found)
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


# ---------------------------------------------------------------- the plan


Checkpointing = bool | Literal["long"]  # "long": only micro-batches over the token budget


def checkpointed(mode: Checkpointing, token_budget: int, tokens: int) -> bool:
    """Whether a micro-batch of ``tokens`` tokens runs with gradient checkpointing: every one
    under ``True``; under ``"long"`` only one longer than the budget (a single long example)."""
    return mode is True or (mode == "long" and tokens > token_budget)


@dataclass(frozen=True)
class MemoryPlan:
    """What training will use: budget, checkpointing, and the estimate they give."""

    token_budget: int
    gradient_checkpointing: Checkpointing
    estimate: MemoryEstimate
    available: int | None
    longest: int

    def to_dict(self) -> dict:
        return {
            "token_budget": self.token_budget,
            "gradient_checkpointing": self.gradient_checkpointing,
            "checkpointing": describe_checkpointing(self.gradient_checkpointing),
            "estimated_peak_bytes": self.estimate.total,
            "estimate": self.estimate.to_dict(),
            "available_bytes": self.available,
            "longest_example": self.longest,
        }

    def describe(self) -> str:
        room = "unknown" if self.available is None else f"{self.available / GB:.1f} GB"
        return (
            f"{self.estimate.total / GB:.1f} GB of {room} available, token budget "
            f"{self.token_budget}, gradient checkpointing "
            f"{describe_checkpointing(self.gradient_checkpointing)}"
        )


def describe_checkpointing(mode: Checkpointing) -> str:
    if mode == "long":
        return "on for examples longer than the token budget"
    return "on" if mode else "off"


MIN_BUDGET = 256  # below this a row is too small to keep the cores busy


def plan_memory(
    shape: ModelShape,
    *,
    lengths: Sequence[int],
    trained: Sequence[int] | None = None,
    trainable: int,
    token_budget: int | str = "auto",
    gradient_checkpointing: Checkpointing | str = "auto",
    available: int | None = None,
    safety: float = SAFETY_FRACTION,
    max_budget: int = DEFAULT_MAX_BUDGET,
    dtype_bytes: int = 4,
    attention: str = "sdpa",
    compiled: bool = False,
    per_example_rows: int | None = None,
) -> MemoryPlan:
    """Token budget and checkpointing for examples of ``lengths`` (``trained`` tokens each).

    The token budget bounds a micro-batch, so it bounds the peak whatever the length mix: under
    ``auto`` it is the largest up to ``max_budget`` that fits ``safety`` x ``available`` without
    checkpointing, and an example longer than it goes alone, recomputed under checkpointing
    (``"long"``: a third more compute for those examples only). Only when no budget fits does
    every micro-batch checkpoint (``True``). Explicit settings are kept; ``True`` and ``False``
    raise the budget to the longest example (a micro-batch holds an example whole).
    Raises ``insufficient_memory`` when nothing fits.

    ``per_example_rows`` (DP-SGD: padded micro-batches of at most that many rows) counts each
    row's gradient: a micro-batch of the budget holds up to ``budget // shortest`` rows, so a
    smaller budget is what makes them fit.
    """
    longest = max(lengths)
    trained = list(lengths) if trained is None else list(trained)
    fraction = max(t / max(n, 1) for t, n in zip(trained, lengths, strict=True))
    available = available_memory() if available is None else available
    limit = math.inf if available is None else safety * available

    def estimate(tokens: int, gc: bool) -> MemoryEstimate:
        n_trained = min(tokens, max(max(trained), math.ceil(tokens * fraction)))
        kw = {"trainable": trainable, "dtype_bytes": dtype_bytes, "attention": attention}
        if per_example_rows:
            kw["per_example_rows"] = min(per_example_rows, max(1, tokens // min(lengths)))
        return estimate_peak(
            shape,
            tokens=tokens,
            longest=min(longest, tokens),
            trained_tokens=n_trained,
            gradient_checkpointing=gc,
            compiled=compiled,
            **kw,
        )

    def peak(budget: int, mode: Checkpointing) -> MemoryEstimate:
        """The estimate of the largest micro-batch under ``budget`` and ``mode``."""
        if mode != "long":
            return estimate(max(budget, longest), mode)
        parts = [estimate(min(budget, sum(lengths)), False)]
        if longest > budget:
            parts.append(estimate(longest, True))
        return max(parts, key=lambda e: e.total)

    modes = ["long", True] if gradient_checkpointing == "auto" else [gradient_checkpointing]
    for mode in modes:
        if token_budget != "auto":
            smallest = int(token_budget) if mode == "long" else max(int(token_budget), longest)
        else:
            smallest = min(longest, MIN_BUDGET) if mode == "long" else longest
        needed = peak(smallest, mode)
        if needed.total > limit:
            continue
        budget = smallest
        if token_budget == "auto":
            high = max(smallest, min(max_budget, sum(lengths)))
            budget = _largest_fitting(smallest, high, lambda b, m=mode: peak(b, m).total <= limit)
        if mode == "long" and longest <= budget:
            mode = False  # no example is over the budget: nothing to recompute
        return MemoryPlan(budget, mode, peak(budget, mode), available, longest)
    raise _refusal(needed, available, safety, longest, token_budget, modes)


def _largest_fitting(low: int, high: int, fits) -> int:
    """Largest budget in [low, high] that fits; ``low`` is known to fit, estimates grow."""
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(mid) else (low, mid - 1)
    return low


def _refusal(estimate, available, safety, longest, token_budget, choices) -> TunelabError:
    gc = "on" if choices[-1] else "off"  # "long" runs the longest example checkpointed: on
    fixes = [
        f"lower max_length below {longest} with overflow: truncate (or drop)",
        "use tuning: lora instead of full",
        "a smaller model",
        "a machine with more memory",
    ]
    if choices == [False]:
        fixes.insert(0, "set gradient_checkpointing: true (or auto)")
    if token_budget != "auto" and int(token_budget) > longest:
        fixes.insert(0, f"lower token_budget {token_budget} (or set it to auto)")
    return TunelabError(
        f"training needs about {estimate.describe()} at its peak for a micro-batch with the "
        f"longest example ({longest} tokens, gradient checkpointing {gc}), but "
        f"{(available or 0) / GB:.1f} GB are available ({safety:.0%} usable); to fit: "
        + "; ".join(fixes),
        code="insufficient_memory",
        param="max_length",
    )


def process_peak_rss(status: Path = Path("/proc/self/status")) -> int:
    """Peak resident bytes of this process so far.

    Linux: ``VmHWM``, the high-water mark of this program's own memory. Not ``ru_maxrss``: Linux
    keeps that across ``execve``, so a process started from a large one (a test runner, a server)
    would report its parent's size. Elsewhere ``ru_maxrss`` (bytes on macOS)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
