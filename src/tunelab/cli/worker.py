"""``tunelab worker``: one job worker on its own, apart from the API server.

It validates and trains jobs from the same database as ``tunelab serve`` (on this machine or on
another one that shares the database and the tunelab home's artifacts and runs folders). It
takes only queued jobs and jobs whose lease ran out, so any number of servers and workers can
share one database. Ctrl-C or SIGTERM stops it within seconds; its running job is re-queued to
resume from its newest checkpoint.
"""

from __future__ import annotations

import logging
import os
import socket

from tunelab.cli.backend import (
    add_database_options,
    add_device_option,
    database_url_from,
    resolve_device,
)

log = logging.getLogger(__name__)


def register(sub) -> None:
    parser = sub.add_parser("worker", help="Run one job worker (no API) on a shared database.")
    add_device_option(parser, "this worker trains on")
    add_database_options(parser)
    parser.add_argument(
        "--name",
        metavar="NAME",
        help="Worker id shown in job events (default HOST-PID).",
    )
    parser.set_defaults(func=worker_command)


def worker_command(args) -> int:
    from tunelab.jobs.worker import prepare_store, run_worker

    url = database_url_from(args)
    prepare_store(url)
    device = resolve_device(args.device)
    worker_id = args.name or f"{socket.gethostname()}-{os.getpid()}"
    log.info("tunelab worker %s on %s; Ctrl-C stops it", worker_id, device)
    run_worker(url, worker_id=worker_id, device=device)
    log.info("tunelab worker %s stopped", worker_id)
    return 0
