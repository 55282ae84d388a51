"""The run report: report.json (machine-readable), report.md (for people) and loss.png."""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.store.atomic import atomic_path, write_text_atomic


def read_metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_losses(metrics: list[dict], path: Path, best_step: int | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(m["step"], m["train_loss"]) for m in metrics if "train_loss" in m]
    valid = [(m["step"], m["valid_loss"]) for m in metrics if "valid_loss" in m]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", alpha=0.6)
    if valid:
        ax.plot(*zip(*valid, strict=True), "o-", label="validation loss")
    if best_step:
        ax.axvline(best_step, color="grey", linestyle="--", label=f"best (step {best_step})")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def summary_rows(report: dict) -> list[tuple[str, str, str]]:
    """(metric, base, tuned) rows shown in the terminal and in report.md."""
    base, tuned = report["base"], report["tuned"]
    rows = [
        (
            "validation loss",
            f"{base['validation']['loss']:.3f}",
            f"{tuned['validation']['loss']:.3f}",
        ),
        (
            "validation perplexity",
            f"{base['validation']['perplexity']:.2f}",
            f"{tuned['validation']['perplexity']:.2f}",
        ),
        (
            "validation token accuracy",
            f"{base['validation']['token_accuracy']:.1%}",
            f"{tuned['validation']['token_accuracy']:.1%}",
        ),
    ]
    if "test" in base and base["test"]["accuracy"] is not None:
        rows.append(
            (
                f"held-out test accuracy ({base['test']['n']} questions)",
                f"{base['test']['accuracy']:.1%}",
                f"{tuned['test']['accuracy']:.1%}",
            )
        )
    return rows


def format_summary(report: dict) -> str:
    """A plain-text table for the terminal."""
    rows = [("metric", "base", "tuned"), *summary_rows(report)]
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>9}  {r[2]:>9}" for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    res = report["resolved"]
    lines += [
        "",
        f"method {report['method']}, {res['epochs']} epochs planned, batch {res['batch_size']}, "
        f"learning rate {res['learning_rate']:.2g}, device {res['device']} ({res['dtype']})",
        f"steps {report['steps']}, best step {report['best_step']}, stop: {report['stop_reason']}, "
        f"trained tokens {report['trained_tokens']}, training time {report['train_seconds']} s",
        f"run folder: {report['run_dir']}",
    ]
    return "\n".join(lines)


def _memory_line(memory: dict | None) -> list[str]:
    if not memory:
        return []
    gb = 2**30
    gc = memory.get("checkpointing") or ("on" if memory["gradient_checkpointing"] else "off")
    return [
        f"- peak memory: estimated {memory['estimated_peak_bytes'] / gb:.2f} GB, measured "
        f"{memory['measured_peak_bytes'] / gb:.2f} GB (resident); token budget "
        f"{memory['token_budget']} tokens per forward, gradient checkpointing {gc}"
    ]


def _data_line(data: dict) -> str:
    over = data["overflow"]
    return (
        f"- data: {data.get('examples')} training examples, {data['n_validation']} "
        f"validation; {data.get('tokens_total', '?')} tokens, "
        f"{data.get('tokens_trained', '?')} trained on per epoch; over max_length: "
        f"{over['too_long']} (dropped {over['dropped']}, truncated {over['truncated']}); "
        f"duplicates {over['duplicates']}; long texts split into windows: "
        f"{over.get('windowed', 0)}"
    )


def _markdown(report: dict) -> str:
    out = [
        f"# Fine-tuning report: {report['model']} ({report['method']})",
        "",
        "| metric | base | tuned |",
        "| --- | ---: | ---: |",
    ]
    out += [f"| {m} | {b} | {t} |" for m, b, t in summary_rows(report)]
    res = report["resolved"]
    out += [
        "",
        "![loss curves](loss.png)",
        "",
        f"- best step {report['best_step']} of {report['steps']}; stop reason: "
        f"{report['stop_reason']}",
        f"- resolved hyperparameters: epochs {res['epochs']}, batch size {res['batch_size']}, "
        f"learning rate {res['learning_rate']:.3g}, eval every {res['eval_every']} steps, "
        f"device {res['device']}, dtype {res['dtype']}",
        _data_line(report["data"]),
        *_memory_line(report.get("memory")),
        "",
        "## Sample generations",
        "",
    ]
    for b, t in zip(report["base"]["samples"], report["tuned"]["samples"], strict=True):
        out += [
            f"**Prompt:** {b['prompt']}",
            "",
            f"- reference: {b['reference']}",
            f"- base: {b['answer']}",
            f"- tuned: {t['answer']}",
            "",
        ]
    if "test" in report["tuned"]:
        out += [
            "## Held-out questions",
            "",
            "| question | must contain | base | tuned |",
            "| --- | --- | --- | --- |",
        ]
        for b, t in zip(
            report["base"]["test"]["rows"], report["tuned"]["test"]["rows"], strict=True
        ):
            key = t["must_contain"] or t["expected"]
            out.append(
                f"| {t['question']} | {key} | {'yes' if b['correct'] else 'no'} | "
                f"{'yes' if t['correct'] else 'no'}: {t['answer'][:80]} |"
            )
    return "\n".join(out) + "\n"


def write_report(run_dir: Path, report: dict) -> None:
    plot_losses(read_metrics(run_dir), run_dir / "loss.png", report.get("best_step"))
    write_text_atomic(run_dir / "report.json", json.dumps(report, indent=1))
    write_text_atomic(run_dir / "report.md", _markdown(report))
