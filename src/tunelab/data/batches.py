"""Seeded, length-grouped batches and padding.

Each epoch's order is a pure function of (seed, epoch): a resumed run replays exactly the batches an
uninterrupted run would have seen. Examples are shuffled, grouped into windows of 16 batches,
sorted by length inside a window (less padding, which is wasted compute on a CPU), and the batches
shuffled again.

Two layouts of a batch: ``collate`` right-pads to [B, T]; ``pack`` concatenates into one row [1, N]
with no padding at all, for ``models.attention``'s per-example attention.
"""

from __future__ import annotations

import random

from tunelab.data.render import IGNORE, Rendered


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 16
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def eval_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def token_groups(order: list[int], lengths: list[int], max_tokens: int) -> list[list[int]]:
    """``order`` cut, in order, into consecutive groups of at most ``max_tokens`` tokens for
    ``pack`` (a training step's micro-batches); an item longer than ``max_tokens`` is alone."""
    groups: list[list[int]] = []
    used = max_tokens
    for i in order:
        if used + lengths[i] > max_tokens:
            groups.append([])
            used = 0
        groups[-1].append(i)
        used += lengths[i]
    return groups


def eval_packs(lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Indices in length order, cut into groups of at most ``max_tokens`` tokens for ``pack``."""
    return token_groups(sorted(range(len(lengths)), key=lambda i: lengths[i]), lengths, max_tokens)


def generation_batches(
    lengths: list[int], max_rows: int, max_tokens: int, new_tokens: int
) -> list[list[int]]:
    """Prompt indices in length order, in left-padded generation batches of at most ``max_rows``
    rows and ``max_tokens`` padded tokens (rows x (longest prompt + ``new_tokens``)), so one long
    prompt goes alone instead of beside a full batch."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        rows = len(batches[-1]) + 1 if batches else 0
        if not batches or rows > max_rows or rows * (lengths[i] + new_tokens) > max_tokens:
            batches.append([])
        batches[-1].append(i)
    return batches


def collate(items: list[Rendered], pad_id: int, device: str = "cpu") -> dict:
    """Right-pad to the longest item: input_ids, attention_mask, labels, each [B, T] tensors."""
    import torch  # lazily: the data layer imports without torch

    width = max(len(r.input_ids) for r in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    for row, r in enumerate(items):
        n = len(r.input_ids)
        ids[row, :n] = torch.tensor(r.input_ids)
        mask[row, :n] = 1
        labels[row, :n] = torch.tensor(r.labels)
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "labels": labels.to(device),
    }


MAX_PADDING = 0.2  # of the real tokens: below it, padded rows beat packing's per-example attention


def collate_or_pack(
    items: list[Rendered], pad_id: int, device: str = "cpu", max_padding: float = MAX_PADDING
) -> dict:
    """``collate`` when padding adds at most ``max_padding`` of the real tokens, else ``pack``.

    Short rows of similar length (length-grouped chat batches) run faster padded: one batched
    attention call per layer instead of one per example (the demo's steps were ~15% slower
    packed). Rows of mixed or long lengths pack, so padding never costs more than that share.
    """
    real = sum(len(r.input_ids) for r in items)
    padded = len(items) * max(len(r.input_ids) for r in items)
    if padded <= (1 + max_padding) * real:
        return collate(items, pad_id, device)
    return pack(items, device)


def pack(items: list[Rendered], device: str = "cpu") -> dict:
    """Concatenate items into one row with no padding; each keeps its own positions and attention.

    Returns input_ids, labels, position_ids, each [1, N] with N the total length, and the segment
    boundaries as flash-attention names them: cu_seq_lens_q = cu_seq_lens_k, int32 [k+1] (0, the
    end of each item), max_length_q = max_length_k (the longest item). No attention_mask.
    Each item's first label is IGNORE: ``trained_token_loss`` predicts label t+1 at position t, so
    this is what keeps the last token of one example from being trained to predict the next
    example's first; an unpacked item's first label is never a target either.
    """
    import torch  # lazily: the data layer imports without torch

    ids, labels, positions, bounds = [], [], [], [0]
    for r in items:
        n = len(r.input_ids)
        ids += r.input_ids
        labels += ([IGNORE] + r.labels[1:])[:n]
        positions += range(n)
        bounds.append(bounds[-1] + n)
    cu = torch.tensor(bounds, dtype=torch.int32, device=device)
    longest = max(len(r.input_ids) for r in items)
    return {
        "input_ids": torch.tensor([ids], dtype=torch.long, device=device),
        "labels": torch.tensor([labels], dtype=torch.long, device=device),
        "position_ids": torch.tensor([positions], dtype=torch.long, device=device),
        "cu_seq_lens_q": cu,
        "cu_seq_lens_k": cu,
        "max_length_q": longest,
        "max_length_k": longest,
    }
