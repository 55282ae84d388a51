"""Compiled decoder layers for training steps (``torch.compile``, inductor).

On these CPUs a training step spends a fifth to a quarter of its time in element-wise kernels
(RMSNorm, rotary embeddings, SiLU x up, the LoRA scaling and residual adds), each reading and
writing whole activations. Inductor fuses them: +15-30% trained tokens/s on SmolLM2-135M with
LoRA (``bench/long_docs.py``), for a one-off compile of ~10-35 s per process (cached on disk by
inductor, so the second run of the same shapes pays less).

Only the training forward and backward are compiled. Evaluation and generation run the eager
layers: a no-grad graph would be a second compile for no measured gain, and generation's KV cache
would recompile for every step. ``compiled_layers(model)`` swaps each decoder layer's ``forward``
for one compiled function shared by all layers (dynamic shapes: one graph whatever the row
length) and puts the eager ones back on exit. Packed attention (a Python loop over segments) stays
outside the graph (``torch.compiler.disable`` where it is registered, in ``models.attention``).

A compile that fails (no C++ compiler, an unsupported op) falls back to eager for that frame with
a warning instead of failing the run (dynamo's ``suppress_errors``).
"""

from __future__ import annotations

import functools
import inspect
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch

from tunelab.models.attention import attention_for
from tunelab.models.forward import causal_lm, checkpointing

# Below this many tokens over the whole run the compile costs more than it saves (~20% of a
# step, for 10-35 s of compiling: break-even near 30k tokens at ~250 tokens/s).
MIN_COMPILE_TOKENS = 30_000
# Tiny models spend their time in Python, not in kernels: nothing to fuse.
MIN_COMPILE_PARAMETERS = 50_000_000
# Graphs one layer function may get: padded rows with and without a padding mask, packed rows
# (one row: a size-1 batch is its own graph), each for the first layer (its input needs no
# gradient) and the others, with and without checkpointing. Past dynamo's default of 8 the
# remaining variants would silently run eager.
RECOMPILES = 24


def compiler_available(device: str) -> bool:
    """Whether inductor can build kernels here: on CPU it needs a C++ compiler."""
    if device.startswith("cpu"):
        return any(shutil.which(cc) for cc in ("c++", "g++", "clang++"))
    return False  # CUDA would work too, but it is not measured here: opt in with compile: true


def auto_compile(
    device: str, parameters: int, run_tokens: int, dropout: float, *, available=None
) -> bool:
    """``compile: auto``: on when the run is long and the model large enough for the compile to
    pay for itself, and no dropout is drawn (compiled kernels draw other random numbers than
    eager ones, so an exact resume would depend on both runs compiling alike)."""
    available = compiler_available(device) if available is None else available
    return (
        available
        and parameters >= MIN_COMPILE_PARAMETERS
        and run_tokens >= MIN_COMPILE_TOKENS
        and dropout == 0
    )


def decoder_layers(model) -> list[torch.nn.Module]:
    """The decoder layers of a (PEFT-wrapped) causal LM, or [] when it has no ``layers`` list."""
    decoder = causal_lm(model).get_decoder()
    return list(getattr(decoder, "layers", []))


@functools.cache
def _compiled(forward):
    return torch.compile(forward, dynamic=True)


def _compiled_forward(layer):
    """``layer``'s forward, compiled, under gradient checkpointing when the layer has it on.

    transformers wraps each layer class's ``forward`` in its checkpointing wrapper; tracing that
    wrapper would put ``torch.utils.checkpoint`` inside the graph, which dynamo does not compile.
    So the original forward (unwrapped) is compiled and checkpointed from the outside, as the
    wrapper would (a training pass: no KV cache to drop)."""
    compiled = _compiled(inspect.unwrap(type(layer).forward))  # past deprecation wrappers too

    def run(*args, **kwargs):
        if getattr(layer, "gradient_checkpointing", False) and layer.training:
            if torch.is_grad_enabled():
                step = functools.partial(compiled, layer, **kwargs)
                return layer._gradient_checkpointing_func(step, *args)
        return compiled(layer, *args, **kwargs)

    return run


@contextmanager
def compiled_layers(model, enabled: bool = True, fallback: bool = True) -> Iterator[None]:
    """Run the block with ``model``'s decoder layers compiled (no-op when not ``enabled``): for
    training passes, which carry no KV cache. A frame that fails to compile runs eager with a
    warning (``fallback``) or raises.

    Hold it across the backward pass: gradient checkpointing recomputes the layer forward there.
    """
    if not enabled:
        yield
        return
    swapped = []
    for layer in decoder_layers(model):
        if "forward" in vars(layer):  # already swapped (nested use) or patched by someone else
            continue
        layer.forward = _compiled_forward(layer)
        swapped.append(layer)
    try:
        with torch._dynamo.config.patch(suppress_errors=fallback, recompile_limit=RECOMPILES):
            yield
    finally:
        for layer in swapped:
            del layer.forward


@contextmanager
def training_pass(model, batch: dict, *, compiled: bool, recompute: bool | None) -> Iterator[None]:
    """Everything one micro-batch's forward and backward run under: packed attention for a packed
    batch, compiled layers when ``compiled``, and checkpointing switched to ``recompute`` (None:
    left as the model has it). Hold it across the backward pass."""
    with ExitStack() as stack:
        stack.enter_context(attention_for(model, batch))
        stack.enter_context(compiled_layers(model, compiled))
        if recompute is not None:
            stack.enter_context(checkpointing(model, recompute))
        yield
