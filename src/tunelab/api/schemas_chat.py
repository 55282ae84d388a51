"""Request and response bodies of ``POST /v1/chat/completions`` in OpenAI's shapes.

Unions (``content`` as text or parts, ``stop`` as a string or a list) are normalised by
``mode="before"`` validators, so an error names the user's field (``messages[0].content``) rather
than a union member. Unknown request fields are rejected: silently ignoring ``tools`` or
``logprobs`` would answer a different question than the one asked. Message text with a NUL or a
lone surrogate is rejected as in training data (``data.io``): the tokenizer cannot take a lone
surrogate, and a NUL is never meant.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tunelab.data.io import find_bad_string

MAX_N = 8
MAX_STOP = 4
StopString = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"] = Field(description="Who wrote the message.")
    content: str = Field(description="Text, or a list of `{type: text, text}` parts (joined).")
    name: str | None = Field(None, max_length=256, description="Accepted and ignored.")

    @field_validator("content", mode="before")
    @classmethod
    def join_text_parts(cls, value):
        if not isinstance(value, list):
            return value
        texts = []
        for part in value:
            if not (
                isinstance(part, dict)
                and part.get("type") == "text"
                and isinstance(part.get("text"), str)
                and set(part) <= {"type", "text"}
            ):
                raise ValueError("content parts must be {'type': 'text', 'text': str}; only text")
            texts.append(part["text"])
        return "\n".join(texts)

    @field_validator("content")
    @classmethod
    def plain_text(cls, value: str) -> str:
        bad = find_bad_string(value)
        if bad is not None:
            raise ValueError(bad[1])
        return value


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool = Field(False, description="Send a last chunk with token usage.")


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field(min_length=1, max_length=256, description="A model id from /v1/models.")
    messages: list[ChatMessage] = Field(
        min_length=1, max_length=4096, description="The conversation so far."
    )
    temperature: float | None = Field(
        None, ge=0, le=2, allow_inf_nan=False, description="0 is greedy; default 1."
    )
    top_p: float | None = Field(
        None, gt=0, le=1, allow_inf_nan=False, description="Nucleus sampling mass; default 1."
    )
    max_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")
    max_completion_tokens: int | None = Field(
        None, ge=1, description="Most tokens to generate (wins over max_tokens)."
    )
    stop: list[StopString] = Field(
        default_factory=list, max_length=MAX_STOP, description="Up to 4 stop strings."
    )
    n: int = Field(1, ge=1, le=MAX_N, description="Number of choices.")
    seed: int | None = Field(
        None, ge=-(2**63), lt=2**63, description="Makes sampling reproducible."
    )
    stream: bool = Field(False, description="Send server-sent events as tokens come.")
    stream_options: StreamOptions | None = Field(None, description="Options for streaming.")
    user: str | None = Field(None, max_length=256, description="Accepted and ignored.")

    @field_validator("stop", mode="before")
    @classmethod
    def stop_as_list(cls, value):
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    def engine_options(self, max_tokens_cap: int) -> dict:
        """Keyword arguments of ``Engine.stream``: OpenAI's defaults (temperature 1), and
        ``max_tokens`` capped; absent, it fills the context up to the cap."""
        requested = self.max_completion_tokens or self.max_tokens
        return {
            "max_tokens": None if requested is None else min(requested, max_tokens_cap),
            "default_max_tokens": max_tokens_cap,
            "temperature": 1.0 if self.temperature is None else self.temperature,
            "top_p": 1.0 if self.top_p is None else self.top_p,
            "stop": self.stop,
            "n": self.n,
            "seed": self.seed,
        }

    def plain_messages(self) -> list[dict]:
        return [{"role": m.role, "content": m.content} for m in self.messages]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class CompletionChoice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    system_fingerprint: str | None = None


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: ChunkDelta
    finish_reason: Literal["stop", "length"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """Dumped with ``exclude_unset``: a delta carries only the fields it sets."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
