"""First paint of every web UI page with 100 jobs and 50 model versions listed.

Seeds a fresh tunelab home (one dataset, 100 jobs, 50 versions in lineage chains with metrics,
5 aliases), serves the API with the UI mounted (uvicorn, in-process) and opens each page in
Chromium (Playwright, ``/usr/bin/chromium``) ``--repeats`` times in a fresh tab: the median
first-contentful-paint (``performance.getEntriesByName('first-contentful-paint')``) and, for the
lists, the time until the page shows every row it fetched ("filled"). The issue's target is a
first paint under 300 ms on these cores.

    .venv/bin/python bench/ui_paint.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TUNELAB_HOME"] = tempfile.mkdtemp(prefix="tunelab-ui-bench-")

from helpers import serve_app  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tunelab.api.app import create_app  # noqa: E402
from tunelab.jobs import aliases, files, registry, requests  # noqa: E402
from tunelab.ui import mount  # noqa: E402

BASE = "smollm2-135m-instruct"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPORT = {
    "rows": [
        {
            "metric": "validation loss",
            "key": "validation_loss",
            "base": 3.7,
            "tuned": 0.33,
            "better": "lower",
            "fmt": ".3f",
        },
        {
            "metric": "validation token accuracy",
            "key": "validation_token_accuracy",
            "base": 0.3,
            "tuned": 0.91,
            "better": "higher",
            "fmt": ".1%",
        },
    ]
}


def seed(store) -> tuple[str, str]:
    """(a file id, a job id) after writing 100 jobs and 50 versions."""
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    data = io.BytesIO((json.dumps(row) + "\n").encode() * 20)
    file = files.create_file(store, data, "support.jsonl", "fine-tune", 1 << 20)
    jobs = [
        requests.create_fine_tuning_job(
            store, model=BASE, training_file=file.id, hyperparameters={}, seed=i, suffix=f"j{i}"
        )
        for i in range(100)
    ]
    runs = Path(os.environ["TUNELAB_HOME"]) / "runs"
    parent = None
    for i in range(50):
        run_dir = runs / f"run-{i}"
        run_dir.mkdir(parents=True)
        record = {
            "method": "sft",
            "config": {"model": BASE, "tuning": "lora"},
            "resolved": {},
            "created_at": "2026-01-01T00:00:00",
            "run_dir": str(run_dir),
        }
        (run_dir / "run.json").write_text(json.dumps(record))
        (run_dir / "report.json").write_text(json.dumps(REPORT))
        model_id = f"ft:{BASE}:v{i}:{jobs[i].id}"
        parent = parent if i % 5 else None  # chains of five
        registry.register_model(
            store,
            model_id,
            job_id=jobs[i].id,
            base=BASE,
            run_dir=run_dir,
            parent=parent,
            training_file=file.id,
            report=REPORT,
        )
        parent = model_id
        if i % 10 == 0:
            aliases.set_alias(store, f"team{i}", model_id, forced=True)
    return file.id, jobs[0].id


def measure(page, url: str, filled: str | None) -> tuple[float, float | None]:
    page.goto(url)
    page.wait_for_function(
        "performance.getEntriesByName('first-contentful-paint').length > 0", timeout=30_000
    )
    paint = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
    done = None
    if filled:
        page.wait_for_function(filled, timeout=30_000)
        done = page.evaluate("performance.now()")
    return paint, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    app = mount(create_app())
    store = app.state.store
    file_id, job_id = seed(store)
    rows = "document.querySelectorAll('{} tbody tr').length >= {}"
    pages = [  # (name, path, JavaScript that is true once the data is shown)
        ("home", "/", "/^100/.test(document.getElementById('n-jobs').textContent)"),
        ("datasets", "/ui/datasets", rows.format("#files", 1)),
        ("jobs", "/ui/jobs", rows.format("#jobs", 100)),
        ("job", f"/ui/jobs/{job_id}", "document.getElementById('hyperparameters').children.length"),
        ("models", "/ui/models", rows.format("#versions", 50)),
        ("playground", "/ui/playground", "document.getElementById('m-left').options.length > 50"),
        ("feedback", "/ui/feedback", "!document.getElementById('feedback-empty').hidden"),
        # these two start a data check with the built-in model (first use converts it): last
        ("finetune", f"/ui/finetune?file={file_id}", None),
        ("dataset", f"/ui/datasets/{file_id}", None),
    ]
    with serve_app(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        # bypass_csp: wait_for_function evaluates strings, which the pages' CSP forbids
        context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        print(f"{'page':<12} {'first paint ms':>15} {'filled ms':>10}  (median of {args.repeats})")
        for name, path, filled in pages:
            paints, fills = [], []
            for _ in range(args.repeats):
                tab = context.new_page()
                paint, done = measure(tab, base + path, filled)
                paints.append(paint)
                if done is not None:
                    fills.append(done)
                tab.close()
            shown = f"{statistics.median(fills):10.0f}" if fills else f"{'-':>10}"
            print(f"{name:<12} {statistics.median(paints):15.0f} {shown}")
        browser.close()


if __name__ == "__main__":
    main()
