"""Training configs: one pydantic model per method, composed from the shared parts
(``train.parts``), validates YAML, ``--set`` and API bodies alike.

Precedence: field defaults < user YAML < ``--set key=value``; ``load_config`` picks the method's
config class by the ``method`` key (default ``sft``) from the table in ``train.methods``. The
method's recipe then turns every ``auto`` into a number chosen from the dataset size and the
device, and the resolved config is saved with the run (``store.runs.RunRecord``). Every field
has a description: the same text feeds ``--help`` and docs/config.md.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunelab.errors import ConfigError
from tunelab.store.runs import LEGACY_TUNING, RunRecord
from tunelab.train.parts import (
    PATH_KEYS,
    DataPart,
    EvalPart,
    GenerationPart,
    ModelPart,
    OptimPart,
    PreferencePart,
    PrivacyPart,
    RuntimePart,
    UpdatePart,
    own_fields,
    parts_of,
)

DEFAULT_METHOD = "sft"


class SFTConfig(
    ModelPart,
    DataPart,
    OptimPart,
    EvalPart,
    GenerationPart,
    RuntimePart,
    PrivacyPart,
    UpdatePart,
):
    """Supervised fine-tuning on chat, prompt/completion, Alpaca or plain-text data: the loss is
    on the assistant's tokens (every token of plain text)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    method: Literal["sft"] = Field(
        "sft", description="The training method: `sft`, supervised fine-tuning."
    )

    @model_validator(mode="after")
    def _dp_trains_lora(self):
        """DP-SGD needs per-example gradients of few weights (LoRA) and one forward per pass:
        Opacus' hooks would see a recomputed (checkpointed) or compiled layer twice or not at
        all."""
        if self.privacy.dp is None:
            return self
        if self.tuning != "lora":
            raise ValueError(
                "privacy.dp trains LoRA adapters only (per-example gradients of every weight "
                f"do not fit); tuning is {self.tuning!r}: set tuning: lora or remove privacy.dp"
            )
        if self.update.penalty in ("kl", "l2"):
            raise ValueError(
                f"privacy.dp trains without update.penalty (its per-example gradients would "
                f"need the parent's term per example too); update.penalty is "
                f"{self.update.penalty!r}: leave it auto (none under DP) or set none; replay "
                f"still works"
            )
        if self.update.new_weight not in ("auto", 1, 1.0):
            raise ValueError(
                f"privacy.dp weighs every sampled row alike (its clipping bounds each one's "
                f"gradient); update.new_weight is {self.update.new_weight!r}: leave it auto"
            )
        for key in ("compile", "gradient_checkpointing"):
            if getattr(self, key) not in ("auto", False):
                raise ValueError(
                    f"privacy.dp runs without {key} (per-example gradients come from hooks on "
                    f"each layer's one forward); {key} is {getattr(self, key)!r}: leave it auto"
                )
        return self


class DPOConfig(
    PreferencePart,
    ModelPart,
    DataPart,
    OptimPart,
    EvalPart,
    GenerationPart,
    RuntimePart,
    UpdatePart,
):
    """Direct preference optimisation (DPO) on preference pairs (OpenAI's `input` /
    `preferred_output` / `non_preferred_output` JSONL, or TRL's `prompt` / `chosen` /
    `rejected`): the tuned model learns to rank the preferred answer above the other one,
    relative to the starting model (docs/preference.md)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    method: Literal["dpo"] = Field(
        "dpo", description="The training method: `dpo`, direct preference optimisation."
    )


class KTOConfig(
    PreferencePart,
    ModelPart,
    DataPart,
    OptimPart,
    EvalPart,
    GenerationPart,
    RuntimePart,
    UpdatePart,
):
    """Kahneman-Tversky optimisation (KTO) on unpaired feedback: rows of one answer labelled
    desirable or not (`input` / `output` / `label`, or TRL's `prompt` / `completion` /
    `label`); preference pairs are read as one desirable and one undesirable row
    (docs/preference.md)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    method: Literal["kto"] = Field(
        "kto", description="The training method: `kto`, Kahneman-Tversky optimisation."
    )
    desirable_weight: float = Field(
        1.0,
        gt=0,
        le=100,
        description="Weight of the desirable rows' losses (raise it when they are fewer).",
    )
    undesirable_weight: float = Field(
        1.0,
        gt=0,
        le=100,
        description="Weight of the undesirable rows' losses (raise it when they are fewer).",
    )


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        if e["type"] == "value_error" and "error" in e.get("ctx", {}):
            msg = str(e["ctx"]["error"])  # our own message, without pydantic's "Value error, "
        lines.append(f"{source}: {key}: {msg}" if key else f"{source}: {msg}")
    return "\n".join(lines)


def parse_set(pairs: list[str]) -> dict:
    """``["lora.r=8", "epochs=2"]`` -> nested dict; values parsed as YAML scalars."""
    out: dict = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: expected key=value", param=pair)
        key, raw = pair.split("=", 1)
        node = out
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(raw) if raw.strip() else raw
    return out


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None = None, overrides: dict | None = None) -> BaseModel:
    """Read a YAML config, apply overrides, validate as the config of its ``method`` (default
    sft); relative data paths are from the YAML."""
    data: dict = {}
    source = "config"
    if path is not None:
        source = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"{path}: cannot read YAML: {e}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the config must be a mapping of keys to values")
        for key in PATH_KEYS:
            if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
                # absolute: run.json (a resume, an update's ancestors) outlives the working dir
                data[key] = str((Path(path).parent / data[key]).resolve())
    return validate_config(_merge(data, overrides or {}), source)


def validate_config(data: dict, source: str = "config", method: str | None = None) -> BaseModel:
    """``data`` validated by the config class of ``method`` (default: its ``method`` key; the old
    ``method: lora|full`` is sft's ``tuning``); errors name the source and the key."""
    from tunelab.train.methods import get_method  # the table imports this module's classes

    name = method or data.get("method", DEFAULT_METHOD)
    if name in LEGACY_TUNING:
        name = DEFAULT_METHOD
    config_class = get_method(name, source=source).config
    try:
        return config_class.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_errors(e, source)) from None


def config_from_record(record: RunRecord) -> BaseModel:
    """The config a run was started with, from its ``run.json`` (old records read too)."""
    return validate_config(record.config, "run.json", method=record.method)


MIN_AUTO_STEPS = 150  # LoRA on small data needs about this many updates to converge (demo: 160)


def auto_epochs(n_examples: int, batch_size: int = 8) -> int:
    """OpenAI's rule (aim for 100..25,000 examples seen, 3 epochs in between), raised on small
    data until about ``MIN_AUTO_STEPS`` optimizer steps are taken, at most 10 epochs."""
    if n_examples * 3 < 100:
        epochs = min(25, math.ceil(100 / max(n_examples, 1)))
    elif n_examples * 3 > 25_000:
        epochs = max(1, 25_000 // n_examples)
    else:
        epochs = 3
    steps_per_epoch = math.ceil(max(n_examples, 1) / batch_size)
    return max(epochs, min(10, math.ceil(MIN_AUTO_STEPS / steps_per_epoch)))


def auto_batch_size(n_examples: int) -> int:
    """Small batches give more steps on small data; 8 keeps a CPU busy without padding waste."""
    if n_examples < 64:
        return 2
    if n_examples < 200:
        return 4
    return 8


def auto_learning_rate(tuning: str, batch_size: int, parameters: int) -> float:
    """Peak rate by tuning (LoRA or full) and model size (small models take, and on few steps
    need, higher rates), scaled with the square root of the batch size around 8."""
    if tuning == "lora":
        base = 2e-3 if parameters <= 300e6 else 1e-3 if parameters <= 2e9 else 2e-4
    else:
        base = 5e-5 if parameters <= 300e6 else 2e-5
    return base * math.sqrt(batch_size / 8)


DEFAULT_BETA = 0.1  # the DPO paper's and TRL's


def beta_of(config) -> float:
    """A preference config's beta, ``auto`` resolved."""
    return DEFAULT_BETA if config.beta == "auto" else config.beta


def auto_preference_learning_rate(tuning: str, batch_size: int, parameters: int) -> float:
    """DPO / KTO peak rate: a tenth of SFT's for LoRA. Measured on SmolLM2-135M (LoRA r 16,
    support pairs, batch 4, 12 steps; docs/preference.md): 2e-4 raised held-out preference
    accuracy (69 -> 75%) and lowered the chosen answers' NLL; SFT's 2e-3 widened the margin by
    pushing the chosen answers down too (NLL 3.77 -> 4.70); 2e-5 barely moved. Full tuning:
    1e-5, 5e-6 above 300M parameters (the DPO literature's range)."""
    if tuning == "lora":
        return auto_learning_rate(tuning, batch_size, parameters) / 10
    base = 1e-5 if parameters <= 300e6 else 5e-6
    return base * math.sqrt(batch_size / 8)


def _type_name(annotation) -> str:
    text = str(annotation)
    for junk in (
        "typing.",
        "pathlib._local.",
        "pathlib.",
        "<class '",
        "'>",
        "tunelab.train.config.",
        "tunelab.train.parts.",
    ):
        text = text.replace(junk, "")
    if text.startswith("Union[") and text.endswith("]"):
        text = text[6:-1].replace("], ", "] or ")
    text = text.replace("Literal['auto']", "'auto'").replace("Literal", "one of ")
    return text.replace(" | ", " or ").replace("NoneType", "None").replace(", 'auto'", " or 'auto'")


def reference_markdown(methods: list | None = None) -> str:
    """docs/config.md, generated from the method table and the field descriptions so the docs
    cannot go stale: per method, its own keys, then each shared part's."""
    from tunelab.train.methods import BUILTIN_METHODS

    out = [
        "# Config reference",
        "",
        "Generated from the method table `tunelab.train.methods` (`make docs`). Keys go in the "
        "YAML file given to `tunelab train`, or on the command line as `--set key=value` "
        "(nested: `--set lora.r=8`). The key `method` picks the training method (default "
        "`sft`); each method's config is composed from shared parts, so a key means the same "
        "in every method that has it. `auto` values are chosen from the dataset size and the "
        "device, shown when training starts, and saved in the run's `run.json`.",
    ]
    for method in methods or BUILTIN_METHODS:
        out += _method_section(method)
    return "\n".join(out) + "\n"


def _method_section(method) -> list[str]:
    config = method.config
    mapped = ", ".join(f"`{k}` -> `{h.key}`" for k, h in method.hyperparameters.items())
    out = [
        "",
        f"## `method: {method.name}`",
        "",
        " ".join((config.__doc__ or "").split()),
        "",
        f"Config class `{config.__module__}.{config.__name__}`. Fine-tuning jobs (API) ask for "
        f"it as method type `{method.openai_type}`; their hyperparameters map to keys: "
        f"{mapped or 'none'}.",
    ]
    groups = [("Method", own_fields(config))]
    groups += [(part.title, list(part.model_fields)) for part in parts_of(config)]
    for title, names in groups:
        out += ["", f"### {title}", "", *_TABLE_HEAD]
        for name in names:
            out += _field_rows(name, config.model_fields[name])
    return out


_TABLE_HEAD = ("| key | type | default | description |", "| --- | --- | --- | --- |")


def _field_rows(name: str, field, prefix: str = "") -> list[str]:
    default = "required" if field.is_required() else field.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        default = "see below"
    rows = [
        f"| `{prefix}{name}` | {_type_name(field.annotation)} | `{default}` | {field.description} |"
    ]
    nested = _settings_class(field.annotation)
    if nested is not None:
        for inner, inner_field in nested.model_fields.items():
            rows += _field_rows(inner, inner_field, f"{prefix}{name}.")
    return rows


def _settings_class(annotation) -> type[BaseModel] | None:
    """The settings model of a nested key: ``LoraSettings``, or ``DPSettings`` of ``| None``."""
    import typing

    options = typing.get_args(annotation) or (annotation,)
    models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
    return models[0] if len(models) == 1 and len(options) <= 2 else None
