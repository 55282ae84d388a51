"""Validate a whole data file before any compute is spent on it, collecting every issue.

``validate_file`` reads the file, checks each record against the file's format, finds duplicates,
measures length when given a token counter, and returns a ``ValidationReport``; ``load_examples``
raises ``DataValidationError`` listing every error instead. Nothing here stops at the first error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tunelab.data.formats import Example, detect_format, example_key, to_example, type_name
from tunelab.data.io import RawRecord, read_records
from tunelab.errors import ChatTemplateError, ConfigError, DataIssue, DataValidationError

PURPOSES = ("train", "eval")
OVERFLOWS = ("error", "drop", "truncate")


@dataclass
class ValidationReport:
    """What validation found in one file; ``examples`` are the valid ones, in file order."""

    file: str
    format: str | None
    examples: list[Example]
    issues: list[DataIssue]
    n_records: int
    n_too_long: int = 0  # examples over max_length
    n_dropped: int = 0  # removed because overflow == "drop"
    n_truncated: int = 0  # kept, to be truncated by the renderer, because overflow == "truncate"
    n_duplicates: int = 0  # examples equal to an earlier one
    n_windowed: int = 0  # plain-text examples over max_length, split into context-sized windows

    @property
    def errors(self) -> list[DataIssue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def warnings(self) -> list[DataIssue]:
        return [issue for issue in self.issues if issue.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def duplicate_ratio(self) -> float:
        """Share of the valid examples that repeat an earlier one (9 of 10 identical -> 0.9)."""
        return self.n_duplicates / len(self.examples) if self.examples else 0.0

    def to_dict(self) -> dict:
        """A JSON-serialisable summary, without the examples themselves."""
        return {
            "file": self.file,
            "format": self.format,
            "ok": self.ok,
            "n_records": self.n_records,
            "n_examples": len(self.examples),
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "n_too_long": self.n_too_long,
            "n_dropped": self.n_dropped,
            "n_truncated": self.n_truncated,
            "n_duplicates": self.n_duplicates,
            "n_windowed": self.n_windowed,
            "duplicate_ratio": self.duplicate_ratio,
            "issues": [issue.to_dict() for issue in self.issues],
        }


def validate_file(
    path: str | Path,
    *,
    purpose: str = "train",
    min_examples: int = 10,
    count_tokens: Callable[[Example], int] | None = None,
    max_length: int | None = None,
    overflow: str = "error",
    max_line_bytes: int = 1_000_000,
) -> ValidationReport:
    """Validate every record of a JSONL or CSV file and report all issues found.

    ``purpose="train"`` needs at least ``min_examples`` rows, each ending with an assistant turn;
    ``purpose="eval"`` needs one row, and rows may end with a user question. With ``count_tokens``
    (length after the chat template) and ``max_length``, longer examples are an error
    (``overflow="error"``), dropped with a warning (``"drop"``) or kept and counted for the
    renderer to truncate (``"truncate"``). ``min_examples`` counts the rows read, less dropped
    ones, so fixing the reported rows is enough to pass. Lines over ``max_line_bytes`` are
    skipped unread (``line_too_long``).
    """
    return validate_records(
        path,
        lambda records, file, issues: _convert(records, file, purpose, issues),
        _check_lengths,
        _find_duplicates,
        purpose=purpose,
        min_examples=min_examples,
        count_tokens=count_tokens,
        max_length=max_length,
        overflow=overflow,
        max_line_bytes=max_line_bytes,
    )


def validate_records(
    path: str | Path,
    convert: Callable,
    check_lengths: Callable,
    find_duplicates: Callable,
    *,
    purpose: str,
    min_examples: int,
    count_tokens: Callable | None,
    max_length: int | None,
    overflow: str,
    max_line_bytes: int,
) -> ValidationReport:
    """What every validator of a training file does around its own rows: read the records,
    ``convert(records, file, issues)`` them to ``(format, examples)``, check lengths
    (``check_lengths(report, count_tokens, max_length, overflow)``) and duplicates
    (``find_duplicates(report)``), require enough examples for ``purpose``, sort the issues by
    line. ``validate_file`` (SFT) and ``data.preference`` (DPO, KTO) differ only in those."""
    if purpose not in PURPOSES:
        raise ConfigError(f"purpose must be one of {PURPOSES}, not {purpose!r}", param="purpose")
    if overflow not in OVERFLOWS:
        raise ConfigError(
            f"overflow must be one of {OVERFLOWS}, not {overflow!r}", param="overflow"
        )
    file = str(path)
    records, issues = read_records(path, max_line_bytes=max_line_bytes)
    fmt, examples = convert(records, file, issues)
    report = ValidationReport(file, fmt, examples, issues, n_records=len(records))
    if count_tokens is not None and max_length is not None:
        check_lengths(report, count_tokens, max_length, overflow)
    find_duplicates(report)
    needed = min_examples if purpose == "train" else 1
    if report.n_records and report.n_records - report.n_dropped < needed:
        message = (
            f"{report.n_records - report.n_dropped} example(s); {purpose} data needs at least "
            f"{needed}"
        )
        issues.append(DataIssue("too_few_examples", message, file=file))
    issues.sort(key=lambda issue: (issue.line is None, issue.line or 0))
    return report


def load_examples(path: str | Path, **kwargs: object) -> list[Example]:
    """Validate ``path`` (same options as ``validate_file``) and return its examples.

    Raises ``DataValidationError`` carrying every issue when any error was found.
    """
    report = validate_file(path, **kwargs)  # type: ignore[arg-type]
    if not report.ok:
        raise DataValidationError(report.issues)
    return report.examples


def _convert(
    records: list[RawRecord], file: str, purpose: str, issues: list[DataIssue]
) -> tuple[str | None, list[Example]]:
    """Check each record as the file's format: the format of its first recognisable row."""
    detected = [detect_format(record.value) for record in records]  # type: ignore[arg-type]
    file_fmt, first_line = next(
        ((fmt, record.line) for fmt, record in zip(detected, records, strict=True) if fmt),
        (None, None),
    )
    examples: list[Example] = []
    warned_keys: set[str] = set()
    for record, fmt in zip(records, detected, strict=True):
        issue = _row_shape_issue(record, fmt, file_fmt, first_line, file)
        if issue:
            issues.append(issue)
            continue
        example, found = to_example(record, file_fmt, file=file, purpose=purpose)  # type: ignore[arg-type]
        issues.extend(_first_unknown_keys(found, warned_keys))
        if example is not None:
            examples.append(example)
    return file_fmt, examples


def _row_shape_issue(
    record: RawRecord, fmt: str | None, file_fmt: str | None, first_line: int | None, file: str
) -> DataIssue | None:
    value = record.value
    if not isinstance(value, dict):
        hint = " (each line must be one JSON object: JSON Lines)" if isinstance(value, list) else ""
        message = f"each row must be a JSON object, not {type_name(value)}{hint}"
        return DataIssue("data_type", message, file, record.line)
    if file_fmt is None:
        keys = ", ".join(repr(key) for key in list(value)[:8]) or "none"
        message = (
            f"keys ({keys}) fit no format; use messages (chat), prompt + completion, "
            "instruction + output (alpaca) or text"
        )
        return DataIssue("unknown_format", message, file, record.line)
    if fmt is not None and fmt != file_fmt:
        message = f"this row is {fmt} but the file is {file_fmt} (from line {first_line})"
        return DataIssue("mixed_formats", message, file, record.line)
    return None


def _first_unknown_keys(found: list[DataIssue], warned: set[str]) -> list[DataIssue]:
    """Keep an unknown top-level key's warning for its first row only (a CSV column repeats)."""
    kept = []
    for issue in found:
        if issue.code == "unrecognized_key":
            if issue.pointer in warned:
                continue
            warned.add(issue.pointer)
        kept.append(issue)
    return kept


def _check_lengths(
    report: ValidationReport, count_tokens: Callable[[Example], int], max_length: int, overflow: str
) -> None:
    kept = []
    for example in report.examples:
        try:
            n_tokens = count_tokens(example)
        except ChatTemplateError as exc:  # the model cannot render this row: an error on its line
            issue = DataIssue(exc.code, exc.message, report.file, example.line, "/messages")
            report.issues.append(issue)
            continue
        if n_tokens <= max_length:
            kept.append(example)
            continue
        if example.kind == "text":  # continued pre-training: a long document is many windows
            windows = -(-n_tokens // max_length)
            report.n_windowed += 1
            message = (
                f"text is {n_tokens} tokens; max_length is {max_length}: it is trained as "
                f"{windows} windows of up to {max_length} tokens"
            )
            report.issues.append(
                DataIssue("text_windowed", message, report.file, example.line, "/text", "warning")
            )
            kept.append(example)
            continue
        report.n_too_long += 1
        message = (
            f"example is {n_tokens} tokens after the chat template; max_length is {max_length}"
        )
        severity = "warning"
        if overflow == "error":
            message += "; shorten it, or set overflow to 'drop' or 'truncate'"
            severity = "error"
        elif overflow == "drop":
            message += "; it was dropped"
            report.n_dropped += 1
        else:
            message += "; it will be truncated"
            report.n_truncated += 1
        issue = DataIssue("example_too_long", message, report.file, example.line, "", severity)
        report.issues.append(issue)
        if overflow != "drop":
            kept.append(example)
    report.examples = kept


def _find_duplicates(report: ValidationReport) -> None:
    first_seen: dict[str, int] = {}
    for example in report.examples:
        key = example_key(example)
        if key not in first_seen:
            first_seen[key] = example.line
            continue
        report.n_duplicates += 1
        message = f"duplicate of the example on line {first_seen[key]}"
        issue = DataIssue("duplicate_example", message, report.file, example.line, "", "warning")
        report.issues.append(issue)
