"""Aliases (tunelab's own routes): names such as ``prod`` that point at a model version, with
their history; ``PUT`` moves one, ``rollback`` moves it back, ``DELETE`` removes it.

Everything that takes a model id takes an alias; see ``jobs.aliases`` for the rules.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from tunelab.api.deps import check_id, get_store
from tunelab.jobs import aliases, shapes

router = APIRouter(prefix="/v1/aliases")


class SetAliasRequest(BaseModel):
    """``{"model": ID}``: the version, checkpoint or built-in base the alias points at."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=256, description="Model id (or another alias).")
    note: str | None = Field(None, max_length=1000, description="Why, kept in the history.")
    force: bool = Field(
        False,
        description="Move it even if the version's forgetting is over its thresholds (the "
        "promotion gate); recorded in the history.",
    )


def _name(name: str) -> str:
    return check_id(name, code="alias_not_found", param="name", what="alias")


@router.get("")
def list_aliases(request: Request) -> dict:
    """Every alias with its target and history, by name."""
    found = aliases.list_aliases(get_store(request))
    return {"object": "list", "data": [shapes.alias_object(a) for a in found]}


@router.get("/{name}")
def retrieve_alias(request: Request, name: str) -> dict:
    """One alias: its target, where a rollback goes, and its history (newest first)."""
    return shapes.alias_object(aliases.get_alias(get_store(request), _name(name)))


@router.put("/{name}")
def set_alias(request: Request, name: str, body: SetAliasRequest) -> dict:
    """Point the alias at ``model`` (creating it); the move is added to its history. A version
    that forgot too much is refused (409 ``forgetting_gate``) unless ``force``."""
    model = check_id(body.model, code="model_not_found", param="model", what="model")
    reserved = set(request.app.state.extra_bases)
    state = aliases.set_alias(
        get_store(request),
        _name(name),
        model,
        reserved=reserved,
        note=body.note,
        forced=body.force,
    )
    return shapes.alias_object(state)


@router.post("/{name}/rollback")
def rollback_alias(request: Request, name: str) -> dict:
    """Move the alias back to its previous target; 409 ``nothing_to_roll_back`` if none."""
    return shapes.alias_object(aliases.rollback_alias(get_store(request), _name(name)))


@router.delete("/{name}")
def delete_alias(request: Request, name: str) -> dict:
    """Remove the alias (its history stays)."""
    return aliases.delete_alias(get_store(request), _name(name))
