"""The loss forward pass shared by training and evaluation.

Only positions whose next token is trained go through the output head: on SmolLM2 the 49k-word head
is a fifth of the compute, and most tokens of a chat (system prompt, questions) are not trained.

A batch is either padded (``data.batches.collate``: attention_mask [B, T]) or packed
(``data.batches.pack``: one row [1, N], position_ids and segment boundaries, no mask); a packed
batch runs inside ``models.attention.packed_attention``, so attention stays inside each example.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch.nn.functional as F

# The attention implementation name packed batches need (registered in models.attention, which
# imports this module; the name lives here so that the import goes one way).
PACKED = "tunelab_packed"
SEGMENT_KEYS = ("position_ids", "cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k")


def causal_lm(model):
    """The transformers model under a PEFT wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def is_packed(batch: dict) -> bool:
    return "cu_seq_lens_q" in batch


def trained_token_loss(model, batch: dict, *, keep_logits: bool = False) -> tuple:
    """(summed cross-entropy, number of trained tokens, number predicted right) for a batch,
    and with ``keep_logits`` the logits at the trained positions [N, V] as a fourth item.

    batch: input_ids, labels, each [B, T], labels -100 where not trained; plus attention_mask [B, T]
    (padded) or the ``pack`` keys (packed, B = 1), which must run inside ``packed_attention``.
    """
    lm = causal_lm(model)
    if is_packed(batch):
        if lm.config._attn_implementation != PACKED:
            # Under sdpa the row would get a dense [N, N] mask; and a switch made here could not
            # cover the backward pass, where gradient checkpointing recomputes attention.
            raise ValueError("a packed batch runs inside models.attention.packed_attention(model)")
        inputs = {k: batch[k] for k in SEGMENT_KEYS}
    else:
        inputs = {"attention_mask": batch["attention_mask"]}
    # use_cache=False: a loss pass has no use for the KV cache the config asks for.
    hidden = lm.get_decoder()(
        input_ids=batch["input_ids"], use_cache=False, **inputs
    ).last_hidden_state  # [B, T, H]
    targets = batch["labels"][:, 1:]  # [B, T-1]: token t+1 is predicted at t
    keep = targets != -100
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep]).float()  # [N, V]
    picked = targets[keep]  # [N]
    loss = F.cross_entropy(logits, picked, reduction="sum")
    correct = int((logits.argmax(-1) == picked).sum())
    if keep_logits:
        return loss, int(keep.sum()), correct, logits
    return loss, int(keep.sum()), correct


@contextmanager
def checkpointing(model, on: bool) -> Iterator[None]:
    """Gradient checkpointing on or off for the block, on a model whose checkpointing was enabled
    once (which installs the checkpoint function): the per-layer flags are what the layers read
    at each forward. Hold it across the backward pass, where the recomputation runs."""
    modules = [m for m in causal_lm(model).modules() if hasattr(m, "_gradient_checkpointing_func")]
    if on and not modules:
        raise ValueError("enable gradient checkpointing on the model before switching it per pass")
    before = [m.gradient_checkpointing for m in modules]
    for m in modules:
        m.gradient_checkpointing = on
    try:
        yield
    finally:
        for m, flag in zip(modules, before, strict=True):
            m.gradient_checkpointing = flag
