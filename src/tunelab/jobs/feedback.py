"""Users' feedback on served completions: ratings, corrections and comparisons.

The API (``POST /v1/feedback``), the CLI (``tunelab feedback``) and a web UI call these
functions. Each feedback row copies what it needs from its completions (the prompt messages and
the outputs), so pruning served completions never changes feedback or its export
(``feedback_export``). A create with an ``idempotency_key`` returns the same row when it is
retried with the same body and ``409 idempotency_conflict`` with another body. Torch-free.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.exc import IntegrityError

from tunelab.data.io import find_bad_string
from tunelab.errors import TunelabError
from tunelab.jobs.completions import get_completion
from tunelab.jobs.feedback_export import build_export, write_records
from tunelab.jobs.queue import MAX_LIMIT, Page
from tunelab.store.db import Store
from tunelab.store.tables import Feedback, FeedbackTag

RATINGS = ("up", "down")
KINDS = ("rating", "correction", "comparison")
MAX_TAGS = 16
MAX_TAG_CHARS = 64
MAX_TEXT_CHARS = 100_000
MAX_KEY_CHARS = 255


class IdempotencyConflict(TunelabError):
    """The key was used before with another body: 409."""

    status_code = 409


@dataclass(frozen=True)
class FeedbackFilter:
    """``GET /v1/feedback``'s filters; ``since`` inclusive, ``until`` exclusive (unix seconds)."""

    model: str | None = None
    rating: str | None = None
    kind: str | None = None
    tag: str | None = None
    since: int | None = None
    until: int | None = None

    def check(self) -> FeedbackFilter:
        if self.rating is not None and self.rating not in RATINGS:
            raise _bad(f"rating must be one of {RATINGS}, not {self.rating!r}.", "rating")
        if self.kind is not None and self.kind not in KINDS:
            raise _bad(f"kind must be one of {KINDS}, not {self.kind!r}.", "kind")
        return self


def create_feedback(
    store: Store,
    *,
    completion_id: str | None = None,
    rating: str | None = None,
    correction: str | None = None,
    comment: str | None = None,
    tags: list[str] | None = None,
    comparison: dict | None = None,
    idempotency_key: str | None = None,
) -> tuple[Feedback, bool]:
    """Record one feedback; returns ``(row, replayed)`` (``replayed``: an earlier row with the
    same idempotency key and body). Errors name the field (``param``): ``404
    completion_not_found``, 400 for a bad rating, an empty or unchanged correction, an
    identical pair or a pair of different prompts, both bodies or neither."""
    body = {
        "completion_id": completion_id,
        "rating": rating,
        "correction": correction,
        "comment": comment,
        "tags": tags,
        "comparison": comparison,
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8", "replace"))
    request_sha256 = digest.hexdigest()
    if idempotency_key is not None:
        _check_key(idempotency_key)
        earlier = _replay(store, idempotency_key, request_sha256)
        if earlier is not None:
            return earlier, True
    row = _build(store, body)
    row.idempotency_key, row.request_sha256 = idempotency_key, request_sha256
    try:
        with store.session() as s:
            s.add(row)
            s.flush()
            s.add_all(FeedbackTag(feedback_id=row.id, tag=tag) for tag in row.tags)
    except IntegrityError:
        earlier = idempotency_key and _replay(store, idempotency_key, request_sha256)
        if not earlier:  # not the key's race: a real integrity problem
            raise
        return earlier, True
    return row, False


def _replay(store: Store, key: str, request_sha256: str) -> Feedback | None:
    with store.session(readonly=True) as s:
        row = s.scalar(select(Feedback).where(Feedback.idempotency_key == key))
    if row is not None and row.request_sha256 != request_sha256:
        raise IdempotencyConflict(
            f"The Idempotency-Key was used for another feedback ({row.id}) with a different "
            "body; use a new key for new feedback.",
            code="idempotency_conflict",
            param="Idempotency-Key",
        )
    return row


def _build(store: Store, body: dict) -> Feedback:
    comparison = body["comparison"]
    single = [k for k in ("completion_id", "rating", "correction") if body[k] is not None]
    if comparison is not None and single:
        raise _bad(
            f"Send either completion_id with a rating, or comparison, not both ({single[0]} "
            "and comparison).",
            "comparison",
            "conflicting_feedback",
        )
    comment = _text(body["comment"], "comment")
    tags = _tags(body["tags"])
    if comparison is not None:
        row = _comparison(store, comparison)
    elif body["completion_id"] is None:
        raise _bad(
            "Missing required parameter: 'completion_id' (with 'rating'), or 'comparison'.",
            "completion_id",
            "missing_required_parameter",
        )
    else:
        row = _rating(store, body)
    row.comment, row.tags = comment, tags
    return row


def _rating(store: Store, body: dict) -> Feedback:
    rating, correction = body["rating"], body["correction"]
    if rating is None:
        raise _bad("Missing required parameter: 'rating'.", "rating", "missing_required_parameter")
    if rating not in RATINGS:
        raise _bad(f"rating must be 'up' or 'down', not {rating!r}.", "rating")
    if correction is not None:
        correction = _text(correction, "correction")
        if not correction.strip():
            raise _bad("correction is empty.", "correction", "empty_correction")
    completion = get_completion(store, body["completion_id"], param="completion_id")
    if correction is not None and correction.strip() == completion.output.strip():
        raise _bad(
            "correction is the same as the completion's output.",
            "correction",
            "correction_unchanged",
        )
    return Feedback(
        kind="correction" if correction is not None else "rating",
        completion_id=completion.id,
        model=completion.model,
        model_version=completion.model_version,
        rating=rating,
        correction=correction,
        messages=completion.messages,
        prompt_sha256=completion.prompt_sha256,
        output=completion.output,
    )


def _comparison(store: Store, comparison: dict) -> Feedback:
    ids = {}
    for side in ("preferred", "rejected"):
        value = comparison.get(side)
        if not isinstance(value, str) or not value:
            message = f"Missing required parameter: 'comparison.{side}'."
            raise _bad(message, f"comparison.{side}", "missing_required_parameter")
        ids[side] = value
    if ids["preferred"] == ids["rejected"]:
        message = "comparison.preferred and comparison.rejected are the same completion."
        raise _bad(message, "comparison.rejected", "identical_completions")
    preferred = get_completion(store, ids["preferred"], param="comparison.preferred")
    rejected = get_completion(store, ids["rejected"], param="comparison.rejected")
    if preferred.prompt_sha256 != rejected.prompt_sha256:
        raise _bad(
            "The two completions answer different prompts; compare outputs of the same messages.",
            "comparison.rejected",
            "different_prompts",
        )
    if preferred.output.strip() == rejected.output.strip():
        message = "The two completions have the same output: there is nothing to prefer."
        raise _bad(message, "comparison.rejected", "identical_outputs")
    return Feedback(
        kind="comparison",
        completion_id=preferred.id,
        rejected_id=rejected.id,
        model=preferred.model,
        model_version=preferred.model_version,
        rejected_model=rejected.model,
        rejected_model_version=rejected.model_version,
        messages=preferred.messages,
        prompt_sha256=preferred.prompt_sha256,
        output=preferred.output,
        rejected_output=rejected.output,
    )


def _text(value: str | None, param: str) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_TEXT_CHARS:
        raise _bad(f"{param} is longer than {MAX_TEXT_CHARS} characters.", param)
    bad = find_bad_string(value)
    if bad is not None:
        raise _bad(f"{param}: {bad[1]}", param)
    return value


def _tags(tags: list[str] | None) -> list[str]:
    if tags is None:
        return []
    if len(tags) > MAX_TAGS:
        raise _bad(f"At most {MAX_TAGS} tags.", "tags")
    found: list[str] = []
    for i, tag in enumerate(tags):
        clean = tag.strip() if isinstance(tag, str) else ""
        if not clean or len(clean) > MAX_TAG_CHARS or not clean.isprintable():
            message = f"A tag is 1-{MAX_TAG_CHARS} printable characters, not {str(tag)[:80]!r}."
            raise _bad(message, f"tags[{i}]")
        if clean not in found:
            found.append(clean)
    return found


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        message = f"Idempotency-Key must be 1-{MAX_KEY_CHARS} printable characters."
        raise _bad(message, "Idempotency-Key")


def _bad(message: str, param: str, code: str = "invalid_value") -> TunelabError:
    return TunelabError(message, code=code, param=param)


def get_feedback(store: Store, feedback_id: str) -> Feedback:
    """One feedback row; ``404 feedback_not_found``."""
    with store.session(readonly=True) as s:
        row = s.scalar(select(Feedback).where(Feedback.id == feedback_id))
    if row is None:
        raise TunelabError(
            f"No feedback {feedback_id[:80]!r}.", code="feedback_not_found", param="feedback_id"
        )
    return row


def delete_feedback(store: Store, feedback_id: str) -> dict:
    """Remove one feedback row (and its tags); ``404 feedback_not_found``."""
    with store.session() as s:
        row = s.scalar(select(Feedback).where(Feedback.id == feedback_id))
        if row is None:
            message = f"No feedback {feedback_id[:80]!r}."
            raise TunelabError(message, code="feedback_not_found", param="feedback_id")
        s.execute(delete(FeedbackTag).where(FeedbackTag.feedback_id == feedback_id))
        s.delete(row)
    return {"id": feedback_id, "object": "feedback", "deleted": True}


def filter_clauses(where: FeedbackFilter) -> list:
    """SQL conditions for ``where`` (also used by the export)."""
    clauses = []
    if where.model is not None:
        columns = (
            Feedback.model,
            Feedback.model_version,
            Feedback.rejected_model,
            Feedback.rejected_model_version,
        )
        clauses.append(or_(*(column == where.model for column in columns)))
    if where.rating is not None:
        clauses.append(Feedback.rating == where.rating)
    if where.kind is not None:
        clauses.append(Feedback.kind == where.kind)
    if where.tag is not None:
        tagged = (FeedbackTag.feedback_id == Feedback.id, FeedbackTag.tag == where.tag.strip())
        clauses.append(exists().where(*tagged))
    if where.since is not None:
        clauses.append(Feedback.created_at >= where.since)
    if where.until is not None:
        clauses.append(Feedback.created_at < where.until)
    return clauses


def list_feedback(
    store: Store, where: FeedbackFilter = FeedbackFilter(), *, after: str | None = None, limit=20
) -> Page:
    """Feedback newest first, filtered; ``after`` is the last id of the previous page."""
    if not 1 <= limit <= MAX_LIMIT:
        message = f"limit must be between 1 and {MAX_LIMIT}."
        raise TunelabError(message, code="invalid_limit", param="limit")
    query = select(Feedback).where(*filter_clauses(where.check()))
    with store.session(readonly=True) as s:
        if after is not None:
            cursor = s.scalar(select(Feedback.seq).where(Feedback.id == after))
            if cursor is None:
                message = f"No feedback {after[:80]!r} to list after."
                raise TunelabError(message, code="invalid_cursor", param="after")
            query = query.where(Feedback.seq < cursor)
        rows = list(s.scalars(query.order_by(Feedback.seq.desc()).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)


def _side(completion_id: str | None, model, version, output) -> dict | None:
    if completion_id is None:
        return None
    return {"id": completion_id, "model": model, "model_version": version, "output": output}


def feedback_object(row: Feedback) -> dict:
    """The ``feedback`` object of the API and the CLI. Ratings and corrections name their
    ``completion``; comparisons their ``preferred`` and ``rejected`` completions."""
    compared = row.kind == "comparison"
    one = _side(row.completion_id, row.model, row.model_version, row.output)
    other = _side(
        row.rejected_id, row.rejected_model, row.rejected_model_version, row.rejected_output
    )
    return {
        "id": row.id,
        "object": "feedback",
        "created_at": row.created_at,
        "kind": row.kind,
        "completion": None if compared else one,
        "rating": row.rating,
        "correction": row.correction,
        "preferred": one if compared else None,
        "rejected": other if compared else None,
        "comment": row.comment,
        "tags": list(row.tags or []),
        "messages": row.messages,
    }


def export_feedback(
    store: Store,
    out_path: str | Path,
    *,
    kind: str = "dpo",
    policy: str = "redact",
    model: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> dict:
    """Write the feedback (of ``model``, given in [``since``, ``until``)) as a ``kind`` training
    file (``dpo``: OpenAI's preference JSONL; ``kto``: unpaired rows with ``label``) under the
    PII ``policy``, deduplicated; returns the summary (rows, duplicates, near duplicates,
    contradictions, PII counts). See ``feedback_export`` for the rules. ``block`` with PII
    found raises ``pii_found`` and writes nothing."""
    where = FeedbackFilter(model=model, since=since, until=until)
    with store.session(readonly=True) as s:
        query = select(Feedback).where(*filter_clauses(where)).order_by(Feedback.seq)
        rows = list(s.scalars(query))
    records, summary = build_export(rows, kind=kind, policy=policy)
    write_records(records, Path(out_path))
    return summary
