"""The one decoding path: prompts' token ids -> replies, decoded the way the server decodes them.

Every generator goes through ``run_batch``: the serving engine's batches, the report's held-out
scoring and samples (``generate``, greedy) and the CLI's chat (``stream``). End-of-turn ids come
from the tokenizer and the model's generation config (``end_of_turn_ids``); stop strings,
``max_tokens`` and the sampling parameters from ``Sampling``; ``rows.Row`` turns each new token into
text and decides where a reply ends. So a score is measured with the decoder that serves.

Imports without torch; torch and transformers come with the first batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from tunelab.data.batches import generation_batches
from tunelab.serve.outputs import Choice, Delta, Sampling
from tunelab.serve.rows import BatchMonitor, Row


def end_of_turn_ids(model, tokenizer) -> frozenset[int]:
    """The tokens that end a reply: the tokenizer's end of sequence and the generation config's
    ``eos_token_id`` (one id or a list: chat models often list their end-of-turn token there)."""
    config = getattr(model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    ids = {tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])}
    return frozenset(i for i in ids if i is not None)


def detokenize(tokenizer, tokens: list[int]) -> str:
    """A reply's text: special tokens dropped, spacing exactly as the tokens spell it."""
    return tokenizer.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def pad_id(tokenizer) -> int:
    pad = tokenizer.pad_token_id
    return pad if pad is not None else tokenizer.eos_token_id


@dataclass(eq=False)
class Decoder:
    """What rows need of a model: its end-of-turn ids and its tokens -> text."""

    tokenizer: object
    eos_ids: frozenset[int]
    # a fast tokenizer is not thread-safe (see engine._Loaded): decoding takes this lock
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_model(cls, model, tokenizer) -> Decoder:
        return cls(tokenizer, end_of_turn_ids(model, tokenizer))

    def decode(self, tokens: list[int]) -> str:
        with self.lock:
            return detokenize(self.tokenizer, tokens)


@dataclass(eq=False)
class Prompt:
    """One prompt of a direct call, with what a ``Row`` reads of a request."""

    entry: Decoder
    prompt_ids: list[int]
    sampling: Sampling
    send: Callable[[Delta], None]
    cancelled: threading.Event = field(default_factory=threading.Event)


def generation_config(sampling: Sampling, max_new_tokens: int, eos_ids, pad: int):
    """``generate``'s settings for a batch: greedy at temperature 0, else OpenAI's sampling."""
    from transformers import GenerationConfig

    sampled = sampling.temperature > 0
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=sampled,
        temperature=sampling.temperature if sampled else 1.0,
        top_p=sampling.top_p if sampled else 1.0,
        top_k=0 if sampled else None,  # OpenAI has no top-k; HF's default would be 50
        repetition_penalty=1.0,
        num_beams=1,
        eos_token_id=sorted(eos_ids),
        pad_token_id=pad,
    )


def left_padded(prompts: list[list[int]], pad: int):
    """(input_ids, attention_mask), each (rows, longest prompt): left padding puts every row's
    next token at the end."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, prompt in enumerate(prompts):
        ids[i, width - len(prompt) :] = torch.tensor(prompt)
        mask[i, width - len(prompt) :] = 1
    return ids, mask


def run_batch(model, rows: list[Row], *, pad: int, eos_ids, device) -> None:
    """One left-padded ``generate`` call for ``rows``, with the first row's sampling (each row
    keeps its own ``max_tokens``). Every row ends on end-of-turn, a stop string, its
    ``max_tokens`` or cancellation; one still open when ``generate`` returns ends with "length"."""
    import torch
    from transformers import StoppingCriteriaList

    sampling = rows[0].request.sampling
    ids, mask = left_padded([row.request.prompt_ids for row in rows], pad)
    longest = max(row.request.sampling.max_tokens for row in rows)
    config = generation_config(sampling, longest, eos_ids, pad)
    # no_grad, not inference_mode: evaluation runs mid-training, and a buffer a model rebuilt
    # under inference_mode (e.g. a dynamic RoPE cache) could not be used in a backward pass later
    with torch.no_grad():
        if sampling.temperature > 0 and sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            generation_config=config,
            stopping_criteria=StoppingCriteriaList([BatchMonitor(rows)]),
        )
    for row in rows:  # generate() ended before the rows did (not expected)
        if not row.done:
            row.finish("length", row.text[row.sent :])


def _nothing() -> None:
    pass


def generate(
    model,
    tokenizer,
    prompts: list[list[int]],
    sampling: Sampling,
    *,
    max_batch: int = 16,
    max_batch_tokens: int = 16384,
    device=None,
) -> list[Choice]:
    """One reply per prompt (token ids, e.g. ``render_prompt``'s), in order, as the server would
    answer; left-padded batches of at most ``max_batch`` rows and ``max_batch_tokens`` padded
    tokens (prompts sorted by length)."""
    if sampling.n != 1:
        raise ValueError("generate answers each prompt once (n=1)")
    decoder = Decoder.for_model(model, tokenizer)
    pieces: list[list[str]] = [[] for _ in prompts]
    choices: list[Choice | None] = [None] * len(prompts)

    def collector(i: int) -> Callable[[Delta], None]:
        def send(delta: Delta) -> None:
            pieces[i].append(delta.text)
            if delta.finish_reason:
                choices[i] = Choice(
                    "".join(pieces[i]), delta.finish_reason, delta.completion_tokens
                )

        return send

    calls = [Prompt(decoder, p, sampling, collector(i)) for i, p in enumerate(prompts)]
    pad, device = pad_id(tokenizer), device or model.device
    was_training = model.training
    model.eval()
    try:
        lengths = [len(p) for p in prompts]
        for idx in generation_batches(lengths, max_batch, max_batch_tokens, sampling.max_tokens):
            rows = [Row(calls[i], 0, _nothing) for i in idx]
            run_batch(model, rows, pad=pad, eos_ids=decoder.eos_ids, device=device)
    finally:
        model.train(was_training)
    return choices


def stream(
    model, tokenizer, prompt_ids: list[int], sampling: Sampling, *, device=None
) -> Iterator[Delta]:
    """The ``Delta``s of one reply as they are generated (``generate`` runs in a thread); closing
    the iterator early stops generation."""
    events: queue.Queue = queue.Queue()
    call = Prompt(
        Decoder.for_model(model, tokenizer), prompt_ids, replace(sampling, n=1), events.put
    )
    row = Row(call, 0, _nothing)
    pad, device = pad_id(tokenizer), device or model.device

    def work() -> None:
        try:
            run_batch(model, [row], pad=pad, eos_ids=call.entry.eos_ids, device=device)
        except Exception as exc:  # handed to the reader
            events.put(exc)

    thread = threading.Thread(target=work, name="tunelab-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = events.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.finish_reason is not None:
                return
    finally:
        call.cancelled.set()
        thread.join()
