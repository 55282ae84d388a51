"""Job states and the queue on SQLite and on a real PostgreSQL: claims, cancel, orphans, paging."""

from __future__ import annotations

import multiprocessing
from itertools import product

import pytest
from postgres import BACKENDS, backend_url, pg_url  # noqa: F401
from sqlalchemy import func, select, update

from tunelab.errors import TunelabError
from tunelab.jobs import queue
from tunelab.jobs.states import STATES, TERMINAL, TRANSITIONS, check_transition, is_terminal
from tunelab.store.db import open_store
from tunelab.store.tables import Job

LEGAL = [
    ("validating_files", "queued"),
    ("validating_files", "failed"),
    ("validating_files", "cancelled"),
    ("queued", "running"),
    ("queued", "cancelled"),
    ("queued", "failed"),
    ("running", "succeeded"),
    ("running", "failed"),
    ("running", "cancelled"),
    ("running", "queued"),
]
ILLEGAL = [
    ("validating_files", "running"),
    ("validating_files", "succeeded"),
    ("queued", "succeeded"),
    ("queued", "validating_files"),
    ("running", "validating_files"),
    ("succeeded", "running"),
    ("succeeded", "failed"),
    ("failed", "queued"),
    ("cancelled", "running"),
    ("cancelled", "queued"),
    ("queued", "queued"),
    ("running", "running"),
    ("queued", "paused"),
    ("bogus", "queued"),
]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    opened = open_store(backend_url(request, tmp_path))
    yield opened
    opened.dispose()


def new_job(store, status="queued", **kwargs):
    return queue.create_job(store, model="m", training_file="file-x", status=status, **kwargs)


def age_heartbeat(store, job_id, seconds_ago):
    with store.session() as s:
        stamp = queue.now() - seconds_ago
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=stamp))


# --- state machine ---------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), LEGAL)
def test_legal_edges_allowed(old, new):
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), ILLEGAL)
def test_illegal_edges_rejected(old, new):
    with pytest.raises(TunelabError) as info:
        check_transition(old, new)
    assert info.value.code == "invalid_state_transition"
    assert old in info.value.message and new in info.value.message


def test_edge_table_is_exactly_the_legal_list():
    allowed = {(a, b) for a, b in product(STATES, STATES) if b in TRANSITIONS[a]}
    assert allowed == set(LEGAL)


def test_terminal_states():
    assert {s for s in STATES if is_terminal(s)} == TERMINAL == {"succeeded", "failed", "cancelled"}


# --- create, get, list -----------------------------------------------------------------------


def test_create_and_get(store):
    job = queue.create_job(
        store,
        model="smollm2",
        training_file="file-a",
        hyperparameters={"n_epochs": "auto"},
        method={"type": "supervised"},
        suffix="demo",
        seed=7,
    )
    got = queue.get_job(store, job.id)
    assert got.status == "validating_files" and got.attempt == 1
    assert got.hyperparameters == {"n_epochs": "auto"} and got.seed == 7
    events = queue.list_events(store, job.id).data
    assert [e.message for e in events] == [f"Created fine-tuning job: {job.id}"]


def test_get_unknown_job(store):
    with pytest.raises(TunelabError) as info:
        queue.get_job(store, "ftjob-nope")
    assert info.value.code == "job_not_found"


def test_create_refuses_a_non_initial_status(store):
    with pytest.raises(TunelabError, match="cannot start"):
        new_job(store, status="running")


def test_list_jobs_paginates_newest_first(store):
    ids = [new_job(store).id for _ in range(5)]
    first = queue.list_jobs(store, limit=2)
    assert [j.id for j in first.data] == [ids[4], ids[3]] and first.has_more
    second = queue.list_jobs(store, after=ids[3], limit=2)
    assert [j.id for j in second.data] == [ids[2], ids[1]] and second.has_more
    last = queue.list_jobs(store, after=ids[1], limit=2)
    assert [j.id for j in last.data] == [ids[0]] and not last.has_more
    assert [j.id for j in queue.list_jobs(store).data] == ids[::-1]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"limit": 0}, "invalid_limit"),
        ({"limit": 101}, "invalid_limit"),
        ({"after": "x"}, "invalid_cursor"),
    ],
)
def test_list_jobs_bad_arguments(store, kwargs, code):
    with pytest.raises(TunelabError) as info:
        queue.list_jobs(store, **kwargs)
    assert info.value.code == code


# --- status changes --------------------------------------------------------------------------


def test_set_status_stamps_times_and_fields(store):
    job = new_job(store, status="validating_files")
    queue.set_status(store, job.id, "queued")
    running = queue.set_status(store, job.id, "running", worker_id="w1", device="cpu")
    assert running.started_at and running.heartbeat_at and running.worker_id == "w1"
    done = queue.set_status(
        store, job.id, "succeeded", fine_tuned_model="ft:m::" + job.id, trained_tokens=123
    )
    assert done.status == "succeeded" and done.finished_at >= running.started_at
    assert done.fine_tuned_model == "ft:m::" + job.id and done.trained_tokens == 123


def test_set_status_rejects_illegal_edge_and_leaves_row(store):
    job = new_job(store)
    with pytest.raises(TunelabError) as info:
        queue.set_status(store, job.id, "succeeded")
    assert info.value.code == "invalid_state_transition"
    assert queue.get_job(store, job.id).status == "queued"


def test_set_status_rejects_unknown_field(store):
    job = new_job(store)
    with pytest.raises(ValueError, match="not settable"):
        queue.set_status(store, job.id, "cancelled", id="ftjob-evil")


def test_set_status_lost_race_raises(store, monkeypatch):
    """Another process moves the job between our read and our conditional UPDATE."""
    job = new_job(store)
    real_get = queue._get

    def racing_get(s, job_id):
        loaded = real_get(s, job_id)
        racer = update(Job).where(Job.id == job_id).values(status="cancelled")
        s.execute(racer.execution_options(synchronize_session=False))  # our copy stays stale
        return loaded

    monkeypatch.setattr(queue, "_get", racing_get)
    with pytest.raises(TunelabError) as info:
        queue.set_status(store, job.id, "running")
    assert info.value.code == "state_conflict"


# --- claiming --------------------------------------------------------------------------------


def test_claim_oldest_and_second_waits_with_reason(store):
    first, second = new_job(store), new_job(store)
    claimed = queue.claim_next_job(store, "w1", device="cpu")
    assert claimed.id == first.id and claimed.status == "running"
    assert claimed.worker_id == "w1" and claimed.device == "cpu" and claimed.heartbeat_at
    assert queue.claim_next_job(store, "w2", device="cpu") is None
    waiting = queue.get_job(store, second.id)
    assert waiting.status == "queued"
    assert waiting.queue_reason == f"waiting for device cpu (job {first.id} is running)"
    queue.set_status(store, first.id, "succeeded")
    claimed = queue.claim_next_job(store, "w2", device="cpu")
    assert claimed.id == second.id and claimed.queue_reason is None


def test_claim_other_device_runs_in_parallel(store):
    first, second = new_job(store), new_job(store)
    assert queue.claim_next_job(store, "w1", device="cuda:0").id == first.id
    assert queue.claim_next_job(store, "w2", device="cuda:1").id == second.id


def test_claim_skips_jobs_still_validating(store):
    new_job(store, status="validating_files")
    assert queue.claim_next_job(store, "w1") is None


def _claim_worker(args):
    """Child process: create jobs and claim; check the device never runs two jobs at once."""
    url, worker, rounds = args
    store = open_store(url)
    claimed = []
    try:
        for _ in range(rounds):
            new_job(store)
            job = queue.claim_next_job(store, worker, device="cpu")
            if job is None:
                continue
            with store.session(readonly=True) as s:
                running = s.scalar(
                    select(func.count()).where(Job.status == "running", Job.device == "cpu")
                )
            assert running == 1, f"{running} jobs running on one device"
            claimed.append(job.id)
            assert queue.heartbeat(store, job.id, worker)
            queue.set_status(store, job.id, "succeeded")
    finally:
        store.dispose()
    return claimed


def test_concurrent_claims_never_lock_or_double_claim(store):
    processes, rounds = 4, 25
    url = store.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        args = [(url, f"w{i}", rounds) for i in range(processes)]
        results = pool.map_async(_claim_worker, args).get(timeout=240)
    claimed = [job_id for result in results for job_id in result]
    assert len(claimed) == len(set(claimed)) > 0
    while job := queue.claim_next_job(store, "drain"):  # what is left was never claimed
        assert job.id not in claimed
        queue.set_status(store, job.id, "succeeded")
    with store.session(readonly=True) as s:
        statuses = list(s.scalars(select(Job.status)))
    assert len(statuses) == processes * rounds and set(statuses) == {"succeeded"}


# --- heartbeat, cancel, orphans --------------------------------------------------------------


def test_heartbeat_only_for_the_owner(store):
    job = new_job(store)
    queue.claim_next_job(store, "w1")
    age_heartbeat(store, job.id, 100)
    assert queue.heartbeat(store, job.id, "w1") is True
    assert queue.get_job(store, job.id).heartbeat_at >= queue.now() - 5
    assert queue.heartbeat(store, job.id, "w2") is False


@pytest.mark.parametrize("status", ["validating_files", "queued"])
def test_cancel_before_running_is_immediate(store, status):
    job = new_job(store, status=status)
    cancelled = queue.request_cancel(store, job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at
    assert queue.claim_next_job(store, "w1") is None


def test_cancel_running_sets_flag_then_worker_cancels(store):
    job = new_job(store)
    queue.claim_next_job(store, "w1")
    assert not queue.is_cancel_requested(store, job.id)
    after = queue.request_cancel(store, job.id)
    assert after.status == "running" and after.cancel_requested
    assert queue.is_cancel_requested(store, job.id)
    done = queue.set_status(store, job.id, "cancelled")
    assert done.status == "cancelled" and done.finished_at


@pytest.mark.parametrize("final", ["succeeded", "failed", "cancelled"])
def test_cancel_finished_job_rejected(store, final):
    job = new_job(store)
    queue.claim_next_job(store, "w1")
    queue.set_status(store, job.id, final)
    with pytest.raises(TunelabError) as info:
        queue.request_cancel(store, job.id)
    assert info.value.code == "invalid_state_transition"
    assert queue.get_job(store, job.id).status == final


def test_reconcile_requeues_resumable_stale_job(store):
    job = new_job(store)
    queue.claim_next_job(store, "w1")
    age_heartbeat(store, job.id, 600)
    seen = []
    moved = queue.reconcile_orphans(store, 60, lambda j: seen.append(j.id) or True)
    assert moved == {job.id: "queued"} and seen == [job.id]
    after = queue.get_job(store, job.id)
    assert after.status == "queued" and after.attempt == 2 and after.worker_id is None
    messages = [e.message for e in queue.list_events(store, job.id).data]
    assert any("re-queued to resume" in m for m in messages)
    assert queue.claim_next_job(store, "w2").id == job.id  # and it can run again


@pytest.mark.parametrize("can_resume", [lambda j: False, lambda j: 1 / 0])
def test_reconcile_fails_unresumable_stale_job(store, can_resume):
    job = new_job(store)
    queue.claim_next_job(store, "w1")
    age_heartbeat(store, job.id, 600)
    assert queue.reconcile_orphans(store, 60, can_resume) == {job.id: "failed"}
    after = queue.get_job(store, job.id)
    assert after.status == "failed" and after.finished_at
    assert after.error["code"] == "worker_lost" and after.error["message"]


def test_reconcile_cancels_stale_job_with_pending_cancel(store):
    job = new_job(store)
    queue.claim_next_job(store, "w1")
    queue.request_cancel(store, job.id)
    age_heartbeat(store, job.id, 600)
    assert queue.reconcile_orphans(store, 60, lambda j: True) == {job.id: "cancelled"}


def test_reconcile_leaves_fresh_and_other_jobs(store):
    fresh, waiting = new_job(store), new_job(store)
    queue.claim_next_job(store, "w1")
    assert queue.reconcile_orphans(store, 60, lambda j: True) == {}
    assert queue.get_job(store, fresh.id).status == "running"
    assert queue.get_job(store, waiting.id).status == "queued"


# --- events and checkpoints ------------------------------------------------------------------


def test_events_order_and_paging(store):
    job = new_job(store)
    for step in range(1, 6):
        queue.add_event(store, job.id, f"Step {step}", type="metrics", data={"step": step})
    newest = queue.list_events(store, job.id, limit=3)
    assert [e.data["step"] for e in newest.data] == [5, 4, 3] and newest.has_more
    older = queue.list_events(store, job.id, after=newest.data[-1].id, limit=3)
    assert [e.data and e.data["step"] for e in older.data] == [2, 1, None]
    assert not older.has_more  # the creation event ends the list
    oldest_first = queue.list_events(store, job.id, newest_first=False, limit=100).data
    assert [e.seq for e in oldest_first] == sorted(e.seq for e in oldest_first)


def test_events_are_per_job_and_validated(store):
    a, b = new_job(store), new_job(store)
    queue.add_event(store, a.id, "only a", level="warn")
    assert "only a" not in [e.message for e in queue.list_events(store, b.id).data]
    with pytest.raises(TunelabError) as info:
        queue.list_events(store, b.id, after=queue.list_events(store, a.id).data[0].id)
    assert info.value.code == "invalid_cursor"
    with pytest.raises(ValueError):
        queue.add_event(store, a.id, "x", level="debug")
    with pytest.raises(TunelabError) as info:
        queue.add_event(store, "ftjob-missing", "x")
    assert info.value.code == "job_not_found"


def test_checkpoints_listed_newest_first(store):
    job = new_job(store)
    for step in (10, 20, 30):
        model_id = f"ft:m::{job.id}:ckpt-step-{step}"
        metrics = {"train_loss": 1.0 / step}
        queue.add_checkpoint(
            store, job.id, step=step, model_id=model_id, path_key=f"step-{step}", metrics=metrics
        )
    page = queue.list_checkpoints(store, job.id, limit=2)
    assert [c.step for c in page.data] == [30, 20] and page.has_more
    assert page.data[0].id.startswith("ftckpt-") and page.data[0].metrics["train_loss"] > 0
    rest = queue.list_checkpoints(store, job.id, after=page.data[-1].id)
    assert [c.step for c in rest.data] == [10] and not rest.has_more
