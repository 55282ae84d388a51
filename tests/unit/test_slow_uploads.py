"""Slow uploads cannot stall the server: 20 clients that trickle bytes into ``POST /v1/files`` on a
real uvicorn server; past the upload cap they get 429 at once, the rest 408 once they stop
sending, ``/health``, ``/v1/models`` and a chat completion answer meanwhile, and no temp file is
left."""

from __future__ import annotations

import json
import select
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import serve_app

from tunelab.api.app import create_app
from tunelab.api.uploads import MAX_CONCURRENT_UPLOADS, UploadSlots
from tunelab.serve.engine import Engine
from tunelab.store.artifacts import artifacts_dir

CLIENTS = 20
READ_TIMEOUT_S = 1.5
TRICKLE_S = 2.5  # longer than the read timeout: bytes keep coming, so no 408 yet
HEAD = (
    b'--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
    b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="slow.jsonl"\r\n\r\n'
)
HELLO = [{"role": "user", "content": "Hello, how can I help you today?"}]


def open_upload(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n"
        b"Content-Type: multipart/form-data; boundary=b0undary\r\n\r\n" + HEAD + b'{"messages'
    )
    return sock


def answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def read_response(sock: socket.socket) -> tuple[int, dict]:
    """The status and JSON body of the one response on ``sock`` (the server closes after it)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def timed(call) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response


def wait_for(found, count: int, timeout_s: float = 5.0) -> list:
    """``found()`` once it has ``count`` items (or at the deadline: the caller's assert says)."""
    deadline = time.monotonic() + timeout_s
    while len(found()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # and no more come
    return found()


def stray_temp_files() -> list[str]:
    return [p.name for p in artifacts_dir().iterdir() if p.name.startswith(".tmp-")]


@pytest.fixture
def engine():
    engine = Engine(batch_window_s=0.005)
    yield engine
    engine.close()


def test_slow_uploads_do_not_stall_the_server(tiny_model_dir, tunelab_home, engine):
    started = time.monotonic()
    app = create_app(
        extra_bases={"tiny": tiny_model_dir}, engine=engine, upload_read_timeout_s=READ_TIMEOUT_S
    )
    engine.generate(app.state.resolve_model("tiny"), HELLO, max_tokens=1)  # load torch and model
    chat = {"model": "tiny", "messages": HELLO, "max_tokens": 4}
    with serve_app(app) as url:
        port = urlsplit(url).port
        socks = [open_upload(port) for _ in range(CLIENTS)]
        refused = wait_for(
            lambda: [s for s in socks if answered(s)], CLIENTS - MAX_CONCURRENT_UPLOADS
        )
        slow = [s for s in socks if s not in refused]
        assert len(slow) == MAX_CONCURRENT_UPLOADS, "uploads past the cap must be refused"
        for sock in refused:
            status, body = read_response(sock)
            assert status == 429 and body["error"]["code"] == "too_many_uploads", body
        assert len(wait_for(stray_temp_files, len(slow))) == len(slow)  # the slow ones write
        latencies = []
        trickle_end = time.monotonic() + TRICKLE_S
        while time.monotonic() < trickle_end:
            for sock in slow:
                sock.sendall(b"x")
            for call in (
                lambda: httpx.get(f"{url}/health", timeout=5),
                lambda: httpx.get(f"{url}/v1/models", timeout=5),
                lambda: httpx.post(f"{url}/v1/chat/completions", json=chat, timeout=5),
            ):
                elapsed, response = timed(call)
                assert response.status_code == 200, response.text
                latencies.append(elapsed)
            time.sleep(0.2)
        assert max(latencies) < 2.0, latencies
        assert not any(answered(s) for s in slow), "a client still sending must not time out"
        for sock in slow:  # now silent: each gets 408 after the read timeout
            status, body = read_response(sock)
            assert status == 408 and body["error"]["code"] == "upload_timeout", body
            sock.close()
        deadline = time.monotonic() + 5
        while stray_temp_files() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stray_temp_files() == []
        files = {"file": ("ok.jsonl", b'{"a": 1}\n')}
        after = httpx.post(f"{url}/v1/files", files=files, data={"purpose": "fine-tune"})
        assert after.status_code == 200, after.text  # every slot was given back
    assert time.monotonic() - started < 20


def test_upload_slots_count_and_refuse():
    slots = UploadSlots(2)
    with slots.take(), slots.take():
        with pytest.raises(Exception) as caught, slots.take():
            pass
        assert caught.value.status_code == 429 and caught.value.headers["Retry-After"] == "1"
    assert slots.active == 0
    with pytest.raises(ValueError):
        UploadSlots(0)
    with pytest.raises(ValueError):
        create_app(upload_read_timeout_s=0)
