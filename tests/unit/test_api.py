"""The API through FastAPI's TestClient and through the official openai SDK against a real uvicorn
server; the server-backed CLI commands (``tunelab files|jobs|serve``) against the same server.

No worker runs here, so jobs stay in ``validating_files`` unless cancelled.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from helpers import ROWS, app_routes, artifact_names, children_of, free_port, serve_app
from helpers import post_file as upload

from tunelab.api.app import create_app
from tunelab.cli.main import main
from tunelab.models.catalog import DEFAULT_MODEL
from tunelab.store.tables import Model

ROOT = Path(__file__).resolve().parents[2]
ERROR_KEYS = {"message", "type", "param", "code"}


def assert_error(response, status: int, code: str | None = None, param: str | None = None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS and error["message"]
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    if code is not None:
        assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error
    return error


@pytest.fixture
def base_dir(tmp_path) -> Path:
    folder = tmp_path / "tiny-base"
    folder.mkdir()
    return folder


@pytest.fixture
def app(base_dir):
    return create_app(extra_bases={"tiny-base": base_dir})


@pytest.fixture
def client(app):
    return TestClient(app, base_url="http://127.0.0.1")


def create_job(client, file_id: str, **fields) -> dict:
    body = {"model": "tiny-base", "training_file": file_id, **fields}
    response = client.post("/v1/fine_tuning/jobs", json=body)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- files


def test_file_upload_list_retrieve_content_delete(client, tunelab_home):
    file = upload(client)
    assert file["object"] == "file" and file["bytes"] == len(ROWS)
    assert file["filename"] == "train.jsonl" and file["purpose"] == "fine-tune"
    assert file["status"] == "processed" and re.fullmatch(r"file-[0-9a-f]{24}", file["id"])
    assert isinstance(file["created_at"], int) and file["created_at"] > 1_600_000_000
    listed = client.get("/v1/files").json()
    assert listed["object"] == "list" and [f["id"] for f in listed["data"]] == [file["id"]]
    assert client.get(f"/v1/files/{file['id']}").json() == file
    content = client.get(f"/v1/files/{file['id']}/content")
    assert content.status_code == 200 and content.content == ROWS
    stored = artifact_names(tunelab_home)  # one file, under a server-generated key
    assert len(stored) == 1 and re.fullmatch(r"file-[0-9a-f]{24}", stored[0])
    deleted = client.delete(f"/v1/files/{file['id']}").json()
    assert deleted == {"id": file["id"], "object": "file", "deleted": True}
    assert artifact_names(tunelab_home) == []
    assert_error(client.get(f"/v1/files/{file['id']}"), 404, "file_not_found")
    assert_error(client.get(f"/v1/files/{file['id']}/content"), 404, "file_not_found")
    assert_error(client.delete(f"/v1/files/{file['id']}"), 404, "file_not_found")


def multipart(*parts: tuple[str, str | None, bytes], boundary: str = "b0undary") -> tuple:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def test_upload_purpose_may_follow_the_file(client):
    body, headers = multipart(("file", "late.jsonl", ROWS), ("purpose", None, b"fine-tune"))
    response = client.post("/v1/files", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["purpose"] == "fine-tune" and response.json()["bytes"] == len(ROWS)


@pytest.mark.parametrize(
    "parts, status, code, param",
    [
        (
            [("purpose", None, b"assistants"), ("file", "a.jsonl", ROWS)],
            400,
            "invalid_purpose",
            "purpose",
        ),
        (
            [("file", "a.jsonl", ROWS), ("purpose", None, b"batch")],
            400,
            "invalid_purpose",
            "purpose",
        ),
        ([("file", "a.jsonl", ROWS)], 400, "missing_required_parameter", "purpose"),
        ([("purpose", None, b"fine-tune")], 400, "missing_required_parameter", "file"),
        (
            [("purpose", None, b"fine-tune"), ("file", "a", b"x"), ("file", "b", b"y")],
            400,
            "invalid_multipart",
            "file",
        ),
        (
            [("purpose", None, b"fine-tune"), ("other", "x.bin", b"x")],
            400,
            "invalid_multipart",
            "file",
        ),
        ([("purpose", None, b"x" * 5000), ("file", "a", b"x")], 400, "invalid_multipart", "file"),
    ],
)
def test_bad_uploads_are_400s_and_leave_nothing(client, tunelab_home, parts, status, code, param):
    body, headers = multipart(*parts)
    assert_error(client.post("/v1/files", content=body, headers=headers), status, code, param)
    assert client.get("/v1/files").json()["data"] == []
    assert artifact_names(tunelab_home) == []


@pytest.mark.parametrize(
    "content, headers",
    [
        (b'{"purpose": "fine-tune"}', {"content-type": "application/json"}),
        (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nab',
            {"content-type": "multipart/form-data; boundary=b"},
        ),
        (b"garbage", {"content-type": "multipart/form-data; boundary=b"}),
        (b"", {}),
    ],
)
def test_malformed_upload_bodies_are_400s(client, tunelab_home, content, headers):
    response = client.post("/v1/files", content=content, headers=headers)
    assert_error(response, 400)
    assert artifact_names(tunelab_home) == []


# ---------------------------------------------------------------- fine-tuning jobs


def test_job_create_retrieve_cancel_events_checkpoints(client):
    file = upload(client)
    job = create_job(client, file["id"], suffix="demo", seed=7, hyperparameters={"n_epochs": 2})
    assert job["object"] == "fine_tuning.job" and job["status"] == "validating_files"
    assert job["model"] == "tiny-base" and job["training_file"] == file["id"]
    assert job["hyperparameters"]["n_epochs"] == 2 and job["seed"] == 7
    assert job["fine_tuned_model"] is None and job["finished_at"] is None
    assert client.get(f"/v1/fine_tuning/jobs/{job['id']}").json()["id"] == job["id"]
    cancelled = client.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    again = client.post(f"/v1/fine_tuning/jobs/{job['id']}/cancel")
    assert_error(again, 400, "invalid_state_transition")
    events = client.get(f"/v1/fine_tuning/jobs/{job['id']}/events").json()
    assert events["object"] == "list" and events["has_more"] is False
    messages = [e["message"] for e in events["data"]]
    assert messages[0] == "Fine-tuning job cancelled" and "Created fine-tuning job" in messages[-1]
    assert all(e["object"] == "fine_tuning.job.event" for e in events["data"])
    checkpoints = client.get(f"/v1/fine_tuning/jobs/{job['id']}/checkpoints").json()
    assert checkpoints == {
        "object": "list",
        "data": [],
        "has_more": False,
        "first_id": None,
        "last_id": None,
    }


def test_job_list_pages_with_after_and_limit(client):
    file = upload(client)
    created = [create_job(client, file["id"])["id"] for _ in range(5)]
    seen, after, pages = [], None, []
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = client.get("/v1/fine_tuning/jobs", params=params).json()
        pages.append((len(page["data"]), page["has_more"]))
        seen += [j["id"] for j in page["data"]]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert pages == [(2, True), (2, True), (1, False)]
    assert seen == created[::-1]  # newest first, no repeats, none missing
    events = client.get(f"/v1/fine_tuning/jobs/{created[0]}/events", params={"limit": 1}).json()
    assert len(events["data"]) == 1 and events["has_more"] is False


@pytest.mark.parametrize(
    "params, code, param",
    [
        ({"limit": 0}, None, "limit"),
        ({"limit": 101}, None, "limit"),
        ({"limit": "ten"}, None, "limit"),
        ({"after": "ftjob-000000000000000000000000"}, "invalid_cursor", "after"),
        ({"after": "x\x00"}, "invalid_cursor", "after"),
    ],
)
def test_bad_paging_parameters_are_400s(client, params, code, param):
    assert_error(client.get("/v1/fine_tuning/jobs", params=params), 400, code, param)


@pytest.mark.parametrize(
    "change, status, code, param",
    [
        ({"model": "no-such-model"}, 404, "model_not_found", "model"),
        ({"model": "../../etc/passwd"}, 404, "model_not_found", "model"),
        (
            {"training_file": "file-000000000000000000000000"},
            404,
            "file_not_found",
            "training_file",
        ),
        ({"validation_file": "file-nope"}, 404, "file_not_found", "validation_file"),
        ({"hyperparameters": {"n_epochs": 0}}, 400, None, "hyperparameters.n_epochs"),
        ({"hyperparameters": {"n_epochs": "many"}}, 400, None, "hyperparameters.n_epochs"),
        ({"hyperparameters": {"lora_r": 8}}, 400, "unknown_parameter", "hyperparameters.lora_r"),
        (
            {"method": {"type": "reinforcement", "reinforcement": {}}},
            400,
            "unsupported_method",
            "method.type",
        ),
        ({"method": {"type": "magic"}}, 400, "invalid_method", "method.type"),
        ({"suffix": "bad suffix!"}, 400, None, "suffix"),
        ({"seed": -1}, 400, None, "seed"),
        ({"integrations": []}, 400, "unknown_parameter", "integrations"),
        ({"model": None}, 400, None, "model"),
    ],
)
def test_bad_job_requests_are_openai_errors(client, change, status, code, param):
    body = {"model": "tiny-base", "training_file": upload(client)["id"], **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(client.post("/v1/fine_tuning/jobs", json=body), status, code, param)
    assert client.get("/v1/fine_tuning/jobs").json()["data"] == []


def test_job_body_must_be_a_json_object(client):
    bad_json = client.post(
        "/v1/fine_tuning/jobs", content=b"{bad", headers={"content-type": "application/json"}
    )
    assert_error(bad_json, 400, "invalid_json")
    assert_error(client.post("/v1/fine_tuning/jobs", json=[1, 2]), 400)


# ---------------------------------------------------------------- models


def add_fine_tuned_model(app, model_id: str = "ft:tiny-base:demo:ftjob-abc") -> str:
    with app.state.store.session() as s:
        s.add(Model(id=model_id, base="tiny-base", run_dir=None))
    return model_id


def test_models_list_retrieve_delete(app, client):
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert DEFAULT_MODEL in ids and "tiny-base" in ids
    tuned = add_fine_tuned_model(app)
    listed = client.get("/v1/models").json()
    assert listed["object"] == "list" and tuned in [m["id"] for m in listed["data"]]
    model = client.get(f"/v1/models/{tuned}").json()
    assert model["id"] == tuned and model["object"] == "model" and model["owned_by"]
    assert client.get(f"/v1/models/{DEFAULT_MODEL}").json()["id"] == DEFAULT_MODEL
    assert_error(client.delete(f"/v1/models/{DEFAULT_MODEL}"), 400, "model_not_deletable")
    assert client.delete(f"/v1/models/{tuned}").json() == {
        "id": tuned,
        "object": "model",
        "deleted": True,
        "removed": {"bytes": 0, "paths": []},  # this row has no run folder
        "aliases_removed": [],
    }
    assert_error(client.get(f"/v1/models/{tuned}"), 404, "model_not_found")
    assert tuned not in [m["id"] for m in client.get("/v1/models").json()["data"]]


@pytest.mark.parametrize(
    "method, path, code",
    [
        ("GET", "/v1/files/file-000000000000000000000000", "file_not_found"),
        ("DELETE", "/v1/files/file-000000000000000000000000", "file_not_found"),
        ("GET", "/v1/files/file-000000000000000000000000/content", "file_not_found"),
        ("GET", "/v1/fine_tuning/jobs/ftjob-000000000000000000000000", "job_not_found"),
        ("POST", "/v1/fine_tuning/jobs/ftjob-000000000000000000000000/cancel", "job_not_found"),
        ("GET", "/v1/fine_tuning/jobs/ftjob-000000000000000000000000/events", "job_not_found"),
        ("GET", "/v1/fine_tuning/jobs/ftjob-000000000000000000000000/checkpoints", "job_not_found"),
        ("GET", "/v1/models/ft:tiny-base:x:ftjob-000000000000000000000000", "model_not_found"),
        ("DELETE", "/v1/models/ft:tiny-base:x:ftjob-000000000000000000000000", "model_not_found"),
        ("GET", "/v1/no/such/route", "not_found"),
    ],
)
def test_unknown_ids_are_openai_shaped_404s(client, method, path, code):
    assert_error(client.request(method, path), 404, code)


def test_health_is_ok(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_every_route_is_documented(app):
    doc = (ROOT / "docs" / "api.md").read_text()
    routes = app_routes(app)
    assert ("POST", "/v1/chat/completions") in routes and ("GET", "/health") in routes
    assert len(routes) >= 18
    for method, path in routes:
        assert f"`{method} {path}`" in doc, f"`{method} {path}` is not in docs/api.md"


# ---------------------------------------------------------------- the openai SDK on a real server


@pytest.fixture
def server(app):
    with serve_app(app) as url:
        yield url


def sdk(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=20)


def test_openai_sdk_files_jobs_models(app, server, tmp_path):
    client = sdk(server)
    path = tmp_path / "train.jsonl"
    path.write_bytes(ROWS)
    file = client.files.create(file=path.open("rb"), purpose="fine-tune")
    assert file.object == "file" and file.bytes == len(ROWS) and file.filename == "train.jsonl"
    assert [f.id for f in client.files.list()] == [file.id]
    assert client.files.retrieve(file.id).purpose == "fine-tune"
    assert client.files.content(file.id).read() == ROWS

    jobs = [
        client.fine_tuning.jobs.create(model="tiny-base", training_file=file.id, seed=i)
        for i in range(3)
    ]
    assert {j.status for j in jobs} == {"validating_files"}
    first = client.fine_tuning.jobs.list(limit=2)
    assert first.has_more and [j.id for j in first.data] == [jobs[2].id, jobs[1].id]
    rest = client.fine_tuning.jobs.list(limit=2, after=first.data[-1].id)
    assert not rest.has_more and [j.id for j in rest.data] == [jobs[0].id]
    assert [j.id for j in client.fine_tuning.jobs.list(limit=1)] == [j.id for j in jobs[::-1]]
    assert client.fine_tuning.jobs.retrieve(jobs[0].id).training_file == file.id
    events = client.fine_tuning.jobs.list_events(jobs[0].id)
    assert events.data and events.data[-1].message.startswith("Created fine-tuning job")
    assert client.fine_tuning.jobs.checkpoints.list(jobs[0].id).data == []
    assert client.fine_tuning.jobs.cancel(jobs[0].id).status == "cancelled"

    tuned = add_fine_tuned_model(app)
    ids = [m.id for m in client.models.list()]
    assert DEFAULT_MODEL in ids and tuned in ids
    assert client.models.retrieve(tuned).id == tuned
    assert client.models.delete(tuned).deleted is True

    for call in (
        lambda: client.files.retrieve("file-000000000000000000000000"),
        lambda: client.fine_tuning.jobs.retrieve("ftjob-000000000000000000000000"),
        lambda: client.models.retrieve(tuned),
        lambda: client.fine_tuning.jobs.create(model="nope", training_file=file.id),
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            call()
        assert caught.value.status_code == 404 and caught.value.code.endswith("_not_found")
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(
            model="tiny-base", training_file=file.id, hyperparameters={"n_epochs": 0}
        )
    assert caught.value.param == "hyperparameters.n_epochs"
    assert client.files.delete(file.id).deleted is True


# ---------------------------------------------------------------- CLI


def test_cli_lists_files_and_jobs_from_the_server(client, server, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TUNELAB_URL", server)
    path = tmp_path / "cli.jsonl"
    path.write_bytes(ROWS)
    assert main(["files", "upload", str(path), "--json"]) == 0
    file_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["files", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["id", "bytes", "created", "purpose", "filename"]
    assert file_id in out and "cli.jsonl" in out and str(len(ROWS)) in out
    assert main(["files", "show", file_id]) == 0 and file_id in capsys.readouterr().out

    assert main(["jobs", "list"]) == 0 and "no fine-tuning jobs" in capsys.readouterr().out
    args = ["jobs", "create", "--model", "tiny-base", "--training-file", file_id]
    assert main([*args, "--suffix", "cli", "--n-epochs", "2", "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["suffix"] == "cli" and job["hyperparameters"]["n_epochs"] == 2
    assert main(["jobs", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].split()[:3] == ["id", "status", "model"]
    assert rows[1].split()[:3] == [job["id"], "validating_files", "tiny-base"]
    assert main(["jobs", "show", job["id"]]) == 0
    assert re.search(r"status:\s+validating_files", capsys.readouterr().out)
    assert main(["jobs", "cancel", job["id"]]) == 0
    assert capsys.readouterr().out.strip() == f"{job['id']}: cancelled"
    assert main(["jobs", "events", job["id"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Created fine-tuning job" in lines[1] and "cancelled" in lines[-1]  # oldest first
    assert main(["jobs", "list", "--json", "--limit", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["data"][0]["status"] == "cancelled"

    assert main(["jobs", "show", "ftjob-000000000000000000000000"]) == 2
    assert "error [job_not_found]" in capsys.readouterr().err
    assert main(["files", "delete", file_id]) == 0
    assert capsys.readouterr().out.strip() == f"deleted {file_id}"


def test_cli_sends_the_api_key(tunelab_home, monkeypatch, capsys):
    app = create_app(api_keys=["k-123"], require_auth=True)
    with serve_app(app) as url:
        monkeypatch.setenv("TUNELAB_URL", url)
        assert main(["files", "list"]) == 2
        assert "error [invalid_api_key]" in capsys.readouterr().err
        monkeypatch.setenv("TUNELAB_API_KEY", "k-123")
        assert main(["files", "list"]) == 0
        assert "no files" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["jobs", "list"], ["files", "list"], ["jobs", "show", "x"]])
def test_cli_without_a_server_says_how_to_start_it(monkeypatch, capsys, command):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("TUNELAB_URL", url)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"cannot reach tunelab server at {url}; start it with `tunelab serve`" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_serve_refuses_a_public_address_without_keys(monkeypatch, capsys, host):
    monkeypatch.delenv("TUNELAB_API_KEYS", raising=False)
    assert main(["serve", "--host", host, "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "error [api_key_required]" in err and f"refusing to serve on {host}" in err
    assert "--api-key" in err


def test_serve_address_and_key_rules(monkeypatch):
    from argparse import Namespace

    from tunelab.cli.backend import api_keys_from
    from tunelab.cli.serve import check_bind
    from tunelab.hosts import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "myhost"))
    monkeypatch.setenv("TUNELAB_API_KEYS", " a , ,b,")
    assert api_keys_from(Namespace(api_keys=["c"], api_key_file=None)) == ["c", "a", "b"]
    check_bind("0.0.0.0", 8000, ["a"])  # keys given: allowed
    with pytest.raises(Exception, match="port"):
        check_bind("127.0.0.1", 70000, [])


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads child processes from /proc")
def test_serve_starts_api_and_workers_and_stops_them(tunelab_home):
    port = free_port()
    env = {**os.environ, "TUNELAB_HOME": str(tunelab_home)}
    cmd = [sys.executable, "-m", "tunelab.cli.main", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2", "--device", "cpu"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "server did not answer /health"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        workers = [pid for pid in children_of(proc.pid) if _is_spawn(pid)]
        assert len(workers) == 2, [_cmdline(p) for p in children_of(proc.pid)]
        assert httpx.get(f"http://127.0.0.1:{port}/v1/files", timeout=5).json()["data"] == []
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    time.sleep(0.5)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists() and not _zombie(pid)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _is_spawn(pid: int) -> bool:
    return "multiprocessing.spawn" in _cmdline(pid) and "resource_tracker" not in _cmdline(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
