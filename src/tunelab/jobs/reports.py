"""A job as a client follows it: its final report, and the feed of its events while it runs.

``job_report`` is the finished job's report.json (base vs tuned, sections such as forgetting
and the leakage audit). ``JobFeed.poll`` returns what changed since its last call: new events in
order, and the job object when it differs from the one last sent; the API streams these as
server-sent events (``GET /v1/fine_tuning/jobs/{id}/events/stream``) for the live charts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tunelab.errors import TunelabError
from tunelab.jobs import queue, registry, shapes
from tunelab.jobs.runner import job_run_dir
from tunelab.jobs.states import TERMINAL
from tunelab.store.db import Store
from tunelab.store.runs import REPORT

PAGE = 100


def job_report(store: Store, job_id: str) -> dict:
    """The job's report.json as the API returns it (``report_not_found`` until there is one)."""
    job = queue.get_job(store, job_id)
    row = registry.model_row(store, job.fine_tuned_model) if job.fine_tuned_model else None
    path = Path(row.report_path) if row and row.report_path else job_run_dir(job.id) / REPORT
    if not path.is_file():
        raise TunelabError(
            f"Job {job.id} has no report yet ({job.status}).",
            code="report_not_found",
            param="job_id",
        )
    report = json.loads(path.read_text(encoding="utf-8"))
    report.pop("run_dir", None)  # a server path
    return {"id": job.id, "object": "fine_tuning.job.report", "status": job.status} | report


@dataclass
class JobFeed:
    """Where a follower of one job is: the last event sent and the job object last sent."""

    job_id: str
    after: str | None = None
    sent_job: str | None = None
    done: bool = False

    def poll(self, store: Store) -> list[tuple[str, dict]]:
        """``[(kind, data)]`` since the last poll: ``("event", event)`` in the order they were
        written, ``("job", job)`` when the job changed, and ``("done", job)`` once it is
        finished and every event before that was sent. The job is read before its events, so
        an event written before the job finished is never missed."""
        job = queue.get_job(store, self.job_id)
        out: list[tuple[str, dict]] = []
        while True:
            page = queue.list_events(
                store, self.job_id, after=self.after, limit=PAGE, newest_first=False
            )
            out += [("event", shapes.event_to_openai(e)) for e in page.data]
            if page.data:
                self.after = page.data[-1].id
            if not page.has_more:
                break
        shown = shapes.job_to_openai(job)
        text = json.dumps(shown, sort_keys=True)
        if text != self.sent_job:
            self.sent_job = text
            out.append(("job", shown))
        if job.status in TERMINAL:
            self.done = True
            out.append(("done", {"id": job.id, "status": job.status}))
        return out
