"""A fake second training method, ``echo``, for tests: ``TUNELAB_METHODS=fake_method:METHOD``
registers it, and it then runs through ``tunelab train``, the job queue (worker and runner
subprocess) and the API with no change there.

Its "training" copies the base model as the result (``final/``, full weights of the tiny model,
with a manifest), writes the run through the run layout and record (``store.runs``) and emits a
training row per step and an evaluation row at the end, as a real recipe does.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field

from tunelab.data.validate import validate_file
from tunelab.models.load import base_model_dir
from tunelab.store.atomic import atomic_dir, write_json_atomic
from tunelab.store.runs import DataRecord, RunLayout, RunRecord, read_run, write_run
from tunelab.train.config import config_from_record
from tunelab.train.methods import Hyperparameter, Method
from tunelab.train.parts import DataPart, ModelPart, OptimPart, RuntimePart
from tunelab.train.runstate import MetricsLog
from tunelab.train.setup import file_hashes, new_run_dir


class EchoConfig(ModelPart, DataPart, OptimPart, RuntimePart):
    """A fake method for tests: the base model, copied, is the result."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    method: Literal["echo"] = Field("echo", description="The fake method.")
    loud: bool = Field(False, description="A key of the method's own.")


def run_echo(
    config: EchoConfig | None,
    *,
    resume: Path | None = None,
    progress: bool = True,
    on_metrics=None,
    on_checkpoint=None,
) -> dict:
    """A run in the shape every recipe has: record, metrics rows, final/, report."""
    if resume is not None:
        run_dir = Path(resume)
        config = config_from_record(read_run(run_dir))
    else:
        run_dir = new_run_dir(config)
    layout = RunLayout(run_dir)
    n_train = len(validate_file(config.train_file).examples)
    steps = config.epochs if config.epochs != "auto" else 1
    resolved = {"epochs": steps, "batch_size": n_train, "total_steps": steps, "device": "cpu"}
    if resume is None:
        record = RunRecord(
            method="echo",
            config=config.model_dump(mode="json"),
            resolved=resolved,
            data=DataRecord(hashes=file_hashes(config), counts={"n_train": n_train}),
            created_at=datetime.now().isoformat(timespec="seconds"),
            run_dir=str(run_dir),
        )
        write_run(run_dir, record)
    metrics = MetricsLog(layout.metrics, listener=on_metrics)
    for step in range(1, steps + 1):
        metrics.write({"step": step, "epoch": step - 1, "train_loss": 1.0 / step})
    metrics.write({"step": steps, "valid_loss": 0.5})
    with atomic_dir(layout.final, manifest=True) as tmp:
        for item in base_model_dir(config.model).iterdir():
            if item.is_file():
                shutil.copyfile(item, tmp / item.name)
    report = {
        "run_dir": str(run_dir),
        "method": "echo",
        "model": config.model,
        "loud": config.loud,
        "steps": steps,
        "trained_tokens": 7 * n_train,
        "rows": [{"metric": "echo_loss", "base": 1.0, "tuned": 0.5, "change": -0.5}],
    }
    write_json_atomic(layout.report, report)
    return report


def echo_events(row: dict) -> dict:
    """The method's own event data: its losses, and a mark that the mapping was used."""
    return {k: row[k] for k in ("train_loss", "valid_loss") if k in row} | {"echo": True}


METHOD = Method(
    name="echo",
    config=EchoConfig,
    run="fake_method:run_echo",
    openai_type="echo",
    hyperparameters={"n_epochs": Hyperparameter("epochs", int, 1, 5)},
    events=echo_events,
)
NOT_A_METHOD = object()
