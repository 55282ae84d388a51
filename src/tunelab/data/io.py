"""Read JSONL and CSV data files into raw records, streaming and line-numbered.

This layer checks bytes, encoding, framing and JSON syntax; what a record means is checked in
``formats`` and ``validate``. Every problem becomes a ``DataIssue`` whose ``line`` is the 1-based
physical line in the file (blank lines and CRLF counted), so it matches what an editor shows.
Lines are read with a length cap, so one enormous line is skipped without being held in memory.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tunelab.errors import DataIssue

MAX_JSON_DEPTH = 64
SUFFIXES = (".jsonl", ".json", ".csv")
# A CSV header must name the leading column of one format (see formats.detect_format).
CSV_KEY_COLUMNS = ("messages", "prompt", "instruction", "text")
# Columns whose empty cell means "absent" rather than "empty string".
_CSV_REQUIRED_COLUMNS = ("messages", "prompt", "completion", "instruction", "output", "text")

_SNIFF_BYTES = 8192
_UTF8_BOM = b"\xef\xbb\xbf"
_NON_CONTROL = bytes(range(32, 256)) + b"\t\n\r\f"
_JSON_SPECIALS = re.compile(r'[\[\]{}"\\]')
# Escapes that can decode to a NUL or a lone surrogate; only then is the parsed value walked.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


@dataclass
class RawRecord:
    """One parsed row: a JSON value (JSONL) or a ``dict[str, str]`` (CSV row)."""

    line: int  # 1-based physical line where the record starts
    value: object


_Read = tuple[list[RawRecord], list[DataIssue]]


class _RejectedJSON(ValueError):
    """Valid JSON syntax that we refuse: duplicate keys, NaN or Infinity."""


def read_records(
    path: str | Path, *, max_line_bytes: int = 1_000_000
) -> tuple[list[RawRecord], list[DataIssue]]:
    """Read every record of a ``.jsonl``/``.json`` (JSON Lines) or ``.csv`` file.

    Returns the records that parsed and the issues of those that did not; it never stops at the
    first problem, except when the whole file is unreadable (UTF-16, binary, a bad CSV header).
    Raises ``OSError`` when the file cannot be opened.
    """
    file = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        message = f"unsupported file type {suffix or '(none)'!r}; use .jsonl or .csv"
        return [], [DataIssue("unknown_format", message, file=file)]
    with open(path, "rb") as f:
        problem = sniff_encoding(f.read(_SNIFF_BYTES))
        if problem:
            return [], [DataIssue("invalid_encoding", problem, file=file, line=1)]
        f.seek(0)
        read = _read_csv if suffix == ".csv" else _read_jsonl
        records, issues = read(f, file, max_line_bytes)
    if not records and not issues:
        issues.append(DataIssue("empty_file", "the file has no data rows", file=file))
    return records, issues


def sniff_encoding(head: bytes) -> str | None:
    """Say why the first bytes of a file show it is not UTF-8 text, or None if they look fine."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "the file is UTF-32 encoded; save it as UTF-8"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "the file is UTF-16 encoded (it has a byte order mark); save it as UTF-8"
    half = len(head) // 2
    if half >= 2:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if max(even, odd) > 0.3 * half and min(even, odd) < 0.05 * half:
            return "the file looks UTF-16 encoded (every other byte is NUL); save it as UTF-8"
    if head:
        controls = len(head.translate(None, _NON_CONTROL))
        undecodable = head.decode("utf-8", errors="replace").count("\ufffd")
        if controls > 0.1 * len(head) or undecodable > 0.1 * len(head):
            return "the file is binary data, not text; upload a UTF-8 JSON Lines or CSV file"
    return None


def parse_json(text: str) -> tuple[object, str | None]:
    """Parse one JSON document strictly: returns ``(value, None)`` or ``(None, reason)``.

    Rejects duplicate keys, NaN/Infinity and nesting deeper than ``MAX_JSON_DEPTH``.
    """
    if _too_deep(text):
        return None, f"JSON is nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _RejectedJSON as e:
        return None, str(e)
    except json.JSONDecodeError as e:
        return None, f"{e.msg} at column {e.colno}"
    except RecursionError:
        return None, "JSON is nested too deeply"
    return value, None


def find_bad_string(value: object, pointer: str = "") -> tuple[str, str] | None:
    """Return ``(pointer, reason)`` for the first key or string holding a NUL or lone surrogate."""
    if isinstance(value, str):
        return _bad_text(value, pointer)
    if isinstance(value, dict):
        items: Iterable[tuple[object, object]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        child = f"{pointer}/{escape_pointer(str(key))}"
        found = _bad_text(key, pointer, "a key ") if isinstance(key, str) else None
        if found := found or find_bad_string(item, child):
            return found
    return None


def _bad_text(text: str, pointer: str, what: str = "") -> tuple[str, str] | None:
    if "\x00" in text:
        return pointer, f"{what}contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return pointer, f"{what}contains a lone surrogate (such as \\ud800), which is not text"
    return None


def escape_pointer(key: str) -> str:
    """Escape one JSON pointer segment (RFC 6901); unencodable characters become escapes."""
    key = key.encode("utf-8", "backslashreplace").decode("utf-8")
    return key.replace("~", "~0").replace("/", "~1")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result = dict(pairs)
    if len(result) < len(pairs):  # rare: find which key repeats
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RejectedJSON(f"duplicate key {key!r} in one object")
            seen.add(key)
    return result


def _no_constant(name: str) -> object:
    raise _RejectedJSON(f"{name} is not valid JSON; write a number or a string")


def _too_deep(text: str) -> bool:
    """Cheap depth check before parsing, so a line of 100k '[' never reaches the parser."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    depth, in_string, escaped_at = 0, False, -1
    for m in _JSON_SPECIALS.finditer(text):
        char, at = m.group(), m.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _iter_lines(
    f: BinaryIO, file: str, max_line_bytes: int, issues: list[DataIssue]
) -> Iterator[tuple[int, str | None]]:
    """Yield ``(line number, text with its line end)``; text is None for a rejected line."""
    lineno = 0
    while raw := f.readline(max_line_bytes + 2):
        lineno += 1
        if lineno == 1 and raw.startswith(_UTF8_BOM):
            raw = raw[len(_UTF8_BOM) :]
        if len(raw.rstrip(b"\r\n")) > max_line_bytes:
            while not raw.endswith(b"\n") and (raw := f.readline(65536)):
                pass
            message = f"line is longer than {max_line_bytes} bytes; it was skipped"
            issues.append(DataIssue("line_too_long", message, file=file, line=lineno))
            yield lineno, None
            continue
        text, problem = _decode_line(raw)
        if problem:
            issues.append(DataIssue("invalid_encoding", problem, file=file, line=lineno))
        yield lineno, text


def _decode_line(raw: bytes) -> tuple[str | None, str | None]:
    nul = raw.find(b"\x00")
    if nul >= 0:
        return None, f"NUL byte at byte {nul + 1} of the line; the file must be UTF-8 text"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
        bad = raw[e.start]
        return None, f"byte 0x{bad:02x} at byte {e.start + 1} is not valid UTF-8; save as UTF-8"


def _read_jsonl(f: BinaryIO, file: str, max_line_bytes: int) -> _Read:
    records: list[RawRecord] = []
    issues: list[DataIssue] = []
    for lineno, text in _iter_lines(f, file, max_line_bytes, issues):
        if text is None or not text.strip():
            continue
        value, problem = parse_json(text)
        if problem is not None:
            if not text.endswith("\n"):
                problem += " (the file ends inside this line; was it cut off?)"
            issues.append(DataIssue("invalid_json", problem, file=file, line=lineno))
            continue
        bad = find_bad_string(value) if _SUSPECT_ESCAPE.search(text) else None
        if bad:
            issues.append(DataIssue("invalid_encoding", bad[1], file, lineno, bad[0]))
            continue
        records.append(RawRecord(lineno, value))
    return records, issues


def _read_csv(f: BinaryIO, file: str, max_line_bytes: int) -> _Read:
    """Read a CSV with a header row; a quoted cell may span lines (its record keeps line one).

    ``csv.field_size_limit`` is process-wide; it is raised to ``max_line_bytes`` while reading.
    """
    records: list[RawRecord] = []
    issues: list[DataIssue] = []
    last_bad = [0]

    def lines() -> Iterator[str]:
        for lineno, text in _iter_lines(f, file, max_line_bytes, issues):
            if text is None:
                last_bad[0] = lineno
            yield "\n" if text is None else text

    old_limit = csv.field_size_limit(max_line_bytes)
    try:
        reader = csv.reader(lines())
        header: list[str] | None = None
        for start, row in _csv_rows(reader, file, max_line_bytes, issues):
            if not any(cell.strip() for cell in row) or last_bad[0] >= start:
                continue
            if header is None:
                header = _csv_header(row, file, start, issues)
                if header is None:
                    break
            elif len(row) != len(header):
                message = f"row has {len(row)} cells but the header has {len(header)}"
                issues.append(DataIssue("csv_ragged_row", message, file=file, line=start))
            else:
                record = _csv_record(dict(zip(header, row, strict=True)), start, file, issues)
                if record is not None:
                    records.append(record)
    finally:
        csv.field_size_limit(old_limit)
    return records, issues


def _csv_rows(
    reader: Iterator[list[str]], file: str, max_cell: int, issues: list[DataIssue]
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first physical line, cells)``; stop after a cell over the cap (rest unreliable)."""
    previous = 0
    while True:
        try:
            row, error = next(reader), None
        except StopIteration:
            return
        except csv.Error as e:
            row, error = [], e
        start, previous = previous + 1, reader.line_num  # type: ignore[attr-defined]
        if error is None:
            yield start, row
        elif "field limit" in str(error):
            message = f"a cell is over {max_cell} bytes (an unclosed quote?); reading stopped here"
            issues.append(DataIssue("csv_cell_too_large", message, file=file, line=start))
            return
        else:
            issues.append(DataIssue("csv_ragged_row", f"malformed row: {error}", file, start))


def _csv_header(row: list[str], file: str, line: int, issues: list[DataIssue]) -> list[str] | None:
    names = [cell.strip() for cell in row]
    if any(name in CSV_KEY_COLUMNS for name in names) and len(set(names)) == len(names):
        return names
    problem = (
        "the first row must be a header naming each column once, with the columns of one format: "
        "prompt,completion / instruction,input,output / text / messages"
        f" (found {', '.join(repr(n) for n in names[:8])})"
    )
    issues.append(DataIssue("csv_missing_header", problem, file=file, line=line))
    return None


def _csv_record(
    row: dict[str, str], line: int, file: str, issues: list[DataIssue]
) -> RawRecord | None:
    value: dict[str, object] = {
        k: v for k, v in row.items() if v != "" or k in _CSV_REQUIRED_COLUMNS
    }
    if isinstance(value.get("messages"), str):
        messages, problem = parse_json(str(value["messages"]))
        if problem is not None:
            message = f"the messages cell is not valid JSON: {problem}"
            issues.append(DataIssue("invalid_json", message, file, line, "/messages"))
            return None
        bad = find_bad_string(messages, "/messages")
        if bad:
            issues.append(DataIssue("invalid_encoding", bad[1], file, line, bad[0]))
            return None
        value["messages"] = messages
    return RawRecord(line, value)
