"""Render conversations with the model's own chat template into token ids and a loss mask.

Why not ``tokenizer(apply_chat_template(...))``: text a user typed must stay text. If a message
contains ``<|im_start|>`` the plain path turns it into a control token. Here every message
content is
swapped for a private-use placeholder, the template is rendered once, and the pieces are tokenized
separately: template pieces with special tokens, content pieces with ``split_special_tokens=True``.

Loss mask: the content of assistant turns (``weight`` 1) plus the template tokens that close the
turn,
up to and including the first special token (the end-of-turn token, so the tuned model learns to
stop). The assistant header (``<|im_start|>assistant\\n``) is the generation prompt at inference and
is not trained. Imports without torch: the tokenizer is passed in.

A template that raises (``raise_exception(...)`` in Jinja, or a failing expression) is the model's
verdict on the conversation, not a bug here: it becomes ``ChatTemplateError`` (code
``template_error``) with the template's message, which validation reports on the row's line and
chat returns as a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tunelab.errors import ChatTemplateError, ModelError

IGNORE = -100
_PLACEHOLDER = "\ue000{}\ue001"
_SPLIT = re.compile("\ue000(\\d+)\ue001")


@dataclass
class Rendered:
    input_ids: list[int]
    labels: list[int]  # IGNORE where not trained
    truncated: bool = False

    @property
    def n_trained(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def _tokenize(tokenizer, text: str, *, literal: bool) -> list[int]:
    if not text:
        return []
    return tokenizer(text, add_special_tokens=False, split_special_tokens=literal)["input_ids"]


def _render_pieces(tokenizer, messages: list[dict], *, generation_prompt: bool):
    """Yield (message index or None, token ids) in order; None marks template text."""
    slots = [{"role": m["role"], "content": _PLACEHOLDER.format(i)} for i, m in enumerate(messages)]
    text = _apply_template(tokenizer, slots, generation_prompt)
    parts = _SPLIT.split(text)  # [template, idx, template, idx, ..., template]
    for pos, part in enumerate(parts):
        if pos % 2 == 0:
            yield None, _tokenize(tokenizer, part, literal=False)
        else:
            index = int(part)
            yield index, _tokenize(tokenizer, messages[index]["content"], literal=True)


def _apply_template(tokenizer, slots: list[dict], generation_prompt: bool) -> str:
    # Anything the template raises is about the template or the conversation (jinja2's
    # TemplateError from raise_exception, UndefinedError, a TypeError in an expression), so it
    # is reported as such; the message is the template's, never a path or a traceback.
    try:
        return tokenizer.apply_chat_template(
            slots, tokenize=False, add_generation_prompt=generation_prompt
        )
    except Exception as exc:
        detail = _SPLIT.sub("<content>", str(exc).strip())[:500] or type(exc).__name__
        raise ChatTemplateError(
            f"the model's chat template rejected the conversation: {detail}", param="messages"
        ) from exc


def _closing_length(tokenizer, ids: list[int]) -> int:
    special = set(tokenizer.all_special_ids)
    for n, token in enumerate(ids, start=1):
        if token in special:
            return n
    raise ModelError(
        "the chat template does not close assistant turns with a special token; "
        "tunelab cannot teach the model to stop",
        code="unsupported_chat_template",
    )


def render_chat(tokenizer, messages: list[dict]) -> Rendered:
    """Token ids and labels of a whole conversation, for training."""
    input_ids: list[int] = []
    labels: list[int] = []
    train_closing = False
    for index, ids in _render_pieces(tokenizer, messages, generation_prompt=False):
        trained = 0
        if index is not None:
            message = messages[index]
            is_trained = message["role"] == "assistant" and message.get("weight", 1) == 1
            trained = len(ids) if is_trained else 0
            train_closing = is_trained
        elif train_closing:
            trained = _closing_length(tokenizer, ids)
            train_closing = False
        input_ids += ids
        labels += ids[:trained] + [IGNORE] * (len(ids) - trained)
    return Rendered(input_ids, labels)


def render_text(tokenizer, text: str) -> Rendered:
    """Plain text for continued pre-training: every token trained, ended with the EOS token."""
    ids = _tokenize(tokenizer, text, literal=True)
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return Rendered(ids, list(ids))


def render_example(tokenizer, example, *, max_length: int | None = None) -> Rendered:
    """Render an ``Example``; cut to ``max_length`` tokens (the caller decided truncation is ok)."""
    if example.kind == "text":
        rendered = render_text(tokenizer, example.text or "")
    else:
        rendered = render_chat(tokenizer, example.messages)
    if max_length is not None and len(rendered.input_ids) > max_length:
        rendered = Rendered(
            rendered.input_ids[:max_length], rendered.labels[:max_length], truncated=True
        )
    return rendered


def render_windows(tokenizer, example, *, max_length: int) -> list[Rendered]:
    """An ``Example`` as training rows of at most ``max_length`` tokens: plain text longer than
    that is split into consecutive windows (every token trained once, the last window ending in
    EOS); anything else is one row, cut as ``render_example`` does (validation decided that)."""
    if example.kind != "text":
        return [render_example(tokenizer, example, max_length=max_length)]
    ids = render_text(tokenizer, example.text or "").input_ids
    starts = range(0, len(ids), max_length)
    return [Rendered(ids[i : i + max_length], ids[i : i + max_length]) for i in starts]


def render_prompt(tokenizer, messages: list[dict]) -> list[int]:
    """Token ids of the prompt for the model's next assistant turn (inference)."""
    ids: list[int] = []
    for _, piece in _render_pieces(tokenizer, messages, generation_prompt=True):
        ids += piece
    return ids


def prompt_messages(example) -> list[dict]:
    """The messages before the last assistant turn: what a user would have sent."""
    messages = list(example.messages)
    while messages and messages[-1]["role"] == "assistant":
        messages.pop()
    return messages


def token_counter(tokenizer) -> Callable:
    """``count_tokens(example)`` for validation: length after the chat template."""

    def count(example) -> int:
        return len(render_example(tokenizer, example).input_ids)

    return count
