"""Job worker, runner and service on SQLite and PostgreSQL with the tiny model: upload ->
validate -> train -> model and checkpoints; bad data, cancel, a killed run that resumes, two jobs
on one device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import helpers
import pytest
from helpers import all_events, running_worker, toy_rows, upload, wait_for, wait_terminal
from postgres import BACKENDS, backend_url, pg_url  # noqa: F401

from tunelab.errors import TunelabError
from tunelab.jobs import files, queue, registry, requests, shapes, worker
from tunelab.jobs.runner import job_run_dir
from tunelab.store.db import open_store

LONG_RUN = {"n_epochs": 25, "batch_size": 2}  # ~450 steps: still running when a test acts


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    url = backend_url(request, tmp_path)
    store = open_store(url)
    yield url, store
    store.dispose()


def new_job(store, bases, hyperparameters, rows=None, **kwargs):
    return helpers.new_job(store, bases, hyperparameters, rows or toy_rows(40), **kwargs)


def expire_lease(store, job_id):
    """Age the job's heartbeat past the lease, as if its worker died that long ago."""
    from sqlalchemy import update

    from tunelab.settings import job_lease_seconds
    from tunelab.store.tables import Job

    stamp = queue.now() - int(job_lease_seconds()) - 10
    with store.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=stamp))


def checkpoints_on_disk(job_id):
    from tunelab.train.checkpoint import list_checkpoints

    return list_checkpoints(job_run_dir(job_id))


def assert_checkpoints_usable(store, job, base_dir):
    """The result and each checkpoint resolve to loadable adapters on the tiny base."""
    import torch
    from safetensors.torch import load_file

    checkpoints = queue.list_checkpoints(store, job.id).data
    assert checkpoints
    for cp in checkpoints:
        shown = shapes.checkpoint_to_openai(cp)
        assert shown["fine_tuned_model_checkpoint"] == f"{job.fine_tuned_model}:ckpt-step-{cp.step}"
        assert {"train_loss", "valid_loss"} <= set(shown["metrics"])

    run_dir = job_run_dir(job.id)
    spec = registry.resolve_model_id(store, job.fine_tuned_model)
    assert spec["adapter_dir"] == run_dir / "final" and spec["full_dir"] is None
    assert spec["base"] == str(base_dir)
    final = load_file(str(run_dir / "final" / "adapter_model.safetensors"))
    ckpt_spec = registry.resolve_model_id(store, checkpoints[0].model_id)
    assert ckpt_spec["checkpoint"] == run_dir / checkpoints[0].path_key
    ckpt_weights = load_file(str(ckpt_spec["adapter_dir"] / "adapter_model.safetensors"))
    assert ckpt_weights.keys() == final.keys()  # PEFT's names, as in the final adapter

    best = json.loads((run_dir / "report.json").read_text())["best_step"]
    best_export = registry.resolve_model_id(store, f"{job.fine_tuned_model}:ckpt-step-{best}")
    exported = load_file(str(best_export["adapter_dir"] / "adapter_model.safetensors"))
    assert all(torch.equal(final[k], exported[k]) for k in final)  # same weights as the result
    return checkpoints


def test_upload_train_and_use_the_model(sqlite_db, bases, tiny_model_dir):
    url, store = sqlite_db
    job = new_job(store, bases, {"n_epochs": 1, "batch_size": 4}, suffix="demo")
    assert job.status == "validating_files"
    with running_worker(url):
        job = wait_terminal(store, job.id)
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model == f"ft:tiny:demo:{job.id}"
    assert job.trained_tokens > 0 and job.finished_at >= job.created_at

    shown = shapes.job_to_openai(job)
    assert shown["hyperparameters"] == {
        "n_epochs": 1,
        "batch_size": 4,
        "learning_rate_multiplier": 1.0,
    }
    assert shown["error"] is None and shown["object"] == "fine_tuning.job"

    events = all_events(store, job.id)
    metrics = [e.data for e in events if e.type == "metrics"]
    steps = [m["step"] for m in metrics]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) == metrics[0]["total_steps"]
    assert all("train_loss" in m for m in metrics)
    assert any("valid_loss" in m for m in metrics)
    assert events[-1].message == "The job has successfully completed"

    checkpoints = assert_checkpoints_usable(store, job, Path(tiny_model_dir).resolve())

    # A fine-tuned model is itself a base: its adapter is merged into the new job's base.
    child = requests.create_fine_tuning_job(
        store,
        model=job.fine_tuned_model,
        training_file=job.training_file,
        hyperparameters={"n_epochs": 1, "batch_size": 8},
    )
    with running_worker(url):
        child = wait_terminal(store, child.id)
    assert child.status == "succeeded", child.error
    assert child.fine_tuned_model == f"ft:tiny:tunelab:{child.id}"
    child_spec = registry.resolve_model_id(store, child.fine_tuned_model)
    assert child_spec["base"] == str(job_run_dir(child.id) / "base")

    assert job.fine_tuned_model in {m["id"] for m in registry.list_models(store)}
    registry.delete_model(store, job.fine_tuned_model, force=True)  # the child descends from it
    for model_id in (job.fine_tuned_model, checkpoints[0].model_id):
        with pytest.raises(TunelabError) as err:
            registry.resolve_model_id(store, model_id)
        assert err.value.code == "model_not_found"
    assert registry.resolve_model_id(store, child.fine_tuned_model)  # its base is its own copy


def test_bad_file_fails_in_validating_files_with_the_line(db, bases):
    url, store = db
    rows = toy_rows(12)
    rows[2]["messages"][1]["role"] = "bot"
    job = new_job(store, bases, {"n_epochs": 1}, rows=rows)
    with running_worker(url):
        job = wait_terminal(store, job.id, timeout=120)
    assert job.status == "failed"
    assert job.error["code"] == "unrecognized_role"
    assert job.error["param"] == "line 3 /messages/1/role"
    assert "line 3" in job.error["message"]
    assert job.started_at is None  # no compute spent: never claimed for training
    assert not (job_run_dir(job.id) / "run.json").exists()


def test_cancel_stops_the_run_within_seconds_and_keeps_a_checkpoint(db, bases):
    url, store = db
    job = new_job(store, bases, LONG_RUN)
    with running_worker(url):
        wait_for(lambda: checkpoints_on_disk(job.id), what="a first checkpoint")
        queue.request_cancel(store, job.id)
        asked = time.monotonic()
        job = wait_terminal(store, job.id, timeout=30)
        took = time.monotonic() - asked
    assert job.status == "cancelled" and took < 15
    assert checkpoints_on_disk(job.id)
    assert not (job_run_dir(job.id) / "final").exists()
    assert "cancelled" in all_events(store, job.id)[-1].message


def test_killed_run_resumes_after_restart_and_succeeds(db, bases):
    url, store = db
    job = new_job(store, bases, {"n_epochs": 2, "batch_size": 4})
    assert worker.validate_next_job(store, "w0").status == "queued"
    assert queue.claim_next_job(store, "dead-worker", "cpu").id == job.id
    # The server dies with its runner mid-run (SIGKILL after step 7; checkpoints at 3 and 6).
    killed = subprocess.run(
        [sys.executable, "-m", "tunelab.jobs.runner", "--job", job.id],
        env={**os.environ, "TUNELAB_DATABASE_URL": url, "TUNELAB_FAULT": "kill_at:step:7"},
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert queue.get_job(store, job.id).status == "running"

    assert worker.reconcile_on_start(store) == {}  # its lease has not run out yet
    expire_lease(store, job.id)
    assert worker.reconcile_on_start(store) == {job.id: "queued"}
    assert queue.get_job(store, job.id).attempt == 2
    with running_worker(url):
        job = wait_terminal(store, job.id)
    assert job.status == "succeeded", job.error
    events = all_events(store, job.id)
    steps = [e.data["step"] for e in events if e.type == "metrics"]
    assert steps == list(range(1, 19))  # replayed steps 7 and 8.. are not recorded twice
    assert any(e.message.startswith("Resuming the run") for e in events)
    assert queue.list_checkpoints(store, job.id).data
    assert registry.resolve_model_id(store, job.fine_tuned_model)["adapter_dir"].is_dir()


def test_second_job_waits_in_queued_with_a_reason(db, bases):
    url, store = db
    first = new_job(store, bases, LONG_RUN)
    second = new_job(store, bases, {"n_epochs": 1})
    with running_worker(url) as stop:
        wait_for(lambda: queue.get_job(store, first.id).status == "running", what="first running")

        def waiting():
            job = queue.get_job(store, second.id)
            return job if job.status == "queued" and job.queue_reason else None

        waiting_job = wait_for(waiting, timeout=60, what="a queue_reason")
        assert first.id in waiting_job.queue_reason and "cpu" in waiting_job.queue_reason
        assert shapes.job_to_openai(waiting_job)["queue_reason"] == waiting_job.queue_reason
        time.sleep(2 * worker.HEARTBEAT_S)  # several worker polls later: still one job at a time
        assert queue.get_job(store, first.id).status == "running"
        assert queue.get_job(store, second.id).status == "queued"
        queue.request_cancel(store, second.id)
        stop.set()  # the server shuts down mid-run: the job goes back to the queue
    second = queue.get_job(store, second.id)
    assert second.status == "cancelled" and second.started_at is None
    first = queue.get_job(store, first.id)
    assert first.status == "queued" and "worker stopped" in first.queue_reason
    assert first.worker_id is None


def test_worker_process_stops_on_sigterm_and_requeues_its_job(sqlite_db, bases):
    import multiprocessing

    url, store = sqlite_db
    job = new_job(store, bases, LONG_RUN)
    context = multiprocessing.get_context("spawn")  # as `tunelab serve` starts its workers
    kwargs = {"worker_id": "w1", "device": "cpu", "stop_event": context.Event()}
    process = context.Process(target=worker.run_worker, args=(url,), kwargs=kwargs)
    process.start()
    try:
        wait_for(lambda: checkpoints_on_disk(job.id), what="a first checkpoint")
        process.terminate()  # SIGTERM
        process.join(30)
        assert process.exitcode == 0
    finally:
        if process.is_alive():
            process.kill()
    job = queue.get_job(store, job.id)
    assert job.status == "queued" and "worker stopped" in job.queue_reason


def test_runner_death_requeues_only_a_resumable_job(db, bases, monkeypatch):
    _, store = db
    job = new_job(store, bases, {"n_epochs": 1})
    worker.validate_next_job(store, "w1")
    queue.claim_next_job(store, "w1", "cpu")
    monkeypatch.setattr(worker, "can_resume", lambda job: True)
    worker._settle(store, job.id, "w1", -9, "exited")
    requeued = queue.get_job(store, job.id)
    assert requeued.status == "queued" and requeued.attempt == 2
    assert "died" in requeued.queue_reason

    queue.claim_next_job(store, "w1", "cpu")
    monkeypatch.setattr(worker, "can_resume", lambda job: False)
    worker._settle(store, job.id, "w1", -9, "exited")
    failed = queue.get_job(store, job.id)
    assert failed.status == "failed" and failed.error["code"] == "training_process_died"


def test_reconcile_fails_a_job_without_checkpoint(db, bases):
    _, store = db
    job = new_job(store, bases, {"n_epochs": 1})
    worker.validate_next_job(store, "w1")
    queue.claim_next_job(store, "gone", "cpu")
    expire_lease(store, job.id)
    assert worker.reconcile_on_start(store) == {job.id: "failed"}
    assert queue.get_job(store, job.id).error["code"] == "worker_lost"


@pytest.mark.parametrize(
    ("kwargs", "code", "param"),
    [
        ({"model": "gpt-4o"}, "model_not_found", "model"),
        ({"model": "../../etc"}, "model_not_found", "model"),
        ({"model": "ft:tiny:x:ftjob-0123456789abcdef01234567"}, "model_not_found", "model"),
        ({"training_file": "file-missing"}, "file_not_found", "training_file"),
        ({"validation_file": "file-missing"}, "file_not_found", "validation_file"),
        (
            {"hyperparameters": {"n_epochs": 0}},
            "invalid_hyperparameters",
            "hyperparameters.n_epochs",
        ),
        ({"hyperparameters": {"n_epochs": True}}, "invalid_hyperparameters", None),
        ({"hyperparameters": {"lr": 1}}, "invalid_hyperparameters", "hyperparameters.lr"),
        (
            {"method": {"type": "reinforcement", "reinforcement": {}}},
            "unsupported_method",
            "method.type",
        ),
        ({"method": {"type": "magic"}}, "invalid_method", "method.type"),
        ({"suffix": "a:b"}, "invalid_suffix", "suffix"),
        ({"seed": -1}, "invalid_seed", "seed"),
    ],
)
def test_create_job_rejects_bad_requests(db, bases, kwargs, code, param):
    _, store = db
    training = upload(store, toy_rows(12))
    request = {"model": "tiny", "training_file": training.id, **kwargs}
    with pytest.raises(TunelabError) as err:
        requests.create_fine_tuning_job(store, extra_bases=bases, **request)
    assert err.value.code == code
    assert param is None or err.value.param == param
    assert queue.list_jobs(store).data == []


def test_method_hyperparameters_and_file_metadata(db, bases):
    _, store = db
    training = upload(store, toy_rows(12), name="../../etc/passwd\x00.jsonl")
    assert training.filename == "../../etc/passwd.jsonl"  # display only; stored under its id
    assert files.file_content_path(store, training.id).name == training.storage_key
    method = {"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 3}}}
    job = requests.create_fine_tuning_job(
        store, model="tiny", training_file=training.id, method=method, extra_bases=bases
    )
    shown = shapes.job_to_openai(job)
    assert shown["hyperparameters"]["batch_size"] == 3
    assert shown["hyperparameters"]["n_epochs"] == "auto"
    assert shown["method"]["type"] == "supervised" and "base" not in shown["method"]
    assert 0 <= shown["seed"] < 2**31
    files.delete_file(store, training.id)
    with pytest.raises(TunelabError) as err:
        files.get_file(store, training.id)
    assert err.value.code == "file_not_found"


def test_start_up_sweeps_stale_upload_temp_files_and_keeps_live_jobs(sqlite_db, bases):
    from tunelab.store.artifacts import artifacts_dir

    url, store = sqlite_db
    stale, fresh = artifacts_dir() / ".tmp-crashed", artifacts_dir() / ".tmp-uploading"
    for path in (stale, fresh):
        path.write_bytes(b"x" * 100)
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    job = new_job(store, bases, {"n_epochs": 1})
    worker.validate_next_job(store, "w1")
    queue.claim_next_job(store, "other-server-w0", "cpu")

    assert worker.prepare_store(url) == {}  # what `tunelab serve` and `tunelab worker` run first
    assert not stale.exists() and fresh.exists()
    assert queue.get_job(store, job.id).worker_id == "other-server-w0"
