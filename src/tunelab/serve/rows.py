"""Rows of a generation batch: each choice turns its new tokens into text deltas and ends on
end-of-turn, a stop string, ``max_tokens`` or cancellation; ``BatchMonitor`` is the stopping
criterion that feeds every row its token after each step. Imports without torch."""

from __future__ import annotations

from collections.abc import Callable

from tunelab.serve.outputs import Delta, find_stop, safe_length


class Row:
    """One choice being generated: tokens -> text deltas, stop strings, end-of-turn, max_tokens."""

    def __init__(self, request, index: int, on_done: Callable[[], None]):
        """``request``: the engine's queued request (its entry, sampling, cancel event, send)."""
        self.request, self.index, self.on_done = request, index, on_done
        self.tokens: list[int] = []
        self.count = 0
        self.sent = 0  # characters of text already emitted
        self.text = ""
        self.done = False

    def push(self, token: int) -> None:
        sampling = self.request.sampling
        if self.request.cancelled.is_set():
            return self.finish("cancelled", "")
        self.count += 1
        if token in self.request.entry.eos_ids:
            return self.finish("stop", self.text[self.sent :])
        self.tokens.append(token)
        self.text = self.request.entry.decode(self.tokens)
        cut = find_stop(self.text, sampling.stop)
        if cut is not None:
            return self.finish("stop", self.text[self.sent : max(cut, self.sent)])
        if self.count >= sampling.max_tokens:
            return self.finish("length", self.text[self.sent :])
        safe = safe_length(self.text, sampling.stop)
        if safe > self.sent:
            self.request.send(Delta(self.index, self.text[self.sent : safe]))
            self.sent = safe

    def finish(self, reason: str, text: str) -> None:
        if self.done:
            return
        self.done = True
        self.request.send(Delta(self.index, text, reason, self.count))
        self.on_done()


class BatchMonitor:
    """A ``StoppingCriteria`` (duck-typed, so this module imports without transformers), called by
    ``generate`` after every step: feeds each row its new token, returns per-row done flags."""

    def __init__(self, rows: list[Row]):
        self.rows = rows

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        last = input_ids[:, -1].tolist()  # input_ids: (batch, prompt + generated)
        for row, token in zip(self.rows, last, strict=True):
            if not row.done:
                row.push(token)
        return torch.tensor([row.done for row in self.rows], device=input_ids.device)
