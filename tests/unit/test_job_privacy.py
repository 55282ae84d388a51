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
from tunelab.jobs import queue, registry, requests
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


def test_a_job_body_takes_dp_and_canaries_and_its_events_show_the_spent_epsilon(sqlite_db, bases):
    url, store = sqlite_db
    privacy = {"pii": "off", "dp": {"epsilon": 8, "seed": 3}, "canaries": 1, "canary_repeats": 2}
    privacy["canary_candidates"] = 20
    hp = {"n_epochs": 1, "batch_size": 8}
    job = new_job(store, bases, hp, toy_rows(16), privacy=privacy)
    assert job.method["privacy"]["dp"]["epsilon"] == 8 and job.method["pii_policy"] == "off"
    with running_worker(url):
        job = wait_terminal(store, job.id)
    assert job.status == "succeeded", job.error
    run = json.loads((Path(job.run_dir) / "run.json").read_text())
    assert run["config"]["privacy"]["dp"]["seed"] == 3 and run["resolved"]["noise_multiplier"] > 0
    events = queue.list_events(store, job.id, limit=100).data
    steps = [e for e in events if e.type == "metrics"]
    assert steps and all(0 < e.data["epsilon"] <= 8 for e in steps)
    assert "epsilon spent=" in steps[0].message
    report = json.loads((Path(job.run_dir) / "report.json").read_text())
    dp = next(s for s in report["sections"] if s["title"] == "Differential privacy")
    assert 0 < float(dict(dp["rows"])["spent epsilon"]) <= 8
    assert report["tuned"]["leakage"]["canaries"], "the canary was audited"


def test_a_bad_privacy_key_in_a_job_body_is_refused_naming_it(sqlite_db, bases):
    url, store = sqlite_db
    training = upload(store, toy_rows(12))
    app = create_app(database_url=url, extra_bases=bases)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for privacy, param in (
            ({"dp": {"epsilon": -1}}, "privacy.dp.epsilon"),
            ({"dp": {"noise": 1}}, "privacy.dp.noise"),
            ({"canaries": "many"}, "privacy.canaries"),
        ):
            body = {"model": "tiny", "training_file": training.id, "privacy": privacy}
            bad = client.post("/v1/fine_tuning/jobs", json=body)
            assert bad.status_code == 400, bad.text
            assert bad.json()["error"]["param"] == param
    with pytest.raises(TunelabError) as err:
        requests.create_fine_tuning_job(
            store,
            model="tiny",
            training_file=training.id,
            privacy={"dp": {"delta": 2}},
            extra_bases=bases,
        )
    assert err.value.param == "privacy.dp.delta"


def local_train(model_dir, rows, out, policy: str):
    from tunelab.cli.main import main

    data = out.parent / f"{out.name}-data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["train", "--set", f"model={model_dir}", "--set", f"train_file={data}"]
    args += ["--set", f"output_dir={out}", "--set", "max_steps=1", "--set", "samples=0"]
    return main([*args, "--set", f"privacy.pii={policy}", "--no-progress", "--json"]), data


def test_local_train_applies_the_pii_policy_as_a_job_does(tiny_model_dir, tmp_path, capsys):
    code, _ = local_train(tiny_model_dir, rows_with_pii(), tmp_path / "blocked", "block")
    err = capsys.readouterr().err
    assert code == 2 and "pii_found" in err and "EMAIL 1 (line 3)" in err and EMAIL not in err
    assert not (tmp_path / "blocked" / "run.json").exists()
    code, data = local_train(tiny_model_dir, rows_with_pii(), tmp_path / "redacted", "redact")
    assert code == 0
    assert EMAIL in data.read_text()  # the user's file is never written
    run = json.loads((tmp_path / "redacted" / "run.json").read_text())
    trained_on = Path(run["config"]["train_file"]).read_text()
    assert EMAIL not in trained_on and "<EMAIL_1>" in trained_on and PHONE not in trained_on
    summary = json.loads((tmp_path / "redacted" / "data" / "privacy.json").read_text())
    assert summary["policy"] == "redact"
    assert summary["files"]["train_file"]["counts"] == {"EMAIL": 1, "PHONE": 1}
    model_id = json.loads(capsys.readouterr().out)["model_id"]
    from tunelab.cli.refs import local_store

    with local_store() as store:
        version = json.dumps(registry.get_model(store, model_id))
    assert '"policy": "redact"' in version and EMAIL not in version
