"""Preference data for DPO and KTO: read, check every row, report every issue with its line.

Shapes, each named by its keys:

- OpenAI's preference pair (DPO): ``{"input": {"messages": [...], "tools"?: [...]},
  "preferred_output": [{"role": "assistant", "content": ...}], "non_preferred_output": [...]}``
- tunelab's unpaired row (KTO): ``{"input": {"messages": [...]}, "output": [{"role":
  "assistant", "content": ...}], "label": true|false}`` (true: the output is desirable)
- TRL's conversational shapes: ``{"prompt": [messages], "chosen": [messages], "rejected":
  [messages]}`` and ``{"prompt": [...], "completion": [...], "label": ...}``

``validate_preference_file`` has ``data.validate.validate_file``'s signature, so it plugs into a
method's ``check_data`` and the worker's file check; ``unpaired=True`` (KTO) also takes unpaired
rows (pairs and unpaired rows may mix). The prompt's messages are checked as chat messages are
(``data.formats``: roles, keys, content), and must end with the user's turn. Torch-free.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from tunelab.data.formats import Example, to_example, type_name
from tunelab.data.formats import _Issues as _Row  # one row's issues, as formats collects them
from tunelab.data.io import RawRecord, escape_pointer
from tunelab.data.split import validation_size
from tunelab.data.validate import ValidationReport, validate_records
from tunelab.errors import ChatTemplateError, DataIssue, DataValidationError

# shape -> (prompt key, the pair's keys, the unpaired row's output key)
SHAPES = {
    "openai": ("input", ("preferred_output", "non_preferred_output"), "output"),
    "trl": ("prompt", ("chosen", "rejected"), "completion"),
}
INPUT_KEYS = ("messages", "tools", "parallel_tool_calls")
OUTPUT_MESSAGE_KEYS = ("role", "content", "name")


@dataclass
class PreferenceExample:
    """One validated row: the prompt's messages and either a pair (``chosen`` preferred over
    ``rejected``) or one ``completion`` with its ``label`` (True: desirable)."""

    line: int
    prompt: list[dict]
    chosen: str | None = None
    rejected: str | None = None
    completion: str | None = None
    label: bool | None = None

    @property
    def paired(self) -> bool:
        return self.chosen is not None

    def outputs(self) -> list[str]:
        return [self.chosen, self.rejected] if self.paired else [self.completion]

    def key(self) -> str:
        """Equal for two rows exactly when their content is."""
        return json.dumps([self.prompt, self.outputs(), self.label], sort_keys=True)

    def prompt_key(self) -> str:
        return json.dumps(self.prompt, sort_keys=True)

    def with_output(self, text: str) -> list[dict]:
        """The prompt followed by ``text`` as the assistant's answer."""
        return [*self.prompt, {"role": "assistant", "content": text, "weight": 1}]


def validate_preference_file(
    path: str | Path,
    *,
    purpose: str = "train",
    min_examples: int = 10,
    count_tokens: Callable[[Example], int] | None = None,
    max_length: int | None = None,
    overflow: str = "error",
    max_line_bytes: int = 1_000_000,
    unpaired: bool = False,
) -> ValidationReport:
    """Check every row of a preference file (pairs; with ``unpaired``, KTO's rows too) and
    report all issues. Options as ``data.validate.validate_file``: ``count_tokens`` (length of a
    chat after the template) and ``max_length`` check prompt + each output; over it is an error
    (``overflow="error"``), dropped (``"drop"``) or kept for the renderer to cut the output's
    end (``"truncate"``); a prompt that alone fills ``max_length`` is always an error."""
    return validate_records(
        path,
        lambda records, file, issues: _convert(records, file, issues, unpaired),
        _check_lengths,
        _find_duplicates,
        purpose=purpose,
        min_examples=min_examples,
        count_tokens=count_tokens,
        max_length=max_length,
        overflow=overflow,
        max_line_bytes=max_line_bytes,
    )


def validate_kto_file(path: str | Path, **options) -> ValidationReport:
    """``validate_preference_file`` for KTO: pairs and unpaired rows (its ``check_data``)."""
    return validate_preference_file(path, unpaired=True, **options)


def load_preference_examples(path: str | Path, **options) -> list[PreferenceExample]:
    """The file's examples; ``DataValidationError`` with every issue when any is an error."""
    report = validate_preference_file(path, **options)
    if not report.ok:
        raise DataValidationError(report.issues)
    return report.examples


def split_by_prompt(
    examples: list[PreferenceExample], *, seed: int, fraction: float
) -> tuple[list[PreferenceExample], list[PreferenceExample]]:
    """(train, validation), seeded, over distinct prompts: every row of a validation prompt is
    held out, so validation measures prompts training never saw."""
    prompts = list(dict.fromkeys(e.prompt_key() for e in examples))
    size = validation_size(len(prompts), fraction=fraction, min_val=5, max_val=200)
    held = set(random.Random(seed).sample(prompts, size))
    return (
        [e for e in examples if e.prompt_key() not in held],
        [e for e in examples if e.prompt_key() in held],
    )


# ---------------------------------------------------------------- one row


def detect_shape(value: object) -> str | None:
    """``openai`` (an ``input`` key), ``trl`` (a ``prompt`` key) or None."""
    if isinstance(value, dict):
        for shape, (prompt_key, _, _) in SHAPES.items():
            if prompt_key in value:
                return shape
    return None


def _convert(records: list[RawRecord], file: str, issues: list[DataIssue], unpaired: bool):
    shapes = [detect_shape(r.value) for r in records]
    file_shape, first = next(
        ((s, r.line) for s, r in zip(shapes, records, strict=True) if s), (None, None)
    )
    examples, warned = [], set()
    for record, shape in zip(records, shapes, strict=True):
        if not isinstance(record.value, dict):
            message = f"each row must be a JSON object, not {type_name(record.value)}"
            issues.append(DataIssue("data_type", message, file, record.line))
        elif shape is None:
            keys = ", ".join(repr(k) for k in list(record.value)[:8]) or "none"
            message = (
                f"keys ({keys}) fit no preference format; use input + preferred_output + "
                "non_preferred_output (OpenAI's), input + output + label, or prompt + chosen + "
                "rejected (TRL's)"
            )
            issues.append(DataIssue("unknown_format", message, file, record.line))
        elif shape != file_shape:
            message = f"this row is {shape}'s shape but the file is {file_shape}'s (line {first})"
            issues.append(DataIssue("mixed_formats", message, file, record.line))
        else:
            row = _Row(file, record.line)
            example = _to_example(record.value, shape, row, unpaired)
            for issue in row.found:  # an unknown key is said once, on its first row
                if issue.code in ("unrecognized_key", "tools_not_rendered"):
                    if (issue.code, issue.pointer) in warned:
                        continue
                    warned.add((issue.code, issue.pointer))
                issues.append(issue)
            if example is not None and not row.errors:
                examples.append(example)
    return file_shape, examples


def _to_example(value: dict, shape: str, row: _Row, unpaired: bool) -> PreferenceExample | None:
    prompt_key, pair_keys, output_key = SHAPES[shape]
    has_single = output_key in value or "label" in value
    allowed = {prompt_key, *pair_keys, output_key, "label"}
    for key in value:
        if key not in allowed:
            row.warn(
                "unrecognized_key", f"unknown key {key!r} is ignored", f"/{escape_pointer(key)}"
            )
    prompt = _prompt(value, shape, row)
    if has_single and not any(k in value for k in pair_keys):
        if not unpaired:
            row.error(
                "unpaired_example",
                f"this row has one {output_key!r} and a 'label' (KTO's shape); DPO trains on "
                f"pairs: give {pair_keys[0]!r} and {pair_keys[1]!r}, or train with method kto",
                f"/{output_key}",
            )
            return None
        completion = _output(value, output_key, "missing_output", row)
        label = value.get("label")
        if "label" not in value:
            row.error("missing_label", "missing 'label': true (desirable) or false", "/label")
        elif not isinstance(label, bool):
            message = f"'label' must be true (desirable) or false, not {type_name(label)}"
            row.error("invalid_label", message, "/label")
        return PreferenceExample(row.line, prompt, completion=completion, label=label)
    codes = ("missing_preferred_output", "missing_non_preferred_output")
    chosen, rejected = (_output(value, k, c, row) for k, c in zip(pair_keys, codes, strict=True))
    if chosen is not None and rejected is not None and chosen.strip() == rejected.strip():
        message = f"{pair_keys[0]!r} and {pair_keys[1]!r} are the same answer: nothing to prefer"
        row.error("identical_outputs", message, f"/{pair_keys[1]}/0/content")
    return PreferenceExample(row.line, prompt, chosen=chosen, rejected=rejected)


def _prompt(value: dict, shape: str, row: _Row) -> list[dict]:
    """The prompt's messages, checked as chat messages; they must end with the user's turn."""
    if shape == "openai":
        given = value.get("input")
        if not isinstance(given, dict):
            shown = "missing" if "input" not in value else type_name(given)
            row.error("missing_input", f"'input' must be an object with 'messages', not {shown}")
            return []
        for key in given:
            if key not in INPUT_KEYS:
                text = f"unknown key {key!r} in input; allowed: {', '.join(INPUT_KEYS)}"
                row.error("invalid_field", text, f"/input/{escape_pointer(key)}")
        if "tools" in given:
            row.warn(
                "tools_not_rendered",
                "input.tools is accepted but not shown to the model (its chat template has no "
                "tools); the preference is learned without them",
                "/input/tools",
            )
        raw, at = given.get("messages"), "/input/messages"
        missing = "messages" not in given
    else:
        raw, at, missing = value.get("prompt"), "/prompt", False
    if not isinstance(raw, list) or not raw:
        shown = "missing" if missing else "an empty list" if raw == [] else type_name(raw)
        row.error("missing_messages_list", f"{at[1:]!r} must be a non-empty list, not {shown}", at)
        return []
    example, found = to_example(
        RawRecord(row.line, {"messages": raw}), "chat", file=row.file, purpose="eval"
    )
    for issue in found:
        issue = replace(issue, pointer=at + issue.pointer.removeprefix("/messages"))
        row.found.append(issue)
        row.errors += issue.severity == "error"
    if example is None:
        return []
    messages = [{"role": m["role"], "content": m["content"]} for m in example.messages]
    if messages[-1]["role"] != "user":
        message = (
            f"the last prompt message is from {messages[-1]['role']!r}; it must be the user's "
            "turn that the outputs answer"
        )
        row.error("last_message_not_user", message, f"{at}/{len(messages) - 1}/role")
    return messages


def _output(value: dict, key: str, missing_code: str, row: _Row) -> str | None:
    """The text of an output: a list holding one assistant message (TRL's and OpenAI's)."""
    at = f"/{key}"
    if key not in value:
        row.error(missing_code, f"missing {key!r}: a list with one assistant message", at)
        return None
    raw = value[key]
    if not isinstance(raw, list) or len(raw) != 1 or not isinstance(raw[0], dict):
        shown = f"a list of {len(raw)}" if isinstance(raw, list) else type_name(raw)
        message = f"{key!r} must be a list with one assistant message object, not {shown}"
        row.error("invalid_output", message, at)
        return None
    message, at = raw[0], f"{at}/0"
    for name in message:
        if name not in OUTPUT_MESSAGE_KEYS:
            text = f"unknown key {name!r} in {key}; allowed: {', '.join(OUTPUT_MESSAGE_KEYS)}"
            row.error("message_unrecognized_key", text, f"{at}/{escape_pointer(name)}")
    if message.get("role") != "assistant":
        shown = repr(message["role"]) if "role" in message else "missing"
        text = f"{key} must come from the 'assistant' role, not {shown}"
        row.error("output_not_assistant", text, f"{at}/role")
    content = message.get("content")
    if content is None:
        row.error("missing_content", f"{key} content is missing or null", f"{at}/content")
    elif not isinstance(content, str):
        text = f"content must be a string, not {type_name(content)}"
        row.error("invalid_content_type", text, f"{at}/content")
    elif not content.strip():
        row.error("missing_content", f"{key} content is empty or only whitespace", f"{at}/content")
    else:
        return content
    return None


# ---------------------------------------------------------------- the whole file


def _check_lengths(
    report: ValidationReport, count_tokens: Callable[[Example], int], max_length: int, overflow: str
) -> None:
    kept = []
    for example in report.examples:
        try:
            prompt = count_tokens(Example(example.line, example.prompt))
            longest = max(
                count_tokens(Example(example.line, example.with_output(text)))
                for text in example.outputs()
            )
        except ChatTemplateError as exc:
            report.issues.append(DataIssue(exc.code, exc.message, report.file, example.line))
            continue
        if longest <= max_length:
            kept.append(example)
            continue
        report.n_too_long += 1
        message = (
            f"prompt + output is {longest} tokens after the chat template; max_length is "
            f"{max_length}"
        )
        if prompt >= max_length:
            message = (
                f"the prompt alone is {prompt} tokens; max_length is {max_length}: no output "
                "token fits"
            )
            report.issues.append(DataIssue("prompt_too_long", message, report.file, example.line))
            continue
        severity = "warning"
        if overflow == "error":
            message += "; shorten it, or set overflow to 'drop' or 'truncate'"
            severity = "error"
        elif overflow == "drop":
            message += "; it was dropped"
            report.n_dropped += 1
        else:
            message += "; the output's end will be cut"
            report.n_truncated += 1
        report.issues.append(
            DataIssue("example_too_long", message, report.file, example.line, "", severity)
        )
        if overflow != "drop":
            kept.append(example)
    report.examples = kept


def _find_duplicates(report: ValidationReport) -> None:
    first_seen: dict[str, int] = {}
    for example in report.examples:
        key = example.key()
        if key in first_seen:
            report.n_duplicates += 1
            message = f"duplicate of the example on line {first_seen[key]}"
            report.issues.append(
                DataIssue("duplicate_example", message, report.file, example.line, "", "warning")
            )
        else:
            first_seen[key] = example.line
