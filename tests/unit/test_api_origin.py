"""No web page reaches the data: DNS rebinding (a forged ``Host``) and cross-site browser requests
(``Origin`` / ``Sec-Fetch-Site``) are refused, with or without an API key; the SDK, curl and
same-origin pages keep working."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from helpers import ROWS, artifact_names, serve_app

from tunelab.api.app import create_app
from tunelab.api.origin import allowed_hosts_for, split_host

LOCAL = "http://127.0.0.1"
KEY = "tl-origin-key-0123456789"
ERROR_KEYS = {"message", "type", "param", "code"}


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS and error["code"] == code, error
    assert error["type"] == "invalid_request_error"


def post_file(client: TestClient, headers: dict | None = None):
    return client.post(
        "/v1/files",
        files={"file": ("train.jsonl", ROWS)},
        data={"purpose": "fine-tune"},
        headers=headers or {},
    )


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(), base_url=LOCAL)


@pytest.fixture
def file_id(client) -> str:
    response = post_file(client)
    assert response.status_code == 200, response.text
    return response.json()["id"]


@pytest.mark.parametrize("auth", [False, True])
def test_a_rebound_host_gets_nothing(auth, tunelab_home):
    app = create_app(api_keys=[KEY], require_auth=True) if auth else create_app()
    headers = {"Authorization": f"Bearer {KEY}"} if auth else {}
    client = TestClient(app, base_url=LOCAL, headers=headers)
    file_id = post_file(client).json()["id"]
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil"):
        forged = {"Host": host}
        for method, path in [
            ("GET", "/v1/files"),
            ("GET", f"/v1/files/{file_id}/content"),
            ("DELETE", f"/v1/files/{file_id}"),
            ("GET", "/v1/models"),
            ("GET", "/health"),
        ]:
            response = client.request(method, path, headers=forged)
            assert_refused(response, 400, "invalid_host")
            assert ROWS not in response.content and file_id not in response.text
        assert_refused(post_file(client, forged), 400, "invalid_host")
    assert client.get(f"/v1/files/{file_id}/content").content == ROWS  # nothing was deleted
    assert len(client.get("/v1/files").json()["data"]) == 1


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.1:8000", "127.9.8.7:1", "localhost:8000", "LOCALHOST", "[::1]:8000"],
)
def test_loopback_hosts_are_accepted(client, host):
    response = client.get("/v1/files", headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["", "[::1", "127.0.0.1:x", "u@127.0.0.1", "127.0.0.1/x"])
def test_malformed_hosts_are_refused(client, host):
    assert_refused(client.get("/health", headers={"Host": host}), 400, "invalid_host")


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:3000"},  # another local site: a different origin
        {"Origin": "http://127.0.0.1:8080"},  # another port: another origin
        {"Origin": "http://127.0.0.1/x"},
        {"Origin": "file://"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cross_site_upload_is_refused_and_leaves_no_file(client, tunelab_home, headers):
    assert_refused(post_file(client, headers), 403, "cross_site_request")
    assert artifact_names(tunelab_home) == []
    assert client.get("/v1/files").json()["data"] == []


def test_cross_site_deletes_and_reads_are_refused(client, file_id):
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert_refused(
            client.delete(f"/v1/files/{file_id}", headers=headers), 403, "cross_site_request"
        )
        content = client.get(f"/v1/files/{file_id}/content", headers=headers)
        assert_refused(content, 403, "cross_site_request")
        chat = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}
        response = client.post("/v1/chat/completions", json=chat, headers=headers)
        assert_refused(response, 403, "cross_site_request")
    assert client.get(f"/v1/files/{file_id}").status_code == 200


def test_same_origin_and_sdk_requests_work(client, file_id):
    for headers in (
        {},  # the openai SDK, curl
        {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://127.0.0.1:80"},
        {"Origin": "https://127.0.0.1"},  # behind a TLS proxy that keeps the Host
        {"Sec-Fetch-Site": "none"},  # typed in the address bar
    ):
        response = post_file(client, headers)
        assert response.status_code == 200, (headers, response.text)
    with_port = {"Host": "localhost:8000", "Origin": "http://localhost:8000"}
    assert post_file(client, with_port).status_code == 200
    assert client.delete(f"/v1/files/{file_id}", headers=with_port).json()["deleted"] is True


def test_following_a_link_from_another_site_opens_the_page(client):
    """A top-level navigation is shown to the user, not to the site that linked to it."""
    link = {
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Dest": "document",
    }
    assert client.get("/docs", headers=link).status_code == 200
    framed = {**link, "Sec-Fetch-Dest": "iframe"}
    assert_refused(client.get("/docs", headers=framed), 403, "cross_site_request")
    assert_refused(client.post("/v1/files", headers=link), 403, "cross_site_request")


def test_extra_allowed_hosts_are_accepted(tunelab_home):
    app = create_app(allowed_hosts=["box.lan", "10.0.0.5"])
    client = TestClient(app, base_url="http://box.lan:8000")
    assert post_file(client, {"Origin": "http://box.lan:8000"}).status_code == 200
    assert client.get("/v1/files", headers={"Host": "10.0.0.5:8000"}).status_code == 200
    assert client.get("/v1/files", headers={"Host": "127.0.0.1"}).status_code == 200
    assert_refused(client.get("/v1/files", headers={"Host": "evil.example"}), 400, "invalid_host")
    wrong_origin = {"Origin": "http://10.0.0.5:8000"}  # allowed, but not the Host asked
    assert_refused(post_file(client, wrong_origin), 403, "cross_site_request")
    anything = TestClient(create_app(allowed_hosts=["*"]), base_url="http://anything.example")
    assert anything.get("/v1/files").status_code == 200
    assert_refused(
        post_file(anything, {"Origin": "http://evil.example"}), 403, "cross_site_request"
    )


@pytest.mark.parametrize(
    "bind, extra, expected",
    [
        ("127.0.0.1", [], []),
        ("localhost", ["Box.LAN."], ["box.lan"]),
        ("0.0.0.0", [], []),
        ("::", ["10.0.0.5"], ["10.0.0.5"]),
        ("192.168.1.5", ["box.lan", "192.168.1.5"], ["192.168.1.5", "box.lan"]),
        ("[fd00::1]", [], ["fd00::1"]),
        ("0.0.0.0", ["*"], ["*"]),
    ],
)
def test_allowed_hosts_for_the_bind_address(bind, extra, expected):
    assert allowed_hosts_for(bind, extra) == expected


def test_split_host():
    assert split_host("[::1]:8000") == ("::1", 8000)
    assert split_host("LocalHost.") == ("localhost", None)
    assert split_host("a:b") is None and split_host("") is None


def raw_status(url: str, method: str, path: str, headers: dict, body: bytes | None = None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_a_forged_host_through_a_real_server(tunelab_home):
    app = create_app()
    with serve_app(app) as url:
        port = urlsplit(url).port
        status, body = raw_status(url, "GET", "/v1/files", {"Host": f"127.0.0.1:{port}"})
        assert status == 200 and body["object"] == "list"
        for host in ("evil.example", f"evil.example:{port}"):
            status, body = raw_status(url, "GET", "/v1/files", {"Host": host})
            assert status == 400 and body["error"]["code"] == "invalid_host"
        headers = {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example"}
        headers["Content-Type"] = "multipart/form-data; boundary=b"
        status, body = raw_status(url, "POST", "/v1/files", headers, b"--b\r\n" * 1000)
        assert status == 403 and body["error"]["code"] == "cross_site_request"
    assert artifact_names(tunelab_home) == []


def test_websockets_from_another_site_are_closed(client):
    """No route is a WebSocket today; one added later is guarded too (browsers open them from any
    page, without CORS)."""
    from starlette.websockets import WebSocketDisconnect

    for headers, code in [
        ({"Host": "evil.example"}, 1008),
        ({"Origin": "http://evil.example"}, 1008),
        ({"Origin": "http://127.0.0.1"}, 1000),  # passed on: no such route
    ]:
        with pytest.raises(WebSocketDisconnect) as caught:
            with client.websocket_connect("ws://127.0.0.1/v1/ws", headers=headers):
                pass
        assert caught.value.code == code, headers
