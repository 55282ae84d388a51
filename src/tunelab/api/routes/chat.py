"""``POST /v1/chat/completions`` (OpenAI's shapes, streaming as server-sent events).

The app sets ``app.state.engine`` (a ``serve.engine.Engine``), ``app.state.resolve_model``
(model id -> ``ModelSpec``; raises ``model_not_found``) and optionally
``app.state.max_completion_tokens`` (the cap on ``max_tokens``, default 2048). Model loading and
prompt rendering run in a worker thread; tokens come back through an asyncio queue, so the event
loop never waits on the model. A client that goes away cancels its generation at once.
Imports without torch: the engine is only used through ``app.state``.

With ``app.state.store`` and ``app.state.completion_retention`` set (``create_app`` sets both),
every completion served is stored for feedback (``jobs.completions``: one row per choice, choice
i > 0 as ``<id>-<i>``), in a worker thread once the generation finished and before the client
gets its end (the response, or a stream's last ``finish_reason``), so feedback posted right away
finds it. A storage failure is logged (never the text) and the completion still answered; a
client that disconnected before the end stores nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from tunelab.api.errors import error_body
from tunelab.api.schemas_chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    ChunkDelta,
    CompletionChoice,
    Usage,
)
from tunelab.errors import TunelabError
from tunelab.jobs.aliases import resolve_alias
from tunelab.jobs.completions import record_completion, served_weights

log = logging.getLogger(__name__)
router = APIRouter()
DEFAULT_MAX_COMPLETION_TOKENS = 2048
DISCONNECT_POLL_S = 0.5


@router.post("/v1/chat/completions", response_model=ChatCompletion)
async def create_chat_completion(body: ChatCompletionRequest, request: Request):
    """Chat with a base or fine-tuned model; ``stream: true`` sends chunks ending in [DONE]."""
    state = request.app.state
    version = await run_in_threadpool(concrete_model_id, state, body.model)
    spec = await run_in_threadpool(state.resolve_model, version)
    cap = getattr(state, "max_completion_tokens", None) or DEFAULT_MAX_COMPLETION_TOKENS
    options = body.engine_options(cap)
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    start = partial(
        start_stream,
        state,
        spec,
        body.plain_messages(),
        **options,
        on_event=lambda item: loop.call_soon_threadsafe(events.put_nowait, item),
    )
    stream = await run_in_threadpool(start)
    meta = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    params = {k: v for k, v in options.items() if k != "default_max_tokens"}
    capture = partial(
        store_completion, state, meta, body, version, spec, params | {"stream": body.stream}
    )
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            sse_events(stream, events, meta, include_usage, on_done=capture),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            background=BackgroundTask(stream.close),  # also when the body never started
        )
    try:
        choices = await collect_choices(stream, events, request)
    finally:
        stream.close()
    completion_tokens = sum(c[2] for c in choices)
    totals = usage(stream.prompt_tokens, completion_tokens)
    await capture([(text, reason) for text, reason, _ in choices], totals)
    return ChatCompletion(
        **meta,
        choices=[
            CompletionChoice(index=i, message=AssistantMessage(content=text), finish_reason=reason)
            for i, (text, reason, _) in enumerate(choices)
        ],
        usage=totals,
    )


def concrete_model_id(state, model_id: str) -> str:
    """The id an alias points at now (else ``model_id``): what is served and recorded, read
    once so the two cannot differ when the alias moves meanwhile."""
    store = getattr(state, "store", None)
    return (resolve_alias(store, model_id) if store is not None else None) or model_id


async def store_completion(state, meta, body, version, spec, params, choices, totals) -> None:
    """Record a finished completion (``choices``: ``(text, finish_reason)``) off the event loop,
    if the app stores completions; never raises."""
    store = getattr(state, "store", None)
    retention = getattr(state, "completion_retention", None)
    if store is None or retention is None or not retention.enabled:
        return
    record = partial(
        record_completion,
        store,
        retention,
        request_id=meta["id"],
        created=meta["created"],
        model=body.model,
        model_version=version,
        served={"weights": served_weights(spec)},
        messages=body.plain_messages(),
        choices=choices,
        params=params,
        usage={
            "prompt_tokens": totals.prompt_tokens,
            "completion_tokens": totals.completion_tokens,
        },
    )
    try:
        await run_in_threadpool(record)
    except Exception as exc:  # the user's text may be in the message: log the type only
        log.warning("could not store completion %s: %s", meta["id"], type(exc).__name__)


def start_stream(state, spec, messages: list[dict], **kwargs):
    """In a worker thread: ``state.engine`` may be created (torch import) and the model loaded.
    ``spec`` is a ``ModelSpec`` or a dict with its fields."""
    if isinstance(spec, dict):
        from tunelab.serve.spec import ModelSpec

        spec = ModelSpec.from_mapping(spec)
    return state.engine.stream(spec, messages, **kwargs)


def usage(prompt_tokens: int, completion_tokens: int) -> Usage:
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )


async def next_event(events: asyncio.Queue):
    item = await events.get()
    if isinstance(item, BaseException):
        raise item
    return item


async def collect_choices(stream, events: asyncio.Queue, request: Request) -> list[tuple]:
    """(text, finish_reason, completion_tokens) per choice; stops early if the client leaves."""
    texts: list[list[str]] = [[] for _ in range(stream.n)]
    finished: dict[int, tuple] = {}
    watcher = asyncio.create_task(close_on_disconnect(request, stream))
    try:
        while len(finished) < stream.n:
            delta = await next_event(events)
            texts[delta.index].append(delta.text)
            if delta.finish_reason:
                text = "".join(texts[delta.index])
                finished[delta.index] = (text, delta.finish_reason, delta.completion_tokens)
    finally:
        watcher.cancel()
    if any(reason == "cancelled" for _, reason, _ in finished.values()):
        raise TunelabError("the client disconnected", code="client_disconnected")
    return [finished[i] for i in range(stream.n)]


async def close_on_disconnect(request: Request, stream) -> None:
    """A plain (non-stream) request has no body to fail on: poll for the client leaving."""
    while not await request.is_disconnected():
        await asyncio.sleep(DISCONNECT_POLL_S)
    stream.close()


def sse(chunk: ChatCompletionChunk | dict | str) -> str:
    if isinstance(chunk, ChatCompletionChunk):
        chunk = chunk.model_dump_json(exclude_unset=True)
    elif isinstance(chunk, dict):
        chunk = json.dumps(chunk)
    return f"data: {chunk}\n\n"


async def sse_events(stream, events: asyncio.Queue, meta: dict, include_usage: bool, on_done=None):
    """``chat.completion.chunk`` events: role, content deltas, finish_reason, usage, [DONE].

    Starlette cancels this generator when the client disconnects; ``finally`` then cancels the
    generation. ``on_done(choices, usage)`` is awaited once every choice has finished, before
    the last ``finish_reason`` chunk is sent."""
    extra = {"usage": None} if include_usage else {}

    def chunk(index: int, delta: ChunkDelta, finish_reason=None) -> str:
        choice = ChunkChoice(index=index, delta=delta, finish_reason=finish_reason)
        return sse(
            ChatCompletionChunk(object="chat.completion.chunk", choices=[choice], **meta, **extra)
        )

    completion_tokens, open_rows = 0, stream.n
    texts: list[list[str]] = [[] for _ in range(stream.n)]
    reasons: dict[int, str] = {}
    try:
        for index in range(stream.n):
            yield chunk(index, ChunkDelta(role="assistant", content=""))
        while open_rows:
            try:
                delta = await next_event(events)
            except Exception:  # the engine logged it
                yield sse({"error": error_body("generation failed", "server_error")})
                return
            if delta.text:
                texts[delta.index].append(delta.text)
                yield chunk(delta.index, ChunkDelta(content=delta.text))
            if delta.finish_reason:
                open_rows -= 1
                completion_tokens += delta.completion_tokens
                reasons[delta.index] = delta.finish_reason
                if not open_rows and on_done is not None and "cancelled" not in reasons.values():
                    choices = [("".join(texts[i]), reasons[i]) for i in range(stream.n)]
                    await on_done(choices, usage(stream.prompt_tokens, completion_tokens))
                yield chunk(delta.index, ChunkDelta(), delta.finish_reason)
        if include_usage:
            totals = usage(stream.prompt_tokens, completion_tokens)
            last = ChatCompletionChunk(
                object="chat.completion.chunk", choices=[], usage=totals, **meta
            )
            yield sse(last)
        yield sse("[DONE]")
    finally:
        stream.close()
