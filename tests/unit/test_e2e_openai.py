"""End to end with the official openai SDK, unchanged: upload, fine-tune, follow, chat, stream.

A real uvicorn server and a real worker (which trains in a subprocess) on a tiny local model.
"""

from __future__ import annotations

import threading
import time

import openai
import pytest
from helpers import serve_app, toy_rows, write_jsonl

from tunelab.api.app import create_app
from tunelab.jobs.worker import run_worker

TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def stack(tiny_model_dir, tmp_path):
    """(openai client, database url): API server + one worker thread."""
    url = f"sqlite:///{tmp_path / 'tunelab.db'}"
    app = create_app(database_url=url, extra_bases={"tiny": str(tiny_model_dir)})
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(url,),
        kwargs={"worker_id": "w-test", "poll_s": 0.2, "stop_event": stop},
        daemon=True,
    )
    worker.start()
    with serve_app(app) as base:
        yield openai.OpenAI(base_url=f"{base}/v1", api_key="local", max_retries=0)
    stop.set()
    worker.join(30)


def wait_for(client, job_id: str, timeout_s: float = 240):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in TERMINAL:
            return job
        time.sleep(0.5)
    pytest.fail(f"job {job_id} did not finish in {timeout_s} s")


def test_sdk_fine_tunes_and_chats_with_the_result(stack, tmp_path):
    client = stack
    data = write_jsonl(tmp_path / "train.jsonl", toy_rows(24))
    with open(data, "rb") as fh:
        file = client.files.create(file=fh, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="tiny",
        training_file=file.id,
        suffix="doors",
        seed=3,
        hyperparameters={"n_epochs": 2, "batch_size": 4},
    )
    assert job.status in {"validating_files", "queued", "running"}
    job = wait_for(client, job.id)
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model.startswith("ft:") and job.fine_tuned_model.endswith(job.id)
    assert job.trained_tokens > 0 and job.finished_at >= job.created_at

    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    metrics = [e.data for e in events if e.type == "metrics"]
    assert any("train_loss" in m for m in metrics) and any("valid_loss" in m for m in metrics)
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert checkpoints and all(c.fine_tuned_model_checkpoint for c in checkpoints)

    listed = {m.id for m in client.models.list().data}
    assert {"tiny", job.fine_tuned_model} <= listed
    messages = [{"role": "user", "content": "What is the code for the red door?"}]
    reply = client.chat.completions.create(
        model=job.fine_tuned_model, messages=messages, max_tokens=6, temperature=0
    )
    assert reply.choices[0].message.role == "assistant"
    assert reply.usage.completion_tokens <= 6 and reply.usage.prompt_tokens > 0
    streamed = client.chat.completions.create(
        model=job.fine_tuned_model, messages=messages, max_tokens=6, temperature=0, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert text == reply.choices[0].message.content
    ckpt = client.chat.completions.create(
        model=checkpoints[0].fine_tuned_model_checkpoint, messages=messages, max_tokens=4
    )
    assert ckpt.choices[0].finish_reason in {"stop", "length"}


def test_sdk_bad_file_fails_in_validation_with_the_line(stack, tmp_path):
    client = stack
    rows = toy_rows(12)
    rows[4]["messages"][2]["role"] = "bot"
    data = write_jsonl(tmp_path / "bad.jsonl", rows)
    with open(data, "rb") as fh:
        file = client.files.create(file=fh, purpose="fine-tune")
    job = wait_for(
        client, client.fine_tuning.jobs.create(model="tiny", training_file=file.id).id, timeout_s=60
    )
    assert job.status == "failed"
    assert job.error.code == "unrecognized_role" and "line 5" in job.error.param
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="ft:tiny:nope:ftjob-000", messages=[{"role": "user", "content": "hi"}]
        )


def test_an_update_through_the_sdk_from_a_fine_tuned_id_measures_forgetting(stack, tmp_path):
    """v1 from the base, v2 from v1's id: v2 replays v1's rows and its job carries the table."""
    import json
    from pathlib import Path

    client = stack

    def upload(rows):
        path = write_jsonl(tmp_path / f"d{len(rows)}.jsonl", rows)
        with open(path, "rb") as fh:
            return client.files.create(file=fh, purpose="fine-tune").id

    hp = {"n_epochs": 1, "batch_size": 4}
    v1 = client.fine_tuning.jobs.create(
        model="tiny", training_file=upload(toy_rows(24)), hyperparameters=hp, seed=1
    )
    v1 = wait_for(client, v1.id)
    assert v1.status == "succeeded", v1.error
    closed = [
        dict(r, messages=[*r["messages"][:2], {"role": "assistant", "content": "Closed."}])
        for r in toy_rows(20)
    ]
    v2 = client.fine_tuning.jobs.create(
        model=v1.fine_tuned_model, training_file=upload(closed), hyperparameters=hp, seed=1
    )
    v2 = wait_for(client, v2.id)
    assert v2.status == "succeeded", v2.error
    forgetting = v2.model_extra["forgetting"]
    tasks = {row["task"] for row in forgetting}
    assert f"{v1.fine_tuned_model}: validation" in tasks and "retention (general ability)" in tasks
    assert all({"parent", "new", "change", "over"} <= set(row) for row in forgetting)
    listed = client.fine_tuning.jobs.list_events(v2.id, limit=100).data
    assert any("Forgetting measured" in e.message for e in listed)
    run_dir = next(Path(tmp_path).rglob(f"{v2.id}/run.json")).parent
    run = json.loads((run_dir / "run.json").read_text())
    assert run["resolved"]["n_replayed"] > 0 and run["resolved"]["penalty"] == "kl"
