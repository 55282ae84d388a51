"""A job's PII policy (``privacy.pii``): the worker scans the job's files before training, and
redacts, blocks or records what it found; the API reports a file's PII without its values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import new_job, running_worker, toy_rows, upload, wait_terminal

from tunelab.api.app import create_app
from tunelab.errors import TunelabError
from tunelab.jobs import registry, requests
from tunelab.jobs.files import file_content_path

EMAIL, PHONE = "jane.doe@example.com", "+1 415 555 0132"


def rows_with_pii() -> list[dict]:
    rows = toy_rows(16)
    rows[2]["messages"][1]["content"] += f" Reply to {EMAIL}."
    rows[5]["messages"][1]["content"] += f" Call me on {PHONE}."
    return rows


def test_block_fails_the_job_naming_lines_and_types_before_training(sqlite_db, bases):
    url, store = sqlite_db
    job = new_job(store, bases, {"n_epochs": 1}, rows_with_pii(), privacy={"pii": "block"})
    with running_worker(url):
        job = wait_terminal(store, job.id)
    assert job.status == "failed" and job.error["code"] == "pii_found"
    message = job.error["message"]
    assert "EMAIL 1 (line 3)" in message and "PHONE 1 (line 6)" in message
    assert EMAIL not in message and PHONE not in message
    assert job.error["param"] == "training_file" and job.trained_tokens is None


def test_redact_trains_on_a_scrubbed_copy_and_records_counts_with_the_version(sqlite_db, bases):
    url, store = sqlite_db
    hp = {"n_epochs": 1, "batch_size": 8}
    job = new_job(store, bases, hp, rows_with_pii(), privacy={"pii": "redact"})
    with running_worker(url):
        job = wait_terminal(store, job.id)
    assert job.status == "succeeded", job.error
    trained_on = (Path(job.run_dir) / "data" / "training_file.jsonl").read_text()
    assert EMAIL not in trained_on and PHONE not in trained_on and "<EMAIL_1>" in trained_on
    assert len(trained_on.splitlines()) == 16
    assert EMAIL in file_content_path(store, job.training_file).read_text()  # upload untouched
    version = registry.get_model(store, job.fine_tuned_model)
    privacy = json.dumps(version)
    assert '"policy": "redact"' in privacy and EMAIL not in privacy
    summary = json.loads((Path(job.run_dir) / "data" / "privacy.json").read_text())
    assert summary["files"]["training_file"]["counts"] == {"EMAIL": 1, "PHONE": 1}


def test_the_policy_is_checked_and_the_file_report_shows_no_values(sqlite_db, bases):
    url, store = sqlite_db
    training = upload(store, rows_with_pii())
    with pytest.raises(TunelabError) as err:
        requests.create_fine_tuning_job(
            store,
            model="tiny",
            training_file=training.id,
            privacy={"pii": "shred"},
            extra_bases=bases,
        )
    assert err.value.code == "invalid_value" and err.value.param == "privacy.pii"
    app = create_app(database_url=url, extra_bases=bases)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        report = client.get(f"/v1/files/{training.id}/privacy")
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["counts"] == {"EMAIL": 1, "PHONE": 1}
        assert body["lines"] == {"EMAIL": [3], "PHONE": [6]}
        assert EMAIL not in report.text and PHONE not in report.text
        bad = client.post(
            "/v1/fine_tuning/jobs",
            json={"model": "tiny", "training_file": training.id, "privacy": {"pii": "x"}},
        )
        assert bad.status_code == 400 and "privacy" in bad.json()["error"]["param"]
        assert client.get("/v1/files/file-nope/privacy").status_code == 404
