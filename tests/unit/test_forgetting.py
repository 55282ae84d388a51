"""Forgetting: tasks from an ancestor's files and the retention set, the table, the verdicts."""

from __future__ import annotations

from helpers import toy_rows, write_jsonl

from tunelab.eval.forgetting import (
    RETENTION,
    ancestor_tasks,
    evaluate_tasks,
    forgetting_rows,
    forgetting_section,
    over_threshold,
    retention_task,
)
from tunelab.eval.retention import QUESTIONS, TEXTS


def test_rows_say_what_was_forgotten_and_what_is_over_the_threshold():
    parent = {"old: test": {"accuracy": 0.95}, "old: validation": {"loss": 0.30}, RETENTION: {}}
    parent[RETENTION] = {"loss": 3.50, "accuracy": 1.0}
    new = {"old: test": {"accuracy": 0.60}, "old: validation": {"loss": 0.35}}
    new[RETENTION] = {"loss": 3.90, "accuracy": 0.98}
    rows = forgetting_rows(parent, new, max_loss_increase=0.25, max_accuracy_drop=0.05)
    by = {(r["task"], r["metric"]): r for r in rows}
    assert (
        by[("old: test", "accuracy")]["over"] and by[("old: test", "accuracy")]["change"] == -0.35
    )
    assert not by[("old: validation", "loss")]["over"]  # up 0.05, under 0.25
    assert by[(RETENTION, "loss")]["over"] and not by[(RETENTION, "accuracy")]["over"]
    over = over_threshold(rows)
    assert over[0] == "old: test: accuracy 95.0% -> 60.0% (down 35.0 points; threshold 5.0)"
    assert over[1].startswith(f"{RETENTION}: loss 3.500 -> 3.900 (up 0.400")
    section = forgetting_section(rows)
    assert [row[-1] for row in section.rows].count(
        "OVER"
    ) == 2 and "Over the threshold" in section.text
    better = forgetting_rows(parent, parent, max_loss_increase=0.25, max_accuracy_drop=0.05)
    assert not over_threshold(better) and "No task is over" in forgetting_section(better).text


def test_an_ancestors_tasks_come_from_its_files_and_the_split_it_validated_on(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", toy_rows(40))
    test = write_jsonl(
        tmp_path / "test.jsonl",
        [{"messages": r["messages"][:2], "must_contain": "code"} for r in toy_rows(3)],
    )
    tasks = ancestor_tasks(
        {"model": "ft:x:v1", "train_file": str(train), "test_file": str(test), "seed": 3}
    )
    assert [t.name for t in tasks] == ["ft:x:v1: validation", "ft:x:v1: test"]
    assert len(tasks[0].loss_examples) == 5 and len(tasks[1].questions) == 3  # 10%, at least 5
    again = ancestor_tasks({"model": "ft:x:v1", "train_file": str(train), "seed": 3})
    assert [e.line for e in again[0].loss_examples] == [e.line for e in tasks[0].loss_examples]
    assert ancestor_tasks({"model": "gone", "train_file": str(tmp_path / "no.jsonl")}) == []


def test_tasks_are_evaluated_for_loss_and_accuracy(tiny_model_dir, tmp_path):
    from tunelab.models.load import load_any

    model, tokenizer = load_any(str(tiny_model_dir))
    retention = retention_task()
    assert len(retention.questions) == len(QUESTIONS) and len(retention.loss_examples) == len(TEXTS)
    retention.questions = retention.questions[:2]  # keep it fast on the tiny model
    results = evaluate_tasks(model, tokenizer, [retention], max_new_tokens=2)
    assert results[RETENTION]["loss"] > 0 and results[RETENTION]["n"] == 2
    assert 0 <= results[RETENTION]["accuracy"] <= 1
