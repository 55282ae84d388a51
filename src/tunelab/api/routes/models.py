"""Models: list (bases and fine-tuned), retrieve, delete a fine-tuned model.

Model ids contain ':' (``ft:base:suffix:job``), hence the ``{model:path}`` parameter; an id is only
ever looked up in the catalog and the database, never joined into a path.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from tunelab.api.deps import check_id, get_store
from tunelab.jobs import registry

router = APIRouter(prefix="/v1/models")


def _model_id(model: str) -> str:
    return check_id(model, code="model_not_found", param="model", what="model")


@router.get("")
def list_models(request: Request) -> dict:
    """The base models, then fine-tuned models newest first."""
    bases = request.app.state.extra_bases
    return {"object": "list", "data": registry.list_models(get_store(request), extra_bases=bases)}


@router.get("/{model:path}")
def retrieve_model(request: Request, model: str) -> dict:
    """One model object (``id``, ``object``, ``created``, ``owned_by``)."""
    bases = request.app.state.extra_bases
    return registry.get_model(get_store(request), _model_id(model), extra_bases=bases)


@router.delete("/{model:path}")
def delete_model(request: Request, model: str) -> dict:
    """Delete a fine-tuned model (bases cannot be deleted)."""
    return registry.delete_model(get_store(request), _model_id(model))
