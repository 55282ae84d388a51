"""The update demo: teach the support model a product launch without forgetting the support facts,
and let the promotion gate tell a forgetful update from a careful one.

    make demo-update          # or: .venv/bin/python examples/launch/demo.py

v1 is the support model of ``make demo`` (the newest local ``support-demo`` version; trained first
when there is none). From it, two updates on the launch data (``examples/launch``, 10 new facts):

(a) naive continued fine-tuning on the new data only (``update.replay: 0``,
    ``update.penalty: none``), as every other tool does it;
(b) tunelab's update, with its defaults (replay of v1's training rows, the new rows' loss
    weighted to their own mean in each step, KL to v1).

Both runs evaluate, before and after training, v1's validation rows and held-out questions and
the bundled retention set, so each report holds its forgetting table. Then
``tunelab models alias set production`` is tried with each: the gate should refuse (a) and
accept (b).

Targets (issue 11): (b) learns at least 80% of the new facts and keeps at least 90% of v1's
old-fact accuracy; (a) forgets measurably more than (b); the gate refuses (a), accepts (b).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared import ROOT, log, support_model, train, tunelab  # noqa: E402

LAUNCH = ROOT / "examples" / "launch"
ALIAS = "production"


def task_row(report: dict, suffix: str) -> dict:
    """The forgetting row of the ancestor task ending in ``suffix`` (accuracy)."""
    for row in report.get("forgetting", []):
        if row["task"].endswith(suffix) and row["metric"] == "accuracy":
            return row
    raise SystemExit(f"no forgetting row for {suffix!r} in the report")


def figures(report: dict) -> dict:
    old = task_row(report, ": test")
    retention = task_row(report, "(general ability)")
    return {
        "new": report["tuned"]["test"]["accuracy"],
        "old": old["new"],
        "old_v1": old["parent"],
        "retention": retention["new"],
        "retention_v1": retention["parent"],
        "over": [r for r in report["forgetting"] if r["over"]],
    }


def gate(model_id: str) -> tuple[bool, str]:
    done = tunelab("models", "alias", "set", ALIAS, model_id, check=False)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="v1 (default: the support demo's newest version).")
    args = parser.parse_args(argv)
    started = time.time()
    v1 = args.model or support_model()
    log(f"v1: {v1}")
    config = str(LAUNCH / "config.yaml")
    log("(a) naive: continued fine-tuning on the launch data only")
    naive = train(
        config,
        "--from",
        v1,
        "--set",
        "name=launch-naive",
        "--set",
        "update.replay=0",
        "--set",
        "update.penalty=none",
    )
    log(f"    {naive['model_id']}")
    log("(b) tunelab's update: replay, new rows weighted, KL to v1 (the defaults)")
    careful = train(config, "--from", v1, "--set", "name=launch-update")
    log(f"    {careful['model_id']}")
    a, b = figures(naive), figures(careful)
    gate_a, said_a = gate(naive["model_id"])
    gate_b, said_b = gate(careful["model_id"])

    print()
    print(f"{'':44} {'new facts':>9} {'old facts':>9} {'retention':>9}  gate")
    print(f"{'v1 (support model)':44} {'':>9} {a['old_v1']:9.0%} {a['retention_v1']:9.0%}")
    for name, f, ok in (
        ("(a) naive continued fine-tuning", a, gate_a),
        ("(b) tunelab update", b, gate_b),
    ):
        verdict = "accepted" if ok else "refused"
        print(f"{name:44} {f['new']:9.0%} {f['old']:9.0%} {f['retention']:9.0%}  {verdict}")
    print()
    print(f"gate on (a): {said_a}")
    print(f"gate on (b): {said_b}")
    kept = b["old"] / b["old_v1"] if b["old_v1"] else 1.0
    met = (
        b["new"] >= 0.8
        and kept >= 0.9
        and (a["old_v1"] - a["old"]) > (b["old_v1"] - b["old"])
        and not gate_a
        and gate_b
    )
    print(
        f"targets: (b) new facts >= 80% ({b['new']:.0%}), keeps >= 90% of v1's old facts "
        f"({kept:.0%}), (a) forgets more, gate refuses (a) and accepts (b): "
        + ("met" if met else "NOT met")
    )
    print(f"wall time {time.time() - started:.0f} s")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
