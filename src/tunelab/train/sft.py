"""Supervised fine-tuning (SFT) recipe, read top to bottom: data -> setup -> base eval -> train ->
best weights -> tuned eval -> report.

Features
- LoRA (PEFT) or full fine-tuning of a causal LM: float32 on CPU, bf16 autocast on GPUs with it.
- Loss only on assistant tokens (``weight`` 0 turns skipped), each turn closed by the end-of-turn
  token; the whole data file is validated before the model is even loaded.
- Validation every ``eval_every`` steps, early stopping on validation loss with patience, and the
  result is the best evaluation's weights, not the last step's.
- Atomic, verified checkpoints at every evaluation; ``resume`` continues a killed run and, on CPU
  with the same seed, ends with the same weights as an uninterrupted run.
- Little compute on padding: a step's ``batch_size`` examples go in rows of at most
  ``token_budget`` tokens, packed (attention per example, ``models.attention``) unless padding
  would add under a fifth (``data.batches.collate_or_pack``); gradients are accumulated over the
  rows and normalised by the step's trained tokens, so the step equals one batch.
- Memory planned before any compute (``train.memory``): the token budget and gradient
  checkpointing are chosen to fit, or the run is refused with the numbers.

Shared with the other recipes: the run folder and its record (``store.runs``), device, dtype,
run folder and optimizer (``train.setup``), checkpoints and metrics (``train.checkpoint``,
``train.runstate``). The method table (``train.methods``) names ``run_sft`` as method ``sft``.

Assumptions: one device, one process; the longest example fits in memory (else: refused).
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import torch
from safetensors.torch import load_file

from tunelab.data.batches import collate_or_pack, epoch_batches, token_groups
from tunelab.data.render import IGNORE, Rendered, prompt_messages, render_windows, token_counter
from tunelab.data.split import split_examples
from tunelab.data.stats import dataset_stats
from tunelab.data.validate import validate_file
from tunelab.errors import ConfigError, DataValidationError, TunelabError
from tunelab.eval import leakage
from tunelab.eval.forgetting import evaluate_tasks, forgetting_rows, forgetting_section
from tunelab.eval.report import RunFacts, evaluation_report, write_report
from tunelab.eval.run import evaluate_loss, generate_answers, score_examples
from tunelab.models.catalog import count_safetensors_parameters, model_context
from tunelab.models.compile import auto_compile, training_pass
from tunelab.models.forward import causal_lm, trained_token_loss
from tunelab.models.load import base_model_dir, load_base, load_tokenizer
from tunelab.store import runs
from tunelab.store.atomic import atomic_dir, disk_full_as_error, verify_manifest
from tunelab.store.runs import DataRecord, RunLayout, RunRecord, read_run, write_run
from tunelab.train import checkpoint as ckpt
from tunelab.train import faults, update
from tunelab.train.config import (
    SFTConfig,
    auto_batch_size,
    auto_epochs,
    auto_learning_rate,
    config_from_record,
)
from tunelab.train.memory import (
    MemoryPlan,
    ModelShape,
    checkpointed,
    plan_memory,
    process_peak_rss,
    trainable_parameters,
)
from tunelab.train.runstate import (
    cached_json,
    rng_state,
    save_best,
    start_or_resume,
)
from tunelab.train.setup import (
    autocast_for,
    file_hashes,
    make_optimizer,
    new_run_dir,
    pick_device,
    pick_dtype,
    versions,
)

log = logging.getLogger(__name__)
MODEL_FILES = runs.MODEL_FILES


class TrainingError(TunelabError):
    code = "training_failed"


@dataclass
class Prepared:
    """Validated, rendered data."""

    train: list[Rendered]
    val: list[Rendered]
    val_examples: list
    test_examples: list
    stats: dict
    overflow: dict = field(default_factory=dict)
    pad_id: int = 0
    audit: leakage.Audit | None = None  # the leakage audit (privacy), planned from the data
    tasks: list = field(default_factory=list)  # what forgetting is measured on (train.update)
    update: dict = field(default_factory=dict)  # replay decided: replay_fraction, n_replayed
    replay_groups: list = field(default_factory=list)  # each replayed example's rows (at the end)

    def epoch_rows(self, seed: int, epoch: int) -> list[int]:
        """The rows ``epoch`` trains (all of them unless an update replays in turn)."""
        per_epoch = self.update.get("n_replayed", 0)
        return update.epoch_rows(len(self.train), self.replay_groups, per_epoch, seed, epoch)


# ---------------------------------------------------------------- data


def validated(path: Path, tokenizer, config, max_length: int, check=validate_file, **kw):
    """``check``'s report of ``path`` (warnings logged); ``DataValidationError`` on any error.
    ``check``: ``data.validate.validate_file`` or a method's checker of the same signature."""
    report = check(
        path,
        count_tokens=token_counter(tokenizer),
        max_length=max_length,
        overflow=config.overflow,
        **kw,
    )
    for issue in report.warnings[:20]:
        log.warning("%s", issue)
    if not report.ok:
        raise DataValidationError(report.issues)
    return report


def prepare_data(config: SFTConfig, tokenizer, max_length: int) -> Prepared:
    """Validate every file completely, split off validation data, render with the template."""
    train_report = validated(config.train_file, tokenizer, config, max_length)
    examples = train_report.examples
    if config.validation_file:
        val_report = validated(
            config.validation_file, tokenizer, config, max_length, min_examples=1
        )
        train_ex, val_ex = examples, val_report.examples
    else:
        train_ex, val_ex = split_examples(
            examples, seed=config.seed, fraction=config.validation_fraction
        )
    # canaries join the training rows only; the audit's values are looked for before they do
    train_ex, audit = leakage.plan_audit(
        train_ex, config.privacy, tokenizer, config.seed, max_length
    )
    # an update replays its ancestors' training rows (never their validation rows)
    train_ex, planned = update.plan_update(config, train_ex, config.seed)
    test_ex = []
    if config.test_file:
        test_ex = validated(
            config.test_file, tokenizer, config, max_length, purpose="eval"
        ).examples

    def render(items) -> list[list[Rendered]]:  # per example: one row, or a long text's windows
        return [render_windows(tokenizer, e, max_length=max_length) for e in items]

    train_rows, val_rows = render(train_ex), render(val_ex)
    counts = [
        (sum(len(r.input_ids) for r in rows), sum(r.n_trained for r in rows)) for rows in train_rows
    ]
    stats = dataset_stats(train_ex, token_counts=counts)
    train = [r for rows in train_rows for r in rows]
    val = [r for rows in val_rows for r in rows]
    overflow = {
        "too_long": train_report.n_too_long,
        "dropped": train_report.n_dropped,
        "truncated": train_report.n_truncated,
        "duplicates": train_report.n_duplicates,
        "windowed": train_report.n_windowed,
    }
    # the rows of the replayed examples come last: the KL penalty is taken on those
    kept = train_rows[len(train_rows) - planned["replay_pool"] :] if planned["replay_pool"] else []
    first = len(train) - sum(len(rows) for rows in kept)
    planned["first_replayed_row"], groups, start = first, [], first
    for rows in kept:
        groups.append(list(range(start, start + len(rows))))
        start += len(rows)
    tasks = update.forgetting_tasks(config)
    prepared = Prepared(train, val, val_ex, test_ex, stats, overflow, tokenizer.pad_token_id, audit)
    prepared.tasks, prepared.update, prepared.replay_groups = tasks, planned, groups
    return prepared


# ---------------------------------------------------------------- setup


def resolve_auto(
    config: SFTConfig,
    n_train: int,
    context: int,
    parameters: int,
    auto_rate=auto_learning_rate,
    n_new: int | None = None,
) -> dict:
    """Every ``auto`` turned into a value; shown to the user and saved in run.json.
    ``auto_rate(tuning, batch_size, parameters)``: the method's auto learning rate. ``n_new``:
    an update's own rows among the ``n_train`` of an epoch (the rest replayed): auto epochs are
    those training on them alone would get, at their share of each batch (with ``new_weight``
    each step gives them their own mean), so replay adds to what the new data gets instead of
    taking from it."""
    device = pick_device(config.device)
    batch = config.batch_size if config.batch_size != "auto" else auto_batch_size(n_train)
    epochs = config.epochs
    if epochs == "auto":
        if n_new is None:
            epochs = auto_epochs(n_train, batch)
        else:  # the new rows' own epochs, at their share of each batch
            epochs = auto_epochs(n_new, max(1, round(batch * n_new / max(n_train, 1))))
    steps_per_epoch = math.ceil(n_train / batch)
    total = steps_per_epoch * epochs
    if config.max_steps:
        total = min(total, config.max_steps)
    lr = config.learning_rate
    if lr == "auto":
        lr = auto_rate(config.tuning, batch, parameters) * config.learning_rate_multiplier
        if not lr < 1:
            raise ConfigError(
                f"learning_rate_multiplier {config.learning_rate_multiplier} gives a learning "
                f"rate of {lr:g}; it must stay below 1",
                param="learning_rate_multiplier",
            )
    every = config.eval_every if config.eval_every != "auto" else max(1, math.ceil(total / 8))
    return {
        "device": device,
        "dtype": pick_dtype(config.dtype, device),
        "gradient_checkpointing": config.gradient_checkpointing,  # planned by plan_run_memory
        "compile": config.compile,  # decided by plan_run_memory
        "token_budget": config.token_budget,
        "epochs": epochs,
        "batch_size": batch,
        "learning_rate": lr,
        "max_length": context,
        "eval_every": every,
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total,
    }


def plan_run_memory(
    config: SFTConfig, model_dir: Path, rows: list[Rendered], resolved: dict, before: dict
) -> MemoryPlan:
    """Token budget and gradient checkpointing that fit in memory for training ``rows`` (the
    units a micro-batch holds whole), set in ``resolved``; refused (``insufficient_memory``)
    before any compute when nothing fits. A resumed run keeps the values it started with
    (``before``: its resolved values): another split of a step would change its float sums."""
    shape = ModelShape.from_model_dir(model_dir)
    lora = config.lora
    # a run saved before compiled layers existed trained eager: its resume does too
    compiled = before.get("compile", False if before else config.compile)
    if compiled == "auto":
        epochs = resolved["total_steps"] / max(resolved["steps_per_epoch"], 1)  # max_steps cuts
        compiled = auto_compile(
            resolved["device"],
            shape.parameters,
            int(epochs * sum(len(r.input_ids) for r in rows)),
            max(config.dropout or 0.0, lora.dropout if config.tuning == "lora" else 0.0),
        )
    resolved["compile"] = bool(compiled)
    plan = plan_memory(
        shape,
        lengths=[len(r.input_ids) for r in rows],
        trained=[r.n_trained for r in rows],
        trainable=trainable_parameters(shape, config.tuning, lora.r, lora.target_modules),
        token_budget=before.get("token_budget", config.token_budget),
        gradient_checkpointing=before.get("gradient_checkpointing", config.gradient_checkpointing),
        safety=config.memory_fraction,
        dtype_bytes=4 if resolved["dtype"] == "float32" else 2,
        compiled=resolved["compile"],
        per_example_rows=dp_rows(resolved, len(rows)) if update.private(config) else None,
    )
    resolved["token_budget"] = plan.token_budget
    resolved["gradient_checkpointing"] = plan.gradient_checkpointing
    return plan


def dp_rows(resolved: dict, n_train: int) -> int:
    """Most rows a DP step's Poisson batch holds, but for a 5-sigma chance: its memory plan."""
    expected = resolved["sample_rate"] * n_train
    return min(n_train, math.ceil(expected + 5 * math.sqrt(expected) + 1))


def build_model(config: SFTConfig, resolved: dict):
    """Base model (+ LoRA adapters): only the weights that train have requires_grad."""
    overrides = {} if config.dropout is None else {"attention_dropout": config.dropout}
    model, tokenizer, _ = load_base(config.model, device=resolved["device"], **overrides)
    if resolved["gradient_checkpointing"]:  # True or "long": train_loop switches it per pass
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if config.tuning == "lora":
        from peft import LoraConfig, get_peft_model

        lora = config.lora
        model = get_peft_model(
            model,
            LoraConfig(
                r=lora.r,
                lora_alpha=lora.alpha,
                lora_dropout=lora.dropout,
                target_modules=lora.target_modules,
                task_type="CAUSAL_LM",
            ),
        )
    return model, tokenizer


# ---------------------------------------------------------------- evaluation around training


def evaluate_model(model, tokenizer, data: Prepared, config: SFTConfig, resolved: dict) -> dict:
    """Validation loss and token accuracy, held-out test accuracy, sample answers."""
    device, pad = resolved["device"], tokenizer.pad_token_id
    budget = resolved["token_budget"]
    result = {
        "validation": evaluate_loss(model, data.val, pad_id=pad, device=device, max_tokens=budget)
    }
    if data.test_examples:
        result["test"] = score_examples(
            model,
            tokenizer,
            data.test_examples,
            max_new_tokens=config.max_new_tokens,
            device=device,
        )
    chosen = [e for e in data.val_examples if e.kind != "text"][: config.samples]  # have a prompt
    answers = generate_answers(
        model,
        tokenizer,
        [prompt_messages(e) for e in chosen],
        max_new_tokens=config.max_new_tokens,
        device=device,
    )
    result["samples"] = [
        {
            "prompt": prompt_messages(e)[-1]["content"] if prompt_messages(e) else "",
            "reference": e.messages[-1]["content"],
            "answer": a,
        }
        for e, a in zip(chosen, answers, strict=True)
    ]
    if data.audit is not None:
        result["leakage"] = data.audit.run(model, tokenizer, device=device)
    if data.tasks:  # forgetting: the ancestors' tasks and the retention set
        result["forgetting"] = task_results(model, tokenizer, data.tasks, config, resolved)
    return result


def task_results(model, tokenizer, tasks: list, config, resolved: dict) -> dict:
    """Each forgetting task's loss and accuracy (``eval.forgetting.evaluate_tasks``)."""
    return evaluate_tasks(
        model,
        tokenizer,
        tasks,
        device=resolved["device"],
        max_new_tokens=config.forgetting.max_new_tokens,
        max_tokens=resolved["token_budget"],
    )


def add_forgetting(report, base: dict, tuned: dict, config) -> None:
    """The forgetting table (and its section) of a run that measured it, against the
    config's thresholds."""
    if "forgetting" not in base or "forgetting" not in tuned:
        return
    limits = config.forgetting
    report.forgetting = forgetting_rows(
        base["forgetting"],
        tuned["forgetting"],
        max_loss_increase=limits.max_loss_increase,
        max_accuracy_drop=limits.max_accuracy_drop,
    )
    report.sections.append(forgetting_section(report.forgetting))


# ---------------------------------------------------------------- training loop


def check_finite(loss_value: float, step: int) -> None:
    """``nan_loss`` when a step's loss is not a number: the run cannot recover from it."""
    if not math.isfinite(loss_value):
        raise TrainingError(
            f"loss became {loss_value} at step {step}; lower the learning_rate or check the data",
            code="nan_loss",
        )


def optimizer_step(params, optimizer, scheduler, config) -> float:
    """Clip the gradients to ``max_grad_norm``, step and schedule; returns the gradient norm."""
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm))
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return grad_norm


def train_loop(
    model,
    tokenizer,
    data: Prepared,
    config: SFTConfig,
    resolved: dict,
    run_dir: Path,
    progress: bool,
    on_metrics=None,
    on_checkpoint=None,
) -> dict:
    """Optimizer steps with evaluation, early stopping and checkpoints. Returns the outcome."""
    from tqdm.auto import tqdm

    device, pad = resolved["device"], tokenizer.pad_token_id
    params, optimizer, scheduler = make_optimizer(model, config, resolved)
    state, metrics = start_or_resume(run_dir, model, optimizer, scheduler, device, on_metrics)
    lengths = [len(r.input_ids) for r in data.train]
    targets = [sum(1 for x in r.labels[1:] if x != IGNORE) for r in data.train]  # as the loss
    total, every = resolved["total_steps"], resolved["eval_every"]
    budget, gc = resolved["token_budget"], resolved["gradient_checkpointing"]
    autocast = autocast_for(resolved)
    penalty = update.Penalty.for_run(model, resolved, config.tuning)  # the pull to the parent
    replay = bool(data.update.get("n_replayed"))  # with replayed rows, the KL is taken on them
    first_replayed = data.update.get("first_replayed_row", len(data.train))
    new_weight = resolved.get("new_weight", 1.0)  # the new rows' CE against a replayed row's
    mixing = penalty is not None or (replay and new_weight != 1.0)
    bar = tqdm(
        total=total, initial=state["step"], disable=not progress, unit="step", dynamic_ncols=True
    )
    stop_reason = "completed"
    model.train()
    while state["step"] < total and stop_reason == "completed":
        rows = data.epoch_rows(config.seed, state["epoch"])
        batches = [
            [rows[j] for j in b]
            for b in epoch_batches(
                [lengths[i] for i in rows], resolved["batch_size"], config.seed, state["epoch"]
            )
        ]
        while state["batch"] < len(batches) and state["step"] < total:
            started = time.perf_counter()
            step = batches[state["batch"]]
            n_tokens = sum(targets[i] for i in step)
            loss_value, pulled, seen = 0.0, 0.0, 0
            for part in token_groups(step, lengths, budget):
                batch = collate_or_pack([data.train[i] for i in part], pad, device)
                recompute = checkpointed(gc, budget, sum(lengths[i] for i in part)) if gc else None
                # held over the backward too: checkpointing recomputes the layers there
                with training_pass(model, batch, compiled=resolved["compile"], recompute=recompute):
                    with autocast:
                        weighted, extra = None, None
                        if not mixing:
                            loss_sum = trained_token_loss(model, batch)[0]
                        else:
                            replayed = [i >= first_replayed for i in part] if replay else None
                            loss_sum, weighted, extra = update.mixed_loss(
                                model, batch, replayed, penalty, new_weight
                            )
                    objective = sum(t for t in (weighted, extra) if t is not None) + loss_sum
                    # each part's share of the step's mean: the gradients sum to the whole batch's
                    (objective / max(n_tokens, 1)).backward()
                loss_value += loss_sum.item() / max(n_tokens, 1)
                pulled += 0.0 if extra is None else extra.item() / max(n_tokens, 1)
                seen += sum(lengths[i] for i in part)
            check_finite(loss_value, state["step"] + 1)
            pulled += penalty.step(model) if penalty is not None else 0.0
            grad_norm = optimizer_step(params, optimizer, scheduler, config)
            state["step"] += 1
            state["batch"] += 1
            state["trained_tokens"] += n_tokens
            tps = seen / (time.perf_counter() - started)
            metrics.write(
                {
                    "step": state["step"],
                    "epoch": state["epoch"],
                    "train_loss": round(loss_value, 4),
                    "learning_rate": scheduler.get_last_lr()[0],
                    "grad_norm": round(grad_norm, 4),
                    "tokens_per_second": round(tps, 1),
                    "tokens": seen,
                    "trained_tokens": n_tokens,
                }
                | ({"penalty": round(pulled, 5)} if penalty is not None else {})
            )
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}", tok_s=f"{tps:.0f}")
            faults.maybe_fail("step", state["step"])
            if state["step"] % every == 0 or state["step"] == total:
                stop_reason = evaluate_and_checkpoint(
                    model, optimizer, scheduler, data, config, resolved, run_dir, state, metrics
                )
                if on_checkpoint is not None:
                    on_checkpoint(ckpt.checkpoint_dir(run_dir, state["step"]))
                if stop_reason != "completed":
                    break
        else:
            state["epoch"] += 1
            state["batch"] = 0
    bar.close()
    if config.max_steps and state["step"] >= config.max_steps and stop_reason == "completed":
        stop_reason = "max_steps"
    return {"stop_reason": stop_reason, **state}


def evaluate_and_checkpoint(
    model, optimizer, scheduler, data, config, resolved, run_dir, state, metrics
) -> str:
    """Validate, track the best weights, write a checkpoint; "early_stopping" when patience ends."""
    val = evaluate_loss(
        model,
        data.val,
        pad_id=data.pad_id,
        device=resolved["device"],
        max_tokens=resolved["token_budget"],
    )
    row = {
        "valid_loss": val["loss"],
        "valid_perplexity": val["perplexity"],
        "valid_token_accuracy": val["token_accuracy"],
    }
    return checkpoint_evaluation(
        model, optimizer, scheduler, config, resolved, run_dir, state, metrics, row
    )


def checkpoint_evaluation(
    model, optimizer, scheduler, config, resolved, run_dir, state, metrics, row: dict
) -> str:
    """After a validation (``row``: its ``valid_*`` values, ``valid_loss`` the one early
    stopping watches): track the best weights, log the row, write a checkpoint; returns
    "early_stopping" when patience ends, else "completed"."""
    loss = row["valid_loss"]
    improved = state["best_loss"] is None or (
        loss < state["best_loss"] - config.early_stopping_min_delta
    )
    if improved:
        state.update(best_loss=loss, best_step=state["step"], bad_evals=0)
        save_best(run_dir, model)
    else:
        state["bad_evals"] += 1
    metrics.write({"step": state["step"], **row})
    log.info("step %d: validation loss %.4f%s", state["step"], loss, " (best)" if improved else "")
    stop = config.early_stopping_patience and state["bad_evals"] >= config.early_stopping_patience
    saved = {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng_state(resolved["device"]),
    }
    metrics.sync()
    ckpt.save_checkpoint(ckpt.checkpoint_dir(run_dir, state["step"]), model, saved, dict(state))
    ckpt.prune_checkpoints(run_dir, config.keep_checkpoints)
    return "early_stopping" if stop else "completed"


# ---------------------------------------------------------------- the recipe


@disk_full_as_error()
def run_sft(
    config: SFTConfig | None,
    *,
    resume: Path | None = None,
    progress: bool = True,
    on_metrics=None,
    on_checkpoint=None,
) -> dict:
    """Fine-tune and evaluate; returns the report (also written to the run folder). With
    ``resume`` (a run folder), ``config`` is None: the run's record holds it.

    ``on_metrics(row)`` receives every metrics.jsonl row as it is written (steps and evaluations);
    ``on_checkpoint(folder)`` each checkpoint once it is complete (older ones already pruned).
    A full disk fails the run with ``disk_full`` and leaves the previous checkpoint usable.
    """
    saved = read_run(resume) if resume is not None else None
    if saved is not None:
        config = config_from_record(saved)
    model_dir = base_model_dir(config.model)
    tokenizer = load_tokenizer(model_dir)
    context = model_context(model_dir)
    max_length = context if config.max_length == "auto" else min(config.max_length, context)
    data = prepare_data(config, tokenizer, max_length)  # fails here, before any model load
    parameters = count_safetensors_parameters(model_dir)
    n_new = data.update["first_replayed_row"] if data.update.get("n_replayed") else None
    n_epoch = len(data.epoch_rows(config.seed, 0))
    resolved = resolve_auto(config, n_epoch, max_length, parameters, n_new=n_new)
    resolved |= update.resolve_update(config, data.update)
    loop, planned = train_loop, config
    if config.privacy.dp:  # DP-SGD: its own loop (train.dp), eager layers, no recompute
        from tunelab.train import dp

        resolved |= dp.resolve_privacy(config, resolved, len(data.train))
        loop, planned = dp.train_loop, dp.plan_config(config)
    before = saved.resolved if saved else {}
    memory = plan_run_memory(planned, model_dir, data.train, resolved, before)
    if saved is None:
        run_dir = record_run(config, data, resolved, memory)
    else:
        run_dir = Path(resume)
        check_resume_data(saved, config)
    layout = RunLayout(run_dir)
    log.info("run folder: %s", run_dir)
    log.info(
        "hyperparameters (auto resolved): %s", ", ".join(f"{k} {v}" for k, v in resolved.items())
    )
    log.info("peak memory (estimated): %s", memory.describe())
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    model, tokenizer = build_model(config, resolved)
    save_model_files(model, tokenizer, config, run_dir)
    base = cached_json(
        layout.base_eval, lambda: evaluate_model(model, tokenizer, data, config, resolved)
    )
    started = time.time()
    outcome = loop(
        model, tokenizer, data, config, resolved, run_dir, progress, on_metrics, on_checkpoint
    )
    keep_best(model, tokenizer, config, run_dir)
    tuned = evaluate_model(model, tokenizer, data, config, resolved)
    stats = data.stats | {"overflow": data.overflow, "n_validation": len(data.val)}
    facts = run_facts(config, run_dir, outcome, time.time() - started, resolved, stats, memory)
    sections = [dp.privacy_section(outcome["privacy"])] if config.privacy.dp else []
    report = evaluation_report(facts, base, tuned, sections + leakage.audit_sections(base, tuned))
    report.rows += leakage.audit_rows(base, tuned)
    add_forgetting(report, base, tuned, config)
    write_report(run_dir, report)
    return report.to_dict()


def keep_best(model, tokenizer, config, run_dir: Path) -> None:
    """The best evaluation's weights back into the model, saved as the run's result."""
    best = RunLayout(run_dir).best_weights
    if best.exists():
        ckpt.restore_trainable(model, load_file(str(best)))
    save_final(model, tokenizer, config, run_dir)


def run_facts(config, run_dir, outcome: dict, seconds: float, resolved, data: dict, memory):
    """The report's facts of a finished run (any method's: ``data`` its stats)."""
    return RunFacts(
        run_dir=str(run_dir),
        model=config.model,
        method=config.method,
        tuning=config.tuning,
        steps=outcome["step"],
        stop_reason=outcome["stop_reason"],
        trained_tokens=outcome["trained_tokens"],
        train_seconds=round(seconds, 1),
        best_step=outcome["best_step"],
        best_validation_loss=outcome["best_loss"],
        resolved=resolved,
        data=data,
        memory=memory.to_dict() | {"measured_peak_bytes": process_peak_rss()},
    )


def record_run(config: SFTConfig, data: Prepared, resolved: dict, memory: MemoryPlan) -> Path:
    """A new run folder with its ``run.json``: what a resume and a reproduction need."""
    counts = {
        "n_train": len(data.train),
        "n_validation": len(data.val),
        "n_test": len(data.test_examples),
        **data.overflow,
    }
    return write_record(config, counts, resolved, memory)


def write_record(config, counts: dict, resolved: dict, memory: MemoryPlan) -> Path:
    """A new run folder with its ``run.json`` (any method's: ``counts`` of its data)."""
    run_dir = new_run_dir(config)
    record = RunRecord(
        method=config.method,
        config=config.model_dump(mode="json"),
        resolved=resolved,
        data=DataRecord(hashes=file_hashes(config), counts=counts),
        memory=memory.to_dict(),
        versions=versions(),
        created_at=datetime.now().isoformat(timespec="seconds"),
        run_dir=str(run_dir),
    )
    write_run(run_dir, record)
    return run_dir


def check_resume_data(saved: RunRecord, config: SFTConfig) -> None:
    if saved.data.hashes != file_hashes(config):
        raise ConfigError(
            "the data files changed since this run started; start a new run", code="data_changed"
        )


def save_final(model, tokenizer, config: SFTConfig, run_dir: Path) -> None:
    """The result: a LoRA adapter (PEFT format) or a full model, safetensors, with a manifest
    (verified when it is loaded), swapped in atomically."""
    with atomic_dir(RunLayout(run_dir).final, manifest=True) as tmp:
        if config.tuning == "lora":
            model.save_pretrained(str(tmp), safe_serialization=True)
        else:
            causal_lm(model).save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))


def save_model_files(model, tokenizer, config: SFTConfig, run_dir: Path) -> Path:
    """``model_files/``: what a checkpoint's weights need to load as a model (the adapter config
    or the model config, and the tokenizer), written once per run, so a checkpoint is usable
    (``jobs.runner.export_checkpoint``) before, or without, ``final/``."""
    target = RunLayout(run_dir).model_files
    if verify_manifest(target):
        return target
    with atomic_dir(target, manifest=True) as tmp:
        if config.tuning == "lora":
            adapter = copy.deepcopy(model.peft_config["default"])
            adapter.inference_mode = True  # as PEFT's save_pretrained writes it
            adapter.save_pretrained(str(tmp))
        else:
            causal_lm(model).config.save_pretrained(str(tmp))
            if causal_lm(model).generation_config is not None:
                causal_lm(model).generation_config.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
    return target
