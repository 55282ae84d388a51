"""What a request asks for and what it gets back: sampling parameters, completions, streamed text
deltas, and the text rules of streaming (stop strings, partial characters)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Choice:
    text: str
    finish_reason: str  # "stop" | "length"
    completion_tokens: int


@dataclass
class Completion:
    choices: list[Choice]
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.choices)


@dataclass(frozen=True)
class Delta:
    """A piece of choice ``index``'s text; its last delta has ``finish_reason`` set."""

    index: int
    text: str
    finish_reason: str | None = None
    completion_tokens: int = 0  # set on the last delta


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    n: int = 1
    seed: int | None = None


def find_stop(text: str, stops: tuple[str, ...]) -> int | None:
    """Index where the earliest stop string starts in ``text``, or None."""
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def safe_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of ``text`` can be sent now: not a trailing partial character (U+FFFD from an
    incomplete byte sequence) nor a trailing piece that may become a stop string."""
    end = len(text.rstrip("\ufffd"))
    hold = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, end), 0, -1):
            if text[end - k : end] == stop[:k]:
                hold = max(hold, k)
                break
    return end - hold
