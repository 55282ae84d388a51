"""``POST /v1/chat/completions`` (OpenAI's shapes, streaming as server-sent events).

The app sets ``app.state.engine`` (a ``serve.engine.Engine``), ``app.state.resolve_model``
(model id -> ``ModelSpec``; raises ``model_not_found``) and optionally
``app.state.max_completion_tokens`` (the cap on ``max_tokens``, default 2048). Model loading and
prompt rendering run in a worker thread; tokens come back through an asyncio queue, so the event
loop never waits on the model. A client that goes away cancels its generation at once.
Imports without torch: the engine is only used through ``app.state``.
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

log = logging.getLogger(__name__)
router = APIRouter()
DEFAULT_MAX_COMPLETION_TOKENS = 2048
DISCONNECT_POLL_S = 0.5


@router.post("/v1/chat/completions", response_model=ChatCompletion)
async def create_chat_completion(body: ChatCompletionRequest, request: Request):
    """Chat with a base or fine-tuned model; ``stream: true`` sends chunks ending in [DONE]."""
    state = request.app.state
    spec = await run_in_threadpool(state.resolve_model, body.model)
    cap = getattr(state, "max_completion_tokens", None) or DEFAULT_MAX_COMPLETION_TOKENS
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    start = partial(
        start_stream,
        state,
        spec,
        body.plain_messages(),
        **body.engine_options(cap),
        on_event=lambda item: loop.call_soon_threadsafe(events.put_nowait, item),
    )
    stream = await run_in_threadpool(start)
    meta = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            sse_events(stream, events, meta, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            background=BackgroundTask(stream.close),  # also when the body never started
        )
    try:
        choices = await collect_choices(stream, events, request)
    finally:
        stream.close()
    completion_tokens = sum(c[2] for c in choices)
    return ChatCompletion(
        **meta,
        choices=[
            CompletionChoice(index=i, message=AssistantMessage(content=text), finish_reason=reason)
            for i, (text, reason, _) in enumerate(choices)
        ],
        usage=usage(stream.prompt_tokens, completion_tokens),
    )


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


async def sse_events(stream, events: asyncio.Queue, meta: dict, include_usage: bool):
    """``chat.completion.chunk`` events: role, content deltas, finish_reason, usage, [DONE].

    Starlette cancels this generator when the client disconnects; ``finally`` then cancels the
    generation."""
    extra = {"usage": None} if include_usage else {}

    def chunk(index: int, delta: ChunkDelta, finish_reason=None) -> str:
        choice = ChunkChoice(index=index, delta=delta, finish_reason=finish_reason)
        return sse(
            ChatCompletionChunk(object="chat.completion.chunk", choices=[choice], **meta, **extra)
        )

    completion_tokens, open_rows = 0, stream.n
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
                yield chunk(delta.index, ChunkDelta(content=delta.text))
            if delta.finish_reason:
                open_rows -= 1
                completion_tokens += delta.completion_tokens
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
