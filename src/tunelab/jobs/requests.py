"""Fine-tuning job requests: check what a user asks for (base, files, method, hyperparameters,
suffix, seed) and record the job in ``validating_files``; a worker takes it from there.

The method ``type`` and its hyperparameters are looked up in the method table
(``train.methods``), so a new method needs nothing here. Nothing here imports torch: a job only
gets a row; workers validate and train it (``jobs.worker``, ``jobs.runner``).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tunelab.errors import TunelabError
from tunelab.jobs import queue, registry
from tunelab.jobs.files import get_file
from tunelab.models.catalog import BUILTINS
from tunelab.store.db import Store
from tunelab.store.tables import Job
from tunelab.train.methods import Method, known_methods, method_for_job_type
from tunelab.train.parts import PrivacySettings

SUFFIX_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_TYPE = "supervised"
LATER_METHODS = ("reinforcement",)  # OpenAI's types no method in the table has yet


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
    privacy: dict | None = None,
    tuning: str | None = None,
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
    entry, hp = job_method(hyperparameters, method)
    suffix = check_suffix(suffix)
    seed = check_seed(seed)
    kind = entry.openai_type
    stored_method = {"type": kind, kind: {"hyperparameters": hp}, "base": base}
    settings = check_privacy(privacy)
    stored_method["pii_policy"] = settings.pii
    stored_method["privacy"] = settings.model_dump(mode="json", exclude={"pii"})
    stored_method["tuning"] = check_tuning(tuning, settings)
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


JobPrivacy = PrivacySettings  # the API's ``privacy`` body: the config's privacy keys


def check_privacy(privacy: Any) -> PrivacySettings:
    """The job's ``privacy`` (tunelab's extension): the PII policy its worker applies to the
    files, differential privacy, canaries and the leakage audit, as the config's ``privacy``
    keys; an error names the key (``privacy.dp.epsilon``)."""
    try:
        return PrivacySettings.model_validate(privacy or {})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(["privacy", *(str(part) for part in first["loc"])])
        raise TunelabError(f"{where}: {first['msg']}", code="invalid_value", param=where) from None


TUNINGS = ("lora", "full")


def check_tuning(tuning: Any, privacy: PrivacySettings) -> str:
    """The job's ``tuning`` (tunelab's extension, the config's key): ``lora`` unless given."""
    if tuning is None:
        return "lora"
    if tuning not in TUNINGS:
        raise TunelabError(
            f"tuning must be one of {', '.join(TUNINGS)}, not {tuning!r}.",
            code="invalid_value",
            param="tuning",
        )
    if tuning == "full" and privacy.dp is not None:
        raise TunelabError(
            "privacy.dp trains LoRA adapters only (per-example gradients of every weight do "
            "not fit); tuning is 'full': use tuning lora or remove privacy.dp.",
            code="invalid_value",
            param="tuning",
        )
    return tuning


def training_base(store: Store, model: str, extra_bases: dict[str, str | Path] | None) -> str:
    """What the runner trains from: a built-in name, an allow-listed folder, or the ``ft:`` id of
    a version or checkpoint (an alias resolves to the concrete id, which the job records)."""
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
    concrete = registry.concrete_model_id(store, model)
    if concrete in BUILTINS:
        return concrete
    if concrete.startswith("ft:"):
        registry.resolve_model_id(store, concrete)  # model_not_found unless its weights exist
        return concrete
    raise TunelabError(
        f"The model {model!r} does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )


def job_method(hyperparameters: dict | None, method: dict | None) -> tuple[Method, dict]:
    """The table's method for ``method.type`` (default supervised) and its OpenAI
    hyperparameters (top level or in ``method.<type>``), checked, ``auto`` filled in."""
    given = dict(hyperparameters or {})
    if method is None:
        entry = method_for_job_type(DEFAULT_TYPE)
        return entry, check_hyperparameters(entry, given)
    kind = method.get("type") if isinstance(method, dict) else None
    entry = method_for_job_type(kind) if isinstance(kind, str) else None
    if entry is None:
        raise _unknown_type(kind)
    extra = sorted(set(method) - {"type", kind})
    settings = method.get(kind) or {}
    if extra or not isinstance(settings, dict) or set(settings) - {"hyperparameters"}:
        where = f"method.{extra[0]}" if extra else f"method.{kind}"
        raise TunelabError(
            f"{where}: not a setting of method {kind!r} (it takes {kind}.hyperparameters).",
            code="invalid_method",
            param=where,
        )
    inner = settings.get("hyperparameters") or {}
    if inner and given:
        raise TunelabError(
            f"Give hyperparameters either at the top level or in method.{kind}, not both.",
            code="invalid_hyperparameters",
            param="hyperparameters",
        )
    return entry, check_hyperparameters(entry, given or dict(inner))


def _unknown_type(kind) -> TunelabError:
    types = ", ".join(repr(m.openai_type) for m in known_methods().values())
    if kind in LATER_METHODS:
        return TunelabError(
            f"Method {kind!r} is not supported yet; use one of {types}.",
            code="unsupported_method",
            param="method.type",
        )
    return TunelabError(
        f"Unknown method type {kind!r}; use one of {types}.",
        code="invalid_method",
        param="method.type",
    )


def check_hyperparameters(entry: Method, given: dict) -> dict:
    """Every hyperparameter of the method: the given value checked against its bounds, or
    ``auto``; an unknown name is refused naming it."""
    given = dict(given)
    result = {}
    for key, spec in entry.hyperparameters.items():
        value = given.pop(key, None)
        result[key] = (
            "auto" if value is None else _check_number(key, value, spec.kind, spec.low, spec.high)
        )
    if given:
        unknown = sorted(given)[0]
        raise TunelabError(
            f"Unknown hyperparameter {unknown!r}; known: {', '.join(entry.hyperparameters)}.",
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
