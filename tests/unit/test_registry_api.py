"""The model registry over HTTP: versions with their lineage, aliases (chat, new jobs and
``GET /v1/models/{id}`` take them), refused and forced deletes through the official ``openai``
SDK on a real uvicorn server; the alias routes; and the CLI against that server printing exactly
what it prints on the local store.

Versions are run folders written here (a real LoRA adapter where chat needs one); nothing
trains (tests/unit/test_registry.py trains base -> v1 -> v2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import openai
import pytest
from helpers import ROWS, serve_app, toy_rows, upload
from helpers import registered_version as add_version

from tunelab.api.app import create_app
from tunelab.cli.main import main
from tunelab.jobs import queue, registry
from tunelab.settings import runs_dir
from tunelab.store.tables import Job

KEY = "k-registry"
HELLO = [{"role": "user", "content": "What is the code for the red door?"}]


@pytest.fixture
def stack(sqlite_db, bases):
    """(database url, store, server url): the API with a chat engine, behind an API key."""
    from tunelab.serve.engine import Engine

    url, store = sqlite_db
    engine = Engine(batch_window_s=0.005)
    app = create_app(database_url=url, engine=engine, extra_bases=bases, api_keys=[KEY])
    with serve_app(app) as server:
        yield url, store, server
    engine.close()


def sdk(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0, timeout=60)


def http(server: str) -> httpx.Client:
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)


def test_openai_sdk_versions_aliases_and_refused_deletes(stack, tiny_model_dir, tmp_path):
    url, store, server = stack
    v1, job1 = add_version(store, tiny_model_dir, "one")
    v2, _ = add_version(store, tiny_model_dir, "two", parent=v1)
    client = sdk(server)
    with http(server) as api:
        assert api.put("/v1/aliases/prod", json={"model": v1}).status_code == 200

    listed = {m.id: m for m in client.models.list()}
    assert "tiny" in listed and listed["tiny"].owned_by == "tunelab"
    assert listed[v2].model_extra["parent"] == v1 and listed[v1].model_extra["aliases"] == ["prod"]
    assert listed[v1].model_extra["metrics"][0]["key"] == "validation_loss"
    assert listed[v1].model_extra["training_file"]["sha256"] == "cd" * 32
    found = client.models.retrieve("prod")
    assert found.id == v1 and found.object == "model" and found.model_extra["alias"] == "prod"
    assert [s["id"] for s in client.models.retrieve(v2).model_extra["lineage"]] == ["tiny", v1, v2]

    reply = client.chat.completions.create(model="prod", messages=HELLO, max_tokens=4)
    assert reply.choices[0].message.role == "assistant"

    path = tmp_path / "train.jsonl"
    path.write_bytes(ROWS)
    file = client.files.create(file=path.open("rb"), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="prod", training_file=file.id, suffix="three")
    assert job.model == "prod" and queue.get_job(store, job.id).method["base"] == v1

    with pytest.raises(openai.ConflictError) as caught:
        client.models.delete(v1)
    error = caught.value
    assert error.status_code == 409 and error.code == "model_in_use" and error.param == "model"
    for user in (v2, "prod", job.id):
        assert user in error.message
    with pytest.raises(openai.BadRequestError) as caught:
        client.models.delete("prod")  # an alias is not a version
    assert caught.value.code == "model_not_deletable"

    deleted = client.models.delete(v1, extra_query={"force": "true"})
    assert deleted.deleted is True and deleted.id == v1
    assert deleted.model_extra["removed"]["paths"] == [f"runs/{job1.id}/final"]
    assert deleted.model_extra["removed"]["bytes"] > 0
    assert deleted.model_extra["aliases_removed"] == ["prod"]
    for gone in (v1, "prod"):
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve(gone)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="prod", messages=HELLO, max_tokens=4)
    lineage = client.models.retrieve(v2).model_extra["lineage"]
    assert [(s["id"], s["deleted"]) for s in lineage] == [("tiny", False), (v1, True), (v2, False)]
    assert v1 not in {m.id for m in client.models.list()}


def test_alias_routes_with_history_and_errors(stack, tiny_model_dir):
    _, store, server = stack
    v1, _ = add_version(store, tiny_model_dir, "one")
    v2, _ = add_version(store, tiny_model_dir, "two")
    with http(server) as api:

        def check(response, status: int, code: str | None = None) -> dict:
            assert response.status_code == status, response.text
            body = response.json()
            if code is not None:
                assert body["error"]["code"] == code, body
            return body

        first = check(api.put("/v1/aliases/prod", json={"model": v1}), 200)
        assert first["object"] == "model.alias" and first["previous"] is None
        moved = check(api.put("/v1/aliases/prod", json={"model": v2, "note": "two wins"}), 200)
        assert (moved["model"], moved["previous"]) == (v2, v1)
        shown = check(api.get("/v1/aliases/prod"), 200)
        assert [(e["action"], e["model"], e["note"]) for e in shown["history"]] == [
            ("set", v2, "two wins"),
            ("set", v1, None),
        ]
        assert check(api.get("/v1/models/prod"), 200)["id"] == v2
        assert [a["name"] for a in check(api.get("/v1/aliases"), 200)["data"]] == ["prod"]
        assert check(api.post("/v1/aliases/prod/rollback"), 200)["model"] == v1
        check(api.post("/v1/aliases/prod/rollback"), 409, "nothing_to_roll_back")

        check(api.put("/v1/aliases/ft:x", json={"model": v1}), 400, "invalid_alias")
        check(api.put("/v1/aliases/tiny", json={"model": v1}), 400, "invalid_alias")  # a base
        check(api.put("/v1/aliases/a", json={"model": v1, "x": 1}), 400, "unknown_parameter")
        check(api.put("/v1/aliases/a", json={"model": "nope"}), 404, "model_not_found")
        check(api.get("/v1/aliases/nope"), 404, "alias_not_found")
        check(api.post("/v1/aliases/nope/rollback"), 404, "alias_not_found")

        assert check(api.delete("/v1/aliases/prod"), 200)["deleted"] is True
        check(api.get("/v1/aliases/prod"), 404, "alias_not_found")
        check(api.get("/v1/models/prod"), 404, "model_not_found")
        assert check(api.get("/v1/aliases"), 200)["data"] == []


def _status(err: str) -> str:
    found = re.search(r"\(HTTP (\d+)\)", err)
    return found.group(1) if found else ""


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_against_the_server_prints_what_the_local_store_prints(
    stack, tiny_model_dir, monkeypatch, capsys
):
    url, store, server = stack
    v1, job1 = add_version(store, tiny_model_dir, "one")
    v2, _ = add_version(store, tiny_model_dir, "two", parent=v1)
    failed = "ftjob-" + "e" * 24  # a failed job's folder, for gc
    training_file = upload(store, toy_rows(12)).id
    with store.session() as s:
        s.add(Job(id=failed, model="tiny", training_file=training_file, status="failed"))
    (runs_dir() / failed).mkdir()
    monkeypatch.setenv("TUNELAB_DATABASE_URL", url)
    monkeypatch.setenv("TUNELAB_API_KEY", KEY)

    def both(args: list[str]) -> tuple[int, str, str]:
        """Run on the local store, then against the server: the same exit status and output
        (an error from the server adds its HTTP status)."""
        monkeypatch.delenv("TUNELAB_URL", raising=False)
        local = run_cli(args, capsys)
        monkeypatch.setenv("TUNELAB_URL", server)
        remote = run_cli(args, capsys)
        assert remote[:2] == local[:2], args
        assert remote[2] == local[2].replace("\n", f" (HTTP {_status(remote[2])})\n", 1), args
        return remote

    assert both(["models", "alias", "set", "prod", v1])[1].strip() == f"prod -> {v1}"
    for args in (
        ["models", "list"],
        ["models", "list", "--json"],
        ["models", "show", v2],
        ["models", "show", "prod"],
        ["models", "show", v1, "--json"],
        ["models", "alias", "list"],
        ["models", "alias", "show", "prod", "--json"],
        ["models", "gc", "--dry-run"],
    ):
        code, out, _ = both(args)
        assert code == 0 and out, args
    code, out, _ = both(["models", "show", v2])
    assert f"parent:          {v1}" in out and out.rstrip().endswith(
        f"-> {v2} [sft, lora]  validation loss 3.2500 -> 1.5000, validation perplexity "
        "25.8000 -> 4.4800, validation token accuracy 0.1250 -> 0.5000"
    )
    code, _, err = both(["models", "delete", v1])
    assert code == 2 and "error [model_in_use]" in err and v2 in err and "prod" in err
    code, _, err = both(["models", "alias", "rollback", "prod"])
    assert code == 2 and "error [nothing_to_roll_back]" in err

    monkeypatch.setenv("TUNELAB_URL", server)  # the rest changes things: once, on the server
    assert run_cli(["models", "alias", "set", "prod", v2], capsys)[0] == 0
    assert run_cli(["models", "alias", "rollback", "prod"], capsys)[1].strip() == f"prod -> {v1}"
    code, out, _ = run_cli(["models", "delete", v1, "--force"], capsys)
    assert code == 0 and out.splitlines()[0] == f"deleted {v1}"
    assert re.fullmatch(rf"removed \S+ \S+: runs/{job1.id}/final", out.splitlines()[1])
    code, out, _ = run_cli(["models", "gc", "--json"], capsys)
    removed = {r["path"]: r["reason"] for r in json.loads(out)["removed"]}
    assert removed == {f"runs/{job1.id}": "model deleted", f"runs/{failed}": "job failed"}
    monkeypatch.delenv("TUNELAB_API_KEY")
    code, _, err = run_cli(["models", "alias", "list"], capsys)
    assert code == 2 and "error [invalid_api_key]" in err  # the key was what let it in


def test_the_alias_route_applies_the_promotion_gate_and_force_moves_it(stack, tiny_model_dir):
    url, store, server = stack
    v1, _ = add_version(store, tiny_model_dir, "one")
    v2, job = add_version(store, tiny_model_dir, "two", parent=v1)
    report = Path(job.run_dir) / "report.json"
    rows = [{"task": "one: test", "metric": "accuracy", "parent": 0.9, "new": 0.5}]
    rows[0] |= {"change": -0.4, "threshold": 0.1, "over": True}
    report.write_text(json.dumps(json.loads(report.read_text()) | {"forgetting": rows}))
    registry.register_model(
        store, v2, job_id=job.id, base=str(tiny_model_dir), run_dir=Path(job.run_dir), parent=v1
    )
    with http(server) as api:
        refused = api.put("/v1/aliases/production", json={"model": v2})
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert (
            error["code"] == "forgetting_gate"
            and "one: test: accuracy 90.0% -> 50.0%" in (error["message"])
        )
        moved = api.put("/v1/aliases/production", json={"model": v2, "force": True})
        assert moved.status_code == 200 and moved.json()["history"][0]["forced"] is True
