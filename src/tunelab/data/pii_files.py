"""Rewrite a JSONL or CSV file with its PII replaced, line for line (``privacy.scrub_file``).

Each physical line (JSONL) or row (CSV) is scrubbed on its own and written back; a line or row
without PII is copied byte for byte, so blank lines, CRLF ends, a BOM and the formatting of
untouched records survive. A JSONL line that is not valid JSON is scrubbed as plain text. In a
CSV a redacted cell keeps its count of line breaks, so the file keeps its line count. The output
is written atomically: a crash leaves the old file or the whole new one.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tunelab.store.atomic import atomic_path

if TYPE_CHECKING:
    from tunelab.data.privacy import PrivacyReport, Scrubber

_BOM = "\ufeff"


def scrub_stream(path: Path, out: Path, policy: str, scrubber: Scrubber) -> PrivacyReport:
    from tunelab.data.privacy import PrivacyReport

    report = PrivacyReport(str(path), policy)
    with atomic_path(out) as tmp:
        if policy == "off":
            shutil.copyfile(path, tmp)
            return report
        redact = policy == "redact"
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            if path.suffix.lower() == ".csv":
                _scrub_csv(src, dst, report, scrubber, redact)
            else:
                _scrub_jsonl(src, dst, report, scrubber, redact)
    return report


def _scrub_jsonl(src, dst, report: PrivacyReport, scrubber: Scrubber, redact: bool) -> None:
    for lineno, raw in enumerate(src, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            dst.write(raw)  # validation reports the encoding; nothing here can read it
            continue
        bom = _BOM if lineno == 1 and text.startswith(_BOM) else ""
        body = text[len(bom) :].rstrip("\r\n")
        ending = text[len(bom) + len(body) :]
        if not body.strip():
            dst.write(raw)
            continue
        try:
            value = json.loads(body)
        except ValueError:
            new_body, findings = scrubber.redact(body)
            found = [("", f) for f in findings]
        else:
            new_value, found = scrubber.scrub_record(value)
            new_body = dump_like(new_value, body) if found else body
        report.add(lineno, found)
        if found and redact:
            dst.write((bom + new_body + ending).encode("utf-8"))
        else:
            dst.write(raw)


def _scrub_csv(src, dst, report: PrivacyReport, scrubber: Scrubber, redact: bool) -> None:
    """Rows are read with the csv module; each row's raw text is kept to copy unchanged rows.
    A cell is scrubbed with its column name as its key, so a ``password`` column is a secret."""
    if src.read(3) == _BOM.encode("utf-8"):
        dst.write(_BOM.encode("utf-8"))
    else:
        src.seek(0)
    text = io.TextIOWrapper(src, encoding="utf-8", newline="")
    consumed: list[str] = []

    def lines():
        for line in text:
            consumed.append(line)
            yield line

    start, header = 1, None
    for row in csv.reader(lines()):
        raw = "".join(consumed)
        consumed.clear()
        line, start = start, start + (raw.count("\n") or 1)
        if header is None or not any(cell.strip() for cell in row):
            header = header or (row if any(cell.strip() for cell in row) else None)
            dst.write(raw.encode("utf-8"))
            continue
        names = [*header, *(str(i) for i in range(len(header), len(row)))]
        new_row, found = [], []
        for name, cell in zip(names, row, strict=False):
            new, cell_found = scrubber.scrub_record({name: cell})
            new_cell = str(next(iter(new.values())))  # type: ignore[union-attr]
            found += cell_found
            new_row.append(new_cell + "\n" * max(0, cell.count("\n") - new_cell.count("\n")))
        report.add(line, found)
        if found and redact:
            ending = "\r\n" if raw.endswith("\r\n") else "\n" if raw.endswith("\n") else ""
            out = io.StringIO()
            csv.writer(out, lineterminator=ending).writerow(new_row)
            dst.write(out.getvalue().encode("utf-8"))
        else:
            dst.write(raw.encode("utf-8"))


def dump_like(value: object, original: str) -> str:
    """JSON text for ``value``, spaced and escaped the way ``original`` was."""
    compact = '": ' not in original and '", "' not in original
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(value, ensure_ascii=original.isascii(), separators=separators)
