"""Forgetting: what an update lost against its parent, task by task.

An update trains from its parent's weights, so the parent is the run's starting model: every
task is evaluated before training (the parent) and after (the new version) in the same run.
The tasks are

- each ancestor's validation set (its ``validation_file``, or the seeded split of its training
  file it validated on) as loss, and its held-out test file as answer accuracy;
- the general-ability retention set bundled with tunelab (``eval.retention``): questions the
  base answers right (accuracy) and plain prose (loss).

Forgetting on a task is the loss increase (new - parent, in nats per token) and the accuracy
drop (parent - new, in points). A task is over the threshold when the loss grows by more than
``max_loss_increase`` or the accuracy falls by more than ``max_accuracy_drop``; the promotion
gate (``tunelab models alias set``) refuses a version with any task over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tunelab.data.render import render_example
from tunelab.data.split import split_examples
from tunelab.data.validate import load_examples
from tunelab.eval.report import Section
from tunelab.eval.retention import retention_questions, retention_texts

RETENTION = "retention (general ability)"


@dataclass
class Task:
    """One thing the new version should still do: examples for loss, questions to answer."""

    name: str
    loss_examples: list = field(default_factory=list)
    questions: list = field(default_factory=list)


def ancestor_tasks(ancestor: dict) -> list[Task]:
    """An ancestor's tasks from what its run recorded: ``model`` (its id), ``train_file``,
    ``validation_file``, ``test_file``, ``seed``, ``validation_fraction``. A file that is gone
    is skipped (the registry keeps hashes, not copies, of local runs' files)."""
    name = ancestor.get("name") or ancestor["model"]
    tasks = []
    validation = ancestor.get("validation_file")
    if validation and Path(validation).exists():
        examples = load_examples(validation)
    elif ancestor.get("train_file") and Path(ancestor["train_file"]).exists():
        _, examples = split_examples(
            load_examples(ancestor["train_file"]),
            seed=ancestor.get("seed", 42),
            fraction=ancestor.get("validation_fraction", 0.1),
        )
    else:
        examples = []
    if examples:
        tasks.append(Task(f"{name}: validation", loss_examples=examples))
    test = ancestor.get("test_file")
    if test and Path(test).exists():
        questions = [e for e in load_examples(test, purpose="eval") if _scored(e)]
        if questions:
            tasks.append(Task(f"{name}: test", questions=questions))
    return tasks


def retention_task() -> Task:
    return Task(RETENTION, loss_examples=retention_texts(), questions=retention_questions())


def _scored(example) -> bool:
    return "must_contain" in example.meta or "expected" in example.meta


def evaluate_tasks(
    model, tokenizer, tasks: list[Task], *, device="cpu", max_new_tokens=40, max_tokens=4096
) -> dict:
    """Each task's loss (on its loss examples) and accuracy (on its questions), by name."""
    from tunelab.eval.run import evaluate_loss, score_examples  # torch: the gate needs none

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    results = {}
    for task in tasks:
        result: dict = {}
        rendered = [render_example(tokenizer, e) for e in task.loss_examples]
        rendered = [r for r in rendered if r.n_trained > 0]
        if rendered:
            loss = evaluate_loss(model, rendered, pad_id=pad, device=device, max_tokens=max_tokens)
            result["loss"] = loss["loss"]
        if task.questions:
            scored = score_examples(
                model, tokenizer, task.questions, max_new_tokens=max_new_tokens, device=device
            )
            result["accuracy"], result["n"] = scored["accuracy"], scored["n"]
        results[task.name] = result
    return results


def forgetting_rows(
    parent: dict, new: dict, *, max_loss_increase: float, max_accuracy_drop: float
) -> list[dict]:
    """One row per task and metric: parent, new, change, forgetting, over the threshold."""
    rows = []
    for name, before in parent.items():
        after = new.get(name, {})
        for metric, limit in (("loss", max_loss_increase), ("accuracy", max_accuracy_drop)):
            if before.get(metric) is None or after.get(metric) is None:
                continue
            change = after[metric] - before[metric]
            forgot = change if metric == "loss" else -change  # loss up / accuracy down
            rows.append(
                {
                    "task": name,
                    "metric": metric,
                    "parent": before[metric],
                    "new": after[metric],
                    "change": round(change, 4),
                    "threshold": limit,
                    "over": forgot > limit + 1e-9,
                }
            )
    return rows


def describe_row(row: dict) -> str:
    """``old facts: test accuracy 95.0% -> 60.0% (down 35.0 points; threshold 5.0)``."""
    if row["metric"] == "accuracy":
        values = f"{row['parent']:.1%} -> {row['new']:.1%}"
        amount = f"down {-row['change'] * 100:.1f} points; threshold {row['threshold'] * 100:.1f}"
    else:
        values = f"{row['parent']:.3f} -> {row['new']:.3f}"
        amount = f"up {row['change']:.3f}; threshold {row['threshold']:.3f}"
    return f"{row['task']}: {row['metric']} {values} ({amount})"


def over_threshold(rows: list[dict]) -> list[str]:
    """What the promotion gate refuses a version for: the rows over, described."""
    return [describe_row(r) for r in rows if r["over"]]


def forgetting_section(rows: list[dict]) -> Section:
    def shown(row: dict, key: str) -> str:
        value = row[key]
        return f"{value:.1%}" if row["metric"] == "accuracy" else f"{value:.4f}"

    table = [
        [
            r["task"],
            r["metric"],
            shown(r, "parent"),
            shown(r, "new"),
            f"{r['change'] * 100:+.1f} pts" if r["metric"] == "accuracy" else f"{r['change']:+.4f}",
            "OVER" if r["over"] else "ok",
        ]
        for r in rows
    ]
    over = over_threshold(rows)
    text = "Evaluated before training (the parent) and after (the new version). " + (
        f"Over the threshold: {'; '.join(over)}." if over else "No task is over the threshold."
    )
    return Section(
        "Forgetting", ["task", "metric", "parent", "new", "change", "verdict"], table, text
    )
