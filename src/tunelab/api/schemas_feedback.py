"""Request bodies of ``POST /v1/feedback`` and ``POST /v1/feedback/export``.

Shapes only: unknown keys are refused and types checked here; what depends on the stored
completions (unknown ids, an unchanged correction, a pair of different prompts) and the rules
between fields (a rating body or a comparison body, not both) are checked by
``jobs.feedback``, so the CLI and a web UI get the same errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Comparison(BaseModel):
    """Two completions of the same prompt: ``preferred`` is better than ``rejected``."""

    model_config = ConfigDict(extra="forbid")
    preferred: str = Field(min_length=1, max_length=256, description="The better completion id.")
    rejected: str = Field(min_length=1, max_length=256, description="The worse completion id.")


class FeedbackRequest(BaseModel):
    """A rating body (``completion_id`` + ``rating``, optional ``correction``) or a comparison
    body (``comparison``); ``comment`` and ``tags`` go with either."""

    model_config = ConfigDict(extra="forbid")
    completion_id: str | None = Field(
        None, min_length=1, max_length=256, description="The rated completion (chatcmpl-...)."
    )
    rating: str | None = Field(None, max_length=16, description="`up` or `down`.")
    correction: str | None = Field(None, description="What the answer should have been.")
    comment: str | None = Field(None, description="Free text kept with the feedback.")
    tags: list[str] | None = Field(None, description="Up to 16 labels to filter by.")
    comparison: Comparison | None = Field(None, description="A preference between two outputs.")

    def library_kwargs(self) -> dict:
        """Keyword arguments of ``jobs.feedback.create_feedback``."""
        values = self.model_dump()
        values["comparison"] = self.comparison.model_dump() if self.comparison else None
        return values


class ExportRequest(BaseModel):
    """``POST /v1/feedback/export``: the file to build from the stored feedback."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["dpo", "kto"] = Field("dpo", description="Preference pairs or KTO rows.")
    policy: Literal["off", "report", "redact", "block"] = Field(
        "redact", description="PII policy applied to the exported text (default redact)."
    )
    model: str | None = Field(
        None, min_length=1, max_length=256, description="Only feedback on this model id."
    )
    since: int | None = Field(None, ge=0, description="Only feedback given at or after (unix s).")
    until: int | None = Field(None, ge=0, description="Only feedback given before (unix s).")
    filename: str | None = Field(
        None, max_length=255, description="Display name of the file (default by kind)."
    )
