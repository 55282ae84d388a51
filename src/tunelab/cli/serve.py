"""``tunelab serve``: the OpenAI-compatible API (uvicorn) plus job worker processes.

The API process only writes rows and serves chat; training runs in the workers (spawned
processes, each running ``jobs.worker.run_worker``). Jobs whose lease ran out (their server died)
are reconciled before anything starts; jobs another live server holds are left alone. Workers
watch the server: when it dies, however, they stop their job and exit.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from pathlib import Path

from tunelab.cli.backend import (
    add_database_options,
    add_device_option,
    api_keys_from,
    database_url_from,
    resolve_device,
)
from tunelab.errors import TunelabError
from tunelab.hosts import is_loopback
from tunelab.settings import completion_retention

log = logging.getLogger(__name__)
WORKER_STOP_TIMEOUT_S = 15.0
GRACEFUL_SHUTDOWN_S = 5  # open streams get this long after Ctrl-C / SIGTERM


def register(sub) -> None:
    parser = sub.add_parser("serve", help="Run the OpenAI-compatible API and job workers.")
    parser.add_argument(
        "--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1, this machine)."
    )
    parser.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
    parser.add_argument(
        "--workers", type=int, default=1, help="Job worker processes (default 1; 0: API only)."
    )
    add_device_option(parser, "the workers train on and chat runs on")
    add_database_options(parser)
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        default=[],
        metavar="KEY",
        help="Accept this API key (repeatable; visible in the process list: prefer "
        "TUNELAB_API_KEYS=key1,key2 or --api-key-file).",
    )
    parser.add_argument(
        "--api-key-file",
        metavar="PATH",
        type=Path,
        help="Accept the API keys in this file, one per line (keep it mode 0600).",
    )
    parser.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        default=[],
        metavar="NAME",
        help="Also accept requests whose Host is NAME (repeatable); by default only loopback "
        "names and the bound address are accepted, which stops DNS-rebinding pages.",
    )
    add_retention_options(parser)
    parser.set_defaults(func=serve_command)


def add_retention_options(parser) -> None:
    """Which served chat completions are kept for feedback (see docs/api.md, Feedback)."""
    parser.add_argument(
        "--store-completions",
        choices=("on", "off"),
        help="Keep each chat completion served, so users can give feedback on it (default: "
        "$TUNELAB_STORE_COMPLETIONS, else on). off: store nothing.",
    )
    parser.add_argument(
        "--completions-max-age-days",
        type=float,
        metavar="DAYS",
        help="Delete stored completions older than this (default: "
        "$TUNELAB_COMPLETIONS_MAX_AGE_DAYS, else 30; 0: no age limit). Feedback keeps its "
        "own copy.",
    )
    parser.add_argument(
        "--completions-max-count",
        type=int,
        metavar="N",
        help="Keep at most the newest N stored completions, one per choice (default: "
        "$TUNELAB_COMPLETIONS_MAX_COUNT, else 100000; 0: no limit).",
    )


def check_bind(host: str, port: int, keys: list[str]) -> None:
    """Refuse a non-loopback address without API keys, and ports outside 1-65535."""
    if not 0 < port < 65536:
        raise TunelabError(f"--port must be 1-65535, got {port}", code="invalid_port", param="port")
    if not keys and not is_loopback(host):
        raise TunelabError(
            f"refusing to serve on {host} without an API key: anyone who can reach it could "
            "use it. Pass --api-key KEY (or set TUNELAB_API_KEYS), or bind --host 127.0.0.1.",
            code="api_key_required",
            param="api_key",
        )


def serve_command(args) -> int:
    keys = api_keys_from(args)
    url = database_url_from(args)
    retention = completion_retention(
        args.store_completions, args.completions_max_age_days, args.completions_max_count
    )
    check_bind(args.host, args.port, keys)
    if args.workers < 0:
        raise TunelabError("--workers must be 0 or more", code="invalid_workers", param="workers")
    _check_port_free(args.host, args.port)

    import uvicorn

    from tunelab.api.app import create_app
    from tunelab.api.origin import allowed_hosts_for
    from tunelab.jobs.worker import prepare_store
    from tunelab.ui import mount

    prepare_store(url)
    device = resolve_device(args.device)
    app = mount(
        create_app(
            database_url=url,
            api_keys=keys,
            require_auth=bool(keys),
            device=device,
            allowed_hosts=allowed_hosts_for(args.host, args.allowed_hosts),
            retention=retention,
        )
    )  # the web UI at / (a client of the same API)
    workers = start_workers(url, args.workers, device)
    for signum in (signal.SIGTERM, signal.SIGINT):
        # uvicorn shuts down on these, then raises the signal again: end with exit status 0
        # through the ``finally`` below instead of dying before the workers are stopped.
        signal.signal(signum, _exit_after_shutdown)
    try:
        log.info(
            "tunelab API on http://%s:%d/v1 (%d worker(s))", args.host, args.port, len(workers)
        )
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="info",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    finally:
        stop_workers(workers)
    return 0


def _exit_after_shutdown(signum, frame) -> None:
    raise SystemExit(0)


def start_workers(database_url: str, count: int, device: str) -> list:
    """``count`` spawned processes running ``run_worker``; each gets ``.stop_event`` and stops
    by itself when this process dies."""
    import multiprocessing

    from tunelab.jobs.worker import run_worker

    context = multiprocessing.get_context("spawn")  # never fork a process holding DB connections
    workers = []
    for i in range(count):
        stop = context.Event()
        worker_id = f"{socket.gethostname()}-{os.getpid()}-w{i}"
        kwargs = {"worker_id": worker_id, "device": device, "stop_event": stop}
        process = context.Process(
            target=run_worker,
            args=(database_url,),  # sent through a pipe, not the command line
            kwargs={**kwargs, "parent_pid": os.getpid()},
            name=f"tunelab-worker-{i}",
        )
        process.start()
        process.stop_event = stop
        workers.append(process)
    return workers


def stop_workers(workers: list, timeout_s: float = WORKER_STOP_TIMEOUT_S) -> None:
    """Ask every worker to stop, wait, then terminate the ones still running."""
    for process in workers:
        process.stop_event.set()
    for process in workers:
        process.join(timeout_s)
        if process.is_alive():
            log.warning("worker %s did not stop in %.0fs; terminating it", process.name, timeout_s)
            process.terminate()
            process.join(5)


def _check_port_free(host: str, port: int) -> None:
    """Fail before starting workers when the port is taken (uvicorn would only log it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise TunelabError(
                f"cannot listen on {host}:{port}: {exc.strerror}", code="address_in_use"
            ) from exc
