"""``GET /v1/fine_tuning/jobs/{id}/events/stream``: a job's events as server-sent events, in the
order they were written, the job object when it changes, and ``done`` at the end; ``after``
resumes; the feed behind it (``jobs.reports.JobFeed``) never misses an event."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from helpers import new_job, running_worker, toy_rows, wait_terminal

from tunelab.api.app import create_app
from tunelab.jobs import queue
from tunelab.jobs.reports import JobFeed


def read_stream(client, path: str) -> list[tuple[str, dict]]:
    frames, kind = [], None
    with client.stream("GET", path) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                frames.append((kind, json.loads(line[6:])))
    return frames


def test_the_stream_follows_a_job_to_its_end(sqlite_db, bases):
    url, store = sqlite_db
    job = new_job(store, bases, {"n_epochs": 1, "batch_size": 4}, toy_rows(12))
    app = create_app(database_url=url, extra_bases=bases)
    with TestClient(app, base_url="http://127.0.0.1") as client, running_worker(url):
        frames = read_stream(client, f"/v1/fine_tuning/jobs/{job.id}/events/stream")
        wait_terminal(store, job.id)
        kinds = [k for k, _ in frames]
        assert kinds[-1] == "done" and frames[-1][1]["status"] == "succeeded"
        statuses = [d["status"] for k, d in frames if k == "job"]
        assert statuses[-1] == "succeeded" and len(statuses) >= 2, "sent again as it changed"
        streamed = [d["id"] for k, d in frames if k == "event"]
        listed = queue.list_events(store, job.id, limit=100, newest_first=False).data
        assert streamed == [e.id for e in listed], "every event, once, in order"
        assert any(d.get("type") == "metrics" for k, d in frames if k == "event")
        # a job that has finished streams what it has, then ends; ``after`` skips what was seen
        later = read_stream(
            client, f"/v1/fine_tuning/jobs/{job.id}/events/stream?after={streamed[2]}"
        )
        assert [d["id"] for k, d in later if k == "event"] == streamed[3:]
        assert [k for k, _ in later][-2:] == ["job", "done"]
        missing = client.get("/v1/fine_tuning/jobs/ftjob-nope/events/stream")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"


def test_the_feed_sends_a_job_only_when_it_changed_and_pages_through_events(sqlite_db, bases):
    _, store = sqlite_db
    job = new_job(store, bases, {}, toy_rows(12))
    feed = JobFeed(job.id)
    first = feed.poll(store)
    assert [k for k, _ in first].count("job") == 1 and not feed.done
    for i in range(250):  # more than two pages
        queue.add_event(store, job.id, f"message {i}")
    second = feed.poll(store)
    assert [d["message"] for k, d in second if k == "event"][-250:] == [
        f"message {i}" for i in range(250)
    ]
    assert "job" not in [k for k, _ in second], "unchanged: not sent again"
    assert feed.poll(store) == []
