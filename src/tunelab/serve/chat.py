"""Stream a reply to a conversation, rendered exactly as in training and decoded as the server
decodes (``decode.stream``: end-of-turn ids from the generation config, stop strings, sampling)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

from tunelab.data.render import render_prompt
from tunelab.serve import decode
from tunelab.serve.outputs import Sampling


def stream_reply(
    model,
    tokenizer,
    messages: list[dict],
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    stop: tuple[str, ...] = (),
) -> Iterator[str]:
    """Yield text pieces of the assistant's next turn until it ends (end-of-turn, a stop string
    or ``max_new_tokens``)."""
    sampling = Sampling(max_new_tokens, temperature, top_p, tuple(stop))
    deltas = decode.stream(model, tokenizer, render_prompt(tokenizer, messages), sampling)
    with closing(deltas):  # closing this generator early stops generation at once
        for delta in deltas:
            if delta.text:
                yield delta.text
