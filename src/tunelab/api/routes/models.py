"""Models: list (bases, then model versions), retrieve (an id or an alias, with its lineage),
delete a version (refused while it is in use, unless ``force``), collect unused run folders.

Model ids contain ':' (``ft:base:suffix:job``), hence the ``{model:path}`` parameter; an id is only
ever looked up in the catalog and the database, never joined into a path.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from tunelab.api.deps import check_id, get_store
from tunelab.jobs import registry

router = APIRouter(prefix="/v1/models")


def _model_id(model: str) -> str:
    return check_id(model, code="model_not_found", param="model", what="model")


@router.get("")
def list_models(request: Request) -> dict:
    """The base models, then model versions newest first."""
    bases = request.app.state.extra_bases
    return {"object": "list", "data": registry.list_models(get_store(request), extra_bases=bases)}


@router.post("/gc")
def collect_garbage(request: Request, dry_run: bool = Query(False)) -> dict:
    """Remove run folders no live version, alias or unfinished job uses; ``dry_run`` reports."""
    return registry.collect_garbage(get_store(request), dry_run=dry_run)


@router.get("/{model:path}")
def retrieve_model(request: Request, model: str) -> dict:
    """One model object (OpenAI's ``id``, ``object``, ``created``, ``owned_by`` and tunelab's
    record and ``lineage``); an alias gives its target."""
    bases = request.app.state.extra_bases
    return registry.get_model(get_store(request), _model_id(model), extra_bases=bases)


@router.delete("/{model:path}")
def delete_model(request: Request, model: str, force: bool = Query(False)) -> dict:
    """Delete a version and its weights; 409 ``model_in_use`` while descendants, aliases or
    unfinished jobs use it, unless ``force``."""
    return registry.delete_model(get_store(request), _model_id(model), force=force)
