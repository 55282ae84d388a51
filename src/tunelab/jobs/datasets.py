"""An uploaded file looked at as training data, before any job: the check (validation report,
personal data, statistics, the time estimate and what ``auto`` would choose) and a preview of
its first examples rendered with the model's chat template, the trained tokens marked.

Backs ``GET /v1/datasets/{file_id}`` and ``GET /v1/datasets/{file_id}/preview`` (the web UI's
Datasets page). The check of chat data is ``train.plan.check_file``, the one behind
``tunelab data check``; preference data is checked by its method's validator from the method
table. Server paths never leave: the file is named by its display name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tunelab.data.io import read_records
from tunelab.data.preference import detect_shape
from tunelab.data.privacy import scan_file
from tunelab.data.render import IGNORE, render_chat, render_example
from tunelab.errors import TunelabError
from tunelab.jobs import files, registry
from tunelab.jobs.shapes import root_base
from tunelab.models.catalog import BUILTINS, DEFAULT_MODEL
from tunelab.store.db import Store
from tunelab.train.methods import method_for_job_type

PREVIEW_MAX = 20
KINDS = ("auto", "supervised", "dpo", "kto")


def tokenizer_model(store: Store, model: str | None, extra_bases: dict | None) -> str:
    """The base (a built-in name or a local folder) whose tokenizer and template ``model`` uses:
    a version or an alias uses its base's."""
    model = model or DEFAULT_MODEL
    bases = extra_bases or {}
    if model not in BUILTINS and model not in bases:
        model = root_base(registry.concrete_model_id(store, model))
    if model in bases:
        return str(bases[model])
    if model in BUILTINS:
        return model
    raise TunelabError(f"No model {model[:64]!r}.", code="model_not_found", param="model")


@contextmanager
def readable_upload(store: Store, file_id: str) -> Iterator[tuple[object, Path]]:
    """(file row, a path to its bytes whose suffix the readers go by: ``.csv`` or ``.jsonl``)."""
    row = files.get_file(store, file_id)
    source = files.file_content_path(store, file_id)
    with tempfile.TemporaryDirectory(prefix=".dataset-") as folder:
        named = Path(folder) / f"upload{files.upload_suffix(row.filename)}"
        try:
            os.link(source, named)
        except OSError:  # another filesystem
            named.symlink_to(source)
        yield row, named


def detect_kind(path: Path) -> str:
    """``supervised`` (chat, prompt/completion, text), ``dpo`` (preference pairs) or ``kto``
    (rows with a ``label``), from the first record."""
    records, _ = read_records(path)
    first = records[0].value if records else None
    if detect_shape(first) is None:
        return "supervised"
    return "kto" if isinstance(first, dict) and "label" in first else "dpo"


def check_dataset(
    store: Store,
    file_id: str,
    *,
    model: str | None = None,
    kind: str = "auto",
    epochs: int | None = None,
    extra_bases: dict | None = None,
) -> dict:
    """The check of an uploaded file as training data for ``model`` (``object:
    "dataset.check"``); ``kind`` ``auto`` detects it from the first record."""
    if kind not in KINDS:
        raise TunelabError(
            f"kind must be one of {', '.join(KINDS)}.", code="invalid_value", param="kind"
        )
    base = tokenizer_model(store, model, extra_bases)
    with readable_upload(store, file_id) as (row, path):
        kind = detect_kind(path) if kind == "auto" else kind
        if kind == "supervised":
            from tunelab.train.plan import check_file

            result = check_file(path, model=base, epochs=epochs)
            result.update(auto_choices(result))
        else:
            result = check_preference(path, kind, model=base, epochs=epochs)
    for issue in (*result.get("errors", []), *result.get("warnings", []), *result["issues"]):
        issue["file"] = row.filename
    result.get("privacy", {}).pop("file", None)
    if "estimate" in result:
        result["estimate"]["model"] = model or DEFAULT_MODEL
    return result | {
        "id": row.id,
        "object": "dataset.check",
        "file": row.filename,
        "kind": kind,
        "model": model or DEFAULT_MODEL,
    }


def check_preference(
    path: Path, kind: str, *, model: str | None = None, epochs: int | None = None
) -> dict:
    """A DPO or KTO file checked by its method's validator, with its PII report, counts and the
    time estimate (``train.plan.estimate_preference``) when it has examples."""
    report = method_for_job_type(kind).data_checker()(path)
    result = report.to_dict()
    result["errors"] = [i.to_dict() for i in report.errors]
    result["warnings"] = [i.to_dict() for i in report.warnings]
    result["privacy"] = scan_file(path, policy="report").to_dict()
    paired = sum(e.paired for e in report.examples)
    result["stats"] = {
        "examples": len(report.examples),
        "pairs": paired,
        "desirable": sum(e.label is True for e in report.examples),
        "undesirable": sum(e.label is False for e in report.examples),
        "duplicates": report.n_duplicates,
        "duplicate_ratio": report.duplicate_ratio,
    }
    if report.examples:
        from tunelab.train.plan import estimate_preference

        estimate = estimate_preference(report.examples, kind, model=model, epochs=epochs)
        result["stats"]["tokens_total"] = estimate["tokens_total"]
        result["stats"]["estimated_train_seconds"] = estimate["estimated_train_seconds"]
        result["estimate"] = estimate
    return result


def auto_choices(result: dict) -> dict:
    """What ``auto`` picks for this data and why (``train.config``'s rules), for the UI."""
    from tunelab.train.config import auto_batch_size, auto_epochs

    n = result.get("n_examples", 0)
    if not n:
        return {}
    batch = auto_batch_size(n)
    return {
        "auto": {
            "batch_size": {
                "value": batch,
                "why": f"{n} examples: small batches give more optimizer steps on small data "
                "(2 under 64 examples, 4 under 200, else 8).",
            },
            "n_epochs": {
                "value": auto_epochs(n, batch),
                "why": "OpenAI's rule: about 100 to 25,000 examples seen in all (3 epochs in "
                "between), raised on small data so that training takes enough steps.",
            },
            "learning_rate_multiplier": {
                "value": 1.0,
                "why": "The recipe's rate, chosen from the tuning (LoRA or full) and the model's "
                "size, scaled with the batch size.",
            },
        }
    }


def preview_dataset(
    store: Store,
    file_id: str,
    *,
    model: str | None = None,
    limit: int = 5,
    extra_bases: dict | None = None,
) -> dict:
    """The first ``limit`` valid examples rendered with ``model``'s chat template: each a list
    of segments ``{"text", "trained"}`` (``trained``: the loss is computed on these tokens)."""
    from tunelab.models.load import base_model_dir, load_tokenizer

    tokenizer = load_tokenizer(base_model_dir(tokenizer_model(store, model, extra_bases)))
    limit = max(1, min(limit, PREVIEW_MAX))
    with readable_upload(store, file_id) as (row, path):
        kind = detect_kind(path)
        examples = preview_examples(tokenizer, path, kind, limit)
    return {
        "id": row.id,
        "object": "dataset.preview",
        "file": row.filename,
        "kind": kind,
        "model": model or DEFAULT_MODEL,
        "examples": examples,
    }


def preview_examples(tokenizer, path: Path, kind: str, limit: int) -> list[dict]:
    examples = []
    if kind == "supervised":
        from tunelab.data.validate import validate_file

        for example in validate_file(path).examples[:limit]:
            rendered = render_example(tokenizer, example)
            examples.append({"line": example.line, "segments": segments(tokenizer, rendered)})
    else:
        report = method_for_job_type(kind).data_checker()(path)
        for example in report.examples[:limit]:
            entry: dict = {"line": example.line}
            for name, text in zip(("chosen", "rejected"), example.outputs(), strict=False):
                if example.completion is not None:
                    name = "desirable" if example.label else "undesirable"
                rendered = render_chat(tokenizer, example.with_output(text))
                entry[name] = segments(tokenizer, rendered)
            examples.append(entry)
    return examples


def segments(tokenizer, rendered) -> list[dict]:
    """Runs of tokens that are all trained or all not, decoded to text."""
    out: list[dict] = []
    run: list[int] = []
    trained = None
    for token, label in zip(rendered.input_ids, rendered.labels, strict=True):
        flag = label != IGNORE
        if flag != trained and run:
            out.append({"text": tokenizer.decode(run), "trained": trained})
            run = []
        trained = flag
        run.append(token)
    if run:
        out.append({"text": tokenizer.decode(run), "trained": trained})
    return out
