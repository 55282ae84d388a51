"""The preference recipe DPO and KTO share, read top to bottom: data -> setup -> reference
log-probs -> base eval -> train -> best weights -> tuned eval -> report. A method (``train.dpo``,
``train.kto``) is an ``Objective``: how its rows are built from the examples, its loss and its
validation metrics; everything else is here, and what SFT does too is ``train.sft``'s.

Features
- A training unit is a few rendered rows (DPO: chosen, rejected; KTO: the answer and a
  mismatched answer for the KL estimate). Each row's log-prob is the sum over its trained tokens
  (the answer's content and its end-of-turn token, as SFT trains them); only those positions
  go through the output head (``sequence_logps``), float32 on CPU, bf16 autocast on GPUs.
- The reference is the starting model, and its log-probs are computed once, before training,
  for every training and validation row, and kept in the run folder
  (``reference_logps.safetensors``): no second copy of the model (LoRA or full tuning alike),
  and a resumed run reads the same numbers instead of recomputing them.
- The starting model's evaluation is the reference pass itself (the policy is the reference at
  step 0) plus its greedy answers to held-out prompts, all cached in ``base_eval.json``.
- Steps, micro-batches within ``token_budget`` (a unit is never split), validation every
  ``eval_every`` steps, early stopping on the validation loss, best weights restored, atomic
  checkpoints and exact resume: ``train.sft``'s functions and rules.
- The report: validation metrics of start and tuned model, samples, and a comparison of their
  greedy answers on held-out prompts (``eval.compare``), decoded as the server decodes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tunelab.data.batches import collate_or_pack, epoch_batches, token_groups
from tunelab.data.preference import PreferenceExample, split_by_prompt
from tunelab.data.render import IGNORE, Rendered, render_chat
from tunelab.errors import ConfigError
from tunelab.eval.compare import compare_answers, comparison_section, last_user
from tunelab.eval.report import Report, ReportRow, Sample, held_out_section, write_report
from tunelab.eval.run import generate_answers, score_examples
from tunelab.models.catalog import count_safetensors_parameters, model_context
from tunelab.models.compile import training_pass
from tunelab.models.load import base_model_dir, load_tokenizer
from tunelab.store.atomic import disk_full_as_error
from tunelab.store.runs import RunLayout, read_run
from tunelab.train import checkpoint as ckpt
from tunelab.train import faults, update
from tunelab.train.config import auto_preference_learning_rate, beta_of, config_from_record
from tunelab.train.logprobs import (
    predicted,
    reference_logps,
    sequence_logps,
    starting_model,
    units_logps,
)
from tunelab.train.memory import checkpointed
from tunelab.train.runstate import cached_json, start_or_resume
from tunelab.train.setup import autocast_for, make_optimizer
from tunelab.train.sft import (
    add_forgetting,
    build_model,
    check_finite,
    check_resume_data,
    checkpoint_evaluation,
    keep_best,
    optimizer_step,
    plan_run_memory,
    resolve_auto,
    run_facts,
    save_model_files,
    task_results,
    validated,
    write_record,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Objective:
    """What a preference method adds to the shared recipe.

    ``check_data``: the file validator (``data.preference``). ``units(tokenizer, examples,
    max_length)`` -> (units, labels): each unit a list of rows, the first ``trained_rows`` of
    which train (the rest only need log-probs without gradients). ``losses(policy, reference,
    labels, context, config)`` -> (per-unit loss [B], {name: per-unit value [B]}) with policy
    [B, trained_rows] and reference [B, rows] summed log-probs. ``step_context(model, data,
    step, reference, resolved)`` -> dict for ``losses`` (KTO: its KL estimate). ``evaluate(policy,
    reference, counts, labels, config)`` -> validation metrics, ``loss`` among them.
    ``metrics``: (report label, key, better, format) of the metrics the report shows.
    """

    check_data: Callable
    units: Callable
    trained_rows: int
    losses: Callable
    evaluate: Callable
    metrics: tuple[tuple[str, str, str, str], ...]
    step_context: Callable | None = None


@dataclass
class PreferenceData:
    """Validated, rendered preference data."""

    train: list[list[Rendered]]
    val: list[list[Rendered]]
    train_labels: list[bool]
    val_labels: list[bool]
    val_examples: list[PreferenceExample]
    test_examples: list
    stats: dict
    overflow: dict = field(default_factory=dict)
    pad_id: int = 0


# ---------------------------------------------------------------- data


def render_output(tokenizer, messages: list[dict], max_length: int) -> Rendered:
    """A prompt and its answer as one row: labels on the answer (and its end-of-turn token),
    untrained template tokens after it left off (they predict nothing trained), cut to
    ``max_length`` (validation decided that the answer's end may go)."""
    row = render_chat(tokenizer, messages)
    last = max(i for i, x in enumerate(row.labels) if x != IGNORE) + 1
    end = min(last, max_length)
    return Rendered(row.input_ids[:end], row.labels[:end], truncated=end < last)


def prepare_data(config, objective: Objective, tokenizer, max_length: int) -> PreferenceData:
    """Validate every file completely, split off validation prompts, render the units."""
    check = objective.check_data
    train_report = validated(config.train_file, tokenizer, config, max_length, check)
    if config.validation_file:
        val_report = validated(
            config.validation_file, tokenizer, config, max_length, check, min_examples=1
        )
        train_ex, val_ex = train_report.examples, val_report.examples
    else:
        train_ex, val_ex = split_by_prompt(
            train_report.examples, seed=config.seed, fraction=config.validation_fraction
        )
    if not val_ex:
        raise ConfigError(
            "no validation pairs: the training file has a single distinct prompt; give a "
            "validation_file",
            param="validation_file",
        )
    test_ex = []
    if config.test_file:
        test_report = validated(config.test_file, tokenizer, config, max_length, purpose="eval")
        test_ex = test_report.examples
    train, train_labels = objective.units(tokenizer, train_ex, max_length)
    val, val_labels = objective.units(tokenizer, val_ex, max_length)
    trained = [rows[: objective.trained_rows] for rows in train]
    stats = {
        "examples": len(train_ex),
        "training_units": len(train),
        "tokens_total": sum(len(r.input_ids) for rows in trained for r in rows),
        "tokens_trained": sum(r.n_trained for rows in trained for r in rows),
    }
    overflow = {
        "too_long": train_report.n_too_long,
        "dropped": train_report.n_dropped,
        "truncated": train_report.n_truncated,
        "duplicates": train_report.n_duplicates,
    }
    return PreferenceData(
        train,
        val,
        train_labels,
        val_labels,
        val_ex,
        test_ex,
        stats,
        overflow,
        tokenizer.pad_token_id,
    )


# ---------------------------------------------------------------- evaluation around training


def evaluate_policy(model, data: PreferenceData, config, objective, resolved, reference) -> dict:
    """Validation metrics of the model as it is now (``objective.evaluate``)."""
    policy, counts = units_logps(model, data.val, data.pad_id, resolved)
    labels = torch.tensor(data.val_labels, dtype=torch.bool)
    return objective.evaluate(policy, reference["val"], counts, labels, config)


def compare_prompts(data: PreferenceData, limit: int) -> list[dict]:
    """Held-out prompts with an answer to move towards (``chosen``; ``rejected`` when there is
    one), one per distinct prompt, for ``eval.compare``'s preference scorer."""
    prompts, seen = [], set()
    for e in data.val_examples:
        chosen = e.chosen if e.paired else (e.completion if e.label else None)
        if chosen is None or e.prompt_key() in seen:
            continue
        seen.add(e.prompt_key())
        prompts.append(
            {"line": e.line, "messages": e.prompt, "chosen": chosen}
            | ({"rejected": e.rejected} if e.paired else {})
        )
    return prompts[:limit]


def generation_results(model, tokenizer, data, config, resolved, tasks=()) -> dict:
    """Greedy answers to the held-out prompts and the test file's score, as served, and the
    forgetting ``tasks``' results (an update's ancestors, the retention set)."""
    device = resolved["device"]
    prompts = compare_prompts(data, config.compare_prompts)
    answers = generate_answers(
        model,
        tokenizer,
        [p["messages"] for p in prompts],
        max_new_tokens=config.max_new_tokens,
        device=device,
    )
    result = {"answers": answers}
    if data.test_examples:
        result["test"] = score_examples(
            model,
            tokenizer,
            data.test_examples,
            max_new_tokens=config.max_new_tokens,
            device=device,
        )
    if tasks:
        result["forgetting"] = task_results(model, tokenizer, tasks, config, resolved)
    return result


# ---------------------------------------------------------------- training loop


def train_loop(model, data, config, objective, resolved, run_dir, reference, hooks) -> dict:
    """Optimizer steps over units with evaluation, early stopping and checkpoints."""
    from tqdm.auto import tqdm

    device, k = resolved["device"], objective.trained_rows
    params, optimizer, scheduler = make_optimizer(model, config, resolved)
    state, metrics = start_or_resume(
        run_dir, model, optimizer, scheduler, device, hooks.get("on_metrics")
    )
    lengths = [sum(len(r.input_ids) for r in rows[:k]) for rows in data.train]
    targets = [sum(predicted(r) for r in rows[:k]) for rows in data.train]
    total, every = resolved["total_steps"], resolved["eval_every"]
    progress = hooks.get("progress", True)
    bar = tqdm(total=total, initial=state["step"], disable=not progress, unit="step")
    stop_reason = "completed"
    model.train()
    while state["step"] < total and stop_reason == "completed":
        batches = epoch_batches(lengths, resolved["batch_size"], config.seed, state["epoch"])
        while state["batch"] < len(batches) and state["step"] < total:
            started = time.perf_counter()
            step = batches[state["batch"]]
            loss_value, stats = step_gradients(
                model, data, step, objective, config, resolved, reference
            )
            check_finite(loss_value, state["step"] + 1)
            grad_norm = optimizer_step(params, optimizer, scheduler, config)
            state["step"] += 1
            state["batch"] += 1
            state["trained_tokens"] += sum(targets[i] for i in step)
            seconds = time.perf_counter() - started
            metrics.write(
                {
                    "step": state["step"],
                    "epoch": state["epoch"],
                    "train_loss": round(loss_value, 4),
                    **{f"train_{n}": round(v, 4) for n, v in stats.items()},
                    "learning_rate": scheduler.get_last_lr()[0],
                    "grad_norm": round(grad_norm, 4),
                    "tokens_per_second": round(sum(lengths[i] for i in step) / seconds, 1),
                    "units_per_second": round(len(step) / seconds, 2),
                    "tokens": sum(lengths[i] for i in step),
                }
            )
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}")
            faults.maybe_fail("step", state["step"])
            if state["step"] % every == 0 or state["step"] == total:
                val = evaluate_policy(model, data, config, objective, resolved, reference)
                row = {"valid_loss": val["loss"]}
                row |= {f"valid_{k}": v for k, v in val.items() if k not in ("loss", "n")}
                stop_reason = checkpoint_evaluation(
                    model, optimizer, scheduler, config, resolved, run_dir, state, metrics, row
                )
                if hooks.get("on_checkpoint") is not None:
                    hooks["on_checkpoint"](ckpt.checkpoint_dir(run_dir, state["step"]))
                if stop_reason != "completed":
                    break
        else:
            state["epoch"] += 1
            state["batch"] = 0
    bar.close()
    if config.max_steps and state["step"] >= config.max_steps and stop_reason == "completed":
        stop_reason = "max_steps"
    return {"stop_reason": stop_reason, **state}


def step_gradients(model, data, step: list[int], objective, config, resolved, reference):
    """One step's gradients (not its update): the units ``step`` in micro-batches of at most
    ``token_budget`` tokens (a unit whole), each micro-batch's losses / len(step) backward, so
    the gradients are the step mean's. Returns (the step's loss, its mean statistics: the
    objective's, and the step context's numbers, e.g. KTO's ``kl``)."""
    k, budget, gc = (
        objective.trained_rows,
        resolved["token_budget"],
        resolved["gradient_checkpointing"],
    )
    lengths = [sum(len(r.input_ids) for r in data.train[i][:k]) for i in range(len(data.train))]
    labels = torch.tensor(data.train_labels, dtype=torch.bool)
    context = {}
    if objective.step_context is not None:
        context = objective.step_context(model, data, step, reference, resolved)
    loss_value, sums = 0.0, {n: float(v) for n, v in context.items()}
    for part in token_groups(step, lengths, budget):
        rows = [r for i in part for r in data.train[i][:k]]
        batch = collate_or_pack(rows, data.pad_id, resolved["device"])
        recompute = checkpointed(gc, budget, sum(lengths[i] for i in part)) if gc else None
        # held over the backward too: checkpointing recomputes the layers there
        with training_pass(model, batch, compiled=resolved["compile"], recompute=recompute):
            with autocast_for(resolved):
                logps, _ = sequence_logps(model, batch, len(rows))
            losses, stats = objective.losses(
                logps.float().view(len(part), k),  # [units, trained rows]
                reference["train"][part].to(logps.device),
                labels[part] if len(labels) else labels,
                context,
                config,
            )
            (losses.sum() / len(step)).backward()
        loss_value += float(losses.detach().sum()) / len(step)
        for name, values in stats.items():
            sums[name] = sums.get(name, 0.0) + float(values.sum()) / len(step)
    return loss_value, sums


# ---------------------------------------------------------------- the recipe


@disk_full_as_error()
def run_preference(config, objective: Objective, *, resume=None, **hooks) -> dict:
    """Train ``config`` with ``objective``; returns the report (also written to the run
    folder). With ``resume`` (a run folder), ``config`` is None: the run's record holds it.
    ``hooks``: ``progress``, ``on_metrics``, ``on_checkpoint`` as ``train.sft.run_sft``'s."""
    saved = read_run(resume) if resume is not None else None
    if saved is not None:
        config = config_from_record(saved)
    model_dir = base_model_dir(config.model)
    tokenizer = load_tokenizer(model_dir)
    context = model_context(model_dir)
    max_length = context if config.max_length == "auto" else min(config.max_length, context)
    data = prepare_data(config, objective, tokenizer, max_length)  # before any model load
    parameters = count_safetensors_parameters(model_dir)
    resolved = resolve_auto(
        config, len(data.train), max_length, parameters, auto_preference_learning_rate
    )
    resolved["beta"] = beta_of(config)
    k = objective.trained_rows
    units = [
        Rendered(
            [t for r in rows[:k] for t in r.input_ids], [t for r in rows[:k] for t in r.labels]
        )
        for rows in data.train
    ]
    units += [r for rows in data.train for r in rows[k:]]  # rows without gradients
    memory = plan_run_memory(config, model_dir, units, resolved, saved.resolved if saved else {})
    if saved is None:
        counts = {"n_train": len(data.train), "n_validation": len(data.val)}
        run_dir = write_record(config, counts | data.overflow, resolved, memory)
    else:
        run_dir = Path(resume)
        check_resume_data(saved, config)
    layout = RunLayout(run_dir)
    log.info("run folder: %s", run_dir)
    log.info(
        "hyperparameters (auto resolved): %s", ", ".join(f"{a} {b}" for a, b in resolved.items())
    )
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    model, tokenizer = build_model(config, resolved)
    save_model_files(model, tokenizer, config, run_dir)
    reference = reference_logps(model, data, resolved, run_dir)
    tasks = update.forgetting_tasks(config)  # an update's ancestors, the retention set
    base = cached_json(
        layout.base_eval,
        lambda: base_evaluation(
            model, tokenizer, data, config, objective, resolved, reference, tasks
        ),
    )
    started = time.time()
    outcome = train_loop(model, data, config, objective, resolved, run_dir, reference, hooks)
    keep_best(model, tokenizer, config, run_dir)
    tuned = {"validation": evaluate_policy(model, data, config, objective, resolved, reference)}
    tuned |= generation_results(model, tokenizer, data, config, resolved, tasks)
    stats = data.stats | {"overflow": data.overflow, "n_validation": len(data.val)}
    facts = run_facts(config, run_dir, outcome, time.time() - started, resolved, stats, memory)
    report = preference_report(facts, base, tuned, data, config, objective)
    add_forgetting(report, base, tuned, config)
    write_report(run_dir, report)
    return report.to_dict()


def base_evaluation(
    model, tokenizer, data, config, objective, resolved, reference, tasks=()
) -> dict:
    """The starting model's evaluation: at step 0 the policy is the reference, so its
    validation metrics come from the reference pass; its answers are generated now."""
    counts = torch.tensor([[predicted(r) for r in rows] for rows in data.val])
    labels = torch.tensor(data.val_labels, dtype=torch.bool)
    ref = reference["val"]
    result = {"validation": objective.evaluate(ref, ref, counts, labels, config)}
    with starting_model(model):
        return result | generation_results(model, tokenizer, data, config, resolved, tasks)


def preference_report(facts, base, tuned, data, config, objective) -> Report:
    """Rows of the objective's metrics (start vs tuned), samples, the comparison, the test."""
    b, t = base["validation"], tuned["validation"]
    rows = [
        ReportRow(label, b[key], t[key], better, fmt, key)
        for label, key, better, fmt in objective.metrics
        if b.get(key) is not None and t.get(key) is not None
    ]
    prompts = compare_prompts(data, config.compare_prompts)
    samples = [
        Sample(last_user(p["messages"]), p["chosen"], a, c)
        for p, a, c in zip(prompts, base["answers"], tuned["answers"], strict=True)
    ][: config.samples]
    sections = []
    held_out = held_out_section(base, tuned)
    if held_out is not None and base["test"]["accuracy"] is not None:
        metric = f"held-out test accuracy ({base['test']['n']} questions)"
        accuracies = (base["test"]["accuracy"], tuned["test"]["accuracy"])
        rows.append(ReportRow(metric, *accuracies, "higher", ".1%", "test_accuracy"))
        sections.append(held_out)
    if prompts:
        result = compare_answers(prompts, base["answers"], tuned["answers"], scorer="auto")
        tuned["comparison"] = result
        sections.append(comparison_section(result, "start", "tuned"))
    return Report(facts, rows, samples, sections, base, tuned)
