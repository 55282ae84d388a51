"""The row formats tunelab reads, and their normalisation into one ``Example`` shape.

Formats, each named by its keys:

- ``chat``: ``{"messages": [{"role", "content", "weight"?, "name"?}, ...]}``
- ``prompt_completion``: ``{"prompt", "completion"}`` -> user, assistant
- ``alpaca``: ``{"instruction", "input"?, "output"}`` -> user (instruction + input), assistant
- ``text``: ``{"text"}`` -> plain text for continued pre-training

Any row may also carry eval fields ``expected`` (a string) and ``must_contain`` (a string or a
list of strings), kept in ``Example.meta``. Content is stored verbatim: control tokens such as
``<|im_start|>`` and Jinja ``{{ }}`` are plain text here and are escaped by the renderer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tunelab.data.io import RawRecord, escape_pointer
from tunelab.errors import DataIssue

FORMATS = ("chat", "prompt_completion", "alpaca", "text")
ROLES = ("system", "user", "assistant")
MESSAGE_KEYS = ("role", "content", "name", "weight")
META_KEYS = ("expected", "must_contain")
FORMAT_KEYS = {
    "chat": ("messages",),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction", "input", "output"),
    "text": ("text",),
}
_ROLE_HINTS = {"bot": "assistant", "model": "assistant", "ai": "assistant", "human": "user"}


@dataclass
class Example:
    """One validated example.

    ``messages`` holds chat turns ``{"role", "content"}``, with ``"weight"`` (0 or 1, default 1)
    on assistant turns only; a message's ``name`` is not kept. For ``kind == "text"`` the
    messages are empty and ``text`` holds the document.
    """

    line: int
    messages: list[dict]
    kind: str = "chat"
    text: str | None = None
    meta: dict = field(default_factory=dict)


def detect_format(value: dict) -> str | None:
    """Name a row's format from its keys, or None when they fit none.

    The leading key decides (``messages``, ``prompt``, ``instruction``, ``text``, in that order),
    so a row missing its second key (``completion``, ``output``) is still recognised and gets a
    precise ``invalid_field`` instead of ``unknown_format``; eval rows may omit the answer.
    """
    if not isinstance(value, dict):
        return None
    for fmt, key in (
        ("chat", "messages"),
        ("prompt_completion", "prompt"),
        ("alpaca", "instruction"),
        ("text", "text"),
    ):
        if key in value:
            return fmt
    return None


def example_key(example: Example) -> str:
    """A string equal for two examples exactly when their trained content is equal."""
    return json.dumps([example.kind, example.text, example.messages], sort_keys=True)


def type_name(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


class _Issues:
    """Collects the issues of one record, stamped with its file and line."""

    def __init__(self, file: str, line: int):
        self.file, self.line = file, line
        self.found: list[DataIssue] = []
        self.errors = 0

    def error(self, code: str, message: str, pointer: str = "") -> None:
        self.found.append(DataIssue(code, message, self.file, self.line, pointer))
        self.errors += 1

    def warn(self, code: str, message: str, pointer: str = "") -> None:
        self.found.append(DataIssue(code, message, self.file, self.line, pointer, "warning"))


def to_example(
    record: RawRecord, fmt: str, *, file: str, purpose: str
) -> tuple[Example | None, list[DataIssue]]:
    """Check one record as format ``fmt`` and normalise it; the example is None on any error.

    ``purpose`` is "train" (the example must end with an assistant turn to learn from) or
    "eval" (it may end with a user question and omit the answer).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    out = _Issues(file, record.line)
    value = record.value
    if not isinstance(value, dict):
        out.error("data_type", f"each row must be a JSON object, not {type_name(value)}")
        return None, out.found
    for key in value:
        if key not in FORMAT_KEYS[fmt] and key not in META_KEYS:
            out.warn(
                "unrecognized_key", f"unknown key {key!r} is ignored", f"/{escape_pointer(key)}"
            )
    meta = _meta(value, out)
    example = Example(line=record.line, messages=[], meta=meta)
    if fmt == "chat":
        example.messages = _chat_messages(value, purpose, out)
    elif fmt == "text":
        example.kind, example.text = "text", _text_field(value, "text", out, required=True)
    else:
        example.messages = _pair_messages(value, fmt, purpose, out)
    return (None if out.errors else example), out.found


def _meta(value: dict, out: _Issues) -> dict:
    meta: dict = {}
    if "expected" in value:
        expected = value["expected"]
        if isinstance(expected, str) and expected.strip():
            meta["expected"] = expected
        else:
            message = f"'expected' must be a non-empty string, not {type_name(expected)}"
            out.error("invalid_field", message, "/expected")
    if "must_contain" in value:
        wanted = value["must_contain"]
        items = wanted if isinstance(wanted, list) else [wanted]
        if items and all(isinstance(s, str) and s.strip() for s in items):
            meta["must_contain"] = wanted
        else:
            message = "'must_contain' must be a non-empty string or a non-empty list of them"
            out.error("invalid_field", message, "/must_contain")
    return meta


def _text_field(value: dict, key: str, out: _Issues, *, required: bool) -> str | None:
    if key not in value:
        if required:
            out.error("invalid_field", f"missing {key!r}; it must be a non-empty string", "/" + key)
        return None
    text = value[key]
    if not isinstance(text, str) or not text.strip():
        shown = "an empty string" if isinstance(text, str) else type_name(text)
        out.error("invalid_field", f"{key!r} must be a non-empty string, not {shown}", "/" + key)
        return None
    return text


def _pair_messages(value: dict, fmt: str, purpose: str, out: _Issues) -> list[dict]:
    """prompt/completion and alpaca rows -> [user, assistant] (the answer is optional in eval)."""
    pair = ("prompt", "completion") if fmt == "prompt_completion" else ("instruction", "output")
    question_key, answer_key = pair
    question = _text_field(value, question_key, out, required=True)
    answer = _text_field(value, answer_key, out, required=purpose == "train")
    if fmt == "alpaca":
        extra = value.get("input")
        if extra is not None and not isinstance(extra, str):
            message = f"'input' must be a string, not {type_name(extra)}"
            out.error("invalid_field", message, "/input")
        elif question and extra and extra.strip():
            question = f"{question}\n\n{extra}"
    messages = [{"role": "user", "content": question}]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer, "weight": 1})
    return messages


def _chat_messages(value: dict, purpose: str, out: _Issues) -> list[dict]:
    raw = value.get("messages")
    if not isinstance(raw, list) or not raw:
        shown = "an empty list" if raw == [] else type_name(raw)
        shown = shown if "messages" in value else "missing"
        message = f"'messages' must be a non-empty list, not {shown}"
        out.error("missing_messages_list", message, "/messages")
        return []
    errors_before = out.errors
    turns = [_chat_turn(message, i, out) for i, message in enumerate(raw)]
    if out.errors == errors_before:
        _check_turn_order(turns, purpose, out)
    return turns


def _chat_turn(message: object, i: int, out: _Issues) -> dict:
    at = f"/messages/{i}"
    if not isinstance(message, dict):
        out.error("data_type", f"message {i} must be an object, not {type_name(message)}", at)
        return {}
    for key in message:
        if key not in MESSAGE_KEYS:
            text = f"unknown key {key!r} in message {i}; allowed: {', '.join(MESSAGE_KEYS)}"
            out.error("message_unrecognized_key", text, f"{at}/{escape_pointer(key)}")
    for key in ("role", "content"):
        if key not in message:
            out.error("message_missing_key", f"message {i} has no {key!r}", f"{at}/{key}")
    role = message.get("role")
    if "role" in message and role not in ROLES:
        out.error("unrecognized_role", _role_message(role), f"{at}/role")
    if "content" in message:
        _check_content(message["content"], role, f"{at}/content", out)
    if "weight" in message:
        _check_weight(message["weight"], role, f"{at}/weight", out)
    if "name" in message and not isinstance(message["name"], str):
        shown = type_name(message["name"])
        out.error("invalid_field", f"'name' must be a string, not {shown}", f"{at}/name")
    turn = {"role": role, "content": message.get("content")}
    if role == "assistant":
        turn["weight"] = message.get("weight", 1)
    return turn


def _role_message(role: object) -> str:
    message = f"role {role!r} is not one of system, user, assistant"
    name = role.strip().lower() if isinstance(role, str) else ""
    if name in ROLES:
        message += f" (roles are lowercase: use {name!r})"
    elif name in _ROLE_HINTS:
        message += f" (use {_ROLE_HINTS[name]!r})"
    return message


def _check_content(content: object, role: object, pointer: str, out: _Issues) -> None:
    if content is None:
        out.error("missing_content", "content is null", pointer)
    elif not isinstance(content, str):
        message = f"content must be a string, not {type_name(content)}"
        out.error("invalid_content_type", message, pointer)
    elif not content.strip() and role in ("user", "assistant"):
        out.error("missing_content", f"{role} content is empty or only whitespace", pointer)


def _check_weight(weight: object, role: object, pointer: str, out: _Issues) -> None:
    if role != "assistant":
        message = f"weight is allowed on assistant turns only, not on {role!r}"
        out.error("invalid_weight", message, pointer)
    elif type(weight) is not int or weight not in (0, 1):
        out.error("invalid_weight", f"weight must be 0 or 1, not {weight!r}", pointer)


def _check_turn_order(turns: list[dict], purpose: str, out: _Issues) -> None:
    if purpose != "train":
        return
    roles = [turn["role"] for turn in turns]
    if "assistant" not in roles:
        message = "no assistant message to learn from"
        out.error("example_missing_assistant_message", message, "/messages")
    elif roles[-1] != "assistant":
        message = f"the last message is from {roles[-1]!r}; training rows must end with 'assistant'"
        out.error("last_message_not_assistant", message, f"/messages/{len(roles) - 1}/role")
    elif not any(turn["weight"] for turn in turns if turn["role"] == "assistant"):
        message = "every assistant turn has weight 0, so nothing is learned from this example"
        out.warn("invalid_weight", message, "/messages")
