"""Stream a reply to a conversation, token by token, rendered exactly as in training."""

from __future__ import annotations

from collections.abc import Iterator
from threading import Thread

import torch

from tunelab.data.render import render_prompt


def stream_reply(
    model,
    tokenizer,
    messages: list[dict],
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
) -> Iterator[str]:
    """Yield text pieces of the assistant's next turn; stops at the end-of-turn token."""
    from transformers import TextIteratorStreamer

    ids = torch.tensor([render_prompt(tokenizer, messages)], device=model.device)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    sampling = (
        {"do_sample": True, "temperature": temperature, "top_p": top_p}
        if temperature > 0
        else {"do_sample": False}
    )
    kwargs = dict(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        streamer=streamer,
        max_new_tokens=max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **sampling,
    )
    thread = Thread(target=model.generate, kwargs=kwargs, daemon=True)
    thread.start()
    yield from streamer
    thread.join()
