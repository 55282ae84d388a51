"""Find and scrub personal data and secrets in training data, before any training.

``find_pii`` returns the PII in one string; a ``Scrubber`` (one per dataset) replaces each value
with a typed placeholder (``<EMAIL_1>``), the same value with the same placeholder everywhere in
the dataset. ``scan_file`` and ``scrub_file`` apply a policy to a JSONL or CSV file: ``off``,
``report`` (count only), ``redact`` (write the file with values replaced; same lines, same
record structure, JSON inside strings still valid JSON with the same keys) or ``block`` (refuse,
with a ``pii_found`` issue naming the lines and types). Reports never hold raw values.

The detectors live beside this module: ``pii_rules`` (values with a checkable shape),
``pii_secrets``, ``pii_dates``, ``pii_address``, ``pii_names`` (names in any script) and
``pii_keys`` (what a JSON key says its value is); ``pii_files`` rewrites files. Torch-free.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tunelab.data import pii_rules as rules
from tunelab.data.io import escape_pointer, read_records
from tunelab.data.pii_address import find_addresses
from tunelab.data.pii_dates import find_birth_dates
from tunelab.data.pii_files import chunked, dump_like, primed_blocks, scrub_stream, workers_for
from tunelab.data.pii_keys import key_finding
from tunelab.data.pii_names import find_names
from tunelab.data.pii_secrets import find_secrets
from tunelab.errors import ConfigError, DataIssue, DataValidationError

PII_TYPES = (
    "EMAIL",
    "PHONE",
    "CREDIT_CARD",
    "IBAN",
    "IP_ADDRESS",
    "US_SSN",
    "SECRET",
    "URL_CREDENTIALS",
    "PERSON",
    "ADDRESS",
    "DATE_OF_BIRTH",
)
POLICIES = ("off", "report", "redact", "block")

# Which span wins when two overlap: values proven by their shape first, guesses last.
_RANK = {
    "SECRET": 0,
    "URL_CREDENTIALS": 1,
    "EMAIL": 2,
    "IBAN": 3,
    "CREDIT_CARD": 4,
    "US_SSN": 5,
    "IP_ADDRESS": 6,
    "ADDRESS": 7,
    "DATE_OF_BIRTH": 8,
    "PHONE": 9,
    "SECRET_ASSIGNED": 10,
    "PERSON": 11,
    "SECRET_ENTROPY": 12,
}
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Finding:
    """One detected value in one string: its type, its span and the value itself."""

    type: str
    start: int
    end: int
    text: str


def find_pii(text: str) -> list[Finding]:
    """Every PII value in ``text``, sorted by start and not overlapping."""
    if len(text) < 2 or text.isascii() and (len(text) < 3 or text.isalpha() and text.islower()):
        return []  # roles, keys, single words: nothing to find
    if len(text) <= 64:
        return list(_find_short(text))
    return _find(text)


@lru_cache(maxsize=8192)
def _find_short(text: str) -> tuple[Finding, ...]:
    return tuple(_find(text))


def _find(text: str, prefilter: bool = True) -> list[Finding]:
    """Run the detectors on ``text``. The prefilter skips those whose trigger is absent (no
    run of enough digits for a card, an SSN or a phone number; no digit for an address or a
    date of birth); ``prefilter=False`` runs them all, for tests that it loses nothing."""
    low = text.lower()
    if len(low) != len(text):  # a few characters change length when lowered ("İ")
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    spans: list[tuple[str, int, int]] = []
    if "@" in text and "://" in text:
        spans += rules.find_url_credentials(text)
    spans += rules.find_emails(text, low)
    runs = rules.number_runs(text)
    if runs:  # each number detector needs a run with at least so many digits
        most = max(digits for _, _, digits in runs) if prefilter else 99
        if most >= 13:
            spans += rules.find_cards(text, runs)
        if most >= 6:
            spans += rules.find_ibans(text, runs)
        if most >= 9:
            spans += rules.find_ssns(text, low, runs)
        if most >= 7:
            spans += rules.find_phones(text, low, runs)
    spans += rules.find_ips(text, low, runs)
    if not prefilter or _DIGIT.search(text):
        spans += find_birth_dates(text, low)
        spans += find_addresses(text, low)
    spans += find_secrets(text, low)
    spans += find_names(text, low)
    return _resolve(text, spans)


def _resolve(text: str, spans: list[tuple[str, int, int]]) -> list[Finding]:
    """Keep the best of overlapping spans (by rank, then length) and name their public type.
    Overlapping names or addresses are one value: their spans are joined first."""
    if not spans:
        return []
    spans = _join_same(spans, ("PERSON", "ADDRESS"))
    starts: list[int] = []  # the chosen spans, sorted by start (they never overlap)
    chosen: list[tuple[int, int, str]] = []
    for kind, start, end in sorted(spans, key=lambda s: (_RANK[s[0]], s[1] - s[2], s[1])):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        at = bisect.bisect_left(starts, start)
        if end <= start or (at < len(starts) and starts[at] < end):
            continue  # empty, or it overlaps the next chosen span
        if at and chosen[at - 1][1] > start:
            continue  # it overlaps the previous chosen span
        starts.insert(at, start)
        chosen.insert(at, (start, end, kind))
    return [
        Finding("SECRET" if kind.startswith("SECRET") else kind, s, e, text[s:e])
        for s, e, kind in chosen
    ]


def _join_same(spans: list[tuple[str, int, int]], kinds: tuple[str, ...]) -> list:
    kept = [s for s in spans if s[0] not in kinds]
    for kind in kinds:
        joined: list[list] = []
        for _, start, end in sorted(s for s in spans if s[0] == kind):
            if joined and start < joined[-1][2]:
                joined[-1][2] = max(joined[-1][2], end)
            else:
                joined.append([kind, start, end])
        kept += [tuple(j) for j in joined]
    return kept


class Scrubber:
    """Redacts one dataset: the same value gets the same placeholder in every record."""

    def __init__(self, *, keep_found: bool = False) -> None:
        self._placeholders: dict[tuple[str, str], str] = {}
        self._numbers: dict[str, int] = {}
        self._seen: dict[str, list[Finding]] = {}  # system prompts and templates repeat
        self._primed: dict[str, list[Finding]] = {}  # found by another process (pii_files)
        self.found: dict[str, list[Finding]] | None = {} if keep_found else None  # every string

    def prime(self, found: dict[str, list[Finding]]) -> None:
        """What another process found in the next records' strings (``find_pii`` of each): the
        detection is done there, the placeholders (which must be numbered in order) here."""
        self._primed = found

    def _find(self, text: str) -> list[Finding]:
        primed = self._primed.get(text)
        if primed is not None:
            return primed
        if len(text) > 4096:
            found = find_pii(text)
        else:
            found = self._seen.get(text)
            if found is None:
                if len(self._seen) >= 8192:
                    self._seen.clear()
                found = self._seen[text] = find_pii(text)
        if self.found is not None:
            self.found[text] = found
        return found

    def placeholder(self, finding: Finding) -> str:
        key = (finding.type, _normalize(finding))
        if key not in self._placeholders:
            n = self._numbers[finding.type] = self._numbers.get(finding.type, 0) + 1
            self._placeholders[key] = f"<{finding.type}_{n}>"
        return self._placeholders[key]

    def redact(self, text: str, *, key: str | None = None) -> tuple[str, list[Finding]]:
        """``text`` with every PII value replaced by its placeholder, and what was found."""
        findings = self._find(text)
        if key is not None and not findings:
            hinted = key_finding(key, text)
            findings = [Finding(*hinted, text[hinted[1] : hinted[2]])] if hinted else []
        if not findings:
            return text, findings
        parts, at = [], 0
        for f in findings:
            parts += [text[at : f.start], self.placeholder(f)]
            at = f.end
        parts.append(text[at:])
        return "".join(parts), findings

    def scrub_record(self, record: object) -> tuple[object, list[tuple[str, Finding]]]:
        """Redact every string in ``record``, keys included; the structure stays the same.

        A string holding a JSON object or array (tool-call arguments) is scrubbed inside and
        written back as JSON with the same keys: PII in those keys is reported, not replaced.
        Returns ``(new record, [(pointer, finding)])``.
        """
        found: list[tuple[str, Finding]] = []
        return self._value(record, (), found, None, True), found

    def scan(self, value: object) -> None:
        """Run the detectors on every string ``scrub_record`` would look at in ``value``, in the
        same order, building nothing (what a worker process of ``pii_files`` does)."""
        if isinstance(value, str):
            inner = _json_inside(value)
            if inner is None:
                self._find(value)
            else:
                self.scan(inner)
        elif isinstance(value, list):
            for item in value:
                self.scan(item)
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str):
                    self._find(k)
                self.scan(v)

    # ``path`` is a linked list ``(parent path, segment)``: the JSON pointer is only written out
    # for a string where something was found (most strings hold nothing).
    def _value(self, value: object, path: tuple, found: list, key, redact_keys: bool) -> object:
        if isinstance(value, str):
            return self._string(value, path, found, key)
        if isinstance(value, list):
            return [self._value(v, (path, i), found, key, redact_keys) for i, v in enumerate(value)]
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                child = (path, k)
                new_key = k
                if isinstance(k, str):
                    new_key, key_found = self.redact(k)
                    if key_found:
                        found += [(_pointer(child), f) for f in key_found]
                    new_key = new_key if redact_keys else k
                string_key = k if isinstance(k, str) else None
                out[new_key] = self._value(v, child, found, string_key, redact_keys)
            return out
        return value

    def _string(self, text: str, path: tuple, found: list, key: str | None) -> str:
        inner = _json_inside(text)
        if inner is not None:
            before = len(found)
            scrubbed = self._value(inner, path, found, None, False)
            return text if len(found) == before else dump_like(scrubbed, text.strip())
        new, findings = self.redact(text, key=key)
        if findings:
            pointer = _pointer(path)
            found += [(pointer, f) for f in findings]
        return new


def _json_inside(text: str) -> dict | list | None:
    """The object or array a string holds as JSON (tool-call arguments), else None."""
    stripped = text.strip()
    if stripped[:1] in "{[" and stripped[-1:] in "}]":
        try:
            inner = json.loads(stripped)
        except ValueError:
            return None
        if isinstance(inner, (dict, list)):
            return inner
    return None


def _pointer(path: tuple) -> str:
    """The RFC 6901 pointer of a ``_value`` path."""
    segments = []
    while path:
        path, segment = path
        segments.append(f"/{escape_pointer(str(segment))}")
    return "".join(reversed(segments))


def _normalize(finding: Finding) -> str:
    text = finding.text
    if finding.type in ("PHONE", "CREDIT_CARD", "US_SSN", "IBAN"):
        return re.sub(r"[^0-9A-Za-z]", "", text).upper()
    return " ".join(text.split()).casefold()


@dataclass
class PrivacyReport:
    """What a scan found in one file: counts and line numbers per type, never the values."""

    file: str
    policy: str
    counts: dict[str, int] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)
    records_scanned: int = 0
    records_with_pii: int = 0
    pointers: dict[int, str] = field(default_factory=dict)  # line -> first pointer with PII

    def add(self, line: int, found: list[tuple[str, Finding]]) -> None:
        self.records_scanned += 1
        if not found:
            return
        self.records_with_pii += 1
        self.pointers.setdefault(line, found[0][0])
        for _, finding in found:
            self.counts[finding.type] = self.counts.get(finding.type, 0) + 1
            seen = self.lines.setdefault(finding.type, [])
            if not seen or seen[-1] != line:
                seen.append(line)

    @property
    def found(self) -> bool:
        return bool(self.counts)

    @property
    def ok(self) -> bool:
        return not (self.policy == "block" and self.found)

    @property
    def issues(self) -> list[DataIssue]:
        """One ``pii_found`` error per line with PII when the policy is ``block``."""
        if self.ok:
            return []
        by_line: dict[int, list[str]] = {}
        for kind in PII_TYPES:
            for line in self.lines.get(kind, []):
                by_line.setdefault(line, []).append(kind)
        return [
            DataIssue(
                "pii_found",
                f"{', '.join(kinds)} found; the privacy policy is block (scrub the file with "
                "`tunelab data scrub`, or choose the redact policy)",
                self.file,
                line,
                self.pointers.get(line, ""),
            )
            for line, kinds in sorted(by_line.items())
        ]

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "policy": self.policy,
            "ok": self.ok,
            "counts": {k: self.counts[k] for k in PII_TYPES if k in self.counts},
            "lines": {k: self.lines[k] for k in PII_TYPES if k in self.lines},
            "records_scanned": self.records_scanned,
            "records_with_pii": self.records_with_pii,
            "issues": [issue.to_dict() for issue in self.issues],
        }


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        message = f"privacy policy must be one of {POLICIES}, not {policy!r}"
        raise ConfigError(message, param="policy")
    return policy


def scan_file(path: str | Path, policy: str = "report") -> PrivacyReport:
    """Count the PII in every record of a JSONL or CSV file (records that do not parse are left
    to validation). With ``policy="block"`` the report is not ``ok`` when anything was found."""
    report = PrivacyReport(str(path), check_policy(policy))
    if policy == "off":
        return report
    records, _ = read_records(path)
    scrubber = Scrubber()
    size = Path(path).stat().st_size
    for block, found in primed_blocks(chunked(records), lambda r: r.value, workers_for(size)):
        scrubber.prime(found)
        for record in block:
            report.add(record.line, scrubber.scrub_record(record.value)[1])
    return report


def scrub_file(path: str | Path, out: str | Path, policy: str = "redact") -> PrivacyReport:
    """Write ``out``: the file as training would see it under ``policy``.

    ``redact`` replaces every value with its placeholder; ``report`` and ``off`` copy the file
    unchanged; ``block`` raises ``DataValidationError`` (``pii_found`` per line) and writes
    nothing when PII is found. Lines, line ends and record structure are kept, and lines without
    PII are written byte for byte.
    """
    check_policy(policy)
    if policy == "block":
        report = scan_file(path, "block")
        if not report.ok:
            raise DataValidationError(report.issues)
    return scrub_stream(Path(path), Path(out), policy, Scrubber())
