"""What a model version records, read from its run folder: the run record (method, config,
resolved values, data hashes), the report's metrics as ``{metric, key, base, tuned, change,
better}`` rows, its artifacts and their size on disk. Torch-free; no database access.

``read_run_record`` is the registry's only reader of ``run.json`` (``store.runs``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tunelab.jobs.pii import read_summary
from tunelab.settings import home_dir
from tunelab.store.atomic import OLD_PREFIX, TEMP_PREFIX
from tunelab.store.runs import (
    ADAPTER_CONFIG,
    BEST_WEIGHTS,
    CHECKPOINTS,
    EXPORTS,
    FINAL,
    MODEL_FILES,
    REPORT,
    final_dir,
    read_run,
)

PARENT_MARKER = "tunelab-parent.json"  # in a merged base folder: the version it came from
MERGED_PARENT = "base"  # a LoRA parent merged into its base for a job (jobs.runner)
# What of a run holds weights (what deleting a version removes); the rest (run.json, report.*,
# metrics.jsonl, loss.png, base_eval.json, data/) is its history.
WEIGHT_ARTIFACTS = (FINAL, EXPORTS, CHECKPOINTS, MERGED_PARENT, MODEL_FILES, BEST_WEIGHTS)
ROW_KEYS = ("metric", "key", "base", "tuned", "change", "better")


def read_run_record(run_dir: Path) -> dict:
    """``{"method", "config", "resolved", "hashes"}`` of a run's record."""
    run = read_run(Path(run_dir))
    return {
        "method": run.method,
        "config": run.config,
        "resolved": run.resolved,
        "hashes": run.data.hashes,
    }


def metric_rows(report: dict | None) -> list[dict]:
    """A report's metrics as ``[{metric, key, base, tuned, change, better}]``: its ``rows`` when
    it has them, else from its ``base`` and ``tuned`` evaluations."""
    report = report or {}
    if isinstance(report.get("rows"), list):
        return [{k: r.get(k) for k in ROW_KEYS} for r in report["rows"] if isinstance(r, dict)]
    from tunelab.eval.report import evaluation_rows

    rows = evaluation_rows(report.get("base") or {}, report.get("tuned") or {})
    return [{k: row.to_dict()[k] for k in ROW_KEYS} for row in rows]


def version_record(run_dir: Path, report: dict | None = None) -> dict:
    """The ``models`` columns a run folder gives: method, tuning, config, data hashes, metrics,
    report location, artifacts and size on disk. ``report`` defaults to its report.json."""
    run = read_run_record(run_dir)
    report_path = run_dir / REPORT
    if not isinstance(report, dict) and report_path.exists():  # none given, or a typed report
        report = json.loads(report_path.read_text(encoding="utf-8"))
    return {
        "method": run["method"],
        "tuning": run["config"].get("tuning") or _legacy_tuning(run["config"]),
        "config": {"config": run["config"], "resolved": run["resolved"]}
        | ({"privacy": privacy} if (privacy := read_summary(run_dir)) else {})
        | ({"forgetting": rows} if (rows := (report or {}).get("forgetting")) else {}),
        "training_sha256": run["hashes"].get("train_file"),
        "validation_sha256": run["hashes"].get("validation_file"),
        "metrics": metric_rows(report),
        "report_path": str(report_path) if report_path.exists() else None,
        "artifacts": artifacts_of(run_dir),
        "size_bytes": sum(tree_size(run_dir / name) for name in WEIGHT_ARTIFACTS),
    }


def _legacy_tuning(config: dict) -> str | None:
    """``lora`` or ``full`` from a config written when ``method`` named them."""
    return config.get("method") if config.get("method") in ("lora", "full") else None


def artifacts_of(run_dir: Path) -> dict:
    """``{"adapter", "weights", "merged_parent", "checkpoints"}``: paths inside the run folder of
    its LoRA adapter or its full weights (``final/``), of the parent weights merged for it
    (``base/``) and of its exported checkpoints."""
    final = final_dir(run_dir)
    lora = final is not None and (final / ADAPTER_CONFIG).exists()
    merged = (run_dir / MERGED_PARENT / "config.json").exists()
    return {
        "adapter": FINAL if final is not None and lora else None,
        "weights": FINAL if final is not None and not lora else None,
        "merged_parent": MERGED_PARENT if merged else None,
        "checkpoints": sorted(f"{EXPORTS}/{p.name}" for p in (run_dir / EXPORTS).glob("ckpt-*")),
    }


def weight_paths(run_dir: Path) -> list[Path]:
    """The weight artifacts present in a run folder, with leftovers of their atomic writes."""
    found = []
    for name in WEIGHT_ARTIFACTS:
        for candidate in (name, f"{OLD_PREFIX}{name}"):
            path = run_dir / candidate
            if path.exists() or path.is_symlink():
                found.append(path)
        found += sorted(run_dir.glob(f"{TEMP_PREFIX}{name}-*"))
    return found


def tree_size(path: Path) -> int:
    """Bytes of a file or a folder tree (links not followed); 0 when missing."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                continue
    return total


def shown_path(path: str | Path | None) -> str | None:
    """A server path as users see it: relative to ``TUNELAB_HOME``, else its last two parts."""
    if path is None:
        return None
    path = Path(path)
    try:
        return str(path.relative_to(home_dir()))
    except ValueError:
        return str(Path(*path.parts[-2:]))


def merged_parent(folder: Path) -> str | None:
    """The version id a merged base folder was made from (``PARENT_MARKER``), if it is one."""
    try:
        return json.loads((Path(folder) / PARENT_MARKER).read_text(encoding="utf-8"))["model_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
