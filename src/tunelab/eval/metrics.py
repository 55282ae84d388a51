"""Pure metric functions: no model, no torch."""

from __future__ import annotations

import math
import re


def perplexity(mean_loss: float) -> float:
    return math.exp(min(mean_loss, 50.0))


def normalize_text(text: str) -> str:
    """Collapse whitespace and trim: exact-match scoring ignores spacing, not case or words."""
    return re.sub(r"\s+", " ", text).strip()


def exact_match(answer: str, expected: str) -> bool:
    return normalize_text(answer) == normalize_text(expected)


def contains_all(answer: str, needles: str | list[str]) -> bool:
    """Case-insensitive substring check; a list needs every item."""
    items = [needles] if isinstance(needles, str) else needles
    low = answer.lower()
    return all(n.lower() in low for n in items)


def score_answer(answer: str, meta: dict) -> bool | None:
    """True/False when the row carries ``expected`` or ``must_contain``; None when unscored."""
    checks = []
    if "expected" in meta:
        checks.append(exact_match(answer, meta["expected"]))
    if "must_contain" in meta:
        checks.append(contains_all(answer, meta["must_contain"]))
    return all(checks) if checks else None


def accuracy(scores: list[bool | None]) -> float | None:
    scored = [s for s in scores if s is not None]
    return sum(scored) / len(scored) if scored else None
