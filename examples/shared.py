"""What the demos share: the CLI as a subprocess, and the support model of ``make demo``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = ROOT / "examples" / "support"
TUNELAB = [sys.executable, "-m", "tunelab.cli.main"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def tunelab(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``tunelab ARGS`` in a subprocess, output captured."""
    return subprocess.run([*TUNELAB, *args], capture_output=True, text=True, check=check)


def train(*args: str) -> dict:
    """``tunelab train ARGS --json``: the report (with ``model_id``); its log on failure."""
    done = tunelab("train", *args, "--no-progress", "--json", check=False)
    if done.returncode != 0:
        raise SystemExit(f"tunelab train {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def support_model() -> str:
    """The newest local version of the support demo; trains it (``make demo``) when missing."""
    versions = json.loads(tunelab("models", "list", "--json").stdout)["versions"]
    found = [v for v in versions if ":support-demo:" in v["id"] and v["method"] == "sft"]
    if found:
        return max(found, key=lambda v: v["created"])["id"]
    log("no support-demo version yet: training it (make demo's run, 5-8 minutes)")
    return train(str(SUPPORT / "config.yaml"))["model_id"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
