"""The method table: a method is one entry; a fake second method (``tests/fake_method.py``),
registered as a plugin, runs through ``tunelab train``, the job queue and the API with no change
in cli/, jobs/ or api/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import post_file, running_worker, toy_rows, upload, wait_terminal, write_jsonl

from tunelab.errors import ConfigError, TunelabError
from tunelab.jobs import requests
from tunelab.jobs.runner import job_run_dir
from tunelab.store.runs import final_dir, read_run
from tunelab.train.config import SFTConfig, load_config
from tunelab.train.methods import SFT, get_method, known_methods, method_for_job_type

PLUGIN = "fake_method:METHOD"
TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def echo(monkeypatch):
    """The fake method registered, here and in every subprocess (the job runner)."""
    monkeypatch.setenv("TUNELAB_METHODS", PLUGIN)
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), path])))
    return get_method("echo")


def test_sft_is_the_table_entry_of_the_supervised_type(monkeypatch):
    monkeypatch.delenv("TUNELAB_METHODS", raising=False)
    assert get_method("sft") is SFT is method_for_job_type("supervised")
    assert SFT.config is SFTConfig and SFT.run == "tunelab.train.sft:run_sft"
    assert SFT.config_values(
        {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": 2.0}
    ) == {"epochs": 3, "learning_rate_multiplier": 2.0}
    row = {"step": 3, "train_loss": 1.5, "valid_loss": 1.2, "valid_token_accuracy": 0.5}
    assert SFT.events(row) == {
        "train_loss": 1.5,
        "valid_loss": 1.2,
        "valid_mean_token_accuracy": 0.5,
        "full_valid_loss": 1.2,
    }
    assert list(known_methods()) == ["sft", "dpo", "kto"]


def test_the_table_and_the_run_record_import_without_torch():
    code = (
        "import sys, tunelab.train.methods, tunelab.train.config, tunelab.store.runs; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k != "TUNELAB_METHODS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_unknown_method_names_the_key_and_the_known_methods(echo):
    with pytest.raises(ConfigError) as err:
        load_config(None, {"train_file": "x.jsonl", "method": "dpo-ish"})
    assert err.value.code == "unknown_method" and err.value.param == "method"
    known = "known: sft, dpo, kto, echo"
    assert f"config: method: unknown training method 'dpo-ish'; {known}" in str(err.value)


@pytest.mark.parametrize(
    ("plugins", "says"),
    [
        ("no_such_module:METHOD", "no module 'no_such_module'"),
        ("fake_method:MISSING", "has no 'MISSING'"),
        ("fake_method", "expected module:attribute"),
        ("fake_method:NOT_A_METHOD", "is a object, not a Method"),
        ("fake_method:METHOD,fake_method:METHOD", None),  # the same object twice is one method
    ],
)
def test_plugin_errors_name_the_setting(monkeypatch, plugins, says):
    monkeypatch.setenv("TUNELAB_METHODS", plugins)
    if says is None:
        assert list(known_methods()) == ["sft", "dpo", "kto", "echo"]
        return
    with pytest.raises(ConfigError) as err:
        known_methods()
    assert err.value.code == "invalid_method_plugin"
    assert "TUNELAB_METHODS" in err.value.message and says in err.value.message


def test_one_load_config_picks_the_class_by_method(echo, tmp_path):
    path = tmp_path / "echo.yaml"
    path.write_text("method: echo\ntrain_file: data.jsonl\nloud: true\nepochs: 2\n")
    config = load_config(path)
    assert type(config) is echo.config and config.loud and config.epochs == 2
    assert config.train_file == tmp_path / "data.jsonl"
    with pytest.raises(ConfigError) as err:  # sft's own keys are not echo's
        load_config(path, {"samples": 2})
    assert f"{path}: samples: unknown key" in err.value.message
    assert type(load_config(None, {"train_file": "x.jsonl"})) is SFTConfig  # the default


@pytest.mark.parametrize(
    ("values", "tuning"),
    [({"method": "lora"}, "lora"), ({"method": "full"}, "full"), ({"tuning": "full"}, "full")],
)
def test_the_old_method_key_reads_as_tuning(values, tuning):
    config = load_config(None, {"train_file": "x.jsonl"} | values)
    assert type(config) is SFTConfig and config.method == "sft" and config.tuning == tuning


def test_the_old_method_key_and_tuning_must_agree():
    with pytest.raises(ConfigError) as err:
        load_config(None, {"train_file": "x.jsonl", "method": "full", "tuning": "lora"})
    assert "method: 'full' is the old name of tuning" in err.value.message


def test_job_requests_check_the_methods_own_hyperparameters(echo, sqlite_db, bases):
    _, store = sqlite_db
    training = upload(store, toy_rows(12))
    request = {"model": "tiny", "training_file": training.id, "extra_bases": bases}
    bad_hp = "invalid_hyperparameters"
    bad = [
        ({"type": "echo", "echo": {"hyperparameters": {"batch_size": 2}}}, bad_hp),  # sft's only
        ({"type": "echo", "echo": {"hyperparameters": {"n_epochs": 9}}}, bad_hp),  # over 5
        ({"type": "echo", "supervised": {}}, "invalid_method"),
        ({"type": "echo", "echo": {"beta": 1}}, "invalid_method"),
    ]
    for method, code in bad:
        with pytest.raises(TunelabError) as err:
            requests.create_fine_tuning_job(store, method=method, **request)
        assert err.value.code == code, method
    with pytest.raises(TunelabError) as err:
        requests.create_fine_tuning_job(store, method={"type": "magic"}, **request)
    assert "'supervised', 'dpo', 'kto', 'echo'" in err.value.message
    job = requests.create_fine_tuning_job(
        store, method={"type": "echo"}, hyperparameters={"n_epochs": 3}, **request
    )
    assert job.method["type"] == "echo" and job.hyperparameters == {"n_epochs": 3}


def test_fake_method_trains_and_resumes_through_the_cli(echo, tiny_model_dir, toy_data, tmp_path):
    from tunelab.cli.main import main

    out = tmp_path / "run"
    config = tmp_path / "echo.yaml"
    config.write_text(
        f"method: echo\nmodel: {tiny_model_dir}\ntrain_file: {toy_data}\noutput_dir: {out}\n"
    )
    args = ["train", str(config), "--set", "loud=true", "--set", "epochs=2", "--json"]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["method"] == "echo" and report["loud"] is True and report["steps"] == 2
    record = read_run(out)
    assert record.method == "echo" and record.config["loud"] is True
    assert record.data.counts == {"n_train": 40}
    assert (final_dir(out) / "model.safetensors").is_file()
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 2]
    # the resume runs the method run.json records
    assert main(["train", "--resume", str(out), "--json", "--no-progress"]) == 0


def test_fake_method_runs_as_a_job_through_the_api_queue_and_runner(echo, sqlite_db, bases):
    from fastapi.testclient import TestClient

    from tunelab.api.app import create_app
    from tunelab.serve.engine import Engine

    url, store = sqlite_db
    engine = Engine(batch_window_s=0.005)
    app = create_app(database_url=url, engine=engine, extra_bases=bases)
    method = {"type": "echo", "echo": {"hyperparameters": {"n_epochs": 2}}}
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            body = {"model": "tiny", "training_file": post_file(client)["id"], "method": method}
            created = client.post("/v1/fine_tuning/jobs", json=body)
            assert created.status_code == 200, created.text
            assert created.json()["method"] == method
            job_id = created.json()["id"]
            with running_worker(url):  # the worker trains in a runner subprocess
                assert wait_terminal(store, job_id).status == "succeeded"
            job = client.get(f"/v1/fine_tuning/jobs/{job_id}").json()
            assert job["status"] == "succeeded", job["error"]
            assert job["hyperparameters"] == {"n_epochs": 2} and job["trained_tokens"] == 7 * 12
            events = client.get(f"/v1/fine_tuning/jobs/{job_id}/events?limit=100").json()
            metrics = [e["data"] for e in events["data"] if e["type"] == "metrics"]
            assert sorted(m["step"] for m in metrics) == [1, 2]
            assert all(m["echo"] and m["total_steps"] == 2 for m in metrics)  # echo's mapping
            assert any("valid_loss" in m for m in metrics)
            chat = {"model": job["fine_tuned_model"], "max_tokens": 2}
            chat["messages"] = [{"role": "user", "content": "hello"}]
            reply = client.post("/v1/chat/completions", json=chat)
            assert reply.status_code == 200, reply.text
    finally:
        engine.close()
    record = read_run(job_run_dir(job_id))
    assert record.method == "echo" and record.config["epochs"] == 2
    assert record.config["name"] == "job"
    assert record.base_model == str(Path(bases["tiny"]).resolve())


def test_a_config_file_with_the_fake_method_validates_from_the_cli_subprocess(echo, tmp_path):
    """The plugin reaches a fresh process through the environment alone."""
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(12))
    config = tmp_path / "c.yaml"
    config.write_text(f"method: echo\ntrain_file: {data}\nshout: true\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tunelab.cli.main", "train", str(config)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "shout: unknown key" in proc.stderr  # echo's keys, not sft's
