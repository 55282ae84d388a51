"""Rewrite a JSONL or CSV file with its PII replaced, line for line (``privacy.scrub_file``).

Each physical line (JSONL) or row (CSV) is scrubbed on its own and written back; a line or row
without PII is copied byte for byte, so blank lines, CRLF ends, a BOM and the formatting of
untouched records survive. A JSONL line that is not valid JSON is scrubbed as plain text. In a
CSV a redacted cell keeps its count of line breaks, so the file keeps its line count. The output
is written atomically: a crash leaves the old file or the whole new one.

Files over ``PARALLEL_BYTES`` are scanned by ``workers_for`` processes (the machine's cores, at most
``MAX_WORKERS``): they run the detectors on blocks of records ahead of this process, which numbers
the placeholders in file order (the same value, the same placeholder) and writes the lines, so the
output is the same as a single process's (a test compares them).
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from tunelab.store.atomic import atomic_path

if TYPE_CHECKING:
    from tunelab.data.privacy import PrivacyReport, Scrubber

_BOM = "\ufeff"
PARALLEL_BYTES = 8 * 1024 * 1024  # below it, starting processes (~1-2 s) costs more than it saves
MAX_WORKERS = 4
BLOCK = 500  # records per block sent to a worker


def workers_for(size: int) -> int:
    """Processes that scan a file of ``size`` bytes: 1 (this one) for small files."""
    if size < PARALLEL_BYTES:
        return 1
    return max(
        1,
        min(
            MAX_WORKERS,
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1,
        ),
    )


def chunked(items: Iterable, size: int = BLOCK) -> Iterator[list]:
    it = iter(items)
    while block := list(islice(it, size)):
        yield block


def find_in_values(values: list) -> dict:
    """In a worker: ``find_pii`` of every string a scrubber looks at in ``values``."""
    from tunelab.data.privacy import Scrubber

    scrubber = Scrubber(keep_found=True)
    for value in values:
        scrubber.scan(value)
    return scrubber.found


def find_in_lines(bodies: list) -> dict:
    """In a worker: ``find_in_values`` of JSONL line bodies (None: nothing to scan), parsed here
    so that the writing process sends text, not records; a body that is not JSON is plain text."""
    from tunelab.data.privacy import Scrubber

    scrubber = Scrubber(keep_found=True)
    for body in bodies:
        if body is None:
            continue
        try:
            value = json.loads(body)
        except ValueError:
            value = body
        scrubber.scan(value)
    return scrubber.found


def primed_blocks(
    blocks: Iterable[list], value_of: Callable, workers: int, find: Callable = find_in_values
) -> Iterator[tuple[list, dict]]:
    """Each block with what the detectors find in its strings: ``{}`` with one process (the
    caller's scrubber finds them itself), else computed by ``workers`` processes running
    ``find`` on the block's ``value_of`` each item, in order, at most two blocks per worker in
    flight."""
    if workers <= 1:
        for block in blocks:
            yield block, {}
        return
    it = iter(blocks)
    with multiprocessing.get_context("spawn").Pool(workers) as pool:  # spawn: safe in threads
        window: deque = deque()

        def submit() -> None:
            block = next(it, None)
            if block is not None:
                window.append((block, pool.apply_async(find, ([value_of(v) for v in block],))))

        for _ in range(2 * workers):
            submit()
        while window:
            block, pending = window.popleft()
            submit()
            yield block, pending.get()


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
                workers = workers_for(path.stat().st_size)
                _scrub_jsonl(src, dst, report, scrubber, redact, workers)
    return report


def _parsed_lines(src) -> Iterator[tuple]:
    """(line number, raw bytes, BOM, body, line end, value): value is the parsed JSON, the body
    text when it is not JSON, or None for a line with nothing to scan."""
    for lineno, raw in enumerate(src, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # validation reports the encoding; nothing here can read it
            yield lineno, raw, "", "", "", None
            continue
        bom = _BOM if lineno == 1 and text.startswith(_BOM) else ""
        body = text[len(bom) :].rstrip("\r\n")
        ending = text[len(bom) + len(body) :]
        value = None
        if body.strip():
            try:
                value = (json.loads(body),)
            except ValueError:
                value = body  # scrubbed as plain text
        yield lineno, raw, bom, body, ending, value


def _scrub_jsonl(src, dst, report: PrivacyReport, scrubber, redact: bool, workers: int) -> None:
    def body(line: tuple) -> str | None:
        return None if line[5] is None else line[3]

    blocks = chunked(_parsed_lines(src))
    for block, found_ahead in primed_blocks(blocks, body, workers, find_in_lines):
        scrubber.prime(found_ahead)
        for lineno, raw, bom, body, ending, value in block:
            if value is None:
                dst.write(raw)
                continue
            if isinstance(value, str):
                new_body, findings = scrubber.redact(body)
                found = [("", f) for f in findings]
            else:
                new_value, found = scrubber.scrub_record(value[0])
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
