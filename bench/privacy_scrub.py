"""Measure the PII scrubber (``tunelab.data.privacy``) on the seeded corpus of ``pii_corpus.py``.

Prints, against issue 9's targets:
- recall per PII type, and for PERSON per script: a planted value counts as found when none of its
  parts (the exact text, or for an address every one of number, street, postcode and city; for a
  name every word) survives in the scrubbed string beyond the copies that were already there
  outside planted values. "typed" is the share found with a finding of the right type;
- negatives preserved: each look-alike's exact text is still there (per kind);
- PII-free lines unchanged: the record serializes byte for byte as before;
- tool-call JSON intact: every string of the record that parsed as JSON still parses, same keys;
- line count and record structure preserved, and throughput in MB/s of chat text (best of
  ``--passes`` passes over the corpus as JSONL: parse, scrub, serialize, a fresh ``Scrubber`` each).

    .venv/bin/python bench/privacy_scrub.py [--n 2400] [--seed 0] [--show-misses N] [--write PATH]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pii_corpus import PII_TYPES, SCRIPTS, Case, Negative, Planted, make_corpus, to_jsonl  # noqa: E402

PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")
STRICT = PII_TYPES[:8]  # email .. credential URLs: recall >= 0.99
Scrub = Callable[[dict], tuple[dict, list]]


@dataclass
class Score:
    found: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    typed: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    scripts: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    address_some: list[bool] = field(default_factory=list)
    misses: dict[str, list[tuple[Planted, str]]] = field(default_factory=lambda: defaultdict(list))
    kept: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    damaged: dict[str, list[tuple[Negative, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    pii_free: list[bool] = field(default_factory=list)
    json_intact: list[bool] = field(default_factory=list)
    structure: list[bool] = field(default_factory=list)
    lines_in: int = 0
    lines_out: int = 0
    errors: list[str] = field(default_factory=list)


def resolve(record: object, pointer: str) -> object:
    """The value at an RFC 6901 JSON pointer, or None when the path is gone."""
    node = record
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def strings(node: object, pointer: str = "") -> list[tuple[str, str]]:
    """Every string value of a record with its pointer."""
    if isinstance(node, str):
        return [(pointer, node)]
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return []
    out = []
    for key, value in items:
        out += strings(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    return out


def shape(node: object) -> object:
    """Keys and list lengths, all the way down; scalar values do not count."""
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(v) for v in node]
    return None


def _json(text: str) -> object | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def _outside(text: str, planted: list[str]) -> str:
    for value in sorted(planted, key=len, reverse=True):
        text = text.replace(value, "\0")
    return text


def survives(part: str, before: str, after: str, planted: list[str]) -> bool:
    """Whether more copies of ``part`` are left than stood outside planted values before."""
    return PLACEHOLDER.sub("\0", after).count(part) > _outside(before, planted).count(part)


def _context(text: str, before: str, after: str, width: int = 40) -> str:
    """Where ``text`` stood, in the scrubbed string: found by the words just before it."""
    at = after.find(text)
    if at < 0:
        start = max(0, before.find(text))
        anchor = before[max(0, start - 16) : start]
        at = after.find(anchor) + len(anchor) if anchor and anchor in after else start
    return after[max(0, at - width) : at + len(text) + width].replace("\n", "\\n")


def _typed(label: Planted, findings: list) -> bool:
    for pointer, finding in findings:
        kind, text = getattr(finding, "type", None), getattr(finding, "text", "") or ""
        same_place = str(pointer).startswith(label.pointer)
        overlap = text and (
            text in label.text or label.text in text or any(p in text for p in label.parts)
        )
        if kind == label.type and same_place and overlap:
            return True
    return False


def score_case(case: Case, after: dict, findings: list, score: Score) -> None:
    planted: dict[str, list[str]] = defaultdict(list)  # pointer: the planted texts there
    for label in case.planted:
        planted[label.pointer].append(label.text)
    for label in case.planted:
        _score_planted(label, case.record, after, planted[label.pointer], findings, score)
    for neg in case.negatives:
        before, now = resolve(case.record, neg.pointer), _text(after, neg.pointer)
        kept = PLACEHOLDER.sub("\0", now).count(neg.text)
        ok = kept >= _outside(before, planted[neg.pointer]).count(neg.text)
        score.kept[neg.kind].append(ok)
        if not ok:
            score.damaged[neg.kind].append((neg, _context(neg.text, before, now)))
    if case.pii_free:
        same = json.dumps(after, ensure_ascii=False) == json.dumps(case.record, ensure_ascii=False)
        score.pii_free.append(same)
    score.structure.append(shape(after) == shape(case.record))
    for pointer, text in strings(case.record):
        parsed = _json(text)
        if parsed is not None:
            again = _json(_text(after, pointer))
            score.json_intact.append(again is not None and shape(again) == shape(parsed))


def _text(record: dict, pointer: str) -> str:
    value = resolve(record, pointer)
    return value if isinstance(value, str) else ""


def _score_planted(
    label: Planted, record: dict, after: dict, planted: list[str], findings: list, score: Score
) -> None:
    before, now = resolve(record, label.pointer), _text(after, label.pointer)
    left = [part for part in label.parts if survives(part, before, now, planted)]
    score.found[label.type].append(not left)
    score.typed[label.type].append(not left and _typed(label, findings))
    if label.type == "PERSON":
        score.scripts[label.form].append(not left)
    if label.type == "ADDRESS":
        score.address_some.append(len(left) < len(label.parts))
    if left:
        score.misses[label.type].append((label, _context(left[0], before, now)))


def score(cases: list[Case], scrub: Scrub) -> Score:
    """Scrub a copy of every record and score it against the labels."""
    result = Score(lines_in=len(cases))
    out = []
    for case in cases:
        try:
            after, findings = scrub(json.loads(json.dumps(case.record)))
        except Exception:  # one failing record must not hide the rest
            result.errors.append(traceback.format_exc())
            after, findings = case.record, []  # nothing was scrubbed, and the line is lost
        else:
            out.append(json.dumps(after, ensure_ascii=False))
        score_case(case, after, findings, result)
    result.lines_out = "".join(line + "\n" for line in out).count("\n")
    return result


def throughput(jsonl: str, make_scrubber: Callable[[], object], passes: int) -> float:
    """MB/s over the corpus serialized as JSONL: parse, scrub, serialize; best pass. Every pass
    starts with the scrubber's caches empty (within a pass, a string seen before, such as a
    repeated system prompt, is found in the cache, as it would be in a real file)."""
    lines, size, best = jsonl.splitlines(), len(jsonl.encode()), float("inf")
    for _ in range(passes):
        clear_caches()
        scrubber = make_scrubber()
        started = time.perf_counter()
        for line in lines:
            json.dumps(scrubber.scrub_record(json.loads(line))[0], ensure_ascii=False)
        best = min(best, time.perf_counter() - started)
    return size / best / 1e6


def file_throughput(jsonl: str, passes: int) -> tuple[float, float, int]:
    """``scrub_file`` on the corpus written as a file: MB/s in one process and with the worker
    processes it starts for large files (best pass each, caches emptied), and how many."""
    import tempfile

    from tunelab.data import pii_files
    from tunelab.data.privacy import scrub_file

    with tempfile.TemporaryDirectory() as folder:
        src, out = Path(folder) / "corpus.jsonl", Path(folder) / "out.jsonl"
        src.write_text(jsonl, encoding="utf-8")
        size, workers = src.stat().st_size, max(2, pii_files.workers_for(1 << 40))
        results = []
        for threshold in (1 << 62, 0):  # never parallel, then always
            pii_files.PARALLEL_BYTES, best = threshold, float("inf")
            for _ in range(passes):
                clear_caches()
                started = time.perf_counter()
                scrub_file(src, out)
                best = min(best, time.perf_counter() - started)
            results.append(size / best / 1e6)
    return results[0], results[1], workers


def clear_caches() -> None:
    """Empty every ``functools`` cache of the scrubber's modules."""
    import sys

    for name, module in list(sys.modules.items()):
        if name.startswith("tunelab.data."):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def _row(name: str, flags: list[bool], extra: str = "") -> str:
    return f"  {name:<22} {sum(flags):>6}/{len(flags):<6} {_share(flags):>7.3f}  {extra}"


def report(
    cases: list[Case], s: Score, mbps: float | None, file_mbps: float | None = None
) -> list[tuple[str, float, float, bool]]:
    """Print the tables; return the targets as (name, value, goal, met); the throughput target
    is the file's (``scrub_file``, what ``tunelab data scrub`` and jobs run) when measured."""
    planted, negatives = sum(len(c.planted) for c in cases), sum(len(c.negatives) for c in cases)
    size = len(to_jsonl(cases).encode()) / 1e6
    print(
        f"corpus: {len(cases)} records ({sum(c.pii_free for c in cases)} PII-free), "
        f"{planted} planted values, {negatives} negatives, {size:.2f} MB"
    )
    print("\nrecall by type            found/planted  recall  typed")
    for kind in PII_TYPES:
        extra = f"{_share(s.typed[kind]):.3f}"
        if kind == "ADDRESS":
            extra += f"  (some part gone: {_share(s.address_some):.3f})"
        print(_row(kind, s.found[kind], extra))
    print("\nPERSON by script")
    for script in SCRIPTS:
        print(_row(script, s.scripts[script]))
    print("\nnegatives preserved by kind")
    for kind in sorted(s.kept):
        print(_row(kind, s.kept[kind]))
    kept = [ok for flags in s.kept.values() for ok in flags]
    print()
    print(_row("negatives preserved", kept))
    print(_row("PII-free unchanged", s.pii_free))
    print(_row("tool-call JSON intact", s.json_intact))
    print(_row("structure preserved", s.structure))
    print(f"  line count             {s.lines_out} of {s.lines_in}")
    if s.errors:
        print(f"  errors                 {len(s.errors)} records raised; the first:\n{s.errors[0]}")
    if mbps is not None:
        print(f"  throughput             {mbps:.2f} MB/s (records, one process)")
    return _targets(s, kept, file_mbps if file_mbps is not None else mbps)


def _targets(
    s: Score, kept: list[bool], mbps: float | None
) -> list[tuple[str, float, float, bool]]:
    goals = [(f"recall {k}", _share(s.found[k]), 0.99) for k in STRICT]
    goals += [(f"recall PERSON ({script})", _share(s.scripts[script]), 0.90) for script in SCRIPTS]
    goals += [("recall ADDRESS (every part)", _share(s.found["ADDRESS"]), 0.80)]
    goals += [
        ("negatives preserved", _share(kept), 0.95),
        ("PII-free unchanged", _share(s.pii_free), 0.95),
    ]
    goals += [("tool-call JSON intact", _share(s.json_intact), 1.0)]
    goals += [("line count preserved", float(s.lines_out == s.lines_in), 1.0)]
    goals += [("structure preserved", _share(s.structure), 1.0)]
    if mbps is not None:
        goals += [("throughput MB/s (scrub_file)", mbps, 1.0)]
    return [(name, value, goal, value >= goal) for name, value, goal in goals]


def show_misses(s: Score, n: int) -> None:
    for kind in PII_TYPES:
        if s.misses[kind]:
            print(f"\nmissed {kind} ({len(s.misses[kind])}):")
        for label, context in s.misses[kind][:n]:
            print(f"  [{label.form}] {label.text!r}\n      left: ...{context}...")
    for kind in sorted(s.damaged):
        print(f"\ndamaged {kind} ({len(s.damaged[kind])}):")
        for neg, context in s.damaged[kind][:n]:
            print(f"  {neg.text!r}\n      now: ...{context}...")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2400, help="records in the corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--passes", type=int, default=3, help="throughput passes (best counts)")
    parser.add_argument(
        "--file-scale", type=int, default=8, help="the file throughput's corpus: N x --n records"
    )
    parser.add_argument("--show-misses", type=int, default=0, metavar="N", help="N misses per type")
    parser.add_argument("--write", type=Path, metavar="PATH", help="write the corpus as JSONL")
    args = parser.parse_args()
    cases = make_corpus(args.n, args.seed)
    if args.write:
        args.write.write_text(to_jsonl(cases), encoding="utf-8")
        print(f"wrote {len(cases)} records to {args.write}")
    try:
        from tunelab.data.privacy import Scrubber
    except ImportError as e:
        print(f"the scrubber is not importable: {e}")
        return 2
    result = score(cases, Scrubber().scrub_record)
    mbps = None
    if args.passes:  # a scrubber that raises has no speed to speak of
        mbps = float("nan") if result.errors else throughput(to_jsonl(cases), Scrubber, args.passes)
    files = None
    if args.passes and not result.errors:
        # a file large enough for worker processes to pay off (their start costs ~1-2 s)
        big = make_corpus(args.n * args.file_scale, args.seed + 1)
        files = file_throughput(to_jsonl(big), max(1, args.passes - 1))
    targets = report(cases, result, mbps, files[1] if files else None)
    if files:
        print(
            f"  scrub_file             {files[0]:.2f} MB/s in one process, {files[1]:.2f} MB/s "
            f"with {files[2]} worker processes ({files[1] / files[0]:.2f}x), on a "
            f"{len(to_jsonl(big).encode()) / 1e6:.1f} MB corpus file"
        )
    print("\ntargets (issue 9)")
    for name, value, goal, met in targets:
        print(f"  {name:<32} {value:>7.3f}  >= {goal:<5} {'met' if met else 'NOT met'}")
    if args.show_misses:
        show_misses(result, args.show_misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
