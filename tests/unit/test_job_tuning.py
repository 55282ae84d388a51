"""A job's ``tuning`` (tunelab's extension, the config's key): LoRA adapters by default, every
weight with ``full``; the API checks it and names the key."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from helpers import new_job, running_worker, toy_rows, upload, wait_terminal

from tunelab.api.app import create_app
from tunelab.jobs import shapes


def test_a_full_tuning_job_trains_every_weight(sqlite_db, bases):
    url, store = sqlite_db
    job = new_job(store, bases, {"n_epochs": 1, "batch_size": 8}, toy_rows(16), tuning="full")
    assert shapes.job_to_openai(job)["tuning"] == "full"
    with running_worker(url):
        job = wait_terminal(store, job.id)
    assert job.status == "succeeded", job.error
    run = json.loads((Path(job.run_dir) / "run.json").read_text())
    assert run["config"]["tuning"] == "full"
    final = Path(job.run_dir) / "final"
    assert not (final / "adapter_config.json").exists(), "full tuning saves whole weights"
    assert list(final.glob("*.safetensors"))


def test_tuning_defaults_to_lora_and_a_bad_value_is_refused_naming_it(sqlite_db, bases):
    url, store = sqlite_db
    training = upload(store, toy_rows(12))
    app = create_app(database_url=url, extra_bases=bases)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        body = {"model": "tiny", "training_file": training.id}
        made = client.post("/v1/fine_tuning/jobs", json=body)
        assert made.status_code == 200 and made.json()["tuning"] == "lora"
        for extra in ({"tuning": "qlora"}, {"tuning": "full", "privacy": {"dp": {"epsilon": 8}}}):
            bad = client.post("/v1/fine_tuning/jobs", json=body | extra)
            assert bad.status_code == 400, bad.text
            assert bad.json()["error"]["param"] == "tuning"
