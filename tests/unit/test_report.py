"""The typed run report: rows (change and direction), the run's facts, samples, a method's own
sections, and one writer for report.json / report.md / loss.png that keeps report.json's keys."""

from __future__ import annotations

import json

import pytest
from helpers import write_jsonl

from tunelab.eval.report import (
    Report,
    ReportRow,
    RunFacts,
    Section,
    evaluation_report,
    evaluation_rows,
    format_summary,
    write_report,
)

# the keys report.json and run_sft's dict had before rows: other code and tests read them
OLD_KEYS = {
    "run_dir",
    "model",
    "method",
    "resolved",
    "data",
    "base",
    "tuned",
    "best_step",
    "best_validation_loss",
    "stop_reason",
    "steps",
    "trained_tokens",
    "train_seconds",
    "memory",
}


def evaluation(loss: float, accuracy: float | None, test_right: list[bool] | None = None) -> dict:
    """An evaluation shaped as ``eval.run`` makes it (``train.sft.evaluate_model``)."""
    result = {
        "validation": {
            "loss": loss,
            "perplexity": round(2.718281828**loss, 3),
            "token_accuracy": 0.5 if loss > 1 else 0.75,
            "tokens": 40,
        },
        "samples": [{"prompt": "Hi | there", "reference": "Hello.", "answer": f"\nloss {loss}"}],
    }
    if test_right is not None:
        rows = [
            {
                "line": i + 1,
                "question": f"question {i}",
                "answer": "yes" if right else "no",
                "must_contain": "yes",
                "expected": None,
                "correct": right,
            }
            for i, right in enumerate(test_right)
        ]
        result["test"] = {"accuracy": accuracy, "n": len(rows), "rows": rows}
    return result


def facts(tmp_path) -> RunFacts:
    return RunFacts(
        run_dir=str(tmp_path),
        model="tiny",
        method="lora",
        steps=6,
        stop_reason="max_steps",
        trained_tokens=1234,
        train_seconds=1.5,
        best_step=4,
        best_validation_loss=0.8,
        resolved={"epochs": 2, "batch_size": 4, "learning_rate": 0.0002, "device": "cpu"},
        data={"examples": 10, "n_validation": 2, "overflow": {"too_long": 0, "dropped": 0}},
        memory={
            "estimated_peak_bytes": 2**30,
            "measured_peak_bytes": 2**29,
            "token_budget": 512,
            "gradient_checkpointing": False,
        },
    )


@pytest.mark.parametrize(
    "row, change, improved, cells",
    [
        (ReportRow("loss", 2.0, 1.5, "lower"), -0.5, True, ("2.000", "1.500", "-0.500 (better)")),
        (ReportRow("loss", 1.5, 2.0, "lower"), 0.5, False, ("1.500", "2.000", "+0.500 (worse)")),
        (
            ReportRow("accuracy", 0.25, 0.75, "higher", ".1%"),
            0.5,
            True,
            ("25.0%", "75.0%", "+50.0% (better)"),
        ),
        (
            ReportRow("accuracy", 0.75, 0.5, "higher", ".1%"),
            -0.25,
            False,
            ("75.0%", "50.0%", "-25.0% (worse)"),
        ),
        (ReportRow("accuracy", 0.5, 0.5, "higher"), 0.0, False, ("0.500", "0.500", "same")),
        (ReportRow("accuracy", None, 0.5, "higher"), None, None, ("-", "0.500", "-")),
    ],
)
def test_a_row_knows_its_change_and_whether_it_is_better(row, change, improved, cells):
    assert row.change == pytest.approx(change) if change is not None else row.change is None
    assert row.improved is improved
    assert row.cells() == (row.metric, *cells)
    assert ReportRow.from_dict(row.to_dict()) == row
    assert row.to_dict()["change"] == row.change and row.to_dict()["better"] == row.better


def test_rows_from_evaluations():
    base, tuned = evaluation(2.0, 0.25, [False, True]), evaluation(0.5, 1.0, [True, True])
    rows = {r.metric: r for r in evaluation_rows(base, tuned)}
    assert list(rows) == [
        "validation loss",
        "validation perplexity",
        "validation token accuracy",
        "held-out test accuracy (2 questions)",
    ]
    assert (rows["validation loss"].change, rows["validation loss"].improved) == (-1.5, True)
    assert rows["validation perplexity"].better == "lower"
    assert rows["validation token accuracy"].change == pytest.approx(0.25)
    assert [r.key for r in rows.values()] == [
        "validation_loss",
        "validation_perplexity",
        "validation_token_accuracy",
        "test_accuracy",
    ]
    held_out = rows["held-out test accuracy (2 questions)"]
    assert (held_out.base, held_out.tuned, held_out.better, held_out.improved) == (
        0.25,
        1.0,
        "higher",
        True,
    )
    # no test file, or nothing scored in it: no held-out row
    assert len(evaluation_rows(evaluation(2.0, None), evaluation(1.0, None))) == 3
    unscored = evaluation_rows(evaluation(2.0, None, []), evaluation(1.0, None, []))
    assert [r.metric for r in unscored][-1] == "validation token accuracy"


def test_the_writer_keeps_the_old_keys_and_renders_rows_samples_and_facts(tmp_path):
    metrics = [{"step": s, "train_loss": 2.0 - s / 10} for s in range(1, 7)]
    write_jsonl(tmp_path / "metrics.jsonl", metrics + [{"step": 4, "valid_loss": 0.8}])
    base, tuned = evaluation(2.0, 0.5, [False, True]), evaluation(0.8, 1.0, [True, True])
    report = evaluation_report(facts(tmp_path), base, tuned)
    write_report(tmp_path, report)

    saved = json.loads((tmp_path / "report.json").read_text())
    assert OLD_KEYS <= set(saved) and {"rows", "samples", "sections"} <= set(saved)
    assert saved["base"] == base and saved["tuned"] == tuned and saved["trained_tokens"] == 1234
    assert saved["memory"]["measured_peak_bytes"] == 2**29
    assert saved["rows"][0] == {
        "metric": "validation loss",
        "base": 2.0,
        "tuned": 0.8,
        "better": "lower",
        "fmt": ".3f",
        "key": "validation_loss",
        "change": -1.2,
        "improved": True,
    }
    assert Report.from_dict(saved) == report
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"

    md = (tmp_path / "report.md").read_text()
    assert "# Fine-tuning report: tiny (lora)" in md
    assert "| metric | base | tuned | change |" in md
    assert "| validation loss | 2.000 | 0.800 | -1.200 (better) |" in md
    assert "| held-out test accuracy (2 questions) | 50.0% | 100.0% | +50.0% (better) |" in md
    assert "- best step 4 of 6; stop reason: max_steps" in md
    assert "learning rate 0.0002, device cpu" in md
    assert "estimated 1.00 GB, measured 0.50 GB" in md
    assert "- base: loss 2.0" in md and "- tuned: loss 0.8" in md  # answers as served, trimmed
    assert "## Held-out questions" in md and "| question 0 | yes | no | yes: yes |" in md


def test_a_method_adds_its_own_section_without_changing_the_writer(tmp_path):
    report = evaluation_report(facts(tmp_path), evaluation(2.0, None), evaluation(1.0, None))
    report.rows.append(ReportRow("reward accuracy", 0.5, 0.9, "higher", ".0%"))
    margins = Section(
        "Reward margins", ["pair", "chosen | rejected", "margin"], [[1, "a | b", 0.42]], "Per pair."
    )
    report.sections.append(margins)
    write_report(tmp_path, report)
    md = (tmp_path / "report.md").read_text()
    assert "| reward accuracy | 50% | 90% | +40% (better) |" in md
    section = md[md.index("## Reward margins") :]
    assert section.splitlines()[2] == "Per pair."
    assert "| pair | chosen \\| rejected | margin |" in section
    assert "| 1 | a \\| b | 0.42 |" in section
    assert "Held-out questions" not in md  # no test file
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["sections"] == [
        {
            "title": "Reward margins",
            "columns": ["pair", "chosen | rejected", "margin"],
            "rows": [[1, "a | b", 0.42]],
            "text": "Per pair.",
        }
    ]
    assert saved["rows"][-1]["metric"] == "reward accuracy"


def test_the_terminal_summary_reads_a_report_its_dict_and_an_old_report_json(tmp_path):
    base, tuned = evaluation(2.0, 0.5, [False, True]), evaluation(0.8, 1.0, [True, True])
    report = evaluation_report(facts(tmp_path), base, tuned)
    summary = format_summary(report)
    assert summary == format_summary(report.to_dict())
    old = {k: v for k, v in report.to_dict().items() if k in OLD_KEYS}  # written before rows
    assert format_summary(old) == summary
    assert "held-out test accuracy (2 questions)" in summary and "+50.0% (better)" in summary
    assert "method lora, 2 epochs planned, batch 4, learning rate 0.0002" in summary
    assert "steps 6, best step 4, stop: max_steps, trained tokens 1234" in summary
