"""Fine-tuning jobs: create, list, retrieve, cancel, events, checkpoints (OpenAI's shapes).

Creating a job only records it (``validating_files``); a worker process validates and trains it.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from tunelab.api.deps import check_id, get_store, list_object
from tunelab.api.schemas import CreateJobRequest
from tunelab.jobs import queue, requests, shapes

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
