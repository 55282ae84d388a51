"""Feedback rows -> a training file: DPO preference pairs or KTO unpaired rows (pure functions).

* comparisons: preferred is chosen, rejected is rejected; corrections: the correction is chosen,
  the original output rejected (a correction's own rating is not used again); ratings: unpaired
  rows for KTO (``up`` desirable, ``down`` undesirable), left out of a DPO file (counted).
* DPO rows are OpenAI's preference format: ``{"input": {"messages"}, "preferred_output":
  [assistant], "non_preferred_output": [assistant]}``. KTO rows: ``{"input": {"messages"},
  "output": [assistant], "label": bool}``; every pair also gives one desirable and one
  undesirable row (as TRL's ``unpair_preference_dataset`` does).
* Cleaning, in this order: contradictions (A over B and B over A for the same prompt; for KTO
  the same prompt and output labelled both ways) are dropped, all their rows, and counted once
  per conflicting pair; exact duplicates (same prompt and outputs after collapsing whitespace
  and case) keep the first; near duplicates (``NEAR_DUPLICATE_JACCARD``: Jaccard similarity of
  0.9 or more between the sets of lower-cased word tokens of prompt, chosen and rejected, each
  token tagged with its field) keep the first.
* Then the PII policy (``data.privacy``): ``redact`` (default) writes typed placeholders
  (``<EMAIL_1>``, the same value the same placeholder in the whole file), ``report`` counts,
  ``off`` skips the scan, ``block`` writes nothing and raises ``pii_found`` naming the types
  and lines (never the values).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tunelab.errors import TunelabError
from tunelab.store.atomic import atomic_path

EXPORT_KINDS = ("dpo", "kto")
NEAR_DUPLICATE_JACCARD = 0.9
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Example:
    """One cleaned unit: a pair (``rejected`` set) or an unpaired row (``label`` set)."""

    messages: list
    chosen: str
    rejected: str | None = None
    label: bool | None = None


def collect(rows: Iterable) -> tuple[list[Example], list[Example], Counter]:
    """(pairs, unpaired ratings, rows per source kind) from feedback rows."""
    pairs, ratings, sources = [], [], Counter()
    for row in rows:
        sources[row.kind] += 1
        if row.kind == "comparison":
            pairs.append(Example(row.messages, row.output, rejected=row.rejected_output))
        elif row.kind == "correction":
            pairs.append(Example(row.messages, row.correction, rejected=row.output))
        else:
            ratings.append(Example(row.messages, row.output, label=row.rating == "up"))
    return pairs, ratings, sources


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def prompt_key(messages: list) -> str:
    return json.dumps([[m["role"], norm(m["content"])] for m in messages])


def drop_contradictions(examples: list[Example]) -> tuple[list[Example], int]:
    """Without every example whose opposite is there too; returns (kept, conflicts): a pair
    A>B against B>A, or one output labelled desirable and undesirable, counts once."""

    def key(e: Example, flip: bool = False) -> tuple:
        if e.rejected is None:
            return prompt_key(e.messages), norm(e.chosen), e.label != flip
        a, b = norm(e.chosen), norm(e.rejected)
        return (prompt_key(e.messages), b, a) if flip else (prompt_key(e.messages), a, b)

    present = {key(e) for e in examples}
    conflicting = {k for k in present if key_flip(k) in present}
    kept = [e for e in examples if key(e) not in conflicting]
    return kept, len(conflicting) // 2


def key_flip(k: tuple) -> tuple:
    return (k[0], k[1], not k[2]) if isinstance(k[2], bool) else (k[0], k[2], k[1])


def drop_duplicates(examples: list[Example]) -> tuple[list[Example], int]:
    """The first of each group with the same normalised prompt and outputs (and label)."""
    seen, kept = set(), []
    for e in examples:
        k = (prompt_key(e.messages), norm(e.chosen), norm(e.rejected or ""), e.label)
        if k not in seen:
            seen.add(k)
            kept.append(e)
    return kept, len(examples) - len(kept)


def tokens(e: Example) -> frozenset[str]:
    """Word tokens of the prompt, chosen and rejected, each tagged with its field."""
    prompt = " ".join(m["content"] for m in e.messages).casefold()
    found = {f"p:{t}" for t in _WORD.findall(prompt)}
    found |= {f"c:{t}" for t in _WORD.findall(e.chosen.casefold())}
    found |= {f"r:{t}" for t in _WORD.findall((e.rejected or "").casefold())}
    return frozenset(found | ({f"l:{e.label}"} if e.label is not None else set()))


def drop_near_duplicates(
    examples: list[Example], threshold: float = NEAR_DUPLICATE_JACCARD
) -> tuple[list[Example], int]:
    """Drop each example whose token Jaccard with an earlier kept one is >= ``threshold``.

    Exact all-pairs with prefix filtering: with tokens sorted rarest first, two sets this
    similar share a token among their first ``len - ceil(threshold * len) + 1``, so only those
    are indexed and only examples sharing one are compared."""
    sets = [tokens(e) for e in examples]
    counts = Counter(t for s in sets for t in s)
    index: dict[str, list[int]] = defaultdict(list)
    kept: list[int] = []
    for i, s in enumerate(sets):
        ordered = sorted(s, key=lambda t: (counts[t], t))
        prefix = ordered[: len(ordered) - math.ceil(threshold * len(ordered)) + 1]
        low, high = threshold * len(s), len(s) / threshold  # a Jaccard bound on sizes
        candidates = {j for t in prefix for j in index[t] if low <= len(sets[j]) <= high}
        if any(len(s & sets[j]) >= threshold * len(s | sets[j]) for j in candidates):
            continue
        kept.append(i)
        for t in prefix:
            index[t].append(i)
    return [examples[i] for i in kept], len(examples) - len(kept)


def clean(examples: list[Example], stats: Counter) -> list[Example]:
    examples, n = drop_contradictions(examples)
    stats["contradictions"] += n
    examples, n = drop_duplicates(examples)
    stats["duplicates"] += n
    examples, n = drop_near_duplicates(examples)
    stats["near_duplicates"] += n
    return examples


def assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def to_records(pairs: list[Example], ratings: list[Example], kind: str, stats: Counter):
    """The file's records for ``kind`` (``dpo`` or ``kto``), cleaned."""
    pairs = clean(pairs, stats)
    if kind == "dpo":
        stats["ratings_not_used"] += len(ratings)
        return [
            {
                "input": {"messages": p.messages},
                "preferred_output": assistant(p.chosen),
                "non_preferred_output": assistant(p.rejected),
            }
            for p in pairs
        ]
    unpaired = [Example(p.messages, p.chosen, label=True) for p in pairs]
    unpaired += [Example(p.messages, p.rejected, label=False) for p in pairs]
    rows = clean(ratings, stats)
    # a pair's halves against the ratings: conflicts and repeats, not near duplicates (a
    # pair's two halves share their prompt and may well be near each other)
    rows, n = drop_contradictions(unpaired + rows)
    stats["contradictions"] += n
    rows, n = drop_duplicates(rows)
    stats["duplicates"] += n
    return [
        {"input": {"messages": e.messages}, "output": assistant(e.chosen), "label": e.label}
        for e in rows
    ]


def scrub(records: list[dict], policy: str) -> tuple[list[dict], dict]:
    """``records`` under the PII policy and the privacy report (counts, lines; no values)."""
    from tunelab.data.privacy import PrivacyReport, Scrubber, check_policy

    report = PrivacyReport("feedback export", check_policy(policy))
    if policy == "off":
        return records, report.to_dict()
    scrubber, out = Scrubber(), []
    for line, record in enumerate(records, start=1):
        scrubbed, found = scrubber.scrub_record(record)
        report.add(line, found)
        out.append(scrubbed if policy == "redact" else record)
    if not report.ok:
        from tunelab.jobs.pii import describe

        summary = report.to_dict()
        raise TunelabError(
            f"The export holds personal data ({describe(summary)}); the privacy policy is block. "
            "Export with policy redact, or delete that feedback.",
            code="pii_found",
            param="policy",
        )
    return out, report.to_dict()


def build_export(rows: Iterable, *, kind: str = "dpo", policy: str = "redact"):
    """(records, summary) of an export of ``rows`` (feedback rows, oldest first)."""
    if kind not in EXPORT_KINDS:
        message = f"kind must be one of {EXPORT_KINDS}, not {kind!r}."
        raise TunelabError(message, code="invalid_value", param="kind")
    pairs, ratings, sources = collect(rows)
    stats: Counter = Counter()
    records = to_records(pairs, ratings, kind, stats)
    records, privacy = scrub(records, policy)
    labels = Counter(r["label"] for r in records) if kind == "kto" else Counter()
    summary = {
        "object": "feedback.export",
        "kind": kind,
        "policy": policy,
        "feedback": dict(sources),
        "rows": len(records),
        "desirable": labels[True],
        "undesirable": labels[False],
        "duplicates": stats["duplicates"],
        "near_duplicates": stats["near_duplicates"],
        "contradictions": stats["contradictions"],
        "ratings_not_used": stats["ratings_not_used"],
        "pii": {"counts": privacy["counts"], "records_with_pii": privacy["records_with_pii"]},
    }
    return records, summary


def write_records(records: list[dict], out_path: Path) -> Path:
    """JSON Lines, one record a line, written atomically."""
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out_path
