"""Feedback on served completions (tunelab's routes): rate, correct, compare, list, export.

``POST /v1/feedback`` takes an ``Idempotency-Key`` header: a retry with the same key and body
gets the same object (with ``Idempotent-Replayed: true``), another body with that key a 409.
``POST /v1/feedback/export`` builds a training file from the feedback and stores it as an
uploaded file (purpose ``fine-tune``), so a UI makes a dataset in one call. The logic is in
``jobs.feedback``; these routes parse and format. The API-key middleware covers them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Header, Query, Request, Response

from tunelab.api.deps import check_id, get_store, list_object
from tunelab.api.schemas_feedback import ExportRequest, FeedbackRequest
from tunelab.jobs import feedback, files, shapes
from tunelab.jobs.queue import MAX_LIMIT
from tunelab.settings import home_dir

router = APIRouter(prefix="/v1/feedback")


@router.post("")
def create_feedback(
    request: Request,
    response: Response,
    body: FeedbackRequest,
    idempotency_key: str | None = Header(None, description="Makes a retried POST safe."),
) -> dict:
    """Rate (``up``/``down``, optional correction) a completion, or prefer one of two."""
    row, replayed = feedback.create_feedback(
        get_store(request), **body.library_kwargs(), idempotency_key=idempotency_key
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return feedback.feedback_object(row)


@router.get("")
def list_feedback(
    request: Request,
    model: str | None = Query(None, max_length=256, description="Asked or concrete model id."),
    rating: str | None = Query(None, description="`up` or `down`."),
    kind: str | None = Query(None, description="`rating`, `correction` or `comparison`."),
    tag: str | None = Query(None, max_length=64, description="Only feedback with this tag."),
    since: int | None = Query(None, ge=0, description="Given at or after (unix seconds)."),
    until: int | None = Query(None, ge=0, description="Given before (unix seconds)."),
    after: str | None = None,
    limit: int = Query(20, ge=1, le=MAX_LIMIT, description="Items per page (1-100)."),
) -> dict:
    """Feedback newest first, filtered; ``after`` is the last id of the previous page."""
    if after is not None:
        after = check_id(after, code="invalid_cursor", param="after", what="item to list after")
    if model is not None:
        model = check_id(model, code="invalid_value", param="model", what="model")
    where = feedback.FeedbackFilter(model, rating, kind, tag, since, until)
    page = feedback.list_feedback(get_store(request), where, after=after, limit=limit)
    return list_object(page, feedback.feedback_object)


@router.post("/export")
def export_feedback(request: Request, body: ExportRequest) -> dict:
    """Build a DPO or KTO file from the feedback and store it as an uploaded file."""
    store = get_store(request)
    options = body.model_dump(exclude={"filename"})
    with tempfile.TemporaryDirectory(prefix=".export-", dir=home_dir()) as folder:
        path = Path(folder) / "export.jsonl"
        summary = feedback.export_feedback(store, path, **options)
        name = body.filename or f"feedback-{body.kind}.jsonl"
        with open(path, "rb") as fh:
            row = files.create_file(
                store, fh, name, "fine-tune", request.app.state.max_upload_bytes
            )
    return shapes.file_to_openai(row) | {"export": summary}


@router.get("/{feedback_id}")
def retrieve_feedback(request: Request, feedback_id: str) -> dict:
    """One feedback object."""
    return feedback.feedback_object(feedback.get_feedback(get_store(request), _id(feedback_id)))


@router.delete("/{feedback_id}")
def delete_feedback(request: Request, feedback_id: str) -> dict:
    """Remove one feedback (its completions stay until retention prunes them)."""
    return feedback.delete_feedback(get_store(request), _id(feedback_id))


def _id(feedback_id: str) -> str:
    return check_id(feedback_id, code="feedback_not_found", param="feedback_id", what="feedback")
