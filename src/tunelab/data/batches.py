"""Seeded, length-grouped batches and padding.

Each epoch's order is a pure function of (seed, epoch): a resumed run replays exactly the batches an
uninterrupted run would have seen. Examples are shuffled, grouped into windows of 16 batches,
sorted by length inside a window (less padding, which is wasted compute on a CPU), and the batches
shuffled again.
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
