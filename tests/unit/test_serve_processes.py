"""Real ``tunelab serve`` and ``tunelab worker`` processes on one database (SQLite and
PostgreSQL): a second server never takes a live job, workers die with their server (even under
SIGKILL), a normal stop ends within seconds, and no secret reaches a command line or a log."""

from __future__ import annotations

import io
import json
import signal
import socket
import time

import pytest
from helpers import (
    alive,
    all_cmdlines,
    descendants,
    environ,
    free_port,
    runner_pids,
    toy_rows,
    tunelab,
    wait_for,
    wait_healthy,
)
from postgres import BACKENDS, backend_url, pg_url  # noqa: F401

from tunelab.jobs import files, queue, requests
from tunelab.jobs.runner import job_run_dir
from tunelab.store.db import open_store
from tunelab.train.checkpoint import list_checkpoints

PASSWORD = "pw-S3cr3t-4e1f"
KEY = "tl-key-5b7d9c0a11"
LONG_RUN = {"n_epochs": 25, "batch_size": 2}
SLOW = {"TUNELAB_FAULT": "slow_steps:0.25"}  # ~2 minutes of steps: still running when we act
STOP_WITHIN_S = 15


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    url = backend_url(request, tmp_path)
    if request.param == "postgresql":  # trust auth ignores it; the test looks for it everywhere
        url = url.replace("//postgres@", f"//postgres:{PASSWORD}@", 1)
    return url


def long_job(url, tiny_model_dir):
    store = open_store(url)
    try:
        data = "".join(json.dumps(r) + "\n" for r in toy_rows(40)).encode()
        upload = files.create_file(store, io.BytesIO(data), "train.jsonl", "fine-tune", 1 << 20)
        return requests.create_fine_tuning_job(
            store,
            model="tiny",
            training_file=upload.id,
            hyperparameters=LONG_RUN,
            extra_bases={"tiny": str(tiny_model_dir)},
            seed=3,
        )
    finally:
        store.dispose()


def job_row(url, job_id):
    store = open_store(url)
    try:
        return queue.get_job(store, job_id)
    finally:
        store.dispose()


def worker_prefix(process) -> str:
    return f"{socket.gethostname()}-{process.pid}-"


def test_servers_share_a_database_and_workers_never_outlive_theirs(
    database_url, tiny_model_dir, tunelab_home, tmp_path
):
    job = long_job(database_url, tiny_model_dir)
    env = {
        "TUNELAB_HOME": str(tunelab_home),
        "TUNELAB_DATABASE_URL": database_url,
        "TUNELAB_API_KEYS": KEY,
        **SLOW,
    }
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    ports = [free_port(), free_port()]
    servers = []
    try:
        a = tunelab(["serve", "--port", str(ports[0]), "--device", "cpu"], env, logs[0])
        servers.append(a)
        wait_healthy(a, ports[0], logs[0])
        wait_for(lambda: list_checkpoints(job_run_dir(job.id)), 180, "a first checkpoint")
        assert job_row(database_url, job.id).worker_id.startswith(worker_prefix(a))
        runners = wait_for(runner_pids, 30, "the runner process")

        # No secret in any process's arguments; the runner does not even hold the API key.
        for pid, cmd in all_cmdlines().items():
            assert PASSWORD.encode() not in cmd and KEY.encode() not in cmd, (pid, cmd)
        assert all(KEY.encode() not in environ(pid) for pid in runners)

        # A second server on the same database leaves A's live job alone.
        b = tunelab(["serve", "--port", str(ports[1]), "--device", "cpu"], env, logs[1])
        servers.append(b)
        wait_healthy(b, ports[1], logs[1])
        time.sleep(6)  # B's worker has reconciled and polled for jobs several times
        live = job_row(database_url, job.id)
        assert live.status == "running" and live.attempt == 1
        assert live.worker_id.startswith(worker_prefix(a))

        # Server A dies without its shutdown: its worker and runner follow it.
        a_tree = descendants(a.pid)
        assert len(a_tree) >= 2
        a.kill()
        a.wait(10)
        wait_for(lambda: not any(alive(p) for p in a_tree), STOP_WITHIN_S, "A's processes to exit")

        # B's worker takes the job over and resumes it from its checkpoint.
        def taken_by_b():
            row = job_row(database_url, job.id)
            return row.status == "running" and row.worker_id.startswith(worker_prefix(b))

        wait_for(taken_by_b, 60, "server B to take the job over")
        wait_for(lambda: [p for p in runner_pids() if p in descendants(b.pid)], 30, "B's runner")

        # A normal stop ends within seconds and leaves no process behind.
        b_tree = descendants(b.pid)
        started = time.monotonic()
        b.send_signal(signal.SIGTERM)
        b.wait(STOP_WITHIN_S + 15)
        assert time.monotonic() - started < STOP_WITHIN_S
        assert b.returncode == 0, logs[1].read_text()[-3000:]
        wait_for(lambda: not any(alive(p) for p in b_tree), 5, "B's processes to exit")
        final = job_row(database_url, job.id)
        assert final.status == "queued" and "worker stopped" in final.queue_reason
    finally:
        for server in servers:
            if server.poll() is None:
                server.kill()
                server.wait(10)
    logged = b"".join(p.read_bytes() for p in [*logs, job_run_dir(job.id) / "runner.log"])
    assert PASSWORD.encode() not in logged and KEY.encode() not in logged


def test_worker_command_runs_jobs_apart_from_the_server(tiny_model_dir, tunelab_home, tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    job = long_job(url, tiny_model_dir)
    url_file = tmp_path / "db-url"
    url_file.write_text(url + "\n")
    url_file.chmod(0o600)
    log = tmp_path / "worker.log"
    env = {"TUNELAB_HOME": str(tunelab_home), **SLOW}
    process = tunelab(["worker", "--database-url-file", str(url_file), "--name", "w-x"], env, log)
    try:
        wait_for(lambda: job_row(url, job.id).status == "running", 120, "the worker to claim")
        assert job_row(url, job.id).worker_id == "w-x"
        tree = wait_for(lambda: [p for p in descendants(process.pid) if p in runner_pids()], 30)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(STOP_WITHIN_S + 15)
        assert time.monotonic() - started < STOP_WITHIN_S
        assert process.returncode == 0, log.read_text()[-3000:]
        wait_for(lambda: not any(alive(p) for p in tree), 5, "the runner to exit")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    stopped = job_row(url, job.id)
    assert stopped.status == "queued" and stopped.worker_id is None
