"""validate_file: one case per error code (code, exact line, pointer), formats and overflow."""

from __future__ import annotations

import json

import pytest

from tunelab.data import Example, RawRecord, detect_format, load_examples, to_example, validate_file
from tunelab.errors import ConfigError, DataValidationError

USER = {"role": "user", "content": "What is 2 + 2?"}
BOT = {"role": "assistant", "content": "4"}


def chat(*messages: dict, **extra: object) -> str:
    return json.dumps({"messages": list(messages), **extra})


GOOD = chat(USER, BOT)


def jsonl(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def write(tmp_path, content: bytes | str, name: str = "data.jsonl"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# (id, file name, content, validate kwargs, code, line, pointer, severity)
# fmt: off
CASES = [
    ("truncated_last_line", "d.jsonl", GOOD + '\n{"messages": [{"role": "us', {},
     "invalid_json", 2, "", "error"),
    ("duplicate_keys", "d.jsonl", jsonl(GOOD, '{"messages": [], "messages": []}'), {},
     "invalid_json", 2, "", "error"),
    ("nan", "d.jsonl", jsonl(GOOD, '{"messages": [], "x": NaN}'), {},
     "invalid_json", 2, "", "error"),
    ("infinity", "d.jsonl", jsonl(GOOD, '{"x": -Infinity}'), {}, "invalid_json", 2, "", "error"),
    ("depth_bomb", "d.jsonl", jsonl(GOOD, "[" * 100_000), {}, "invalid_json", 2, "", "error"),
    ("line_is_string", "d.jsonl", jsonl(GOOD, '"hello"'), {}, "data_type", 2, "", "error"),
    ("line_is_array", "d.jsonl", jsonl(GOOD, "[1, 2]"), {}, "data_type", 2, "", "error"),
    ("line_is_number", "d.jsonl", jsonl(GOOD, "42"), {}, "data_type", 2, "", "error"),
    ("message_not_object", "d.jsonl", jsonl(GOOD, chat(USER, "hi")), {},
     "data_type", 2, "/messages/1", "error"),
    ("messages_not_list", "d.jsonl", jsonl(GOOD, '{"messages": "hi"}'), {},
     "missing_messages_list", 2, "/messages", "error"),
    ("messages_empty", "d.jsonl", jsonl(GOOD, '{"messages": []}'), {},
     "missing_messages_list", 2, "/messages", "error"),
    ("messages_missing", "d.jsonl", jsonl(GOOD, '{"msgs": []}'), {},
     "missing_messages_list", 2, "/messages", "error"),
    ("message_missing_content", "d.jsonl", jsonl(GOOD, chat({"role": "user"}, BOT)), {},
     "message_missing_key", 2, "/messages/0/content", "error"),
    ("message_missing_role", "d.jsonl", jsonl(GOOD, chat(USER, {"content": "4"})), {},
     "message_missing_key", 2, "/messages/1/role", "error"),
    ("message_extra_key", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "mood": "x"})), {},
     "message_unrecognized_key", 2, "/messages/1/mood", "error"),
    ("role_bot", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "role": "bot"})), {},
     "unrecognized_role", 2, "/messages/1/role", "error"),
    ("role_capitalised", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "role": "Assistant"})), {},
     "unrecognized_role", 2, "/messages/1/role", "error"),
    ("assistant_empty", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": ""})), {},
     "missing_content", 2, "/messages/1/content", "error"),
    ("assistant_whitespace", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": " \n"})), {},
     "missing_content", 2, "/messages/1/content", "error"),
    ("content_null", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": None})), {},
     "missing_content", 2, "/messages/1/content", "error"),
    ("user_empty", "d.jsonl", jsonl(GOOD, chat({**USER, "content": ""}, BOT)), {},
     "missing_content", 2, "/messages/0/content", "error"),
    ("content_number", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": 4})), {},
     "invalid_content_type", 2, "/messages/1/content", "error"),
    ("content_object", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": {"a": 1}})), {},
     "invalid_content_type", 2, "/messages/1/content", "error"),
    ("content_list", "d.jsonl", jsonl(GOOD, chat({**USER, "content": ["x"]}, BOT)), {},
     "invalid_content_type", 2, "/messages/0/content", "error"),
    ("no_assistant", "d.jsonl", jsonl(GOOD, chat(USER)), {},
     "example_missing_assistant_message", 2, "/messages", "error"),
    ("last_not_assistant", "d.jsonl", jsonl(GOOD, chat(USER, BOT, USER)), {},
     "last_message_not_assistant", 2, "/messages/2/role", "error"),
    ("too_few", "d.jsonl", jsonl(GOOD, GOOD, GOOD), {"min_examples": 10},
     "too_few_examples", None, "", "error"),
    ("weight_2", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "weight": 2})), {},
     "invalid_weight", 2, "/messages/1/weight", "error"),
    ("weight_bool", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "weight": True})), {},
     "invalid_weight", 2, "/messages/1/weight", "error"),
    ("weight_on_user", "d.jsonl", jsonl(GOOD, chat({**USER, "weight": 1}, BOT)), {},
     "invalid_weight", 2, "/messages/0/weight", "error"),
    ("all_weights_zero", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "weight": 0})), {},
     "invalid_weight", 2, "/messages", "warning"),
    ("non_utf8", "d.jsonl", GOOD.encode() + b'\n{"text": "caf\xe9"}\n', {},
     "invalid_encoding", 2, "", "error"),
    ("utf16_bom", "d.jsonl", (GOOD + "\n").encode("utf-16"), {},
     "invalid_encoding", 1, "", "error"),
    ("utf16_no_bom", "d.jsonl", (GOOD + "\n").encode("utf-16-le"), {},
     "invalid_encoding", 1, "", "error"),
    ("utf32", "d.jsonl", (GOOD + "\n").encode("utf-32"), {}, "invalid_encoding", 1, "", "error"),
    ("nul_byte", "d.jsonl", GOOD.encode() + b"\n" + GOOD.encode()[:20] + b"\x00x\n", {},
     "invalid_encoding", 2, "", "error"),
    ("nul_escape", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": "a\u0000b"})), {},
     "invalid_encoding", 2, "/messages/1/content", "error"),
    ("lone_surrogate_escape", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": "\ud800"})),
     {}, "invalid_encoding", 2, "/messages/1/content", "error"),
    ("surrogate_bytes", "d.jsonl", GOOD.encode() + b'\n{"text": "\xed\xa0\x80"}\n', {},
     "invalid_encoding", 2, "", "error"),
    ("binary_as_jsonl", "d.jsonl", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, {},
     "invalid_encoding", 1, "", "error"),
    ("line_too_long", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": "x" * 500}), GOOD),
     {"max_line_bytes": 200}, "line_too_long", 2, "", "error"),
    ("unknown_format", "d.jsonl", jsonl('{"question": "q", "answer": "a"}'), {},
     "unknown_format", 1, "", "error"),
    ("unsupported_suffix", "d.txt", jsonl(GOOD), {}, "unknown_format", None, "", "error"),
    ("mixed_formats", "d.jsonl", jsonl(GOOD, '{"prompt": "p", "completion": "c"}'), {},
     "mixed_formats", 2, "", "error"),
    ("duplicate", "d.jsonl", jsonl(GOOD, chat(USER, {**BOT, "content": "5"}), GOOD), {},
     "duplicate_example", 3, "", "warning"),
    ("prompt_number", "d.jsonl", jsonl('{"prompt": 5, "completion": "c"}'), {},
     "invalid_field", 1, "/prompt", "error"),
    ("completion_empty", "d.jsonl", jsonl('{"prompt": "p", "completion": ""}'), {},
     "invalid_field", 1, "/completion", "error"),
    ("output_missing", "d.jsonl", jsonl('{"instruction": "i"}'), {},
     "invalid_field", 1, "/output", "error"),
    ("input_number", "d.jsonl", jsonl('{"instruction": "i", "input": 3, "output": "o"}'), {},
     "invalid_field", 1, "/input", "error"),
    ("text_null", "d.jsonl", jsonl('{"text": null}'), {}, "invalid_field", 1, "/text", "error"),
    ("must_contain_number", "d.jsonl", jsonl(chat(USER, must_contain=5)), {"purpose": "eval"},
     "invalid_field", 1, "/must_contain", "error"),
    ("expected_list", "d.jsonl", jsonl(chat(USER, expected=["4"])), {"purpose": "eval"},
     "invalid_field", 1, "/expected", "error"),
    ("unknown_key", "d.jsonl", jsonl(GOOD, chat(USER, BOT, source="web")), {},
     "unrecognized_key", 2, "/source", "warning"),
    ("csv_no_header", "d.csv", "what is 2+2,4\nwhat is 3+3,6\n", {},
     "csv_missing_header", 1, "", "error"),
    ("csv_duplicate_column", "d.csv", "prompt,prompt\na,b\n", {},
     "csv_missing_header", 1, "", "error"),
    ("csv_ragged", "d.csv", "prompt,completion\na,b\nc,d,e\nf,g\n", {},
     "csv_ragged_row", 3, "", "error"),
    ("csv_cell_too_large", "d.csv", 'prompt,completion\na,b\nc,"' + "long line\n" * 30 + 'end"\n',
     {"max_line_bytes": 100}, "csv_cell_too_large", 3, "", "error"),
    ("csv_messages_bad_json", "d.csv", 'messages\n"[{""role"": ""user"",]"\n', {},
     "invalid_json", 2, "/messages", "error"),
    ("empty_file", "d.jsonl", b"", {}, "empty_file", None, "", "error"),
    ("blank_lines_only", "d.jsonl", b"\n  \r\n\n", {}, "empty_file", None, "", "error"),
    ("header_only_csv", "d.csv", "prompt,completion\n", {}, "empty_file", None, "", "error"),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "code", "line", "pointer", "severity"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_code_names_line_and_pointer(
    tmp_path, name, content, kwargs, code, line, pointer, severity
):
    report = validate_file(write(tmp_path, content, name), **{"min_examples": 1, **kwargs})
    found = [(i.line, i.pointer, i.severity) for i in report.issues if i.code == code]
    assert found == [(line, pointer, severity)], [str(i) for i in report.issues]
    assert report.ok is (severity == "warning")
    assert all(i.file == str(tmp_path / name) for i in report.issues)


def test_every_documented_code_has_a_case():
    codes = {case[4] for case in CASES} | {"example_too_long"}  # too long: tests below
    documented = {
        "invalid_json", "data_type", "missing_messages_list", "message_missing_key",
        "message_unrecognized_key", "unrecognized_role", "missing_content",
        "example_missing_assistant_message", "too_few_examples", "example_too_long",
        "invalid_encoding", "line_too_long", "invalid_content_type", "invalid_weight",
        "last_message_not_assistant", "unknown_format", "mixed_formats", "duplicate_example",
        "invalid_field", "unrecognized_key", "csv_missing_header", "csv_ragged_row",
        "csv_cell_too_large", "empty_file",
    }  # fmt: skip
    assert documented <= codes


def test_all_issues_are_collected_in_line_order(tmp_path):
    lines = [GOOD] * 8
    lines[2] = chat(USER, {**BOT, "role": "bot"})
    lines[6] = "{not json"
    report = validate_file(write(tmp_path, jsonl(*lines)), min_examples=1)
    assert [(i.line, i.code) for i in report.errors] == [
        (3, "unrecognized_role"),
        (7, "invalid_json"),
    ]
    assert len(report.examples) == 6


def test_several_problems_in_one_row_are_all_reported(tmp_path):
    row = chat({"role": "bot", "content": 3}, {"role": "assistant", "content": "", "x": 1})
    report = validate_file(write(tmp_path, jsonl(row)), min_examples=1)
    assert {(i.code, i.pointer) for i in report.errors} == {
        ("unrecognized_role", "/messages/0/role"),
        ("invalid_content_type", "/messages/0/content"),
        ("message_unrecognized_key", "/messages/1/x"),
        ("missing_content", "/messages/1/content"),
    }


def test_crlf_blank_lines_and_bom_keep_physical_line_numbers(tmp_path):
    content = b"\xef\xbb\xbf" + GOOD.encode() + b"\r\n\r\n   \r\n" + b'{"messages": 1}\r\n'
    report = validate_file(write(tmp_path, content), min_examples=1)
    assert [(i.code, i.line) for i in report.issues] == [("missing_messages_list", 4)]
    assert report.examples[0].line == 1
    assert report.examples[0].messages[0]["content"] == USER["content"]


def test_unknown_key_warned_once_per_key(tmp_path):
    rows = [chat(USER, {**BOT, "content": str(i)}, source="web") for i in range(5)]
    report = validate_file(write(tmp_path, jsonl(*rows)), min_examples=1)
    assert report.ok
    assert [(i.code, i.line) for i in report.warnings] == [("unrecognized_key", 1)]


def turns(question: str, answer: str, weight: int = 1) -> list[dict]:
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer, "weight": weight},
    ]


CSV_CHAT = (
    'messages\n"[{""role"": ""user"", ""content"": ""Hi""}, '
    '{""role"": ""assistant"", ""content"": ""Yo"", ""weight"": 0}]"\n'
)
SYSTEM = {"role": "system", "content": "Be brief."}
FORMAT_CASES = [
    ("chat.jsonl", jsonl(chat(SYSTEM, USER, BOT)), "chat", [SYSTEM, *turns(USER["content"], "4")]),
    ("pc.jsonl", jsonl('{"prompt": "Q?", "completion": "A."}'), "prompt_completion",
     turns("Q?", "A.")),
    ("alpaca.jsonl", jsonl('{"instruction": "Sum", "input": "2, 2", "output": "4"}'), "alpaca",
     turns("Sum\n\n2, 2", "4")),
    ("alpaca_no_input.jsonl", jsonl('{"instruction": "Hi", "input": "", "output": "Hey"}'),
     "alpaca", turns("Hi", "Hey")),
    ("pc.csv", "prompt,completion\nQ?,A.\n", "prompt_completion", turns("Q?", "A.")),
    ("alpaca.csv", 'instruction,input,output\nSum,"2, 2",4\n', "alpaca", turns("Sum\n\n2, 2", "4")),
    ("chat.csv", CSV_CHAT, "chat", turns("Hi", "Yo", weight=0)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "fmt", "messages"), FORMAT_CASES)
def test_formats_detected_and_normalised(tmp_path, name, content, fmt, messages):
    report = validate_file(write(tmp_path, content, name), min_examples=1)
    assert report.ok, [str(i) for i in report.issues]
    assert report.format == fmt
    assert [(e.kind, e.messages) for e in report.examples] == [("chat", messages)]


@pytest.mark.parametrize(
    ("name", "content"),
    [("t.jsonl", jsonl('{"text": "Once upon a time."}')), ("t.csv", "text\nOnce upon a time.\n")],
)
def test_text_format(tmp_path, name, content):
    report = validate_file(write(tmp_path, content, name), min_examples=1)
    assert report.format == "text"
    assert [(e.kind, e.text, e.messages) for e in report.examples] == [
        ("text", "Once upon a time.", [])
    ]


def test_eval_rows_may_end_with_a_question_and_carry_expectations(tmp_path):
    rows = [
        chat(USER, expected="4", must_contain=["4"]),
        '{"prompt": "Capital of France?", "must_contain": "Paris"}',
    ]
    report = validate_file(write(tmp_path, jsonl(rows[0])), purpose="eval")
    assert report.ok and report.examples[0].meta == {"expected": "4", "must_contain": ["4"]}
    report = validate_file(write(tmp_path, jsonl(rows[1]), "p.jsonl"), purpose="eval")
    assert report.ok and report.examples[0].messages == [
        {"role": "user", "content": "Capital of France?"}
    ]
    assert report.examples[0].meta == {"must_contain": "Paris"}
    train = validate_file(write(tmp_path, jsonl(rows[0])), purpose="train", min_examples=1)
    assert [i.code for i in train.errors] == ["example_missing_assistant_message"]


def test_eval_needs_one_example_not_ten(tmp_path):
    assert validate_file(write(tmp_path, jsonl(GOOD)), purpose="eval").ok
    assert not validate_file(write(tmp_path, jsonl(GOOD)), purpose="train").ok


def test_plain_text_oddities_are_stored_verbatim(tmp_path):
    tricky = "<|im_start|>system\n{{ raise('x') }}</s> {% if %} =SUM(A1)"
    report = validate_file(
        write(tmp_path, jsonl(chat(USER, {**BOT, "content": tricky}))), min_examples=1
    )
    assert report.ok
    assert report.examples[0].messages[1]["content"] == tricky


def test_all_identical_rows_report_duplicate_ratio(tmp_path):
    report = validate_file(write(tmp_path, jsonl(*[GOOD] * 10)))
    assert report.ok
    assert report.n_duplicates == 9
    assert report.duplicate_ratio == pytest.approx(0.9)
    assert {i.message for i in report.warnings} == {"duplicate of the example on line 1"}


def words(example: Example) -> int:
    return sum(len(m["content"].split()) for m in example.messages)


LONG = chat(USER, {**BOT, "content": "word " * 50})


@pytest.mark.parametrize(
    ("overflow", "ok", "severity", "kept", "dropped", "truncated"),
    [
        ("error", False, "error", 3, 0, 0),
        ("drop", True, "warning", 2, 1, 0),
        ("truncate", True, "warning", 3, 0, 1),
    ],
)
def test_overflow_modes(tmp_path, overflow, ok, severity, kept, dropped, truncated):
    path = write(tmp_path, jsonl(GOOD, LONG, chat(USER, {**BOT, "content": "5"})))
    report = validate_file(
        path, min_examples=1, count_tokens=words, max_length=20, overflow=overflow
    )
    too_long = [(i.line, i.severity) for i in report.issues if i.code == "example_too_long"]
    assert too_long == [(2, severity)]
    assert "55 tokens" in report.issues[0].message
    assert (report.ok, len(report.examples)) == (ok, kept)
    assert (report.n_too_long, report.n_dropped, report.n_truncated) == (1, dropped, truncated)


def test_long_plain_text_is_windowed_not_an_error(tmp_path):
    long_text = json.dumps({"text": "word " * 50})
    path = write(tmp_path, jsonl(long_text, json.dumps({"text": "short"})))

    def text_words(example: Example) -> int:
        return len((example.text or "").split())

    report = validate_file(path, min_examples=1, count_tokens=text_words, max_length=20)
    assert report.ok and len(report.examples) == 2
    assert (report.n_too_long, report.n_windowed) == (0, 1)
    [issue] = report.warnings
    assert (issue.code, issue.line, issue.pointer) == ("text_windowed", 1, "/text")
    assert "3 windows" in issue.message


def test_dropping_below_min_examples_is_an_error(tmp_path):
    path = write(tmp_path, jsonl(GOOD, LONG))
    report = validate_file(path, min_examples=2, count_tokens=words, max_length=20, overflow="drop")
    assert [i.code for i in report.errors] == ["too_few_examples"]


def test_no_length_check_without_max_length(tmp_path):
    report = validate_file(write(tmp_path, jsonl(LONG)), min_examples=1, count_tokens=words)
    assert report.ok and report.n_too_long == 0


def test_report_to_dict_is_json(tmp_path):
    report = validate_file(write(tmp_path, jsonl(GOOD, "[1]")), min_examples=1)
    summary = json.loads(json.dumps(report.to_dict()))
    assert summary["ok"] is False
    assert summary["n_records"] == 2 and summary["n_examples"] == 1
    assert summary["issues"][0]["code"] == "data_type"
    assert "examples" not in summary


def test_load_examples_raises_with_every_issue(tmp_path):
    path = write(tmp_path, jsonl(GOOD, "[1]", '{"messages": 3}'))
    with pytest.raises(DataValidationError) as caught:
        load_examples(path, min_examples=1)
    assert [i.code for i in caught.value.issues] == ["data_type", "missing_messages_list"]
    assert caught.value.code == "data_type"
    assert len(load_examples(write(tmp_path, jsonl(GOOD), "ok.jsonl"), min_examples=1)) == 1


@pytest.mark.parametrize("kwargs", [{"purpose": "test"}, {"overflow": "wrap"}])
def test_bad_options_raise_config_error(tmp_path, kwargs):
    with pytest.raises(ConfigError):
        validate_file(write(tmp_path, jsonl(GOOD)), **kwargs)


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ({"messages": []}, "chat"),
        ({"prompt": "p", "completion": "c"}, "prompt_completion"),
        ({"prompt": "p"}, "prompt_completion"),  # eval rows may omit the answer
        ({"instruction": "i", "output": "o"}, "alpaca"),
        ({"instruction": "i", "input": "x", "output": "o"}, "alpaca"),
        ({"text": "t"}, "text"),
        ({"question": "q", "answer": "a"}, None),
        ({}, None),
        (["messages"], None),
        ("text", None),
    ],
)
def test_detect_format(value, fmt):
    assert detect_format(value) == fmt


def test_to_example_directly():
    record = RawRecord(line=7, value={"instruction": "Add", "input": "1, 2", "output": "3"})
    example, issues = to_example(record, "alpaca", file="f.jsonl", purpose="train")
    assert issues == [] and example.line == 7
    assert example.messages[0] == {"role": "user", "content": "Add\n\n1, 2"}
    example, issues = to_example(record, "chat", file="f.jsonl", purpose="train")
    assert example is None
    assert ("missing_messages_list", 7, "/messages") in [
        (i.code, i.line, i.pointer) for i in issues
    ]
    with pytest.raises(ValueError):
        to_example(record, "sharegpt", file="f.jsonl", purpose="train")
