"""Fine-tuning jobs: create, list, retrieve, cancel, events, checkpoints (OpenAI's shapes), and
tunelab's: the events as a live stream (server-sent events) and the finished job's report.

Creating a job only records it (``validating_files``); a worker process validates and trains it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from tunelab.api.deps import check_id, get_store, list_object
from tunelab.api.schemas import CreateJobRequest
from tunelab.jobs import queue, requests, shapes
from tunelab.jobs.reports import JobFeed, job_report
from tunelab.store.db import Store

router = APIRouter(prefix="/v1/fine_tuning/jobs")
Limit = Query(20, ge=1, le=queue.MAX_LIMIT, description="Items per page (1-100).")


def _job_id(job_id: str) -> str:
    return check_id(
        job_id, code="job_not_found", param="fine_tuning_job_id", what="fine-tuning job"
    )


def _after(after: str | None) -> str | None:
    if after is None:
        return None
    return check_id(after, code="invalid_cursor", param="after", what="item to list after")


@router.post("")
def create_job(request: Request, body: CreateJobRequest) -> dict:
    """Record a job in ``validating_files``; a worker validates its files and trains it."""
    job = requests.create_fine_tuning_job(
        get_store(request),
        **body.model_dump(exclude_none=True),
        extra_bases=request.app.state.extra_bases,
    )
    return shapes.job_to_openai(job)


@router.get("")
def list_jobs(request: Request, after: str | None = None, limit: int = Limit) -> dict:
    """Jobs newest first; ``after`` is the last id of the previous page."""
    page = queue.list_jobs(get_store(request), after=_after(after), limit=limit)
    return list_object(page, shapes.job_to_openai)


@router.get("/{job_id}")
def retrieve_job(request: Request, job_id: str) -> dict:
    """One job: status, result model, trained tokens, error."""
    return shapes.job_to_openai(queue.get_job(get_store(request), _job_id(job_id)))


@router.post("/{job_id}/cancel")
def cancel_job(request: Request, job_id: str) -> dict:
    """Cancel a job: at once if not running yet; a running one stops within seconds."""
    return shapes.job_to_openai(queue.request_cancel(get_store(request), _job_id(job_id)))


@router.get("/{job_id}/events")
def list_events(request: Request, job_id: str, after: str | None = None, limit: int = Limit):
    """A job's events (messages and per-step metrics), newest first."""
    page = queue.list_events(get_store(request), _job_id(job_id), after=_after(after), limit=limit)
    return list_object(page, shapes.event_to_openai)


STREAM_POLL_S = 0.5  # how often a stream looks for new events
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream


@router.get("/{job_id}/events/stream")
async def stream_events(request: Request, job_id: str, after: str | None = None):
    """tunelab's: the job's events as server-sent events, oldest first (after ``after``, an
    event id), as they are written: ``event: event`` per event, ``event: job`` with the job
    object whenever it changes, and ``event: done`` once the job is finished, then the end
    (an empty ``after`` is the start)."""
    store, feed = get_store(request), JobFeed(_job_id(job_id), _after(after or None))
    await run_in_threadpool(queue.get_job, store, feed.job_id)  # 404 before the stream starts
    return StreamingResponse(
        _feed(request, store, feed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _feed(request: Request, store: Store, feed: JobFeed) -> AsyncIterator[str]:
    quiet_since = time.monotonic()
    while not feed.done:
        for kind, data in await run_in_threadpool(feed.poll, store):
            yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
            quiet_since = time.monotonic()
        if feed.done or await request.is_disconnected():
            return
        if time.monotonic() - quiet_since >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(STREAM_POLL_S)


@router.get("/{job_id}/report")
def report(request: Request, job_id: str) -> dict:
    """tunelab's: the finished job's report (report.json): rows base vs tuned, facts, samples,
    sections (forgetting, privacy audit); 404 ``report_not_found`` until there is one."""
    return job_report(get_store(request), _job_id(job_id))


@router.get("/{job_id}/checkpoints")
def list_checkpoints(
    request: Request,
    job_id: str,
    after: str | None = None,
    limit: int = Query(10, ge=1, le=queue.MAX_LIMIT, description="Items per page (1-100)."),
) -> dict:
    """A job's complete checkpoints, newest first; each one's model id can be used for chat."""
    store = get_store(request)
    page = queue.list_checkpoints(store, _job_id(job_id), after=_after(after), limit=limit)
    return list_object(page, shapes.checkpoint_to_openai)
