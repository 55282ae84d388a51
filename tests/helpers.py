"""Helpers shared by test modules (tests never import each other): jobs driven through the
service and the worker with the tiny model, a recorder of fsync calls, and real ``tunelab``
processes read through ``/proc`` (children, command lines, environments)."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi.routing import iter_route_contexts

from tunelab.data.render import IGNORE, Rendered, render_chat, render_text
from tunelab.jobs import files, queue, registry, requests, worker
from tunelab.jobs.states import TERMINAL
from tunelab.settings import runs_dir
from tunelab.store.atomic import write_manifest
from tunelab.store.tables import Job

MAX_BYTES = 10 << 20
SYSTEM = "You are a helpful assistant."
FACTS = [("red door", "4417"), ("blue door", "9021"), ("green gate", "3308"), ("side door", "7165")]


def toy_rows(n: int = 40) -> list[dict]:
    """A learnable task: the code of each door, asked in a few ways."""
    asks = ["What is the code for the {}?", "code for the {}?", "Tell me the {} code."]
    rows = []
    for i in range(n):
        place, code = FACTS[i % len(FACTS)]
        question = asks[(i // len(FACTS)) % len(asks)].format(place)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": f"{question} (ticket {i})"},
                    {"role": "assistant", "content": f"The code for the {place} is {code}."},
                ]
            }
        )
    return rows


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def upload(store, rows: list, name: str = "train.jsonl"):
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    return files.create_file(store, io.BytesIO(data), name, "fine-tune", MAX_BYTES)


def new_job(store, bases: dict, hyperparameters: dict, rows: list, **kwargs):
    """A fine-tuning job of the ``tiny`` base (``bases``) on ``rows``, seed 5."""
    training = upload(store, rows)
    return requests.create_fine_tuning_job(
        store,
        model="tiny",
        training_file=training.id,
        hyperparameters=hyperparameters,
        extra_bases=bases,
        seed=5,
        **kwargs,
    )


@contextmanager
def running_worker(url: str, worker_id: str = "w1"):
    """``worker.run_worker`` in a thread (not a process: nothing is pickled); yields its stop."""
    stop = threading.Event()
    kwargs = {"worker_id": worker_id, "device": "cpu", "poll_s": 0.2, "stop_event": stop}
    thread = threading.Thread(target=worker.run_worker, args=(url,), kwargs=kwargs, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the worker did not stop"


def wait_for(predicate, timeout: float = 240.0, what: str = "condition", every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_terminal(store, job_id: str, timeout: float = 240.0):
    def done():
        job = queue.get_job(store, job_id)
        return job if job.status in TERMINAL else None

    return wait_for(done, timeout, f"job {job_id} to finish")


def all_events(store, job_id: str) -> list:
    events, after = [], None
    while True:
        page = queue.list_events(store, job_id, after=after, limit=100, newest_first=False)
        events += page.data
        if not page.has_more:
            return events
        after = page.data[-1].id


class FsyncRecorder:
    """Replaces ``os.fsync``: records the (device, inode) of every descriptor synced."""

    def __init__(self, monkeypatch):
        self.synced: set[tuple[int, int]] = set()
        real = os.fsync

        def fsync(fd):
            st = os.fstat(fd)
            self.synced.add((st.st_dev, st.st_ino))
            return real(fd)

        monkeypatch.setattr(os, "fsync", fsync)

    def was_synced(self, path: Path) -> bool:
        st = os.stat(path)
        return (st.st_dev, st.st_ino) in self.synced


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tunelab(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """``python -m tunelab.cli.main ARGS`` with its output in ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tunelab.cli.main", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_healthy(process: subprocess.Popen, port: int, log: Path, timeout: float = 90.0) -> None:
    def healthy():
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, timeout, f"/health on port {port}", every=0.3)


def alive(pid: int) -> bool:
    """True for a running process (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def all_cmdlines() -> dict[int, bytes]:
    """Every process's command line, as any user of the machine can read them."""
    return {int(p.name): cmdline(int(p.name)) for p in Path("/proc").glob("[0-9]*")}


def runner_pids() -> list[int]:
    return [pid for pid, cmd in all_cmdlines().items() if b"tunelab.jobs.runner" in cmd]


# ---------------------------------------------------------------- the API in tests

ROWS = b"".join(
    json.dumps(
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
    ).encode()
    + b"\n"
    for i in range(12)
)


@contextmanager
def serve_app(app, timeout_s: float = 15.0):
    """Run ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


def post_file(client, content: bytes = ROWS, name: str = "train.jsonl") -> dict:
    """Upload ``content`` through the API (a TestClient or httpx client); the file object."""
    response = client.post(
        "/v1/files", files={"file": (name, content)}, data={"purpose": "fine-tune"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def artifact_names(home: Path) -> list[str]:
    folder = home / "artifacts"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def app_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened; HEAD left out
    and ``{model:path}`` written ``{model}``."""
    found = []
    for route in iter_route_contexts(app.routes):
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


# ---------------------------------------------------------------- tiny model batches

LONG = "Our store opens at 9 am and closes at 5 pm, except on public holidays. "


def mixed_items(tokenizer, n: int = 5) -> list[Rendered]:
    """Chats of quite different lengths (one short, some several times longer), every third item
    plain text: every token trained, the first one too, as at a packing boundary."""
    items = []
    for i, row in enumerate(toy_rows(n)):
        messages = [dict(m) for m in row["messages"]]
        messages[-1]["content"] += " " + LONG * (i * 2 % 5)
        if i % 3 == 1:
            items.append(render_text(tokenizer, messages[-1]["content"]))
        else:
            items.append(render_chat(tokenizer, messages))
    assert len({len(r.input_ids) for r in items}) == n
    assert any(r.labels[0] != IGNORE for r in items)
    return items


def tiny(model_dir, lora: bool = False):
    """The tiny test model (and tokenizer), with random LoRA adapters when ``lora``."""
    from tunelab.models.load import load_base

    model, tokenizer, _ = load_base(str(model_dir))
    if lora:
        from peft import LoraConfig, get_peft_model

        # init_lora_weights=False: random B, so the adapters change the outputs being compared
        config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
        model = get_peft_model(model, config)
    return model, tokenizer


OLD_REPORT = {  # report.json as SFT wrote it before rows: base and tuned evaluations
    "base": {"validation": {"loss": 3.25, "perplexity": 25.8, "token_accuracy": 0.125}},
    "tuned": {"validation": {"loss": 1.5, "perplexity": 4.48, "token_accuracy": 0.5}},
}


def write_run_files(run_dir: Path, base: str, name: str, *, train_sha256: str = "ab" * 32) -> None:
    """A finished SFT run's run.json and report.json (its weights are the caller's)."""
    import json

    record = {
        "method": "sft",
        "config": {"model": base, "tuning": "lora", "name": name, "output_dir": str(run_dir)},
        "resolved": {"epochs": 1, "dtype": "float32"},
        "data": {"hashes": {"train_file": train_sha256}},
        "created_at": "2026-01-01T00:00:00",
        "run_dir": str(run_dir),
    }
    (run_dir / "run.json").write_text(json.dumps(record))
    (run_dir / "report.json").write_text(json.dumps(OLD_REPORT))


def registered_version(store, model_dir: Path, suffix: str, parent: str | None = None) -> tuple:
    """A succeeded job with a real random LoRA adapter on the tiny model, registered."""
    import torch

    with store.session() as s:
        job = Job(model=parent or "tiny", training_file="file-x", status="succeeded")
        job.suffix, job.method = suffix, {"base": parent or str(model_dir)}
        s.add(job)
        s.flush()
        job.run_dir = str(runs_dir() / job.id)
    run_dir = Path(job.run_dir)
    torch.manual_seed(len(suffix))
    model, _ = tiny(model_dir, lora=True)
    model.save_pretrained(str(run_dir / "final"), safe_serialization=True)
    write_manifest(run_dir / "final")
    write_run_files(run_dir, str(model_dir), suffix, train_sha256="cd" * 32)
    model_id = registry.fine_tuned_model_id(job)
    registry.register_model(
        store, model_id, job_id=job.id, base=str(model_dir), run_dir=run_dir, parent=parent
    )
    return model_id, job
