"""read_records and the strict JSON / encoding checks underneath validation."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
import tracemalloc
import zipfile

import pytest

from tunelab.data.io import (
    MAX_JSON_DEPTH,
    escape_pointer,
    parse_json,
    read_records,
    sniff_encoding,
)

ROW = '{"prompt": "p", "completion": "c"}'


def write(tmp_path, content: bytes | str, name: str = "data.jsonl"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def lines_and_codes(path, **kwargs):
    records, issues = read_records(path, **kwargs)
    return [r.line for r in records], [(i.code, i.line) for i in issues]


def test_crlf_and_blank_lines_keep_physical_numbers(tmp_path):
    content = f"\r\n{ROW}\r\n\r\n   \r\n{ROW}\r\n\n{ROW}".encode()
    assert lines_and_codes(write(tmp_path, content)) == ([2, 5, 7], [])


def test_utf8_bom_is_stripped(tmp_path):
    records, issues = read_records(write(tmp_path, b"\xef\xbb\xbf" + ROW.encode() + b"\n"))
    assert issues == [] and records[0].value == {"prompt": "p", "completion": "c"}


def test_csv_bom_is_stripped_from_the_header(tmp_path):
    records, issues = read_records(
        write(tmp_path, b"\xef\xbb\xbfprompt,completion\nq,a\n", "d.csv")
    )
    assert issues == [] and records[0].value == {"prompt": "q", "completion": "a"}


def test_truncated_last_line_says_it_was_cut_off(tmp_path):
    _, issues = read_records(write(tmp_path, ROW + "\n" + ROW[:10]))
    assert [(i.code, i.line) for i in issues] == [("invalid_json", 2)]
    assert "cut off" in issues[0].message


def test_huge_line_is_skipped_without_reading_it_into_memory(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as f:
        f.write(ROW.encode() + b"\n")
        f.write(b'{"prompt": "' + b"x" * 20_000_000 + b'", "completion": "c"}\n')
        f.write(ROW.encode() + b"\n")
    tracemalloc.start()
    try:
        result = lines_and_codes(path, max_line_bytes=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result == ([1, 3], [("line_too_long", 2)])
    assert peak < 2_000_000


def test_line_at_the_limit_with_crlf_is_accepted(tmp_path):
    content = (ROW + "\r\n" + ROW + "x\r\n").encode()
    lines, codes = lines_and_codes(write(tmp_path, content), max_line_bytes=len(ROW))
    assert (lines, codes) == ([1], [("line_too_long", 2)])


def test_json_depth_bomb_is_rejected_quickly(tmp_path):
    start = time.perf_counter()
    _, codes = lines_and_codes(write(tmp_path, "[" * 100_000 + "\n" + "{" * 100_000 + "\n"))
    assert codes == [("invalid_json", 1), ("invalid_json", 2)]
    assert time.perf_counter() - start < 2


PARSE_CASES = [
    ('{"a": 1}', {"a": 1}, None),
    ('{"a": {"b": 1, "b": 2}}', None, "duplicate key 'b'"),
    ('{"a": NaN}', None, "NaN"),
    ('{"a": Infinity}', None, "Infinity"),
    ('{"a": -Infinity}', None, "-Infinity"),
    ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, "nested", None),
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), None, "nested deeper"),
    (json.dumps({"a": "[" * 500}), {"a": "[" * 500}, None),
    (json.dumps({"a": '\\"[' * 200}), {"a": '\\"[' * 200}, None),
    ('{"a": 1', None, "column"),
]


@pytest.mark.parametrize(("text", "value", "problem"), PARSE_CASES)
def test_parse_json_is_strict(text, value, problem):
    parsed, reason = parse_json(text)
    if problem is None:
        assert reason is None
        assert value == "nested" or parsed == value
    else:
        assert parsed is None and problem in reason


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.jsonl", "\n".join(json.dumps({"text": str(i)}) for i in range(500)))
    return buffer.getvalue()


SNIFF_CASES = [
    (b'{"a": 1}\n', None),
    ("{}\n".encode("utf-16"), "UTF-16"),
    ('{"text": "hello"}\n'.encode("utf-16-be"), "UTF-16"),
    ("{}\n".encode("utf-32"), "UTF-32"),
    (bytes(range(256)) * 4, "binary"),
    (gzip.compress(json.dumps([{"text": str(i)} for i in range(500)]).encode()), "binary"),
    (zipped(), "binary"),
    ('{"text": "caf\u00e9 na\u00efve"}\n'.encode("cp1252"), None),  # per-line error instead
]


@pytest.mark.parametrize(("head", "problem"), SNIFF_CASES)
def test_sniff_encoding(head, problem):
    found = sniff_encoding(head)
    assert found is None if problem is None else problem in found


def test_each_bad_line_reported_and_the_rest_read(tmp_path):
    content = ROW.encode() + b"\n\xff\xfe\n" + ROW.encode() + b"\nnot json\n" + ROW.encode()
    assert lines_and_codes(write(tmp_path, content)) == (
        [1, 3, 5],
        [("invalid_encoding", 2), ("invalid_json", 4)],
    )


def test_csv_quoted_newlines_keep_first_line(tmp_path):
    content = 'prompt,completion\r\n"two\r\nlines",a\r\n\r\n"three\nline\nprompt",b\r\nlast,c\r\n'
    records, issues = read_records(write(tmp_path, content, "d.csv"))
    assert issues == []
    assert [r.line for r in records] == [2, 5, 8]
    assert records[0].value == {"prompt": "two\r\nlines", "completion": "a"}


def test_csv_formula_cells_and_control_tokens_are_verbatim(tmp_path):
    content = 'prompt,completion\n=SUM(A1:A3),"<|im_start|>{{ x }}</s>"\n+1,@cmd\n'
    records, _ = read_records(write(tmp_path, content, "d.csv"))
    assert [r.value for r in records] == [
        {"prompt": "=SUM(A1:A3)", "completion": "<|im_start|>{{ x }}</s>"},
        {"prompt": "+1", "completion": "@cmd"},
    ]


def test_csv_empty_optional_cells_are_absent(tmp_path):
    records, _ = read_records(write(tmp_path, "instruction,input,output\ni,,o\n", "d.csv"))
    assert records[0].value == {"instruction": "i", "output": "o"}


def test_csv_record_spanning_a_bad_line_is_skipped(tmp_path):
    content = b'prompt,completion\n"a\n\xff\nb",c\nd,e\n'
    lines, codes = lines_and_codes(write(tmp_path, content, "d.csv"))
    assert (lines, codes) == ([5], [("invalid_encoding", 3)])


def test_csv_field_size_limit_is_restored(tmp_path):
    before = csv.field_size_limit()
    read_records(write(tmp_path, "text\nhello\n", "d.csv"), max_line_bytes=7)
    assert csv.field_size_limit() == before


def test_csv_cell_over_cap_stops_reading(tmp_path):
    content = 'text\nfine\n"' + "0123456789\n" * 20 + '"\nafter\n'
    lines, codes = lines_and_codes(write(tmp_path, content, "d.csv"), max_line_bytes=50)
    assert (lines, codes) == ([2], [("csv_cell_too_large", 3)])


def test_missing_file_raises(tmp_path):
    with pytest.raises(OSError):
        read_records(tmp_path / "missing.jsonl")


@pytest.mark.parametrize(
    ("key", "segment"), [("a/b", "a~1b"), ("m~n", "m~0n"), ("\ud800", "\\ud800")]
)
def test_escape_pointer(key, segment):
    assert escape_pointer(key) == segment


def test_lone_surrogate_in_a_key_is_reported_safely(tmp_path):
    records, issues = read_records(write(tmp_path, '{"\\udc00": 1}\n'))
    assert records == [] and [(i.code, i.line, i.pointer) for i in issues] == [
        ("invalid_encoding", 1, "")
    ]
    assert "surrogate" in str(issues[0])
