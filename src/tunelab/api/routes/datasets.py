"""Datasets (tunelab's routes): an uploaded file checked as training data before any job, and a
preview of its rendered examples.

``GET /v1/datasets/{file_id}`` is ``tunelab data check`` for an uploaded file (the validation
report, personal data, statistics, the time estimate, what ``auto`` would choose);
``.../preview`` renders its first examples with the model's chat template and marks the trained
tokens. The logic is in ``jobs.datasets``; the web UI and any other client call these the same
way.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tunelab.api.deps import check_id, get_store
from tunelab.jobs import datasets

router = APIRouter()
Model = Query(None, max_length=256, description="Count tokens with this model (default built-in).")


def _file_id(file_id: str) -> str:
    return check_id(file_id, code="file_not_found", param="file_id", what="such file")


def _model(model: str | None) -> str | None:
    return (
        None
        if model is None
        else check_id(model, code="model_not_found", param="model", what="model")
    )


@router.get("/v1/datasets/{file_id}")
async def check_dataset(
    request: Request,
    file_id: str,
    model: str | None = Model,
    kind: str = Query("auto", description="auto, supervised, dpo or kto."),
    epochs: int | None = Query(None, ge=1, le=100, description="Epochs for the time estimate."),
) -> dict:
    """The uploaded file checked as training data: every issue with its line, PII, stats."""
    return await run_in_threadpool(
        datasets.check_dataset,
        get_store(request),
        _file_id(file_id),
        model=_model(model),
        kind=kind,
        epochs=epochs,
        extra_bases=request.app.state.extra_bases,
    )


@router.get("/v1/datasets/{file_id}/preview")
async def preview_dataset(
    request: Request,
    file_id: str,
    model: str | None = Model,
    limit: int = Query(5, ge=1, le=datasets.PREVIEW_MAX, description="Examples (1-20)."),
) -> dict:
    """The first valid examples as the model sees them, trained tokens marked."""
    return await run_in_threadpool(
        datasets.preview_dataset,
        get_store(request),
        _file_id(file_id),
        model=_model(model),
        limit=limit,
        extra_bases=request.app.state.extra_bases,
    )
