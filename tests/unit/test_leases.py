"""Leases on SQLite and PostgreSQL: a live job or validation is never taken, run twice or failed
by another server or worker; only an expired lease is reclaimed; job errors never carry server
paths or tracebacks."""

from __future__ import annotations

import logging
import time

import pytest
from postgres import BACKENDS, backend_url, pg_url  # noqa: F401
from sqlalchemy import select, update

from tunelab.errors import TunelabError
from tunelab.jobs import queue, runner, worker
from tunelab.settings import job_lease_seconds
from tunelab.store.db import open_store
from tunelab.store.tables import Job, db_now


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    opened = open_store(backend_url(request, tmp_path))
    yield opened
    opened.dispose()


def new_job(store, status="queued"):
    return queue.create_job(store, model="m", training_file="file-x", status=status)


def age(store, job_id, seconds):
    with store.session() as s:
        stamp = queue.now() - seconds
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=stamp))


def test_lease_defaults_and_environment(monkeypatch):
    monkeypatch.delenv("TUNELAB_JOB_LEASE_S", raising=False)
    assert job_lease_seconds() == 60.0
    monkeypatch.setenv("TUNELAB_JOB_LEASE_S", "7.5")
    assert job_lease_seconds() == 7.5
    for bad in ("0", "-3", "soon"):
        monkeypatch.setenv("TUNELAB_JOB_LEASE_S", bad)
        assert job_lease_seconds() == 60.0


def test_heartbeats_use_the_database_clock(store):
    with store.session(readonly=True) as s:
        assert abs(s.scalar(select(db_now())) - time.time()) < 3
    job = new_job(store)
    queue.claim_next_job(store, "w1", "cpu")
    age(store, job.id, 500)
    assert queue.heartbeat(store, job.id, "w1")
    assert abs(queue.get_job(store, job.id).heartbeat_at - time.time()) < 3


def test_a_second_server_leaves_a_live_job_alone(store):
    job = new_job(store)
    queue.claim_next_job(store, "server-a-w0", "cpu")
    # server B starts on the same database while A's worker is heartbeating
    assert worker.reconcile_on_start(store) == {}
    assert queue.reconcile_orphans(store, job_lease_seconds(), lambda j: True) == {}
    live = queue.get_job(store, job.id)
    assert live.status == "running" and live.worker_id == "server-a-w0" and live.attempt == 1
    assert queue.claim_next_job(store, "server-b-w0", "cpu") is None  # the device is busy


def test_only_an_expired_lease_is_reclaimed(store):
    job = new_job(store)
    queue.claim_next_job(store, "w1", "cpu")
    lease = job_lease_seconds()
    age(store, job.id, int(lease) - 5)
    assert queue.reconcile_orphans(store, lease, lambda j: True) == {}
    assert queue.heartbeat(store, job.id, "w1")  # renewed: a fresh lease
    age(store, job.id, int(lease) + 5)
    assert queue.reconcile_orphans(store, lease, lambda j: True) == {job.id: "queued"}
    assert not queue.heartbeat(store, job.id, "w1")  # the old worker learns it lost the job


def test_a_worker_that_lost_its_job_cannot_settle_it(store):
    job = new_job(store)
    queue.claim_next_job(store, "w1", "cpu")
    age(store, job.id, int(job_lease_seconds()) + 5)
    queue.reconcile_orphans(store, job_lease_seconds(), lambda j: True)
    assert queue.claim_next_job(store, "w2", "cpu").worker_id == "w2"

    with pytest.raises(TunelabError) as raised:
        queue.set_status(store, job.id, "succeeded", owner="w1")
    assert raised.value.code == "state_conflict"
    runner.fail_job(store, job.id, {"code": "x", "message": "late", "param": None}, owner="w1")
    worker._settle(store, job.id, "w1", -9, "exited")
    kept = queue.get_job(store, job.id)
    assert kept.status == "running" and kept.worker_id == "w2" and kept.error is None
    queue.set_status(store, job.id, "succeeded", owner="w2")
    assert queue.get_job(store, job.id).status == "succeeded"


def test_a_live_validation_is_neither_released_nor_taken(store, monkeypatch):
    job = new_job(store, status="validating_files")
    assert queue.claim_validation(store, "server-a-w0", job_lease_seconds()).id == job.id
    worker.reconcile_on_start(store)  # server B starting
    assert queue.get_job(store, job.id).worker_id == "server-a-w0"
    assert worker.validate_next_job(store, "server-b-w0") is None
    age(store, job.id, int(job_lease_seconds()) + 5)  # server A died mid-validation
    monkeypatch.setattr(worker, "check_job_files", lambda store, job: (None, "10 examples"))
    assert worker.validate_next_job(store, "server-b-w0").status == "queued"


def test_a_long_validation_keeps_renewing_its_lease(store, monkeypatch):
    monkeypatch.setattr(worker, "HEARTBEAT_S", 0.2)
    new_job(store, status="validating_files")
    seen = []

    def slow_check(store, claimed):
        age(store, claimed.id, 1000)
        time.sleep(1.0)  # several renewals while it runs
        seen.append(queue.get_job(store, claimed.id).heartbeat_at)
        return None, "10 examples"

    monkeypatch.setattr(worker, "check_job_files", slow_check)
    assert worker.validate_next_job(store, "w1").status == "queued"
    assert seen and seen[0] > queue.now() - 5


def test_internal_errors_keep_paths_and_tracebacks_out_of_the_job(store, monkeypatch, caplog):
    new_job(store, status="validating_files")

    def broken(store, job):
        raise RuntimeError("cannot open /srv/tunelab-home/runs/secret-project/data.jsonl")

    monkeypatch.setattr(worker, "check_job_files", broken)
    with caplog.at_level(logging.ERROR, logger="tunelab.jobs.queue"):
        failed = worker.validate_next_job(store, "w1")
    assert failed.status == "failed" and failed.error["code"] == "internal_error"
    message = failed.error["message"]
    assert "/srv" not in message and "secret-project" not in message
    assert "RuntimeError" not in message and "reference err-" in message
    reference = message.split("reference ")[1].rstrip(".")
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and "secret-project" in str(logged[0].exc_info[1])  # the detail is in the log


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("file /root/.tunelab/runs/ftjob-1/data/training_file.jsonl is gone", "training_file"),
        ("checkpoint /tmp/x/checkpoints/step-0000003: manifest mismatch", "step-0000003"),
        ("see https://example.com/docs/errors for help", "https://example.com/docs/errors"),
        ("ratio 3/4 of lines", "3/4"),
        ("Invalid training_file, line 3 /messages/0/content: empty", "/messages/0/content"),
    ],
)
def test_public_error_reduces_server_paths_to_their_last_part(message, shown):
    public = queue.public_error({"code": "c", "message": message, "param": "p"})
    assert shown in public["message"] and public["code"] == "c" and public["param"] == "p"
    assert "/root" not in public["message"] and "/tmp/x" not in public["message"]
