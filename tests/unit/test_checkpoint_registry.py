"""Checkpoints are registered as they are written: a job that fails (a full disk) or is cancelled
keeps them listed and usable for chat; pruned ones leave the list; a full disk fails the job with
``disk_full`` and leaves the previous checkpoint whole."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from helpers import new_job, running_worker, toy_rows, wait_for, wait_terminal

from tunelab.jobs import queue, registry
from tunelab.jobs.runner import job_run_dir
from tunelab.store import atomic
from tunelab.train.checkpoint import list_checkpoints

HELLO = [{"role": "user", "content": "What is the code for the red door?"}]


@pytest.fixture
def api(sqlite_db, bases):
    """The API over the same database (its own engine), on a loopback Host."""
    from tunelab.api.app import create_app
    from tunelab.serve.engine import Engine

    engine = Engine(batch_window_s=0.005)
    app = create_app(database_url=sqlite_db[0], engine=engine, extra_bases=bases)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client
    engine.close()


def assert_listed_and_usable(api, store, job) -> list:
    """Every listed checkpoint has its folder and export; each one chats through the API."""
    listed = api.get(f"/v1/fine_tuning/jobs/{job.id}/checkpoints").json()["data"]
    assert listed, "no checkpoint listed"
    run_dir = job_run_dir(job.id)
    on_disk = {int(p.name.split("-")[1]) for p in list_checkpoints(run_dir)}
    assert {c["step_number"] for c in listed} == on_disk  # never a pruned folder
    for shown in listed:
        model_id = shown["fine_tuned_model_checkpoint"]
        spec = registry.resolve_model_id(store, model_id)
        assert spec["adapter_dir"].is_dir() and spec["checkpoint"].is_dir()
        assert atomic.verify_manifest(spec["adapter_dir"])
        reply = api.post(
            "/v1/chat/completions", json={"model": model_id, "messages": HELLO, "max_tokens": 4}
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["role"] == "assistant"
    return listed


def test_full_disk_fails_the_job_and_keeps_its_checkpoints(
    sqlite_db, bases, api, monkeypatch, tunelab_home
):
    url, store = sqlite_db
    # 18 steps, a checkpoint every 3, two kept: 3 and 6 are pruned as 9 is written; at 12 the disk
    # is full.
    monkeypatch.setenv("TUNELAB_FAULT", "enospc_at:checkpoint:12")
    job = new_job(store, bases, {"n_epochs": 2, "batch_size": 4}, toy_rows(40))
    with running_worker(url):
        job = wait_terminal(store, job.id)
    assert job.status == "failed"
    assert job.error["code"] == "disk_full", job.error
    assert "disk is full" in job.error["message"] and str(tunelab_home) not in job.error["message"]
    assert job.fine_tuned_model is None

    run_dir = job_run_dir(job.id)
    assert [p.name for p in list_checkpoints(run_dir)] == ["step-0000006", "step-0000009"]
    assert not list((run_dir / "checkpoints").glob(f"{atomic.TEMP_PREFIX}*"))  # partial removed
    listed = assert_listed_and_usable(api, store, job)
    assert sorted(c["step_number"] for c in listed) == [6, 9]
    assert {"train_loss", "valid_loss"} <= set(listed[0]["metrics"])
    exports = sorted(p.name for p in (run_dir / "exports").iterdir())
    assert exports == ["ckpt-step-0000006", "ckpt-step-0000009"]  # pruned ones' exports went


def test_cancelled_job_keeps_its_checkpoints_listed_and_usable(sqlite_db, bases, api):
    url, store = sqlite_db
    job = new_job(store, bases, {"n_epochs": 25, "batch_size": 2}, toy_rows(40))
    with running_worker(url):
        wait_for(lambda: queue.list_checkpoints(store, job.id).data, what="a registered checkpoint")
        queue.request_cancel(store, job.id)
        job = wait_terminal(store, job.id, timeout=60)
    assert job.status == "cancelled"
    assert not (job_run_dir(job.id) / "final").exists()
    assert_listed_and_usable(api, store, job)
