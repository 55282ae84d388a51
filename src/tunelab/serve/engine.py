"""The serving engine: each base model loaded once, LoRA adapters switched per request, concurrent
requests batched, replies streamed as text deltas.

Flow: ``stream()`` (the caller's thread) loads the model if needed, renders the prompt with the
chat template (``render_prompt``: typed control tokens stay text), checks the context and queues
the request. A scheduler thread waits ``batch_window_s`` for more requests, takes the queued ones
for the same model + adapter + sampling parameters as one batch of ``decode.run_batch`` (the one
decoding path, shared with evaluation and the CLI's chat): each new token becomes text per row, and
end-of-turn, stop strings, ``max_tokens`` and cancellation end a row (``finish_reason`` "stop" /
"length").

Seeded sampling runs alone in its batch so that the same request with the same seed gives the same
text. Only the scheduler thread touches the models (adapter switching is not thread-safe); a lock
guards them anyway. Imports without torch (``ModelSpec`` is cheap to use); torch comes with the
first model load.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import queue
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field

from tunelab.data.render import render_prompt
from tunelab.errors import CheckpointError, TunelabError
from tunelab.models.load import check_model_files, load_base
from tunelab.serve.decode import detokenize, end_of_turn_ids, pad_id, run_batch
from tunelab.serve.outputs import Choice, Completion, Delta, Sampling
from tunelab.serve.rows import Row
from tunelab.serve.spec import (
    ModelSpec,
    checkpoint_weights,
    is_lora_checkpoint,
    lora_config,
    strip_adapter_name,
)

log = logging.getLogger(__name__)
_ENGINES: weakref.WeakSet = weakref.WeakSet()


@dataclass(eq=False)
class _Loaded:
    """One model in memory, with the LoRA adapters loaded into it (adapter key -> PEFT name)."""

    model: object
    tokenizer: object
    context: int
    eos_ids: frozenset[int]
    peft: object = None
    adapters: OrderedDict = field(default_factory=OrderedDict)
    # A fast tokenizer is not thread-safe: ``split_special_tokens`` flips a flag on the shared
    # Rust tokenizer, so two threads rendering at once can tokenize control tokens as text.
    tokenizer_lock: threading.Lock = field(default_factory=threading.Lock)

    def render(self, messages: list[dict]) -> list[int]:
        with self.tokenizer_lock:
            return render_prompt(self.tokenizer, messages)

    def decode(self, tokens: list[int]) -> str:
        with self.tokenizer_lock:
            return detokenize(self.tokenizer, tokens)


@dataclass(eq=False)
class _Request:
    entry: _Loaded
    spec: ModelSpec
    prompt_ids: list[int]
    sampling: Sampling
    emit: Callable[[object], None]
    group: tuple
    cancelled: threading.Event = field(default_factory=threading.Event)
    queued_at: float = field(default_factory=time.monotonic)

    def send(self, item) -> None:
        try:
            self.emit(item)
        except Exception:  # the consumer is gone (e.g. its event loop closed): stop its rows
            self.cancelled.set()


class TokenStream:
    """The deltas of one request. Iterate for ``Delta``s; ``close()`` (or closing the iterator)
    cancels generation and frees the request's slots at once."""

    def __init__(self, engine: Engine, request: _Request, events: queue.Queue | None):
        self._engine, self._request, self._events = engine, request, events
        self.prompt_tokens = len(request.prompt_ids)
        self.n = request.sampling.n

    def __iter__(self) -> Iterator[Delta]:
        if self._events is None:
            raise TypeError("this stream delivers its deltas to on_event")
        open_rows = self.n
        try:
            while open_rows:
                item = self._events.get()
                if isinstance(item, BaseException):
                    raise item
                open_rows -= item.finish_reason is not None
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._engine._cancel(self._request)

    def __enter__(self) -> TokenStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Engine:
    """Loaded models (bounded LRU), their adapters, and the batching scheduler."""

    def __init__(
        self,
        max_loaded: int = 2,
        device: str = "cpu",
        *,
        dtype: str = "float32",
        max_adapters: int = 8,
        max_batch: int = 16,
        max_batch_tokens: int = 16384,
        batch_window_s: float = 0.01,
        default_max_tokens: int = 2048,
    ):
        self.max_loaded, self.device, self.dtype = max_loaded, device, dtype
        self.max_adapters, self.max_batch = max_adapters, max_batch
        # a batch is left-padded: rows x (longest prompt + most new tokens) bounds its KV cache
        # and activations, so one long prompt runs alone instead of with a full batch
        self.max_batch_tokens = max_batch_tokens
        self.batch_window_s, self.default_max_tokens = batch_window_s, default_max_tokens
        self._models: OrderedDict[tuple, _Loaded] = OrderedDict()
        self._load_lock = threading.Lock()  # the LRU and loading
        self._model_lock = threading.RLock()  # model use: adapter loads, switches, generate
        self._cv = threading.Condition()  # the queue and the counters
        self._queue: list[_Request] = []
        self._running: list[_Request] = []
        self._active = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._names = itertools.count()
        self.loads = 0  # models loaded so far
        self.adapter_loads = 0
        self.batches_run = 0  # generate calls so far
        _ENGINES.add(self)

    # ------------------------------------------------------------ public API

    @property
    def active_slots(self) -> int:
        """Choices queued or being generated."""
        with self._cv:
            return self._active

    def loaded(self) -> list[tuple]:
        """Keys of the models in memory, least recently used first."""
        with self._load_lock:
            return list(self._models)

    def count_prompt_tokens(self, spec: ModelSpec, messages: list[dict]) -> int:
        return len(self._entry(spec).render(messages))

    def context_length(self, spec: ModelSpec) -> int:
        return self._entry(spec).context

    def check_limits(self, spec: ModelSpec, prompt_tokens: int, max_tokens: int) -> None:
        """An OpenAI-shaped error when the prompt plus ``max_tokens`` exceed the model's context."""
        context = self._entry(spec).context
        if prompt_tokens + max_tokens > context:
            raise TunelabError(
                f"This model's maximum context length is {context} tokens. However, you requested "
                f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, "
                f"{max_tokens} in the completion). Please reduce the length of the messages or "
                "completion.",
                code="context_length_exceeded",
                param="messages",
            )

    def stream(
        self,
        spec: ModelSpec,
        messages: list[dict],
        *,
        max_tokens: int | None = None,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: list[str] | None = None,
        n: int = 1,
        seed: int | None = None,
        default_max_tokens: int | None = None,
        on_event: Callable[[object], None] | None = None,
    ) -> TokenStream:
        """Queue a request; its deltas come from iterating the result, or go to ``on_event``
        (``Delta``s, or an exception if generation failed). Limits are checked here, before
        anything is queued. ``max_tokens=None``: the rest of the context, at most
        ``default_max_tokens``."""
        entry = self._entry(spec)
        prompt = entry.render(messages)
        if max_tokens is None:
            cap = default_max_tokens or self.default_max_tokens
            max_tokens = max(1, min(cap, entry.context - len(prompt)))
        self.check_limits(spec, len(prompt), max_tokens)
        sampling = Sampling(max_tokens, temperature, top_p, tuple(stop or ()), n, seed)
        events = None if on_event is not None else queue.Queue()
        request = _Request(entry, spec, prompt, sampling, on_event or events.put, ())
        request.group = self._group(request)
        self._submit(request)
        return TokenStream(self, request, events)

    def generate(self, spec: ModelSpec, messages: list[dict], **kwargs) -> Completion:
        """The whole reply (``n`` choices); keyword arguments as for ``stream``."""
        stream = self.stream(spec, messages, **kwargs)
        texts: list[list[str]] = [[] for _ in range(stream.n)]
        choices: list[Choice | None] = [None] * stream.n
        for delta in stream:
            texts[delta.index].append(delta.text)
            if delta.finish_reason:
                text = "".join(texts[delta.index])
                choices[delta.index] = Choice(text, delta.finish_reason, delta.completion_tokens)
        return Completion(choices, stream.prompt_tokens)

    def close(self) -> None:
        """Stop the scheduler thread; queued requests are cancelled."""
        with self._cv:
            self._closed = True
            pending, self._queue = self._queue, []
            for request in self._running:
                request.cancelled.set()
            self._cv.notify_all()
        for request in pending:
            self._cancel_queued(request)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    # ------------------------------------------------------------ models and adapters

    def _entry_key(self, spec: ModelSpec) -> tuple:
        if spec.full_dir is not None:
            return ("full", str(spec.full_dir))
        if spec.checkpoint is not None and not is_lora_checkpoint(spec.checkpoint):
            return ("full-checkpoint", str(spec.checkpoint))
        return ("base", spec.base)

    def _entry(self, spec: ModelSpec) -> _Loaded:
        key = self._entry_key(spec)
        with self._load_lock:
            entry = self._models.get(key)
            if entry is None:
                entry = self._load(spec, key)
                self._models[key] = entry
                while len(self._models) > self.max_loaded:
                    # a batch still running on the evicted model keeps it alive until it ends
                    self._models.popitem(last=False)
            self._models.move_to_end(key)
            return entry

    def _load(self, spec: ModelSpec, key: tuple) -> _Loaded:
        from safetensors.torch import load_file

        log.info("loading %s", key)
        source = str(check_model_files(spec.full_dir)) if key[0] == "full" else spec.base
        model, tokenizer, _ = load_base(source, dtype=self.dtype, device=self.device)
        if key[0] == "full-checkpoint":
            weights = load_file(str(checkpoint_weights(spec.checkpoint)))
            if model.load_state_dict(weights, strict=False).unexpected_keys:
                raise CheckpointError(f"checkpoint {spec.checkpoint.name} does not fit {spec.base}")
        self.loads += 1
        context = int(getattr(model.config, "max_position_embeddings", None) or 2048)
        return _Loaded(model, tokenizer, context, end_of_turn_ids(model, tokenizer))

    def _adapter_key(self, spec: ModelSpec) -> tuple | None:
        if spec.full_dir is not None:
            return None
        if spec.checkpoint is not None:
            return (
                ("checkpoint", str(spec.checkpoint))
                if is_lora_checkpoint(spec.checkpoint)
                else None
            )
        return ("adapter", str(spec.adapter_dir)) if spec.adapter_dir is not None else None

    def _activate(self, entry: _Loaded, spec: ModelSpec, adapter_key: tuple | None):
        """(context manager, model) to generate with: the adapter set, or adapters disabled."""
        if adapter_key is None:
            if entry.peft is None:
                return nullcontext(), entry.model
            return entry.peft.disable_adapter(), entry.peft
        name = entry.adapters.get(adapter_key)
        if name is None:
            name = self._load_adapter(entry, spec)
            entry.adapters[adapter_key] = name
        entry.adapters.move_to_end(adapter_key)
        entry.peft.set_adapter(name)
        while len(entry.adapters) > self.max_adapters:
            _, old = entry.adapters.popitem(last=False)
            entry.peft.delete_adapter(old)
        return nullcontext(), entry.peft

    def _load_adapter(self, entry: _Loaded, spec: ModelSpec) -> str:
        from peft import PeftModel, get_peft_model, set_peft_model_state_dict
        from safetensors.torch import load_file

        name = f"adapter{next(self._names)}"
        if spec.checkpoint is None:
            check_model_files(spec.adapter_dir)
            if entry.peft is None:
                entry.peft = PeftModel.from_pretrained(
                    entry.model, str(spec.adapter_dir), adapter_name=name, is_trainable=False
                )
            else:
                entry.peft.load_adapter(str(spec.adapter_dir), adapter_name=name)
        else:
            config = lora_config(spec)
            config.inference_mode = True
            weights = load_file(str(checkpoint_weights(spec.checkpoint)))
            weights = {strip_adapter_name(k): v for k, v in weights.items()}
            if entry.peft is None:
                entry.peft = get_peft_model(entry.model, config, adapter_name=name)
            else:
                entry.peft.add_adapter(name, config)
            result = set_peft_model_state_dict(entry.peft, weights, adapter_name=name)
            if result.unexpected_keys:
                raise CheckpointError(
                    f"checkpoint {spec.checkpoint.name} does not fit its LoRA config "
                    f"(e.g. {result.unexpected_keys[0]})"
                )
        entry.peft.eval()
        self.adapter_loads += 1
        return name

    # ------------------------------------------------------------ scheduling

    def _group(self, request: _Request) -> tuple:
        """Requests with equal groups may share a batch."""
        s = request.sampling
        if s.temperature == 0:
            sampling = ("greedy",)
        elif s.seed is not None:
            sampling = ("seeded", id(request))  # alone: the seed then fixes the text
        else:
            sampling = ("sample", s.temperature, s.top_p)
        return (id(request.entry), self._adapter_key(request.spec), *sampling)

    def _submit(self, request: _Request) -> None:
        with self._cv:
            if self._closed:
                raise TunelabError("the serving engine is shut down", code="engine_closed")
            self._queue.append(request)
            self._active += request.sampling.n
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._schedule, name="tunelab-engine", daemon=True
                )
                self._thread.start()
            self._cv.notify_all()

    def _cancel(self, request: _Request) -> None:
        request.cancelled.set()
        with self._cv:
            queued = request in self._queue
            if queued:
                self._queue.remove(request)
        if queued:
            self._cancel_queued(request)

    def _cancel_queued(self, request: _Request) -> None:
        request.cancelled.set()
        for index in range(request.sampling.n):
            request.send(Delta(index, "", "cancelled"))
        with self._cv:
            self._active -= request.sampling.n

    def _row_done(self) -> None:
        with self._cv:
            self._active -= 1

    def _schedule(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                first = self._queue[0].queued_at
            time.sleep(max(0.0, first + self.batch_window_s - time.monotonic()))
            with self._cv:
                batch = self._running = self._take_batch()
            if batch:
                self._run_batch(batch)
            with self._cv:
                self._running = []

    def _take_batch(self) -> list[_Request]:
        """The oldest request and the queued ones of its group, up to ``max_batch`` rows and
        ``max_batch_tokens`` padded tokens (the oldest request always runs, even alone)."""
        if not self._queue:
            return []
        group = self._queue[0].group
        batch, rows, width, new = [], 0, 0, 0
        for request in list(self._queue):
            n, w = request.sampling.n, max(width, len(request.prompt_ids))
            m = max(new, request.sampling.max_tokens)
            fits = rows + n <= self.max_batch and (rows + n) * (w + m) <= self.max_batch_tokens
            if request.group == group and (not batch or fits):
                batch.append(request)
                rows, width, new = rows + n, w, m
                self._queue.remove(request)
        return batch

    def _run_batch(self, batch: list[_Request]) -> None:
        rows = [Row(r, i, self._row_done) for r in batch for i in range(r.sampling.n)]
        try:
            self._generate(batch, rows)
        except Exception as exc:
            log.exception("generation failed")
            failed = {}
            for row in rows:
                if not row.done:
                    row.done = True
                    self._row_done()
                    failed[id(row.request)] = row.request
            for request in failed.values():
                request.send(exc)

    def _generate(self, batch: list[_Request], rows: list[Row]) -> None:
        first = batch[0]
        entry = first.entry
        with self._model_lock:
            adapter, model = self._activate(entry, first.spec, self._adapter_key(first.spec))
            with adapter:
                self.batches_run += 1
                run_batch(
                    model,
                    rows,
                    pad=pad_id(entry.tokenizer),
                    eos_ids=entry.eos_ids,
                    device=self.device,
                )


@atexit.register
def _close_engines() -> None:
    """Stop scheduler threads before the interpreter tears torch down (else C++ may abort)."""
    for engine in list(_ENGINES):
        engine.close()
