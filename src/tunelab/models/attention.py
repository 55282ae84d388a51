"""Attention over packed rows: several examples in one row, each attending only to itself.

A packed row ([1, N], see ``data.batches.pack``) carries ``cu_seq_lens_q``/``cu_seq_lens_k`` (the
segment boundaries) and ``position_ids`` restarting per example. Under transformers' ``sdpa`` such
a row gets a dense [N, N] block-diagonal mask: N^2 memory and compute, most of it masked out, and
SDPA can no longer use its causal fast path. Here attention runs causally per segment instead, one
``scaled_dot_product_attention(..., is_causal=True)`` per example and layer: the cost is
sum(len_i^2) and no mask exists at all.

Two registrations make that happen, both under the name ``PACKED``:
- ``AttentionInterface``: the per-segment attention function;
- ``AttentionMaskInterface``: a mask builder that builds nothing, so ``create_causal_mask`` returns
  ``None`` instead of materialising the block-diagonal mask (it raises on a padding mask, which
  would otherwise be silently ignored).

``packed_attention(model)`` switches a model (plain or PEFT-wrapped) to ``PACKED`` and restores its
previous implementation afterwards: generation with a KV cache keeps using ``sdpa``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface

from tunelab.models.forward import PACKED, causal_lm, is_packed


def packed_sdpa_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    cu_seq_lens_q: torch.Tensor | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """Causal attention inside each segment of a packed row; returns ([1, N, Hq, D], None).

    query: [1, Hq, N, D]; key, value: [1, Hkv, N, D] (Hq a multiple of Hkv: grouped-query heads).
    Without ``cu_seq_lens_q`` the row is one sequence.
    """
    if attention_mask is not None:
        raise ValueError("packed attention takes no attention mask: pack the rows instead")
    if query.shape[0] != 1 or key.shape[2] != query.shape[2]:
        raise ValueError("packed attention expects one packed row and no KV cache")
    n = query.shape[2]
    bounds = [0, n] if cu_seq_lens_q is None else cu_seq_lens_q.tolist()
    if bounds[0] != 0 or bounds[-1] != n:
        raise ValueError(f"segment boundaries {bounds[0]}..{bounds[-1]} do not cover {n} tokens")
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    gqa = query.shape[1] != key.shape[1]
    parts = [
        F.scaled_dot_product_attention(
            query[:, :, start:end],
            key[:, :, start:end],
            value[:, :, start:end],
            attn_mask=None,
            dropout_p=dropout,
            scale=scaling,
            is_causal=causal and end - start > 1,
            enable_gqa=gqa,
        )  # [1, Hq, len_i, D]
        for start, end in zip(bounds[:-1], bounds[1:], strict=True)
        if end > start
    ]
    out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)  # [1, Hq, N, D]
    return out.transpose(1, 2).contiguous(), None


def no_mask(
    batch_size: int,
    q_length: int,
    kv_length: int,
    q_offset: int = 0,
    kv_offset: int = 0,
    mask_function=None,
    attention_mask: torch.Tensor | None = None,
    **kwargs,
) -> None:
    """The mask builder for ``PACKED``: segments come from ``cu_seq_lens_q``, so no mask at all."""
    if attention_mask is not None and not bool(attention_mask.all()):
        raise ValueError("packed attention cannot honour a padding mask: pack the rows instead")
    return None


# Outside any compiled graph (models.compile): the loop over segments is Python, and tracing it
# would compile one graph per segment count.
AttentionInterface.register(PACKED, torch.compiler.disable(packed_sdpa_attention))
AttentionMaskInterface.register(PACKED, no_mask)


@contextmanager
def packed_attention(model) -> Iterator[None]:
    """Run ``model`` (plain or PEFT-wrapped) with packed attention inside the block.

    Hold it across the backward pass too: gradient checkpointing recomputes attention there, and a
    recomputation under sdpa is a different graph (torch's checkpoint raises CheckpointError on
    it). Nested use is a no-op.
    """
    lm = causal_lm(model)
    previous = lm.config._attn_implementation
    if previous == PACKED:
        yield
        return
    lm.set_attn_implementation(PACKED)
    try:
        yield
    finally:
        lm.set_attn_implementation(previous)


def attention_for(model, batch: dict) -> AbstractContextManager:
    """``packed_attention(model)`` for a packed batch, nothing for a padded one (whose padding
    mask the packed implementation refuses). Hold it across the backward pass too."""
    return packed_attention(model) if is_packed(batch) else nullcontext()
