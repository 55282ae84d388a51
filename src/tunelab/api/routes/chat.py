"""``POST /v1/chat/completions`` (OpenAI's shapes, streaming as server-sent events) and the
handlers that turn errors into OpenAI's error body.

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

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

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
from tunelab.errors import TunelabError, hide_server_paths

log = logging.getLogger(__name__)
router = APIRouter()
DEFAULT_MAX_COMPLETION_TOKENS = 2048
AUTH_CODES = {"invalid_api_key", "missing_api_key", "unauthorized"}
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


# ---------------------------------------------------------------- errors in OpenAI's shape


def error_body(message: str, code: str | None, param: str | None = None) -> dict:
    kind = "server_error" if code == "server_error" else "invalid_request_error"
    return {"message": message, "type": kind, "param": param, "code": code}


def error_status(error: TunelabError) -> int:
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return status
    if error.code in AUTH_CODES:
        return 401
    if error.code.endswith("not_found"):
        return 404
    return 400


def field_path(loc: tuple) -> str | None:
    """``("body", "messages", 0, "content")`` -> ``"messages[0].content"``."""
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or None


VALIDATION_CODES = {
    "missing": "missing_required_parameter",
    "extra_forbidden": "unknown_parameter",
    "json_invalid": "invalid_json",
}


async def handle_tunelab_error(request: Request, exc: TunelabError) -> JSONResponse:
    message = hide_server_paths(exc.message)
    if message != exc.message:  # e.g. a model folder named by a loader: the log keeps it
        log.info("%s on %s: %s", exc.code, request.url.path, exc.message)
    body = error_body(message, exc.code, exc.param)
    headers = getattr(exc, "headers", None)  # e.g. Retry-After on a 429
    return JSONResponse({"error": body}, status_code=error_status(exc), headers=headers)


async def handle_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": ()}
    param = field_path(tuple(first.get("loc", ())))
    if first.get("type") == "json_invalid":
        param = None
    message = f"{param}: {first['msg']}" if param else first["msg"]
    code = VALIDATION_CODES.get(first.get("type"), "invalid_value")
    return JSONResponse({"error": error_body(message, code, param)}, status_code=400)


async def handle_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
    body = error_body(hide_server_paths(str(exc.detail)), code)
    return JSONResponse({"error": body}, status_code=exc.status_code, headers=exc.headers)


async def handle_server_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    body = error_body("The server had an error while processing your request.", "server_error")
    return JSONResponse({"error": body}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": {message, type, param, code}}``: 400 bad input, 404 unknown
    model, 401 auth codes; validation errors name the field as ``param``; never a stack trace."""
    app.add_exception_handler(TunelabError, handle_tunelab_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_server_error)
