"""Summaries of a dataset: turns, duplicates, token lengths, a histogram and a time estimate.

Token counts come from the caller (who holds the tokenizer), so this module stays stdlib only.
"""

from __future__ import annotations

import math
from collections import Counter

from tunelab.data.formats import Example, example_key

HISTOGRAM_BINS = 10


def dataset_stats(
    examples: list[Example],
    *,
    token_counts: list[tuple[int, int]] | None = None,
    tokens_per_second: float | None = None,
    epochs: int = 1,
) -> dict:
    """Describe ``examples``; ``token_counts[i]`` is ``(total, trained)`` tokens of example i.

    Token fields (``tokens_total``, ``tokens_trained``, ``tokens_per_example``, ``histogram``)
    appear only with ``token_counts``; ``estimated_train_seconds`` (tokens_total * epochs /
    tokens_per_second) only with both.
    """
    if token_counts is not None and len(token_counts) != len(examples):
        raise ValueError(f"{len(token_counts)} token counts for {len(examples)} examples")
    if tokens_per_second is not None and tokens_per_second <= 0:
        raise ValueError(f"tokens_per_second must be positive, not {tokens_per_second}")
    copies = Counter(example_key(example) for example in examples)
    duplicates = len(examples) - len(copies)
    stats: dict = {
        "examples": len(examples),
        "text_examples": sum(example.kind == "text" for example in examples),
        "messages_per_example": summarize([len(example.messages) for example in examples]),
        "turns": dict(Counter(m["role"] for example in examples for m in example.messages)),
        "duplicates": duplicates,
        "duplicate_ratio": duplicates / len(examples) if examples else 0.0,
    }
    if token_counts is not None:
        totals = [total for total, _ in token_counts]
        stats["tokens_total"] = sum(totals)
        stats["tokens_trained"] = sum(trained for _, trained in token_counts)
        stats["tokens_per_example"] = summarize(totals)
        stats["histogram"] = histogram(totals)
        if tokens_per_second is not None:
            seconds = stats["tokens_total"] * epochs / tokens_per_second
            stats["estimated_train_seconds"] = seconds
    return stats


def summarize(values: list[int]) -> dict:
    """min, mean, p50, p95 and max of ``values`` (all zero when empty)."""
    if not values:
        return {"min": 0, "mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0}
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "mean": sum(ordered) / len(ordered),
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "max": ordered[-1],
    }


def percentile(ordered: list[int], q: float) -> float:
    """The q-th percentile of sorted values, interpolating linearly (numpy's default)."""
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def histogram(values: list[int], bins: int = HISTOGRAM_BINS) -> list[dict]:
    """Equal-width integer bins ``{"lo", "hi", "count"}``, both ends inclusive, covering all values.

    At most ``bins`` bins; the counts sum to ``len(values)``.
    """
    if not values:
        return []
    low, high = min(values), max(values)
    width = math.ceil((high - low + 1) / bins)
    n_bins = math.ceil((high - low + 1) / width)
    counts = [0] * n_bins
    for value in values:
        counts[(value - low) // width] += 1
    return [
        {"lo": low + i * width, "hi": min(low + (i + 1) * width - 1, high), "count": count}
        for i, count in enumerate(counts)
    ]


def format_histogram(hist: list[dict], width: int = 40) -> str:
    """Render a histogram as text bars, one line per bin, for a terminal."""
    if not hist:
        return "(no data)"
    peak = max(row["count"] for row in hist) or 1
    labels = [f"{row['lo']}-{row['hi']}" for row in hist]
    pad = max(len(label) for label in labels)
    lines = []
    for label, row in zip(labels, hist, strict=True):
        bar = "#" * math.ceil(width * row["count"] / peak)
        lines.append(f"{label.rjust(pad)} | {bar} {row['count']}")
    return "\n".join(lines)
