"""Fine-tuning job requests: check what a user asks for (base, files, method, hyperparameters,
suffix, seed) and record the job in ``validating_files``; a worker takes it from there.

Nothing here imports torch: a job only gets a row; workers validate and train it
(``jobs.worker``, ``jobs.runner``).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from tunelab.errors import TunelabError
from tunelab.jobs import queue
from tunelab.jobs.files import get_file
from tunelab.jobs.registry import model_row
from tunelab.jobs.shapes import HYPERPARAMETER_LIMITS
from tunelab.models.catalog import BUILTINS
from tunelab.store.db import Store
from tunelab.store.tables import Job

SUFFIX_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
SUPPORTED_METHODS = ("supervised",)
LATER_METHODS = ("dpo", "reinforcement")


def create_fine_tuning_job(
    store: Store,
    *,
    model: str,
    training_file: str,
    validation_file: str | None = None,
    hyperparameters: dict | None = None,
    method: dict | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    extra_bases: dict[str, str | Path] | None = None,
) -> Job:
    """Check the request and record the job in ``validating_files``; a worker takes it from there.

    ``model`` is a built-in base, a fine-tuned model id, or a name in ``extra_bases`` (an
    allow-list of local base folders given by the server's owner, e.g. tests).
    """
    base = training_base(store, model, extra_bases)
    get_file(store, training_file, param="training_file")
    if validation_file is not None:
        get_file(store, validation_file, param="validation_file")
    hp = job_hyperparameters(hyperparameters, method)
    suffix = check_suffix(suffix)
    seed = check_seed(seed)
    stored_method = {"type": "supervised", "supervised": {"hyperparameters": hp}, "base": base}
    return queue.create_job(
        store,
        model=model,
        training_file=training_file,
        validation_file=validation_file,
        hyperparameters=hp,
        method=stored_method,
        suffix=suffix,
        seed=seed,
    )


def training_base(store: Store, model: str, extra_bases: dict[str, str | Path] | None) -> str:
    """What the runner trains from: a built-in name, an allow-listed folder, or an ``ft:`` id."""
    if model in BUILTINS:
        return model
    if extra_bases and model in extra_bases:
        folder = Path(extra_bases[model])
        if not folder.is_dir():
            raise TunelabError(
                f"The base folder of model {model!r} is missing.",
                code="model_not_found",
                param="model",
            )
        return str(folder.resolve())
    if model.startswith("ft:") and model_row(store, model) is not None:
        return model
    raise TunelabError(
        f"The model {model!r} does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )


def job_hyperparameters(hyperparameters: dict | None, method: dict | None) -> dict:
    """OpenAI's hyperparameters (top level or in ``method.supervised``), checked, auto filled."""
    given = dict(hyperparameters or {})
    if method is not None:
        kind = method.get("type") if isinstance(method, dict) else None
        if kind in LATER_METHODS:
            raise TunelabError(
                f"Method {kind!r} is not supported yet; use 'supervised'.",
                code="unsupported_method",
                param="method.type",
            )
        if kind not in SUPPORTED_METHODS:
            raise TunelabError(
                f"Unknown method type {kind!r}; use 'supervised'.",
                code="invalid_method",
                param="method.type",
            )
        inner = (method.get(kind) or {}).get("hyperparameters") or {}
        if inner and given:
            raise TunelabError(
                "Give hyperparameters either at the top level or in method.supervised, not both.",
                code="invalid_hyperparameters",
                param="hyperparameters",
            )
        given = given or dict(inner)
    result = {}
    for key, (kind, low, high) in HYPERPARAMETER_LIMITS.items():
        value = given.pop(key, None)
        result[key] = "auto" if value is None else _check_number(key, value, kind, low, high)
    if given:
        unknown = sorted(given)[0]
        raise TunelabError(
            f"Unknown hyperparameter {unknown!r}; known: {', '.join(HYPERPARAMETER_LIMITS)}.",
            code="invalid_hyperparameters",
            param=f"hyperparameters.{unknown}",
        )
    return result


def _check_number(key: str, value: Any, kind: type, low: float, high: float) -> Any:
    if value == "auto":
        return value
    number_ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and not (isinstance(value, int) or (number_ok and float(value).is_integer())):
        number_ok = False
    if not number_ok or not low <= value <= high:
        raise TunelabError(
            f"hyperparameters.{key} must be 'auto' or a {kind.__name__} from {low} to {high}.",
            code="invalid_hyperparameters",
            param=f"hyperparameters.{key}",
        )
    return kind(value)


def check_suffix(suffix: str | None) -> str | None:
    if suffix in (None, ""):
        return None
    if not isinstance(suffix, str) or not SUFFIX_PATTERN.fullmatch(suffix):
        raise TunelabError(
            "suffix must be 1 to 64 letters, digits, '-' or '_'.",
            code="invalid_suffix",
            param="suffix",
        )
    return suffix


def check_seed(seed: int | None) -> int:
    """The given seed, or a random one that is recorded so the run can be reproduced."""
    if seed is None:
        return secrets.randbelow(2**31)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise TunelabError(
            "seed must be an integer from 0 to 2147483647.", code="invalid_seed", param="seed"
        )
    return seed
