"""Request bodies of the files and fine-tuning routes, in OpenAI's field names.

Unknown keys are refused (``extra="forbid"``) so a typo is a 400 naming the key, not a silently
ignored setting. Responses are plain dicts made by ``jobs.shapes`` (``job_to_openai`` ...).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tunelab.jobs.requests import JobPrivacy


class Hyperparameters(BaseModel):
    """OpenAI's fine-tuning hyperparameters; ``auto`` lets tunelab choose from the data size.

    Values pass through as sent (``Any``): ``requests.job_hyperparameters`` checks types and
    ranges in one place and names the key (``hyperparameters.n_epochs``) in its error.
    """

    model_config = ConfigDict(extra="forbid")

    batch_size: Any = Field(None, description="Examples per optimizer step (1-1024), or auto.")
    learning_rate_multiplier: Any = Field(
        None, description="Multiplier of the recipe's default learning rate (>0-100), or auto."
    )
    n_epochs: Any = Field(None, description="Passes over the training data (1-100), or auto.")


class SupervisedMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hyperparameters: Hyperparameters | None = Field(
        None, description="Hyperparameters of the supervised method."
    )


class PreferenceHyperparameters(Hyperparameters):
    """DPO's (OpenAI's) and KTO's hyperparameters: the supervised ones and ``beta``; KTO's
    class weights too (tunelab's). Checked by ``requests.check_hyperparameters``."""

    beta: Any = Field(
        None, description="Strength of the pull towards the reference model (>0-10), or auto."
    )


class KTOHyperparameters(PreferenceHyperparameters):
    desirable_weight: Any = Field(None, description="Weight of desirable rows' losses, or auto.")
    undesirable_weight: Any = Field(
        None, description="Weight of undesirable rows' losses, or auto."
    )


class DPOMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hyperparameters: PreferenceHyperparameters | None = Field(
        None, description="Hyperparameters of the DPO method."
    )


class KTOMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hyperparameters: KTOHyperparameters | None = Field(
        None, description="Hyperparameters of the KTO method (tunelab's)."
    )


class Method(BaseModel):
    """``{"type": "supervised", "supervised": {"hyperparameters": {...}}}``.

    ``type`` is any method type in tunelab's method table (``train.methods``, plugins included),
    and its settings go under the key of the same name: other keys pass through here, and
    ``requests.job_method`` checks them against the table (an unknown type or key is a 400
    naming it), so a new method needs no change here.
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="The training method: supervised, dpo, kto, or another in the table."
    )
    supervised: SupervisedMethod | None = Field(None, description="Settings of the method.")
    dpo: DPOMethod | None = Field(None, description="Settings of the dpo method.")
    kto: KTOMethod | None = Field(None, description="Settings of the kto method (tunelab's).")


# Ids are looked up, never used as paths; control characters (NUL breaks PostgreSQL) are refused.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"


class CreateJobRequest(BaseModel):
    """Body of ``POST /v1/fine_tuning/jobs``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        min_length=1, max_length=256, pattern=PLAIN_TEXT, description="Base model to fine-tune."
    )
    training_file: str = Field(
        min_length=1,
        max_length=256,
        pattern=PLAIN_TEXT,
        description="Id of an uploaded file (purpose fine-tune).",
    )
    validation_file: str | None = Field(
        None, max_length=256, pattern=PLAIN_TEXT, description="Id of an uploaded validation file."
    )
    hyperparameters: Hyperparameters | None = Field(None, description="Training settings.")
    suffix: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="Up to 64 letters, digits, '-' or '_' added to the fine-tuned model id.",
    )
    seed: Annotated[int, Field(ge=0, le=2_147_483_647)] | None = Field(
        None, description="Random seed; the same seed and data give the same weights."
    )
    method: Method | None = Field(None, description="The training method (supervised).")
    tuning: Literal["lora", "full"] | None = Field(
        None,
        description="tunelab's (``extra_body``): what is trained: ``lora`` adapters (the "
        "default) or every weight (``full``), as the config's ``tuning`` key.",
    )
    privacy: JobPrivacy | None = Field(
        None,
        description="tunelab's (the SDK sends it with ``extra_body``): the config's privacy "
        "keys: the PII policy applied to the job's files when it starts (pii), differential "
        "privacy (dp), canaries and the leakage audit (docs/privacy.md).",
    )
