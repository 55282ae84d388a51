"""The pickle rule end to end: with ``pickle.load``/``loads`` and ``Unpickler.load`` made to raise
in the API process and in the runner subprocesses, a job goes upload -> train -> SIGKILL ->
resume -> serve. The runner gets the refusal through a ``sitecustomize`` on its PYTHONPATH, which
also records that it was active and every refused call (a caller that swallowed the error would
otherwise pass unseen)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

from fastapi.testclient import TestClient
from helpers import all_events, toy_rows

from tunelab.jobs import queue, registry, worker
from tunelab.jobs.runner import job_run_dir
from tunelab.store import atomic

LOG_ENV = "TUNELAB_TEST_PICKLE_LOG"
SITECUSTOMIZE = f"""
import os, pickle

_LOG = os.environ.get({LOG_ENV!r})


def _note(line):
    if _LOG:
        with open(_LOG, "a") as fh:
            fh.write(line + "\\n")


def _refuse(*args, **kwargs):
    _note(f"refused {{os.getpid()}}")
    raise pickle.UnpicklingError("pickle is not allowed here")


class _RefusingUnpickler(pickle.Unpickler):
    load = _refuse


pickle.load = pickle.loads = _refuse
pickle.Unpickler = _RefusingUnpickler
pickle._Unpickler.load = _refuse
_note(f"active {{os.getpid()}}")
"""


def refuse_pickle_here(monkeypatch, refused: list) -> None:
    def refuse(*args, **kwargs):
        refused.append(args[:1])
        raise pickle.UnpicklingError("pickle is not allowed here")

    class RefusingUnpickler(pickle.Unpickler):
        load = refuse

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", RefusingUnpickler)
    monkeypatch.setattr(pickle._Unpickler, "load", refuse)


def refuse_pickle_in_runners(monkeypatch, folder: Path) -> Path:
    (folder / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    log = folder / "pickle.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    return log


def run_attempt(store, url: str) -> str:
    job = queue.claim_next_job(store, "w1", "cpu")
    assert job is not None, "nothing to claim"
    return worker.run_claimed_job(store, job, url, "w1", poll_s=0.2)


def test_upload_train_kill_resume_serve_without_pickle(tmp_path, monkeypatch, tiny_model_dir):
    from tunelab.api.app import create_app
    from tunelab.serve.engine import Engine

    url = f"sqlite:///{tmp_path / 'tunelab.db'}"
    refused: list = []
    log = refuse_pickle_in_runners(monkeypatch, tmp_path)
    probe = [sys.executable, "-c", "import pickle; pickle.loads(pickle.dumps(1))"]
    assert subprocess.run(probe, capture_output=True).returncode != 0  # the refusal is active
    engine = Engine(batch_window_s=0.005)
    app = create_app(database_url=url, engine=engine, extra_bases={"tiny": str(tiny_model_dir)})
    refuse_pickle_here(monkeypatch, refused)
    with TestClient(app, base_url="http://127.0.0.1") as api:
        data = "".join(json.dumps(r) + "\n" for r in toy_rows(40)).encode()
        sent = {"file": ("train.jsonl", data)}
        uploaded = api.post("/v1/files", files=sent, data={"purpose": "fine-tune"})
        assert uploaded.status_code == 200, uploaded.text
        body = {"model": "tiny", "training_file": uploaded.json()["id"], "seed": 5}
        body["hyperparameters"] = {"n_epochs": 2, "batch_size": 4}  # 18 steps, a checkpoint per 3
        created = api.post("/v1/fine_tuning/jobs", json=body)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]

        store = app.state.store
        assert worker.validate_next_job(store, "w1").status == "queued"
        monkeypatch.setenv("TUNELAB_FAULT", "kill_at:step:7")  # SIGKILL after the step-6 ckpt
        assert run_attempt(store, url) == "exited"
        job = queue.get_job(store, job_id)
        assert job.status == "queued" and job.attempt == 2, job.error
        monkeypatch.delenv("TUNELAB_FAULT")
        run_attempt(store, url)

        job = queue.get_job(store, job_id)
        assert job.status == "succeeded", job.error
        resumed = [e for e in all_events(store, job_id) if e.message.startswith("Resuming")]
        assert [e.data for e in resumed] == [{"attempt": 2}]
        assert atomic.verify_manifest(job_run_dir(job_id) / "final")
        checkpoint = queue.list_checkpoints(store, job_id).data[0].model_id
        for model in (job.fine_tuned_model, checkpoint):
            chat = {"model": model, "messages": [{"role": "user", "content": "code?"}]}
            reply = api.post("/v1/chat/completions", json=chat | {"max_tokens": 4})
            assert reply.status_code == 200, reply.text
        assert registry.resolve_model_id(store, job.fine_tuned_model)["adapter_dir"].is_dir()
    engine.close()

    lines = log.read_text().splitlines()
    assert len([x for x in lines if x.startswith("active")]) == 3  # the probe, both attempts
    assert len([x for x in lines if x.startswith("refused")]) == 1 and refused == []  # the probe
