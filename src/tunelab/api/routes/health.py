"""``GET /health``: the one route that answers without an API key (for load balancers)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/health")
def health() -> dict:
    """``{"status": "ok"}`` while the process serves requests."""
    return {"status": "ok"}
