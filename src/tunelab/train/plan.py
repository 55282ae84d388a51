"""Plan a training run before spending compute: validate a file with the model's tokenizer, count
tokens, and estimate the time on this machine. Backs ``tunelab data check``."""

from __future__ import annotations

from pathlib import Path

from tunelab.data.privacy import scan_file
from tunelab.data.render import render_example, token_counter
from tunelab.data.stats import dataset_stats
from tunelab.data.validate import validate_file
from tunelab.errors import TunelabError
from tunelab.models.catalog import DEFAULT_MODEL
from tunelab.train.config import auto_batch_size, auto_epochs
from tunelab.train.memory import ModelShape, plan_memory, trainable_parameters

# Measured on this project's 2-core CPU machines (metrics.jsonl of the demo run): a LoRA step on
# the 135M built-in model processes ~290 tokens/s in float32; time scales with parameter count.
CPU_TOKENS_PER_SECOND_135M = 280.0
GPU_SPEEDUP = 50.0


def estimate_tokens_per_second(parameters: int, device: str) -> float:
    rate = CPU_TOKENS_PER_SECOND_135M * 134_515_008 / max(parameters, 1)
    return rate * (GPU_SPEEDUP if device == "cuda" else 1.0)


def check_file(
    path: Path,
    *,
    model: str | None = None,
    purpose: str = "train",
    max_length: int | None = None,
    epochs: int | None = None,
) -> dict:
    """Validation issues plus statistics (tokens after the chat template, time estimate)."""
    from tunelab.models.catalog import count_safetensors_parameters, model_context
    from tunelab.models.load import base_model_dir, load_tokenizer
    from tunelab.train.setup import pick_device

    model_dir = base_model_dir(model or DEFAULT_MODEL)
    tokenizer = load_tokenizer(model_dir)
    limit = max_length or model_context(model_dir)
    report = validate_file(
        path, purpose=purpose, count_tokens=token_counter(tokenizer), max_length=limit
    )
    result = report.to_dict()
    result["privacy"] = scan_file(path, policy="report").to_dict()
    result["errors"] = [i.to_dict() for i in report.errors]
    result["warnings"] = [i.to_dict() for i in report.warnings]
    if report.examples:
        counts = [
            (len(r.input_ids), r.n_trained)
            for r in (render_example(tokenizer, e) for e in report.examples)
        ]
        device = pick_device("auto")
        rate = estimate_tokens_per_second(count_safetensors_parameters(model_dir), device)
        n_epochs = epochs or auto_epochs(
            len(report.examples), auto_batch_size(len(report.examples))
        )
        result["stats"] = dataset_stats(
            report.examples, token_counts=counts, tokens_per_second=rate, epochs=n_epochs
        )
        result["estimate"] = {
            "epochs": n_epochs,
            "tokens_per_second": rate,
            "device": device,
            "model": model or DEFAULT_MODEL,
            "max_length": limit,
            "memory": estimate_memory(
                ModelShape.from_model_dir(model_dir), counts, device=device, epochs=n_epochs
            ),
        }
    return result


def estimate_memory(
    shape: ModelShape, counts: list[tuple[int, int]], *, device: str = "cpu", epochs: int = 1
) -> dict:
    """The memory plan of a default run (LoRA, auto budget, checkpointing and compile) on this
    machine; a refusal is shown as the check's answer rather than raised."""
    from tunelab.models.compile import auto_compile

    lengths = [n for n, _ in counts]
    compiled = auto_compile(device, shape.parameters, epochs * sum(lengths), 0.0)
    try:
        plan = plan_memory(
            shape,
            lengths=lengths,
            trained=[t for _, t in counts],
            trainable=trainable_parameters(shape, "lora"),
            compiled=compiled,
        )
    except TunelabError as e:
        return {"code": e.code, "error": e.message}
    summary = plan.describe() + (", compiled layers" if compiled else "")
    return plan.to_dict() | {"compiled": compiled, "summary": summary}


# A forward pass without gradients costs about a third of a training pass (forward + backward).
FORWARD_SHARE = 1 / 3


def estimate_preference(
    examples: list, kind: str, *, model: str | None = None, epochs: int | None = None
) -> dict:
    """The time estimate of a default DPO or KTO run on ``examples`` (``PreferenceExample``):
    the rows each step trains (DPO: prompt + chosen and prompt + rejected; KTO: prompt + answer,
    and a mismatched answer without gradients for its KL estimate), over the training split,
    plus one pass of the reference model over every row (its log-probs are computed once)."""
    from tunelab.data.preference import split_by_prompt
    from tunelab.models.catalog import count_safetensors_parameters, model_context
    from tunelab.models.load import base_model_dir, load_tokenizer
    from tunelab.train.dpo import pair_units
    from tunelab.train.kto import kto_units
    from tunelab.train.setup import pick_device

    model_dir = base_model_dir(model or DEFAULT_MODEL)
    tokenizer = load_tokenizer(model_dir)
    train, _ = split_by_prompt(examples, seed=42, fraction=0.1)  # the configs' defaults
    units, _ = (pair_units if kind == "dpo" else kto_units)(
        tokenizer, train or examples, model_context(model_dir)
    )
    lengths = [[len(row.input_ids) for row in unit] for unit in units]
    every = sum(sum(unit) for unit in lengths)
    trained = every if kind == "dpo" else sum(u[0] + FORWARD_SHARE * u[1] for u in lengths)
    device = pick_device("auto")
    rate = estimate_tokens_per_second(count_safetensors_parameters(model_dir), device)
    n_epochs = epochs or auto_epochs(len(units), auto_batch_size(len(units)))
    per_epoch, reference = trained / rate, FORWARD_SHARE * every / rate
    return {
        "epochs": n_epochs,
        "units": len(units),
        "tokens_total": every,
        "epoch_tokens": round(trained),  # forward-only rows weighted by FORWARD_SHARE
        "seconds_per_epoch": round(per_epoch, 1),
        "reference_seconds": round(reference, 1),
        "estimated_train_seconds": round(per_epoch * n_epochs + reference, 1),
        "tokens_per_second": rate,
        "device": device,
        "model": model or DEFAULT_MODEL,
    }
