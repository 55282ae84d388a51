"""API security: every route but /health behind the key, traversal payloads against every route
that touches files or models, upload names as metadata only, size caps that leave nothing behind.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from helpers import ROWS, app_routes, artifact_names, serve_app
from helpers import post_file as upload
from postgres import BACKENDS, backend_url, pg_url  # noqa: F401

from tunelab.api.app import create_app
from tunelab.api.deps import key_matches
from tunelab.store.tables import Model

KEY = "tl-test-key-0123456789"
KEY_PATTERN = re.compile(r"file-[0-9a-f]{24}")
SECRET = b"secret outside the home"
PAYLOADS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%252F..%252Fetc%252Fpasswd",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "%00",
    "file-%00",
    "..",
    "....//....//etc/passwd",
    "..%5C..%5Cwindows%5Cwin.ini",
    "../../../outside/secret.txt",
    "..%2F..%2F..%2Foutside%2Fsecret.txt",
    "ft:../../x",
    "ft:..%2F..%2F..%2Foutside%2Fsecret.txt",
    "ft:smollm2-135m-instruct:x:..%2F..%2Fy",
    "x" * 5000,
]
PATH_ROUTES = [
    ("GET", "/v1/files/{}"),
    ("DELETE", "/v1/files/{}"),
    ("GET", "/v1/files/{}/content"),
    ("GET", "/v1/models/{}"),
    ("DELETE", "/v1/models/{}"),
    ("GET", "/v1/fine_tuning/jobs/{}"),
    ("POST", "/v1/fine_tuning/jobs/{}/cancel"),
    ("GET", "/v1/fine_tuning/jobs/{}/events"),
    ("GET", "/v1/fine_tuning/jobs/{}/checkpoints"),
    ("GET", "/v1/files?after={}"),
    ("GET", "/v1/fine_tuning/jobs?after={}"),
]
BODY_VALUES = ["../../etc/passwd", "/etc/passwd", "\x00", "a\x00b", "ft:../../x", "x" * 5000]


def test_key_comparison():
    keys = [b"alpha", b"beta"]
    assert key_matches("beta", keys) and key_matches("alpha", keys)
    assert not any(key_matches(k, keys) for k in ("", "alph", "alpha ", "BETA", "betabeta"))


def test_auth_needs_keys():
    with pytest.raises(ValueError):
        create_app(require_auth=True, api_keys=[])
    with pytest.raises(ValueError):
        create_app(require_auth=True, api_keys=[""])


def fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "ft:x:y:ftjob-000000000000000000000000", path)


def test_every_route_but_health_needs_the_key():
    app = create_app(api_keys=[KEY], require_auth=True)
    client = TestClient(app, base_url="http://127.0.0.1")
    routes = app_routes(app)
    assert ("POST", "/v1/chat/completions") in routes and len(routes) >= 18
    bad_headers = [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": f"Bearer {KEY}x"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": KEY},
        {"Authorization": "Bearer "},
        {"X-Api-Key": KEY},
    ]
    for method, path in routes:
        url = fill(path)
        if path == "/health":
            assert client.request(method, url).json() == {"status": "ok"}
            continue
        for headers in bad_headers:
            response = client.request(method, url, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            error = response.json()["error"]
            assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"
        good = client.request(method, url, headers={"Authorization": f"Bearer {KEY}"})
        assert good.status_code != 401 and good.status_code < 500, (method, path, good.text)
    # paths that match no route are refused too (nothing is revealed without a key)
    assert client.get("/v1/unknown").status_code == 401
    assert client.get("/v1/unknown", headers={"Authorization": f"Bearer {KEY}"}).status_code == 404


def test_openai_sdk_with_and_without_the_key():
    app = create_app(api_keys=[KEY, "second-key"], require_auth=True)
    with serve_app(app) as url:
        for key in ("wrong", KEY[:-1]):
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=10)
            with pytest.raises(openai.AuthenticationError):
                client.models.list()
        for key in (KEY, "second-key"):
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=10)
            assert "smollm2-135m-instruct" in [m.id for m in client.models.list()]
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}


# ---------------------------------------------------------------- traversal


def snapshot(root: Path, skip: Path) -> dict:
    return {
        p: (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and skip not in p.parents
    }


def raw_request(url: str, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    """Send ``path`` byte for byte (httpx would normalise ``../`` away)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """None: SQLite in the home (so the snapshot outside it stays exact); or a PostgreSQL URL."""
    return None if request.param == "sqlite" else backend_url(request, tmp_path)


def test_traversal_payloads_are_400_or_404_and_touch_nothing(tmp_path, tunelab_home, database_url):
    """On SQLite and PostgreSQL (where a NUL in a query would be a driver error, hence a 500)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    app = create_app(database_url=database_url, extra_bases={"tiny-base": outside})
    client = TestClient(app, base_url="http://127.0.0.1")
    file_id = upload(client)["id"]
    with app.state.store.session() as s:
        s.add(Model(id="ft:tiny-base:x:ftjob-abc", base="tiny-base", run_dir=str(outside)))
    before = snapshot(tmp_path, tunelab_home)
    stored = artifact_names(tunelab_home)
    checked = 0
    with serve_app(app) as url:
        for payload in PAYLOADS:
            for method, template in PATH_ROUTES:
                status, body = raw_request(url, method, template.format(payload))
                assert status in (400, 404), (method, template, payload, status, body[:300])
                assert set(json.loads(body)["error"]) == {"message", "type", "param", "code"}
                assert b"root:" not in body and SECRET not in body
                checked += 1
        for value in BODY_VALUES:
            for field in ("training_file", "validation_file", "model"):
                job = {"model": "tiny-base", "training_file": file_id, field: value}
                status, body = raw_request(url, "POST", "/v1/fine_tuning/jobs", job)
                assert status in (400, 404), (field, value, status, body[:300])
                checked += 1
            chat = {"model": value, "messages": [{"role": "user", "content": "hi"}]}
            status, body = raw_request(url, "POST", "/v1/chat/completions", chat)
            assert status in (400, 404), (value, status, body[:300])
    assert checked == len(PAYLOADS) * len(PATH_ROUTES) + 3 * len(BODY_VALUES)
    assert app.state._state.get("engine") is None  # unknown models never reach the engine
    assert snapshot(tmp_path, tunelab_home) == before
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert artifact_names(tunelab_home) == stored
    assert client.get(f"/v1/files/{file_id}/content").content == ROWS  # the real file is intact
    assert client.get("/v1/fine_tuning/jobs").json()["data"] == []


# ---------------------------------------------------------------- upload names and sizes


@pytest.mark.parametrize(
    "sent, shown",
    [
        ("../../evil.jsonl", "../../evil.jsonl"),
        ("/etc/evil.jsonl", "/etc/evil.jsonl"),
        ("..%2F..%2Fevil.jsonl", "..%2F..%2Fevil.jsonl"),
        ("a\x00evil.jsonl", "aevil.jsonl"),
        ("evil" + "x" * 296, ("evil" + "x" * 296)[:255]),
        ("", "upload.jsonl"),
    ],
)
def test_upload_names_are_display_metadata_only(tmp_path, tunelab_home, sent, shown):
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    headers = {"content-type": "multipart/form-data; boundary=b0undary"}
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="'
        + sent.encode()
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + ROWS
        + b"\r\n--b0undary--\r\n"
    )
    response = client.post("/v1/files", content=body, headers=headers)
    assert response.status_code == 200, response.text
    file = response.json()
    assert file["filename"] == shown
    assert client.get(f"/v1/files/{file['id']}").json()["filename"] == shown
    content = client.get(f"/v1/files/{file['id']}/content")
    assert content.content == ROWS and "content-disposition" not in content.headers
    names = artifact_names(tunelab_home)
    assert len(names) == 1 and KEY_PATTERN.fullmatch(names[0])
    assert not [p for p in tmp_path.rglob("*evil*")]
    assert not Path("/etc/evil.jsonl").exists()


def test_upload_over_the_cap_is_413_and_leaves_nothing(tunelab_home):
    client = TestClient(create_app(max_upload_bytes=1000), base_url="http://127.0.0.1")
    ok = upload(client, b"x" * 1000, name="exact.jsonl")  # exactly the cap is fine
    assert ok["bytes"] == 1000
    for size in (1001, 50_000, 3 * 1024 * 1024):  # over the cap; the last over cap + framing
        response = client.post(
            "/v1/files", files={"file": ("big.jsonl", b"x" * size)}, data={"purpose": "fine-tune"}
        )
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "file_too_large"
        assert response.headers["connection"] == "close"
    assert [f["id"] for f in client.get("/v1/files").json()["data"]] == [ok["id"]]
    names = artifact_names(tunelab_home)  # the one good upload; no temp file left
    assert len(names) == 1 and KEY_PATTERN.fullmatch(names[0])


def streamed(head: bytes, total: int, counter: list[int]):
    yield head
    chunk = b"x" * (1 << 20)
    while counter[0] < total:
        counter[0] += len(chunk)
        yield chunk


@pytest.mark.parametrize(
    "path, head, content_type",
    [
        (
            "/v1/files",
            b'--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n\r\n',
            "multipart/form-data; boundary=b0undary",
        ),
        ("/v1/fine_tuning/jobs", b'{"model": "', "application/json"),
        ("/v1/chat/completions", b'{"model": "', "application/json"),
    ],
)
def test_a_1_gb_streamed_body_is_refused_early(tunelab_home, path, head, content_type):
    app = create_app(max_upload_bytes=64 * 1024)
    counter = [0]
    gigabyte = 1 << 30
    with serve_app(app) as url:
        started = time.monotonic()
        try:
            response = httpx.post(
                url + path,
                content=streamed(head, gigabyte, counter),
                headers={"content-type": content_type},
                timeout=30,
            )
        except httpx.TransportError:
            response = None  # the server closed the connection while we were still sending
        if response is not None:
            assert response.status_code == 413, response.text
            assert response.json()["error"]["code"] in ("file_too_large", "request_too_large")
        assert counter[0] < 64 * (1 << 20), f"sent {counter[0]} bytes before the refusal"
        assert time.monotonic() - started < 20
        deadline = time.monotonic() + 5
        while artifact_names(tunelab_home) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert artifact_names(tunelab_home) == []
        assert httpx.get(f"{url}/v1/files").json()["data"] == []


def test_a_client_that_vanishes_mid_upload_leaves_nothing(tunelab_home):
    app = create_app()
    head = (
        b'--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="gone"\r\n\r\n'
    )
    with serve_app(app) as url:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n"
                b"Content-Type: multipart/form-data; boundary=b0undary\r\n\r\n" + head
            )
            for _ in range(20):
                sock.sendall(b"y" * 8192)
            deadline = time.monotonic() + 5
            while not [n for n in artifact_names(tunelab_home) if n.startswith(".tmp")]:
                assert time.monotonic() < deadline, "the upload never started writing"
                time.sleep(0.02)
        deadline = time.monotonic() + 10
        while artifact_names(tunelab_home) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert artifact_names(tunelab_home) == []
        assert httpx.get(f"{url}/v1/files").json()["data"] == []
