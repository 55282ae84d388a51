"""Preference files (DPO and KTO): every bad row gets its code, line and pointer; good shapes
(OpenAI's, tunelab's unpaired, TRL's) read; lengths, duplicates, the split by prompt."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from helpers import write_jsonl

from tunelab.data.preference import (
    load_preference_examples,
    split_by_prompt,
    validate_kto_file,
    validate_preference_file,
)
from tunelab.errors import DataValidationError


def pair(i: int) -> dict:
    return {
        "input": {"messages": [{"role": "user", "content": f"What is {i} + {i}?"}]},
        "preferred_output": [{"role": "assistant", "content": f"{i} + {i} is {2 * i}."}],
        "non_preferred_output": [{"role": "assistant", "content": "I cannot count."}],
    }


def pairs(n: int = 12) -> list[dict]:
    return [pair(i) for i in range(n)]


def unpaired(i: int, label: bool = True) -> dict:
    return {
        "input": {"messages": [{"role": "user", "content": f"Say hi {i}"}]},
        "output": [{"role": "assistant", "content": "Hi!" if label else "No."}],
        "label": label,
    }


def edit(change):
    def make(row: dict) -> dict:
        row = copy.deepcopy(row)
        change(row)
        return row

    return make


def set_key(path: tuple, value):
    def change(row):
        node = row
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit(change)


def drop_key(path: tuple):
    def change(row):
        node = row
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit(change)


PO, NPO, IM = ("preferred_output", 0), ("non_preferred_output", 0), ("input", "messages", 0)
TWO_TURNS = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
TRL_ROW = {
    "prompt": [{"role": "user", "content": "x"}],
    "chosen": [{"role": "assistant", "content": "a"}],
    "rejected": [{"role": "assistant", "content": "b"}],
}
BAD_ROWS = [  # (row 4 made into ..., code, pointer)
    (drop_key(PO[:1]), "missing_preferred_output", "/preferred_output"),
    (drop_key(NPO[:1]), "missing_non_preferred_output", "/non_preferred_output"),
    (set_key((*NPO, "content"), "3 + 3 is 6."), "identical_outputs", f"/{NPO[0]}/0/content"),
    (set_key((*PO, "role"), "user"), "output_not_assistant", "/preferred_output/0/role"),
    (drop_key((*PO, "role")), "output_not_assistant", "/preferred_output/0/role"),
    (set_key((*PO, "content"), "  "), "missing_content", "/preferred_output/0/content"),
    (set_key((*PO, "content"), None), "missing_content", "/preferred_output/0/content"),
    (set_key((*PO, "content"), 7), "invalid_content_type", "/preferred_output/0/content"),
    (set_key(PO[:1], "text"), "invalid_output", "/preferred_output"),
    (set_key(PO[:1], []), "invalid_output", "/preferred_output"),
    (set_key((*PO, "tool_calls"), []), "message_unrecognized_key", f"/{PO[0]}/0/tool_calls"),
    (drop_key(("input",)), "unknown_format", ""),
    (set_key(("input",), "hi"), "missing_input", ""),
    (drop_key(IM[:2]), "missing_messages_list", "/input/messages"),
    (set_key(IM[:2], []), "missing_messages_list", "/input/messages"),
    (set_key(("input", "extra"), 1), "invalid_field", "/input/extra"),
    (set_key((*IM, "role"), "bot"), "unrecognized_role", "/input/messages/0/role"),
    (set_key((*IM, "content"), ""), "missing_content", "/input/messages/0/content"),
    (drop_key((*IM, "content")), "message_missing_key", "/input/messages/0/content"),
    (set_key((*IM, "when"), 1), "message_unrecognized_key", "/input/messages/0/when"),
    (set_key(IM[:2], TWO_TURNS), "last_message_not_user", "/input/messages/1/role"),
    (lambda row: unpaired(3), "unpaired_example", "/output"),
    (lambda row: [row], "data_type", ""),
    (lambda row: TRL_ROW, "mixed_formats", ""),
]  # fmt: skip


@pytest.mark.parametrize(("make", "code", "pointer"), BAD_ROWS)
def test_every_bad_row_gets_its_code_line_and_pointer(tmp_path, make, code, pointer):
    rows = pairs()
    rows[3] = make(rows[3])
    report = validate_preference_file(write_jsonl(tmp_path / "p.jsonl", rows))
    assert not report.ok
    [issue] = report.errors
    assert (issue.code, issue.line, issue.pointer) == (code, 4, pointer), issue
    assert len(report.examples) == 11


def test_bad_json_and_a_truncated_line_keep_their_line_numbers(tmp_path):
    text = "".join(json.dumps(r) + "\n" for r in pairs()) + '{"input": {"mess'
    path = tmp_path / "p.jsonl"
    path.write_text("\n" + text)  # a blank first line: lines still match the file
    report = validate_preference_file(path)
    assert [(i.code, i.line) for i in report.errors] == [("invalid_json", 14)]


def test_too_few_examples_and_messages_like_validate(tmp_path):
    report = validate_preference_file(write_jsonl(tmp_path / "p.jsonl", pairs(3)))
    assert [i.code for i in report.errors] == ["too_few_examples"]
    with pytest.raises(DataValidationError) as err:
        load_preference_examples(tmp_path / "p.jsonl")
    assert "[too_few_examples] 3 example(s); train data needs at least 10" in str(err.value)


def test_openai_and_trl_shapes_read_to_the_same_examples(tmp_path):
    openai_rows = pairs()
    trl_rows = [
        {
            "prompt": r["input"]["messages"],
            "chosen": r["preferred_output"],
            "rejected": r["non_preferred_output"],
        }
        for r in openai_rows
    ]
    a = validate_preference_file(write_jsonl(tmp_path / "a.jsonl", openai_rows))
    b = validate_preference_file(write_jsonl(tmp_path / "b.jsonl", trl_rows))
    assert a.ok and b.ok and (a.format, b.format) == ("openai", "trl")
    assert [e.key() for e in a.examples] == [e.key() for e in b.examples]
    first = a.examples[0]
    assert first.chosen == "0 + 0 is 0." and first.rejected == "I cannot count."
    assert first.prompt == [{"role": "user", "content": "What is 0 + 0?"}]


def test_trl_bad_rows_name_trl_keys(tmp_path):
    rows = [
        copy.deepcopy(TRL_ROW) | {"prompt": [{"role": "user", "content": f"q{i}"}]}
        for i in range(12)
    ]
    rows[1]["prompt"] = "q1"
    del rows[2]["rejected"]
    rows[5]["chosen"][0]["role"] = "user"
    report = validate_preference_file(write_jsonl(tmp_path / "t.jsonl", rows))
    found = [(i.code, i.line, i.pointer) for i in report.errors]
    assert found == [
        ("missing_messages_list", 2, "/prompt"),
        ("missing_non_preferred_output", 3, "/rejected"),
        ("output_not_assistant", 6, "/chosen/0/role"),
    ]


def test_kto_reads_unpaired_rows_and_pairs_and_checks_labels(tmp_path):
    rows = [unpaired(i, label=i % 2 == 0) for i in range(10)] + pairs(2)
    report = validate_kto_file(write_jsonl(tmp_path / "k.jsonl", rows))
    assert report.ok, report.issues
    assert sum(e.paired for e in report.examples) == 2
    assert [e.label for e in report.examples[:3]] == [True, False, True]
    rows[2]["label"] = "yes"
    del rows[3]["label"]
    del rows[4]["output"]
    report = validate_kto_file(write_jsonl(tmp_path / "k.jsonl", rows))
    found = [(i.code, i.line, i.pointer) for i in report.errors]
    assert found == [
        ("invalid_label", 3, "/label"),
        ("missing_label", 4, "/label"),
        ("missing_output", 5, "/output"),
    ]


def count_words(example) -> int:
    return sum(len(m["content"].split()) for m in example.messages) + 2 * len(example.messages)


@pytest.mark.parametrize(
    ("overflow", "ok", "kept", "code"),
    [("error", False, 12, "example_too_long"), ("drop", True, 11, "example_too_long"),
     ("truncate", True, 12, "example_too_long")],
)  # fmt: skip
def test_over_long_pairs_follow_the_overflow_policy(tmp_path, overflow, ok, kept, code):
    rows = pairs()
    rows[6]["non_preferred_output"][0]["content"] = "no " * 50
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    report = validate_preference_file(
        path, count_tokens=count_words, max_length=20, overflow=overflow
    )
    assert report.ok is ok and len(report.examples) == kept
    [issue] = [i for i in report.issues if i.code == code]
    assert issue.line == 7 and issue.severity == ("error" if overflow == "error" else "warning")
    assert report.n_too_long == 1


def test_a_prompt_that_fills_max_length_is_an_error_even_when_truncating(tmp_path):
    rows = pairs()
    rows[0]["input"]["messages"][0]["content"] = "long " * 40
    report = validate_preference_file(
        write_jsonl(tmp_path / "p.jsonl", rows),
        count_tokens=count_words,
        max_length=20,
        overflow="truncate",
    )
    assert [(i.code, i.line) for i in report.errors] == [("prompt_too_long", 1)]


def test_duplicates_unknown_keys_and_tools_are_warnings_said_once(tmp_path):
    rows = pairs() + [pair(0)]
    for row in rows:
        row["note"] = "x"
        row["input"]["tools"] = []
    report = validate_preference_file(write_jsonl(tmp_path / "p.jsonl", rows))
    assert report.ok
    codes = [(i.code, i.line) for i in report.warnings]
    assert ("duplicate_example", 13) in codes and report.n_duplicates == 1
    assert codes.count(("unrecognized_key", 1)) == 1 and len(codes) == 3  # tools: once too


def test_split_by_prompt_holds_every_row_of_a_prompt_out(tmp_path):
    other = {"non_preferred_output": [{"role": "assistant", "content": "?"}]}
    rows = pairs(20) + [pair(i) | other for i in range(20)]
    examples = load_preference_examples(write_jsonl(tmp_path / "p.jsonl", rows))
    train, val = split_by_prompt(examples, seed=1, fraction=0.2)
    assert len(train) + len(val) == 40 and len(val) == 10  # 5 prompts (the least), 2 rows each
    assert not {e.prompt_key() for e in train} & {e.prompt_key() for e in val}
    again = split_by_prompt(examples, seed=1, fraction=0.2)[1]
    assert [e.line for e in again] == [e.line for e in val]


def test_the_module_imports_without_torch():
    code = "import sys, tunelab.data.preference; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
