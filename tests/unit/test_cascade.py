"""Deleting a dataset with everything derived from it (``files delete --cascade``): its jobs and
their run folders, the versions they made and every version descended from them, their aliases;
nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import new_job, running_worker, toy_rows, upload, wait_terminal

from tunelab.api.app import create_app
from tunelab.errors import TunelabError
from tunelab.jobs import aliases, queue, registry, requests
from tunelab.jobs.cascade import delete_file_cascade
from tunelab.store.tables import Model


def test_a_dataset_goes_with_its_jobs_versions_descendants_and_folders(sqlite_db, bases):
    url, store = sqlite_db
    hp = {"n_epochs": 1, "batch_size": 8}
    first = new_job(store, bases, hp, toy_rows(16))  # trains on file A
    other_file = upload(store, toy_rows(16), name="other.jsonl")
    with running_worker(url):
        first = wait_terminal(store, first.id)
        child = requests.create_fine_tuning_job(  # descends from A's version, on file B
            store, model=first.fine_tuned_model, training_file=other_file.id, hyperparameters=hp
        )
        unrelated = requests.create_fine_tuning_job(  # file B, from the base: stays
            store, model="tiny", training_file=other_file.id, hyperparameters=hp, extra_bases=bases
        )
        child, unrelated = wait_terminal(store, child.id), wait_terminal(store, unrelated.id)
    assert {first.status, child.status, unrelated.status} == {"succeeded"}
    aliases.set_alias(store, "prod", child.fine_tuned_model)
    folders = [Path(first.run_dir), Path(child.run_dir)]
    assert all(f.is_dir() for f in folders)

    app = create_app(database_url=url, extra_bases=bases)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        body = client.delete(f"/v1/files/{first.training_file}", params={"cascade": "true"})
        assert body.status_code == 200, body.text
        gone = body.json()
        assert gone["deleted"] and set(gone["jobs"]) == {first.id}
        assert gone["models"] == [first.fine_tuned_model, child.fine_tuned_model]
        assert gone["removed"]["bytes"] > 0 and len(gone["removed"]["paths"]) == 2
        listed = {m["id"] for m in client.get("/v1/models").json()["data"]}
        assert unrelated.fine_tuned_model in listed
        assert not {first.fine_tuned_model, child.fine_tuned_model} & listed
        assert client.get(f"/v1/files/{first.training_file}").status_code == 404
        assert client.get(f"/v1/files/{other_file.id}").status_code == 200
    assert not any(f.exists() for f in folders) and Path(unrelated.run_dir).is_dir()
    for job_id in (first.id, child.id):
        with pytest.raises(TunelabError):
            queue.get_job(store, job_id)
    assert queue.get_job(store, unrelated.id).status == "succeeded"
    assert aliases.resolve_alias(store, "prod") is None
    with store.session(readonly=True) as s:  # no row keeps the data's hashes or metrics
        rows = {m.id for m in s.query(Model).all()}
    assert rows == {unrelated.fine_tuned_model}
    assert registry.resolve_model_id(store, unrelated.fine_tuned_model)["adapter_dir"]


def test_a_file_an_unfinished_job_trains_on_is_refused(sqlite_db, bases):
    _, store = sqlite_db
    job = new_job(store, bases, {"n_epochs": 1}, toy_rows(12))  # validating_files, no worker
    with pytest.raises(TunelabError) as err:
        delete_file_cascade(store, job.training_file)
    assert err.value.code == "file_in_use" and job.id in err.value.message
    assert getattr(err.value, "status_code", None) == 409
    assert queue.get_job(store, job.id).status == "validating_files"
