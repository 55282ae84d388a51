"""The layering rule: data, store, jobs, api, cli (and the chat route's engine module) import
without torch or transformers, so the CLI and the API start fast. One subprocess per layer."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT = [
    (
        "tunelab.data, tunelab.data.validate, tunelab.data.stats, tunelab.data.privacy",
        ("torch", "transformers", "numpy"),
    ),
    ("tunelab.store.db, tunelab.store.artifacts, tunelab.jobs.queue", ("torch", "transformers")),
    (
        "tunelab.jobs.files, tunelab.jobs.requests, tunelab.jobs.registry, tunelab.jobs.shapes, "
        "tunelab.jobs.worker, tunelab.jobs.runner, tunelab.jobs.feedback, tunelab.jobs.ancestry, "
        "tunelab.jobs.aliases, tunelab.eval.forgetting, tunelab.eval.compare",
        ("torch", "transformers"),
    ),
    (
        "tunelab.api.app, tunelab.api.routes.files, tunelab.api.routes.chat, "
        "tunelab.api.routes.feedback, tunelab.cli.feedback, tunelab.cli.compare",
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


# Which packages each package may import (lazily inside a function too): downward only.
# cli, api -> jobs -> train -> eval -> serve -> models -> data, store. Root modules
# (errors, settings, the version) are open to all and import no package.
ALLOWED = {
    "cli": {"ui", "api", "jobs", "train", "eval", "serve", "models", "data", "store"},
    "api": {"jobs", "serve", "models", "data", "store"},
    "ui": {"api", "jobs"},  # the web UI: pages over the API; api never imports it
    "jobs": {"train", "eval", "serve", "models", "data", "store"},
    "train": {"eval", "serve", "models", "data", "store"},  # a recipe scores with eval
    "eval": {"serve", "models", "data", "store"},  # scoring decodes as the server does
    "serve": {"models", "data", "store"},
    "models": {"data", "store"},
    "data": {"store"},
    "store": set(),
}
ROOT_MODULES = {"errors", "settings", "hosts", "__init__", "__version__"}


def package_imports() -> list[tuple[str, str, str]]:
    """(importing package, imported package, file) for every ``tunelab.<package>`` import."""
    import ast
    from pathlib import Path

    import tunelab

    root = Path(tunelab.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        source = parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "tunelab":
                    names = [f"tunelab.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                target = name.split(".")
                if target[0] == "tunelab" and len(target) > 1 and target[1] != source:
                    found.append((source, target[1], str(path.relative_to(root))))
    return found


def test_imports_go_downward_only():
    imports = package_imports()
    assert len(imports) > 50  # the scan sees the package
    wrong = [
        f"{file}: {source} imports {target}"
        for source, target, file in imports
        if target not in ROOT_MODULES
        and (source in ROOT_MODULES or target not in ALLOWED.get(source, set()))
    ]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)
    assert {s for s, _, _ in imports} - ROOT_MODULES <= set(ALLOWED), "a package not in ALLOWED"


def test_the_allowed_directions_have_no_cycle():
    from graphlib import TopologicalSorter

    order = list(TopologicalSorter(ALLOWED).static_order())  # raises CycleError on a cycle
    assert order.index("store") < order.index("models") < order.index("train") < order.index("cli")
