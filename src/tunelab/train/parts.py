"""The shared parts every method's config is composed from: model, data, optimisation,
evaluation, generation and runtime. A method's config inherits the parts it uses and adds its own
keys (``class SFTConfig(ModelPart, DataPart, ...)``), so YAML keys stay flat and a key means the
same in every method. Every field has a description: it feeds ``--help`` and docs/config.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tunelab.store.runs import LEGACY_TUNING

Auto = Literal["auto"]


def _positive_or_auto(value):
    if value != "auto" and value < 1:
        raise ValueError("must be at least 1 or 'auto'")
    return value


def _rate_or_auto(value):
    if value != "auto" and not (0 < value < 1):
        raise ValueError("must be between 0 and 1 (exclusive) or 'auto'")
    return value


CountOrAuto = Annotated[int | Auto, AfterValidator(_positive_or_auto)]
RateOrAuto = Annotated[float | Auto, AfterValidator(_rate_or_auto)]


class ConfigPart(BaseModel):
    """Base of the parts: unknown keys are refused and named; ``title`` heads the docs' rows."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    title: ClassVar[str] = ""


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, ge=1, le=1024, description="LoRA rank: the size of the low-rank update.")
    alpha: float = Field(32, gt=0, description="LoRA scaling numerator (update scale = alpha / r).")
    dropout: float = Field(
        0.0, ge=0, lt=1, description="Dropout on the LoRA input; 0 is fastest on CPU."
    )
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="Layers that get adapters: 'all-linear' or a list of names."
    )


class ModelPart(ConfigPart):
    title: ClassVar[str] = "Model"

    model: str = Field(
        "smollm2-135m-instruct", description="Base model: a built-in name or a local HF folder."
    )
    tuning: Literal["lora", "full"] = Field(
        "lora",
        description="'lora' trains small adapters; 'full' trains every weight (older configs "
        "said `method: lora` or `method: full`; they still read).",
    )
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA settings.")
    dropout: float | None = Field(
        None, ge=0, lt=1, description="Model dropout (attention); None keeps the model's value."
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy_method(cls, values):
        """``method: lora|full`` (configs and run.json files before methods) -> ``tuning``."""
        if isinstance(values, dict) and values.get("method") in LEGACY_TUNING:
            values = dict(values)
            tuning = values.pop("method")
            if values.get("tuning", tuning) != tuning:
                raise ValueError(
                    f"method: {tuning!r} is the old name of tuning, which says "
                    f"{values['tuning']!r}; keep only tuning"
                )
            values["tuning"] = tuning
        return values


class DataPart(ConfigPart):
    title: ClassVar[str] = "Data"

    train_file: Path = Field(..., description="Training data: JSONL or CSV.")
    validation_file: Path | None = Field(
        None, description="Validation data; when absent, a seeded split of the training file."
    )
    validation_fraction: float = Field(
        0.1,
        gt=0,
        lt=0.5,
        description="Share of the training file held out when no validation_file.",
    )
    max_length: CountOrAuto = Field(
        "auto", description="Longest example in tokens after the chat template; auto: context."
    )
    overflow: Literal["error", "drop", "truncate"] = Field(
        "error", description="What to do with examples over max_length (never silent)."
    )


class OptimPart(ConfigPart):
    title: ClassVar[str] = "Optimisation"

    epochs: CountOrAuto = Field("auto", description="Passes over the training data.")
    batch_size: CountOrAuto = Field("auto", description="Examples per optimizer step.")
    learning_rate: RateOrAuto = Field("auto", description="Peak learning rate.")
    learning_rate_multiplier: float = Field(
        1.0,
        gt=0,
        le=100,
        description="Scales the auto learning rate (OpenAI's "
        "learning_rate_multiplier); ignored when learning_rate is a number.",
    )
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="Share of steps of linear warm-up.")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field(
        "cosine", description="Learning-rate schedule after warm-up."
    )
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    max_steps: int | None = Field(
        None, ge=1, description="Stop after this many optimizer steps (for quick trials)."
    )


class EvalPart(ConfigPart):
    title: ClassVar[str] = "Evaluation"

    eval_every: CountOrAuto = Field(
        "auto", description="Optimizer steps between validations (and checkpoints)."
    )
    early_stopping_patience: int = Field(
        3, ge=0, description="Stop after this many validations without improvement; 0 disables."
    )
    early_stopping_min_delta: float = Field(
        0.0, ge=0, description="Smallest fall in validation loss that counts as improvement."
    )


class GenerationPart(ConfigPart):
    """What the report scores by generating: held-out questions and sample answers."""

    title: ClassVar[str] = "Generation in the report"

    test_file: Path | None = Field(
        None,
        description="Held-out questions with `expected` or `must_contain`, scored by greedy "
        "generation for base and tuned model in the report.",
    )
    samples: int = Field(
        4, ge=0, description="Validation prompts shown with base and tuned generations."
    )
    max_new_tokens: int = Field(64, ge=1, le=4096, description="Generation cap for samples/tests.")


class RuntimePart(ConfigPart):
    title: ClassVar[str] = "Runtime"

    output_dir: Path | None = Field(
        None, description="Run folder; default: $TUNELAB_HOME/runs/<name>-<time>."
    )
    name: str | None = Field(
        None,
        description="Short name of the run, used in the default run folder; default: the "
        "method's name.",
    )
    seed: int = Field(42, description="Seed for the split, the data order and initialisation.")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="Where to train; auto picks cuda, then mps, then cpu."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype; auto: float32 on CPU, bfloat16 where the GPU has it."
    )
    token_budget: CountOrAuto = Field(
        "auto",
        description="Most tokens in one forward pass: a step's examples are packed into rows of "
        "at most this many tokens (no padding), gradients accumulated over the rows, so the "
        "step is the same as one batch. auto: the largest that fits in the memory available "
        "(estimated before any compute), at most 2048; an example longer than the budget "
        "goes alone (see gradient_checkpointing), so the budget bounds the peak memory.",
    )
    gradient_checkpointing: bool | Auto | Literal["long"] = Field(
        "auto",
        description="Trade compute for memory (recompute activations in the backward pass); "
        "long: only for examples longer than the token budget; auto: long, or on for every "
        "micro-batch when no token budget fits the memory available.",
    )
    compile: bool | Auto = Field(
        "auto",
        description="Compile the decoder layers for training steps (torch.compile); auto: on "
        "for CPU runs of at least 30k tokens on a model of 50M+ parameters, without dropout, "
        "when a C++ compiler is installed.",
    )
    memory_fraction: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Share of the available memory a run may plan to use (the estimate must "
        "fit in it, else the run is refused before any compute).",
    )
    keep_checkpoints: int = Field(2, ge=1, description="Newest checkpoints kept on disk.")


def _delta_or_auto(value):
    if value != "auto" and not (0 < value < 1):
        raise ValueError("must be between 0 and 1 (exclusive) or 'auto'")
    return value


class DPSettings(BaseModel):
    """DP-SGD (Opacus): per-example clipping, Poisson sampling, Gaussian noise, an accountant."""

    model_config = ConfigDict(extra="forbid")

    epsilon: float = Field(
        8.0,
        gt=0,
        le=1000,
        description="Target privacy budget epsilon for the whole run: the noise is chosen so "
        "that the planned steps spend at most this much (smaller: more private, more noise).",
    )
    delta: Annotated[float | Auto, AfterValidator(_delta_or_auto)] = Field(
        "auto",
        description="Target delta (the chance the epsilon bound fails); auto: 1 / n^1.1 for n "
        "training examples, below 1 / n as it must be.",
    )
    max_grad_norm: float = Field(
        1.0, gt=0, description="Per-example clipping norm C: each example's gradient is cut to it."
    )
    accountant: Literal["rdp", "prv"] = Field(
        "rdp", description="Privacy accountant: 'rdp' (Renyi DP) or 'prv' (tighter, slower)."
    )
    seed: int | None = Field(
        None,
        description="Seed of the sampling and the noise; None: a secret random one, kept in "
        "the run's checkpoints for an exact resume. Set it only for experiments: anyone who "
        "knows it knows the noise.",
    )


class PrivacySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pii: Literal["off", "report", "redact", "block"] = Field(
        "report",
        description="What happens to PII found in the training and validation files before "
        "training (docs/privacy.md): off: no scan; report: scan and show counts per type and "
        "lines; redact: train on a copy with typed placeholders; block: refuse to train, naming "
        "the lines and types.",
    )
    dp: DPSettings | None = Field(
        None,
        description="Differential privacy for LoRA training, e.g. `{epsilon: 8}`; absent or null: "
        "off.",
    )
    canaries: int = Field(
        0,
        ge=0,
        le=100,
        description="Random secrets inserted into the training data (seeded) to measure "
        "memorisation in the leakage audit; 0: none.",
    )
    canary_repeats: int = Field(
        8, ge=1, le=1000, description="How many training rows repeat each canary."
    )
    canary_candidates: int = Field(
        1000,
        ge=10,
        le=100_000,
        description="Random candidates each canary is ranked among for its exposure.",
    )
    audit: bool | Auto = Field(
        "auto",
        description="Leakage audit in the report (canary exposure, discoverable extraction); "
        "auto: on when canaries are inserted or the scrubber finds sensitive values in the "
        "text training fits (assistant turns, documents).",
    )
    audit_max_values: int = Field(
        32, ge=1, le=10_000, description="Most sensitive values the extraction audit prompts for."
    )
    audit_new_tokens: int = Field(
        24, ge=1, le=256, description="Tokens greedily decoded after each value's prefix."
    )


class PrivacyPart(ConfigPart):
    title: ClassVar[str] = "Privacy"

    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings,
        description="Differential privacy and the leakage audit (docs/privacy.md).",
    )


def _beta_or_auto(value):
    if value != "auto" and not (0 < value <= 10):
        raise ValueError("must be above 0 and at most 10, or 'auto'")
    return value


def refuse_sft_update_keys(config):
    """A preference run from a registered version measures forgetting like an SFT update, but
    its pull to the parent is the objective's own (the reference is the parent, ``beta``):
    replay, a penalty and the new rows' weight are SFT's, so asking for them is an error."""
    settings = config.update
    asked = [
        key
        for key, value, default in (
            ("replay", settings.replay, (0, 0.0)),
            ("penalty", settings.penalty, ("none",)),
            ("new_weight", settings.new_weight, ()),
        )
        if value != "auto" and value not in default
    ]
    if asked:
        keys = ", ".join(f"update.{k}" for k in asked)
        raise ValueError(
            f"{keys}: SFT updates only; {config.method} trains towards its reference (the "
            f"parent) by its own objective (beta): leave {keys} auto"
        )
    return config


class PreferencePart(ConfigPart):
    """What DPO and KTO share: the strength of the pull towards the reference model, and the
    report's comparison of the starting model's answers with the tuned one's."""

    title: ClassVar[str] = "Preference"

    beta: Annotated[float | Auto, AfterValidator(_beta_or_auto)] = Field(
        "auto",
        description="How strongly the tuned model is held to the reference (the starting "
        "model): the implicit reward is beta x (log-prob ratio to the reference). Larger: "
        "closer to the reference. auto: 0.1 (the DPO paper's and TRL's default).",
    )
    compare_prompts: int = Field(
        32,
        ge=0,
        le=1000,
        description="Held-out prompts answered greedily by the starting and the tuned model "
        "for the report's comparison (eval.compare); 0: no comparison.",
    )

    @model_validator(mode="after")
    def _update_keys(self):
        """From a version, a preference run is an update (its forgetting measured) whose pull
        to the parent is its own objective's."""
        return refuse_sft_update_keys(self) if isinstance(self, UpdatePart) else self


def _fraction_or_auto(value):
    if value != "auto" and not (0 <= value < 1):
        raise ValueError("must be at least 0 and below 1, or 'auto'")
    return value


def _weight_or_auto(value):
    if value != "auto" and not value >= 0:
        raise ValueError("must be 0 or more, or 'auto'")
    return value


def _new_weight_or_auto(value):
    if value != "auto" and not value > 0:
        raise ValueError("must be more than 0, or 'auto'")
    return value


class AncestorData(BaseModel):
    """What an update knows of one version it descends from (``jobs.ancestry`` fills it)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="The ancestor's version id.")
    train_file: str | None = Field(
        None, description="Its training file (replayed, minus its split)."
    )
    validation_file: str | None = Field(None, description="Its validation file, if it had one.")
    test_file: str | None = Field(None, description="Its held-out questions.")
    seed: int = Field(42, description="The seed of its validation split.")
    validation_fraction: float = Field(0.1, description="The share its split held out.")


class UpdateSettings(BaseModel):
    """An incremental update: training from a registered version (``--from``)."""

    model_config = ConfigDict(extra="forbid")

    ancestors: list[AncestorData] = Field(
        default_factory=list,
        description="The data of the version trained from and of those above it, oldest "
        "first; filled in by `tunelab train --from` and by jobs from a fine-tuned model (none: "
        "not an update).",
    )
    replay: Annotated[float | Auto, AfterValidator(_fraction_or_auto)] = Field(
        "auto",
        description="Share of each epoch's mix drawn from the ancestors' training rows, a "
        "different share each epoch (taken in turn in a seeded order, so all old rows are "
        "replayed before any twice); 0: none. auto: min(0.5, old / (old + new)) for an update, "
        "0 otherwise.",
    )
    penalty: Literal["auto", "kl", "l2", "none"] = Field(
        "auto",
        description="A pull towards the parent: kl (KL from its next-token distribution on the "
        "trained positions of the replayed rows, or of every row when none is replayed; LoRA: "
        "the adapter off, no second copy), l2 (squared distance of the weights), none. auto: kl "
        "for LoRA updates, l2 for full ones, none when not an update or under privacy.dp "
        "(DP-SGD has no per-example parent term; kl or l2 with privacy.dp is an error).",
    )
    penalty_weight: Annotated[float | Auto, AfterValidator(_weight_or_auto)] = Field(
        "auto",
        description="The penalty's weight in the loss (per trained token for kl). auto: 1.0 for "
        "kl, 1e-3 for l2.",
    )
    new_weight: Annotated[float | Auto, AfterValidator(_new_weight_or_auto)] = Field(
        "auto",
        description="What a new row's cross-entropy counts for against a replayed row's (> 0). "
        "auto: 1 / (1 - replay share), so that in each step's mean the new rows weigh as much "
        "as if the step held them alone and replay adds to that (1 without replay or under "
        "privacy.dp).",
    )


class ForgettingSettings(BaseModel):
    """What every run measures against its starting model, and what counts as forgetting."""

    model_config = ConfigDict(extra="forbid")

    retention: bool | Auto = Field(
        "auto",
        description="Evaluate the general-ability retention set bundled with tunelab "
        "(eval.retention) before and after training. auto: for updates and for runs from a "
        "built-in base (the set holds questions the built-in model answers right); off for other "
        "bases, where nobody checked what it measures.",
    )
    max_loss_increase: float = Field(
        0.25,
        ge=0,
        description="A task's loss may grow by this much (nats per token) over the parent's.",
    )
    max_accuracy_drop: float = Field(
        0.10,
        ge=0,
        le=1,
        description="A task's answer accuracy may fall by this much (0.10: ten points).",
    )
    max_new_tokens: int = Field(
        40, ge=1, le=512, description="Tokens generated per retention or ancestor question."
    )


class UpdatePart(ConfigPart):
    """Incremental updates (replay, a penalty to the parent) and the forgetting they measure."""

    title: ClassVar[str] = "Updates and forgetting"

    update: UpdateSettings = Field(
        default_factory=UpdateSettings,
        description="How a run trained from a registered version keeps what it knew.",
    )
    forgetting: ForgettingSettings = Field(
        default_factory=ForgettingSettings,
        description="The forgetting table of the report and the promotion gate's thresholds.",
    )


PATH_KEYS = ("train_file", "validation_file", "test_file", "output_dir")  # relative to the YAML


def parts_of(config_class: type[BaseModel]) -> list[type[ConfigPart]]:
    """The shared parts a method's config is composed from, in the order it lists them."""
    return [
        base
        for base in config_class.__mro__[1:]
        if isinstance(base, type) and issubclass(base, ConfigPart) and base is not ConfigPart
    ]


def own_fields(config_class: type[BaseModel]) -> list[str]:
    """The method's own keys: those no shared part defines."""
    shared = {name for part in parts_of(config_class) for name in part.model_fields}
    return [name for name in config_class.model_fields if name not in shared]
