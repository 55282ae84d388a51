"""The table of training methods: what the CLI, the job runner and the API look a method up in.

Each entry maps a method's name (the config key ``method``) to its config class, its run function,
the method ``type`` fine-tuning jobs ask for it by (OpenAI's ``supervised`` ...), how OpenAI's
hyperparameters map onto its config keys (with their bounds), and how its metrics rows become job
event data. Run functions are named ``"module:function"`` and imported only when a run starts, so
the table imports without torch.

Adding a method is adding its recipe file (``train/<name>.py``: ``run_<name>(config, *, resume,
progress, on_metrics, on_checkpoint) -> report``, writing its run folder through
``store.runs``), its config class (composed from ``train.parts``) and one ``Method`` below.
Methods outside the package are plugins: ``TUNELAB_METHODS="module:attribute,..."`` names
``Method`` objects the table adds (the job runner's subprocess inherits the variable).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel

from tunelab.errors import ConfigError
from tunelab.store.runs import RunRecord
from tunelab.train.config import DPOConfig, KTOConfig, SFTConfig

PLUGINS_ENV = "TUNELAB_METHODS"


@dataclass(frozen=True)
class Hyperparameter:
    """One OpenAI job hyperparameter: the config key it sets, its type and inclusive bounds."""

    key: str
    kind: type
    low: float
    high: float


def loss_event_data(row: dict) -> dict:
    """A metrics row (a step's, merged with its evaluation's) -> OpenAI's job metrics names."""
    keys = ("train_loss", "valid_loss", "learning_rate", "epoch", "grad_norm", "tokens_per_second")
    keys += ("epsilon",)  # spent so far, in a DP run (tunelab's)
    out = {k: row[k] for k in keys if k in row}
    if "valid_token_accuracy" in row:
        out["valid_mean_token_accuracy"] = row["valid_token_accuracy"]
    if "valid_loss" in row:  # our validation always covers the whole validation set
        out["full_valid_loss"] = row["valid_loss"]
    return out


def preference_event_data(row: dict) -> dict:
    """``loss_event_data`` plus a preference run's own metrics under their names
    (``valid_preference_accuracy``, ``valid_reward_margin``, ``train_reward_margin``...)."""
    out = loss_event_data(row)
    own = ("valid_", "train_")
    return out | {k: v for k, v in row.items() if k.startswith(own) and k not in out}


@dataclass(frozen=True)
class Method:
    """One training method.

    ``name``: the config's ``method`` value. ``config``: its pydantic config class.
    ``run``: ``"module:function"`` of its recipe. ``openai_type``: the job method type.
    ``hyperparameters``: OpenAI name -> ``Hyperparameter``. ``events``: metrics row -> job event
    data (rows are a step's, with ``step`` and ``train_loss``, merged with the evaluation row of
    the same step, ``valid_*``). ``check_data``: ``"module:function"`` with
    ``data.validate.validate_file``'s signature, checking a job's files before it is queued.
    """

    name: str
    config: type[BaseModel]
    run: str
    openai_type: str
    hyperparameters: Mapping[str, Hyperparameter] = field(default_factory=dict)
    events: Callable[[dict], dict] = loss_event_data
    check_data: str = "tunelab.data.validate:validate_file"

    def __post_init__(self) -> None:
        named = self.config.model_fields.get("method")
        if named is None or named.default != self.name:
            raise ValueError(f"{self.config.__name__} needs a field method = {self.name!r}")

    def run_function(self) -> Callable[..., dict]:
        return _import(self.run, f"method {self.name}: run")

    def data_checker(self) -> Callable:
        return _import(self.check_data, f"method {self.name}: check_data")

    def config_values(self, hyperparameters: dict) -> dict:
        """A job's (checked) hyperparameters as config keys; ``auto`` leaves the key out."""
        return {
            spec.key: hyperparameters[name]
            for name, spec in self.hyperparameters.items()
            if hyperparameters.get(name, "auto") != "auto"
        }

    def resolved_hyperparameters(self, record: RunRecord) -> dict:
        """The job's hyperparameters as the run chose them (``auto`` resolved)."""
        return {
            name: record.resolved.get(spec.key, record.config.get(spec.key))
            for name, spec in self.hyperparameters.items()
        }


OPENAI_HYPERPARAMETERS = {  # OpenAI's names -> config keys; bounds as in api.schemas
    "n_epochs": Hyperparameter("epochs", int, 1, 100),
    "batch_size": Hyperparameter("batch_size", int, 1, 1024),
    "learning_rate_multiplier": Hyperparameter("learning_rate_multiplier", float, 1e-6, 100.0),
}

SFT = Method(
    name="sft",
    config=SFTConfig,
    run="tunelab.train.sft:run_sft",
    openai_type="supervised",
    hyperparameters=OPENAI_HYPERPARAMETERS,
)

PREFERENCE_HYPERPARAMETERS = OPENAI_HYPERPARAMETERS | {
    "beta": Hyperparameter("beta", float, 1e-3, 10.0),  # OpenAI's DPO beta
}

DPO = Method(
    name="dpo",
    config=DPOConfig,
    run="tunelab.train.dpo:run_dpo",
    openai_type="dpo",
    hyperparameters=PREFERENCE_HYPERPARAMETERS,
    events=preference_event_data,
    check_data="tunelab.data.preference:validate_preference_file",
)

KTO = Method(
    name="kto",
    config=KTOConfig,
    run="tunelab.train.kto:run_kto",
    openai_type="kto",  # tunelab's: OpenAI has no KTO
    hyperparameters=PREFERENCE_HYPERPARAMETERS
    | {
        "desirable_weight": Hyperparameter("desirable_weight", float, 1e-2, 100.0),
        "undesirable_weight": Hyperparameter("undesirable_weight", float, 1e-2, 100.0),
    },
    events=preference_event_data,
    check_data="tunelab.data.preference:validate_kto_file",
)

BUILTIN_METHODS: tuple[Method, ...] = (SFT, DPO, KTO)


def known_methods() -> dict[str, Method]:
    """Built-in methods and those of ``TUNELAB_METHODS`` plugins, by name."""
    table = {m.name: m for m in BUILTIN_METHODS}
    for method in _plugins(os.environ.get(PLUGINS_ENV, "")):
        if method.name in table and table[method.name] is not method:
            raise ConfigError(
                f"{PLUGINS_ENV}: a second method is named {method.name!r}",
                code="invalid_method_plugin",
            )
        table[method.name] = method
    return table


def get_method(name, *, source: str = "config") -> Method:
    """The method called ``name``; ``unknown_method`` (naming the key and the known methods)."""
    table = known_methods()
    if not isinstance(name, str) or name not in table:
        raise ConfigError(
            f"{source}: method: unknown training method {name!r}; known: {', '.join(table)}",
            code="unknown_method",
            param="method",
        )
    return table[name]


def method_for_job_type(openai_type: str) -> Method | None:
    """The method a fine-tuning job asks for with ``method.type`` (None if none has it)."""
    return next((m for m in known_methods().values() if m.openai_type == openai_type), None)


@lru_cache(maxsize=8)
def _plugins(spec: str) -> tuple[Method, ...]:
    found = []
    for ref in (part.strip() for part in spec.split(",")):
        if ref:
            method = _import(ref, PLUGINS_ENV)
            if not isinstance(method, Method):
                raise ConfigError(
                    f"{PLUGINS_ENV}: {ref} is a {type(method).__name__}, not a Method",
                    code="invalid_method_plugin",
                )
            found.append(method)
    return tuple(found)


def _import(ref: str, what: str):
    """``"package.module:attribute"`` -> the attribute; errors say which setting named it (an
    error inside the module it imports is raised as it is)."""
    module, _, attribute = ref.partition(":")
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if not module or e.name != module:
            raise
        raise ConfigError(
            f"{what}: cannot load {ref!r}: no module {module!r}", code="invalid_method_plugin"
        ) from e
    if not attribute or not hasattr(loaded, attribute):
        raise ConfigError(
            f"{what}: cannot load {ref!r}: expected module:attribute, and {module} has no "
            f"{attribute!r}",
            code="invalid_method_plugin",
        )
    return getattr(loaded, attribute)
