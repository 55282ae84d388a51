"""The layering rule: data, store, jobs, api, cli (and the chat route's engine module) import
without torch or transformers, so the CLI and the API start fast. One subprocess per layer."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT = [
    ("tunelab.data, tunelab.data.validate, tunelab.data.stats", ("torch", "transformers", "numpy")),
    ("tunelab.store.db, tunelab.store.artifacts, tunelab.jobs.queue", ("torch", "transformers")),
    (
        "tunelab.jobs.files, tunelab.jobs.requests, tunelab.jobs.registry, tunelab.jobs.shapes, "
        "tunelab.jobs.worker, tunelab.jobs.runner",
        ("torch", "transformers"),
    ),
    (
        "tunelab.api.app, tunelab.api.routes.files, tunelab.api.routes.chat",
        ("torch", "transformers"),
    ),
    ("tunelab.serve.engine", ("torch", "transformers")),
    ("tunelab.serve.spec", ("torch", "transformers")),
    ("tunelab.serve.rows", ("torch", "transformers")),
    ("tunelab.cli.main, tunelab.models.catalog", ("torch", "transformers")),
]


@pytest.mark.parametrize(("modules", "heavy"), LIGHT)
def test_layer_imports_without_heavy_modules(modules, heavy):
    code = f"import sys, {modules}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
