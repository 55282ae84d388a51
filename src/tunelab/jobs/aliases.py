"""Model aliases: a name (``prod``) that points at a model version, a checkpoint or a built-in
base, moved by ``set`` and ``rollback``, with an append-only history.

An alias's targets form a stack: ``set`` pushes a target, ``rollback`` pops back to the target it
had before, ``remove`` (deleting the alias, or force-deleting its target) empties it. The stack is
replayed from the history, so the history is the truth; ``model_aliases`` holds the current
target for fast lookups. Names: 1 to 64 letters, digits, ``-``, ``_``, ``.``, starting with a letter
or digit; never a ``:`` (model ids have one) and never a built-in base's name.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from tunelab.errors import TunelabError
from tunelab.models.catalog import BUILTINS
from tunelab.store.db import Store
from tunelab.store.tables import AliasEvent, Checkpoint, Model, ModelAlias, now

ALIAS_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SET, ROLLBACK, REMOVE = "set", "rollback", "remove"


class AliasConflict(TunelabError):
    """An alias change that the alias's state does not allow (409)."""

    status_code = 409


def check_alias_name(name: str, reserved: set[str] | frozenset[str] = frozenset()) -> str:
    """The name, or ``invalid_alias`` naming the rule it breaks."""
    if not isinstance(name, str) or not ALIAS_PATTERN.fullmatch(name):
        why = "a ':' would make it look like a model id; " if ":" in str(name) else ""
        raise TunelabError(
            f"Invalid alias name {str(name)[:80]!r}: {why}use 1 to 64 letters, digits, '-', '_' "
            "or '.', starting with a letter or digit.",
            code="invalid_alias",
            param="name",
        )
    if name in BUILTINS or name in reserved:
        raise TunelabError(
            f"{name!r} is the name of a base model and cannot be an alias.",
            code="invalid_alias",
            param="name",
        )
    return name


def resolve_alias(store: Store, name: str) -> str | None:
    """The current target of alias ``name``; None when there is no such alias."""
    if ":" in name or not ALIAS_PATTERN.fullmatch(name):
        return None
    with store.session(readonly=True) as s:
        return s.scalar(select(ModelAlias.model_id).where(ModelAlias.name == name))


def aliases_by_target(store: Store) -> dict[str, list[str]]:
    """``{model id: [alias names]}`` of every alias."""
    with store.session(readonly=True) as s:
        rows = s.execute(select(ModelAlias.model_id, ModelAlias.name).order_by(ModelAlias.name))
        found: dict[str, list[str]] = {}
        for model_id, name in rows:
            found.setdefault(model_id, []).append(name)
    return found


def set_alias(
    store: Store,
    name: str,
    model_id: str,
    *,
    reserved: set[str] | frozenset[str] = frozenset(),
    forced: bool = False,
    note: str | None = None,
) -> dict:
    """Point ``name`` at ``model_id`` (an alias given as the target is resolved first).

    The promotion gate: a version whose recorded forgetting (``eval.forgetting``: an ancestor's
    task or the retention set over its threshold) is refused with ``forgetting_gate``, naming
    the task and by how much, unless ``forced`` (kept in the alias's history)."""
    check_alias_name(name, reserved)
    target = resolve_alias(store, model_id) or model_id
    _check_target(store, target, model_id)
    if not forced:
        check_forgetting(store, name, target)
    try:
        return _set(store, name, target, forced, note)
    except IntegrityError:  # another request created the alias at the same time: move it
        return _set(store, name, target, forced, note)


def _set(store: Store, name: str, target: str, forced: bool, note: str | None) -> dict:
    with store.session() as s:
        current = _current(s, name)
        if current is not None and current.model_id == target:
            return alias_state(s, name)  # already there: nothing to record
        _move(s, name, current, target, SET, forced=forced, note=note)
        return alias_state(s, name)


def rollback_alias(store: Store, name: str) -> dict:
    """Move ``name`` back to the target it had before its current one."""
    with store.session() as s:
        current = _current(s, name)
        if current is None:
            raise _alias_not_found(name)
        stack = _stack(_history(s, name))
        if len(stack) < 2:
            raise AliasConflict(
                f"Alias {name!r} has no previous target to roll back to.",
                code="nothing_to_roll_back",
                param="name",
            )
        target = stack[-2]
        if not _exists(s, target):
            raise AliasConflict(
                f"Alias {name!r} cannot roll back: its previous target {target!r} was deleted.",
                code="nothing_to_roll_back",
                param="name",
            )
        _move(s, name, current, target, ROLLBACK)
        return alias_state(s, name)


def delete_alias(store: Store, name: str, *, note: str | None = None) -> dict:
    """Remove alias ``name`` (its history stays)."""
    with store.session() as s:
        current = _current(s, name)
        if current is None:
            raise _alias_not_found(name)
        _move(s, name, current, None, REMOVE, note=note)
    return {"name": name, "object": "model.alias", "deleted": True}


def remove_aliases_of(store: Store, model_ids: set[str], note: str) -> list[str]:
    """Remove every alias whose target is in ``model_ids``; returns their names."""
    with store.session() as s:
        rows = s.scalars(select(ModelAlias).where(ModelAlias.model_id.in_(model_ids))).all()
        for row in rows:
            _move(s, row.name, row, None, REMOVE, note=note)
    return [row.name for row in rows]


def get_alias(store: Store, name: str) -> dict:
    with store.session(readonly=True) as s:
        if _current(s, name, lock=False) is None:
            raise _alias_not_found(name)
        return alias_state(s, name)


def list_aliases(store: Store) -> list[dict]:
    """Every alias with its history, by name."""
    with store.session(readonly=True) as s:
        names = s.scalars(select(ModelAlias.name).order_by(ModelAlias.name)).all()
        return [alias_state(s, name) for name in names]


def alias_state(s, name: str) -> dict:
    """``{name, model, previous, updated_at, history}``; ``previous`` is where a rollback goes."""
    current = _current(s, name, lock=False)
    history = _history(s, name)
    stack = _stack(history)
    return {
        "name": name,
        "model": current.model_id if current else None,
        "previous": stack[-2] if len(stack) > 1 else None,
        "created_at": current.created_at if current else None,
        "updated_at": current.updated_at if current else None,
        "history": [
            {
                "action": e.action,
                "model": e.model_id,
                "previous": e.previous,
                "created_at": e.created_at,
                "forced": bool(e.forced),
                "note": e.note,
            }
            for e in reversed(history)  # newest first
        ],
    }


def _move(s, name, current, target, action, *, forced=False, note=None) -> None:
    previous = current.model_id if current is not None else None
    s.add(
        AliasEvent(
            alias=name, action=action, model_id=target, previous=previous, forced=forced, note=note
        )
    )
    if target is None:
        s.execute(delete(ModelAlias).where(ModelAlias.name == name))
    elif current is None:
        s.add(ModelAlias(name=name, model_id=target))
    else:
        current.model_id, current.updated_at = target, now()
    s.flush()


def _stack(history: list[AliasEvent]) -> list[str]:
    stack: list[str] = []
    for event in history:
        if event.action == SET:
            stack.append(event.model_id)
        elif event.action == ROLLBACK and stack:
            stack.pop()
        elif event.action == REMOVE:
            stack.clear()
    return stack


def _current(s, name: str, *, lock: bool = True) -> ModelAlias | None:
    query = select(ModelAlias).where(ModelAlias.name == name)
    return s.scalar(query.with_for_update() if lock else query)  # moves of one alias take turns


def _history(s, name: str) -> list[AliasEvent]:
    query = select(AliasEvent).where(AliasEvent.alias == name).order_by(AliasEvent.seq)
    return list(s.scalars(query))


def _check_target(store: Store, target: str, given: str) -> None:
    with store.session(readonly=True) as s:
        if not _exists(s, target):
            raise TunelabError(
                f"The model {given!r} does not exist or you do not have access to it; an alias "
                "points at a fine-tuned version, a checkpoint or a built-in base.",
                code="model_not_found",
                param="model",
            )


def check_forgetting(store: Store, name: str, target: str) -> None:
    """``forgetting_gate`` (409) when the target version forgot more than its thresholds."""
    from tunelab.eval.forgetting import over_threshold

    with store.session(readonly=True) as s:
        config = s.scalar(select(Model.config).where(Model.id == target))
        rows = (config or {}).get("forgetting") or []
    over = over_threshold(rows)
    if over:
        raise AliasConflict(
            f"{target} forgot more than its thresholds allow, so it is not moved to "
            f"{name!r}: {'; '.join(over)}. Promote it anyway with force (--force), which the "
            "alias history records.",
            code="forgetting_gate",
            param="model",
        )


def _exists(s, model_id: str) -> bool:
    if model_id in BUILTINS:
        return True
    live = select(Model.id).where(Model.id == model_id, Model.deleted.is_(False))
    if s.scalar(live) is not None:
        return True
    return s.scalar(select(Checkpoint.id).where(Checkpoint.model_id == model_id)) is not None


def _alias_not_found(name: str) -> TunelabError:
    return TunelabError(f"No alias {str(name)[:80]!r}.", code="alias_not_found", param="name")
