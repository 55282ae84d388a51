"""The chat completions the server served, kept for feedback: one row per choice, pruned by the
retention setting (``settings.CompletionRetention``) each time one is written.

Choice 0 of a response ``chatcmpl-X`` is the completion ``chatcmpl-X``; choice i (i >= 1) is
``chatcmpl-X-i``. The chat route calls ``record_completion`` in a worker thread after the
generation finished; a failure there is logged by the route, never shown to the client.
Torch-free.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select

from tunelab.errors import TunelabError
from tunelab.settings import CompletionRetention
from tunelab.store.db import Store
from tunelab.store.tables import Completion

DAY_S = 86_400


def choice_id(request_id: str, index: int) -> str:
    """The id of choice ``index`` of the response ``request_id``."""
    return request_id if index == 0 else f"{request_id}-{index}"


def prompt_sha256(messages: Sequence[dict]) -> str:
    """A hash of the prompt messages (role and content, in order): equal prompts, equal hashes."""
    plain = [{"role": m["role"], "content": m["content"]} for m in messages]
    text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def served_weights(spec: Any) -> str:
    """What a ``serve.spec.ModelSpec`` (or a dict with its fields) loads: ``base``, ``lora``
    (an adapter on its base), ``full`` (fully tuned weights) or ``checkpoint``."""

    def field(name: str) -> Any:
        return spec.get(name) if isinstance(spec, dict) else getattr(spec, name, None)

    if field("checkpoint"):
        return "checkpoint"
    if field("adapter_dir"):
        return "lora"
    return "full" if field("full_dir") else "base"


def record_completion(
    store: Store,
    retention: CompletionRetention,
    *,
    request_id: str,
    created: int,
    model: str,
    model_version: str,
    served: dict | None,
    messages: list[dict],
    choices: Sequence[tuple[str, str]],
    params: dict,
    usage: dict | None = None,
) -> list[str]:
    """Store each choice (``(text, finish_reason)``) of a served completion and prune by
    ``retention``, in one transaction; returns the ids stored (none when retention is off)."""
    if not retention.enabled:
        return []
    digest = prompt_sha256(messages)
    rows = [
        Completion(
            id=choice_id(request_id, i),
            request_id=request_id,
            choice=i,
            created_at=created,
            model=model,
            model_version=model_version,
            served=served,
            messages=messages,
            prompt_sha256=digest,
            output=text,
            finish_reason=reason,
            params=params,
            usage=usage,
        )
        for i, (text, reason) in enumerate(choices)
    ]
    with store.session() as s:
        s.add_all(rows)
        s.flush()
        prune(s, retention)
    return [row.id for row in rows]


def prune_completions(store: Store, retention: CompletionRetention) -> int:
    """Apply ``retention`` now (``enabled`` False deletes every stored completion); returns how
    many rows went."""
    with store.session() as s:
        if not retention.enabled:
            return s.execute(delete(Completion)).rowcount
        return prune(s, retention)


def prune(s, retention: CompletionRetention) -> int:
    """Delete rows older than the max age and all but the newest ``max_count``: two indexed
    deletes, cheap enough for every write."""
    removed = 0
    if retention.max_age_days is not None:
        cutoff = int(time.time() - retention.max_age_days * DAY_S)
        removed += s.execute(delete(Completion).where(Completion.created_at < cutoff)).rowcount
    if retention.max_count is not None:
        newest = select(Completion.seq).order_by(Completion.seq.desc())
        edge = s.scalar(newest.offset(retention.max_count - 1).limit(1))
        if edge is not None:
            removed += s.execute(delete(Completion).where(Completion.seq < edge)).rowcount
    return removed


def get_completion(store: Store, completion_id: str, *, param: str = "completion_id") -> Completion:
    """The stored completion ``completion_id``; ``completion_not_found`` naming ``param``."""
    row = None
    if len(completion_id) <= 64 and completion_id.isprintable():  # NUL breaks PostgreSQL
        with store.session(readonly=True) as s:
            row = s.scalar(select(Completion).where(Completion.id == completion_id))
    if row is None:
        raise TunelabError(
            f"No stored completion {completion_id[:80]!r} (it may have been pruned, or the "
            "server does not store completions).",
            code="completion_not_found",
            param=param,
        )
    return row


def count_completions(store: Store) -> int:
    """How many choices are stored."""
    with store.session(readonly=True) as s:
        return s.scalar(select(func.count()).select_from(Completion)) or 0
