"""The SFT recipe's configuration: one pydantic model validates YAML, ``--set`` and API bodies.

Precedence: field defaults < user YAML < ``--set key=value``; ``resolve_auto`` then turns every
``auto`` into a number chosen from the dataset size and the device, and the resolved config is saved
with the run. Every field has a description: the same text feeds ``--help`` and the docs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tunelab.errors import ConfigError

Auto = Literal["auto"]


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


class SFTConfig(BaseModel):
    """Supervised fine-tuning on chat, prompt/completion, Alpaca or plain-text data."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field(
        "smollm2-135m-instruct", description="Base model: a built-in name or a local HF folder."
    )
    train_file: Path = Field(..., description="Training data: JSONL or CSV.")
    validation_file: Path | None = Field(
        None, description="Validation data; when absent, a seeded split of the training file."
    )
    test_file: Path | None = Field(
        None,
        description="Held-out questions with `expected` or `must_contain`, scored by greedy "
        "generation for base and tuned model in the report.",
    )
    output_dir: Path | None = Field(
        None, description="Run folder; default: $TUNELAB_HOME/runs/<name>-<time>."
    )
    name: str = Field("sft", description="Short name of the run, used in the default run folder.")
    method: Literal["lora", "full"] = Field(
        "lora", description="'lora' trains small adapters; 'full' trains every weight."
    )
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA settings.")
    epochs: int | Auto = Field("auto", description="Passes over the training data.")
    learning_rate: float | Auto = Field("auto", description="Peak learning rate.")
    learning_rate_multiplier: float = Field(
        1.0,
        gt=0,
        le=100,
        description="Scales the auto learning rate (OpenAI's "
        "learning_rate_multiplier); ignored when learning_rate is a number.",
    )
    batch_size: int | Auto = Field("auto", description="Examples per optimizer step.")
    token_budget: int | Auto = Field(
        "auto",
        description="Most tokens in one forward pass: a step's examples are packed into rows of "
        "at most this many tokens (no padding), gradients accumulated over the rows, so the "
        "step is the same as one batch. auto: the largest that fits in the memory available "
        "(estimated before any compute), at most 2048; an example longer than the budget "
        "goes alone (see gradient_checkpointing), so the budget bounds the peak memory.",
    )
    max_length: int | Auto = Field(
        "auto", description="Longest example in tokens after the chat template; auto: context."
    )
    overflow: Literal["error", "drop", "truncate"] = Field(
        "error", description="What to do with examples over max_length (never silent)."
    )
    validation_fraction: float = Field(
        0.1,
        gt=0,
        lt=0.5,
        description="Share of the training file held out when no validation_file.",
    )
    eval_every: int | Auto = Field(
        "auto", description="Optimizer steps between validations (and checkpoints)."
    )
    early_stopping_patience: int = Field(
        3, ge=0, description="Stop after this many validations without improvement; 0 disables."
    )
    early_stopping_min_delta: float = Field(
        0.0, ge=0, description="Smallest fall in validation loss that counts as improvement."
    )
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    dropout: float | None = Field(
        None, ge=0, lt=1, description="Model dropout (attention); None keeps the model's value."
    )
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="Share of steps of linear warm-up.")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field(
        "cosine", description="Learning-rate schedule after warm-up."
    )
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    seed: int = Field(42, description="Seed for the split, the data order and initialisation.")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="Where to train; auto picks cuda, then mps, then cpu."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype; auto: float32 on CPU, bfloat16 where the GPU has it."
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
    samples: int = Field(
        4, ge=0, description="Validation prompts shown with base and tuned generations."
    )
    max_new_tokens: int = Field(64, ge=1, le=4096, description="Generation cap for samples/tests.")
    max_steps: int | None = Field(
        None, ge=1, description="Stop after this many optimizer steps (for quick trials)."
    )

    @field_validator("epochs", "batch_size", "eval_every", "max_length", "token_budget")
    @classmethod
    def _positive(cls, value):
        if value != "auto" and value < 1:
            raise ValueError("must be at least 1 or 'auto'")
        return value

    @field_validator("learning_rate")
    @classmethod
    def _lr(cls, value):
        if value != "auto" and not (0 < value < 1):
            raise ValueError("must be between 0 and 1 (exclusive) or 'auto'")
        return value


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"{source}: {key}: {msg}")
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


def load_config(path: Path | None = None, overrides: dict | None = None) -> SFTConfig:
    """Read a YAML config, apply overrides, validate; relative data paths are from the YAML."""
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
        for key in ("train_file", "validation_file", "test_file", "output_dir"):
            if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
                data[key] = str(Path(path).parent / data[key])
    data = _merge(data, overrides or {})
    try:
        return SFTConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_errors(e, source)) from None


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


def auto_learning_rate(method: str, batch_size: int, parameters: int) -> float:
    """Peak rate by method and model size (small models take, and on few steps need, higher
    rates), scaled with the square root of the batch size around 8."""
    if method == "lora":
        base = 2e-3 if parameters <= 300e6 else 1e-3 if parameters <= 2e9 else 2e-4
    else:
        base = 5e-5 if parameters <= 300e6 else 2e-5
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
    ):
        text = text.replace(junk, "")
    if text.startswith("Union[") and text.endswith("]"):
        text = text[6:-1].replace("], ", "] or ")
    text = text.replace("Literal['auto']", "'auto'").replace("Literal", "one of ")
    return text.replace(" | ", " or ").replace("NoneType", "None").replace(", 'auto'", " or 'auto'")


def reference_markdown() -> str:
    """docs/config.md, generated from the field descriptions so the docs cannot go stale."""
    out = [
        "# SFT config reference",
        "",
        "Generated from `tunelab.train.config.SFTConfig` (`make docs`). Keys go in the YAML "
        "file given to `tunelab train`, or on the command line as `--set key=value` "
        "(nested: `--set lora.r=8`). `auto` values are chosen from the dataset size and the "
        "device, shown when training starts, and saved in the run's `run.json`.",
        "",
        "| key | type | default | description |",
        "| --- | --- | --- | --- |",
    ]

    def rows(model, prefix=""):
        for name, field in model.model_fields.items():
            default = (
                "required" if field.is_required() else field.get_default(call_default_factory=True)
            )
            if isinstance(default, BaseModel):
                default = "see below"
            out.append(
                f"| `{prefix}{name}` | {_type_name(field.annotation)} | `{default}` | "
                f"{field.description} |"
            )
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                rows(field.annotation, f"{prefix}{name}.")

    rows(SFTConfig)
    return "\n".join(out) + "\n"
