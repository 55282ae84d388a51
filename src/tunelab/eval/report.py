"""The run report every training method fills: rows of (metric, base, tuned, change), the run's
facts, sample answers and any titled tables a method adds (``Section``). One writer renders it to
report.json (machine-readable), report.md (for people) and loss.png; ``format_summary`` prints it.

A method builds a ``Report`` from its facts and evaluations and may append its own sections:

    report = evaluation_report(facts, base, tuned)
    report.sections.append(Section("Reward margins", ["pair", "margin"], [["1", "0.42"]]))
    write_report(run_dir, report)

report.json keeps the keys it always had (``run_dir``, ``steps``, ``trained_tokens``, ``base``,
``tuned``, ``memory``, ...) and adds ``rows``, ``samples`` and ``sections``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tunelab.store.atomic import atomic_path, write_text_atomic


@dataclass
class ReportRow:
    """One metric of the base model and the tuned one; ``better`` says which way improves it.
    ``metric`` is shown to people; ``key`` names it for programs (default: ``metric`` in
    snake case)."""

    metric: str
    base: float | None
    tuned: float | None
    better: str = "lower"  # "lower" | "higher"
    fmt: str = ".3f"  # format spec of the values (and of the change), e.g. ".1%"
    key: str = ""

    def __post_init__(self) -> None:
        self.key = self.key or re.sub(r"[^a-z0-9]+", "_", self.metric.lower()).strip("_")

    @property
    def change(self) -> float | None:
        """tuned - base (None when either is missing)."""
        if self.base is None or self.tuned is None:
            return None
        return round(self.tuned - self.base, 6)

    @property
    def improved(self) -> bool | None:
        change = self.change
        if change is None:
            return None
        return change < 0 if self.better == "lower" else change > 0

    def cells(self) -> tuple[str, str, str, str]:
        """(metric, base, tuned, change) as text; the change says whether it is better."""
        base, tuned = (("-" if v is None else f"{v:{self.fmt}}") for v in (self.base, self.tuned))
        change = self.change
        if change is None:
            delta = "-"
        elif change == 0:
            delta = "same"
        else:
            delta = f"{change:+{self.fmt}} ({'better' if self.improved else 'worse'})"
        return self.metric, base, tuned, delta

    def to_dict(self) -> dict:
        return asdict(self) | {"change": self.change, "improved": self.improved}

    @classmethod
    def from_dict(cls, values: dict) -> ReportRow:
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


@dataclass
class Sample:
    """A prompt, its reference answer, and what the base and the tuned model answered."""

    prompt: str
    reference: str
    base: str
    tuned: str


@dataclass
class Section:
    """A titled table (and optional text) a method adds to its report; rendered after the
    generic parts, cells shown as text."""

    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    text: str = ""


@dataclass
class RunFacts:
    """What every run reports about itself, whatever its method."""

    run_dir: str
    model: str
    method: str
    steps: int
    stop_reason: str
    trained_tokens: int
    train_seconds: float
    best_step: int | None = None
    best_validation_loss: float | None = None
    resolved: dict = field(default_factory=dict)  # every ``auto`` resolved: hyperparameters
    data: dict = field(default_factory=dict)  # data stats (counts, tokens, overflow)
    memory: dict | None = None  # estimated and measured peak
    tuning: str | None = None  # what trained: "lora" adapters or the "full" weights

    def title(self) -> str:
        """``sft, lora``: the method and, where it has one, what it trained."""
        return f"{self.method}, {self.tuning}" if self.tuning else self.method


@dataclass
class Report:
    """A run's report. ``base`` / ``tuned``: the method's whole evaluations, kept in report.json
    under those keys; ``rows``, ``samples`` and ``sections`` are what the writer renders."""

    facts: RunFacts
    rows: list[ReportRow]
    samples: list[Sample] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    base: dict = field(default_factory=dict)
    tuned: dict = field(default_factory=dict)
    forgetting: list[dict] = field(default_factory=list)  # eval.forgetting's rows, per task

    def to_dict(self) -> dict:
        return asdict(self.facts) | {
            "base": self.base,
            "tuned": self.tuned,
            "rows": [r.to_dict() for r in self.rows],
            "samples": [asdict(s) for s in self.samples],
            "sections": [asdict(s) for s in self.sections],
            "forgetting": self.forgetting,
        }

    @classmethod
    def from_dict(cls, values: dict) -> Report:
        """From report.json (or ``run_sft``'s dict); one written before rows existed gets them
        from its evaluations."""
        facts = RunFacts(**{f.name: values[f.name] for f in fields(RunFacts) if f.name in values})
        base, tuned = values.get("base") or {}, values.get("tuned") or {}
        rows = [ReportRow.from_dict(r) for r in values.get("rows") or []]
        samples = [Sample(**s) for s in values.get("samples") or []]
        if "rows" not in values:
            rows, samples = evaluation_rows(base, tuned), sample_pairs(base, tuned)
        sections = [Section(**s) for s in values.get("sections") or []]
        forgetting = list(values.get("forgetting") or [])
        return cls(facts, rows, samples, sections, base, tuned, forgetting)


# ---------------------------------------------------------------- from eval.run's evaluations


def evaluation_rows(base: dict, tuned: dict) -> list[ReportRow]:
    """Rows from two evaluations shaped as ``eval.run`` makes them: ``validation`` (loss,
    perplexity, token accuracy) and ``test`` (held-out answer accuracy), each if present."""
    rows = []
    b, t = base.get("validation"), tuned.get("validation")
    if b and t:
        rows += [
            ReportRow("validation loss", b["loss"], t["loss"], "lower", ".3f"),
            ReportRow("validation perplexity", b["perplexity"], t["perplexity"], "lower", ".2f"),
            ReportRow(
                "validation token accuracy",
                b["token_accuracy"],
                t["token_accuracy"],
                "higher",
                ".1%",
            ),
        ]
    b, t = base.get("test"), tuned.get("test")
    if b and t and b["accuracy"] is not None:
        metric = f"held-out test accuracy ({b['n']} questions)"
        rows.append(
            ReportRow(metric, b["accuracy"], t["accuracy"], "higher", ".1%", "test_accuracy")
        )
    return rows


def sample_pairs(base: dict, tuned: dict) -> list[Sample]:
    pairs = zip(base.get("samples", []), tuned.get("samples", []), strict=True)
    return [Sample(b["prompt"], b["reference"], b["answer"], t["answer"]) for b, t in pairs]


def _mark(row: dict) -> str:
    return "yes" if row["correct"] else "no"


def held_out_section(base: dict, tuned: dict) -> Section | None:
    """The held-out questions, each marked right or wrong for both models."""
    if "test" not in base or "test" not in tuned:
        return None
    rows = []
    for b, t in zip(base["test"]["rows"], tuned["test"]["rows"], strict=True):
        key = t["must_contain"] or t["expected"]
        rows.append([t["question"], key, _mark(b), f"{_mark(t)}: {t['answer'].strip()[:80]}"])
    return Section("Held-out questions", ["question", "must contain", "base", "tuned"], rows)


def evaluation_report(
    facts: RunFacts, base: dict, tuned: dict, sections: list[Section] | None = None
) -> Report:
    """The report of a run evaluated with ``eval.run`` before and after training; ``sections``
    (a method's own tables) come after the held-out questions."""
    held_out = held_out_section(base, tuned)
    extra = ([held_out] if held_out else []) + list(sections or [])
    return Report(
        facts, evaluation_rows(base, tuned), sample_pairs(base, tuned), extra, base, tuned
    )


# ---------------------------------------------------------------- the writer


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


def _as_report(report: Report | dict) -> Report:
    return report if isinstance(report, Report) else Report.from_dict(report)


def _hyperparameters(resolved: dict) -> str:
    """Every resolved value, whatever the method: ``learning rate 0.0002, batch size 8, ...``."""
    return ", ".join(
        f"{k.replace('_', ' ')} {f'{v:.3g}' if isinstance(v, float) else v}"
        for k, v in resolved.items()
    )


def format_summary(report: Report | dict) -> str:
    """A plain-text table for the terminal (``run_sft``'s dict or a ``Report``)."""
    report = _as_report(report)
    facts, res = report.facts, report.facts.resolved
    table = [("metric", "base", "tuned", "change"), *(r.cells() for r in report.rows)]
    width = max(len(r[0]) for r in table)
    lines = [f"{m:<{width}}  {b:>9}  {t:>9}  {c}" for m, b, t, c in table]
    lines.insert(1, "-" * len(lines[0]))
    plan = [f"method {facts.title()}"]
    plan += [f"{res['epochs']} epochs planned"] if "epochs" in res else []
    plan += [f"batch {res['batch_size']}"] if "batch_size" in res else []
    plan += [f"learning rate {res['learning_rate']:.2g}"] if "learning_rate" in res else []
    plan += [f"device {res['device']} ({res.get('dtype')})"] if "device" in res else []
    lines += [
        "",
        ", ".join(plan),
        f"steps {facts.steps}, best step {facts.best_step}, stop: {facts.stop_reason}, "
        f"trained tokens {facts.trained_tokens}, training time {facts.train_seconds} s",
        f"run folder: {facts.run_dir}",
    ]
    return "\n".join(lines)


def _memory_line(memory: dict | None) -> list[str]:
    if not memory or "measured_peak_bytes" not in memory:
        return []
    gb = 2**30
    gc = memory.get("checkpointing") or ("on" if memory.get("gradient_checkpointing") else "off")
    return [
        f"- peak memory: estimated {memory['estimated_peak_bytes'] / gb:.2f} GB, measured "
        f"{memory['measured_peak_bytes'] / gb:.2f} GB (resident); token budget "
        f"{memory.get('token_budget')} tokens per forward, gradient checkpointing {gc}"
    ]


def _data_line(data: dict) -> list[str]:
    if not data:
        return []
    over = data.get("overflow") or {}
    return [
        f"- data: {data.get('examples')} training examples, {data.get('n_validation')} "
        f"validation; {data.get('tokens_total', '?')} tokens, "
        f"{data.get('tokens_trained', '?')} trained on per epoch; over max_length: "
        f"{over.get('too_long', 0)} (dropped {over.get('dropped', 0)}, truncated "
        f"{over.get('truncated', 0)}); duplicates {over.get('duplicates', 0)}; long texts split "
        f"into windows: {over.get('windowed', 0)}"
    ]


def _cell(value) -> str:
    return str(value).strip().replace("|", "\\|").replace("\n", " ")


def _table(columns: list[str], rows: list, align: list[str] | None = None) -> list[str]:
    align = align or ["---"] * len(columns)
    out = [f"| {' | '.join(_cell(c) for c in columns)} |", f"| {' | '.join(align)} |"]
    return out + [f"| {' | '.join(_cell(c) for c in row)} |" for row in rows]


def _samples(samples: list[Sample]) -> list[str]:
    out = ["## Sample generations", ""]
    for s in samples:
        out += [
            f"**Prompt:** {s.prompt}",
            "",
            f"- reference: {s.reference}",
            f"- base: {s.base.strip()}",
            f"- tuned: {s.tuned.strip()}",
            "",
        ]
    return out


def render_markdown(report: Report) -> str:
    facts = report.facts
    out = [f"# Fine-tuning report: {facts.model} ({facts.title()})", ""]
    rows = [r.cells() for r in report.rows]
    out += _table(["metric", "base", "tuned", "change"], rows, ["---", "---:", "---:", "---:"])
    out += [
        "",
        "![loss curves](loss.png)",
        "",
        f"- best step {facts.best_step} of {facts.steps}; stop reason: {facts.stop_reason}",
        f"- trained tokens {facts.trained_tokens}, training time {facts.train_seconds} s",
        f"- resolved hyperparameters: {_hyperparameters(facts.resolved)}",
        *_data_line(facts.data),
        *_memory_line(facts.memory),
        "",
    ]
    if report.samples:
        out += _samples(report.samples)
    for section in report.sections:
        out += [f"## {section.title}", ""]
        out += [section.text, ""] if section.text else []
        out += [*_table(section.columns, section.rows), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def write_report(run_dir: Path, report: Report | dict) -> None:
    """report.json, report.md and loss.png (from metrics.jsonl) in ``run_dir``."""
    report = _as_report(report)
    plot_losses(read_metrics(run_dir), run_dir / "loss.png", report.facts.best_step)
    write_text_atomic(run_dir / "report.json", json.dumps(report.to_dict(), indent=1))
    write_text_atomic(run_dir / "report.md", render_markdown(report))
