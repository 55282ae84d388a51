"""A real PostgreSQL server for the store tests: ``pg_url`` (session fixture) and ``backend_url``.

``TUNELAB_TEST_POSTGRES_URL`` points the tests at a server you run. Otherwise the fixture starts a
throwaway server from the Debian package (``/usr/lib/postgresql/<version>/bin``) on 127.0.0.1 with a
free port, its data and socket in a temp folder, and stops it at the end of the session. initdb and
postgres refuse to run as root, so as root they run as the ``postgres`` OS user (``runuser``).
Without PostgreSQL installed the PostgreSQL tests fail (CI installs it); they are never skipped.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

DATABASE = "tunelab_test"
INSTALL_HINT = (
    "PostgreSQL is not installed: the store tests run against a real server. Install it with "
    "`apt-get install -y postgresql` (Debian/Ubuntu), or set TUNELAB_TEST_POSTGRES_URL to the URL "
    "of a server whose database the tests may wipe."
)


@dataclass
class _Server:
    root: Path
    bindir: Path
    url: str
    users: int = 0


_server: _Server | None = None


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` that has ``pg_ctl`` and ``initdb``."""
    found = []
    for pg_ctl in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        bindir = Path(pg_ctl).parent
        version = bindir.parent.name
        if (bindir / "initdb").exists() and version.replace(".", "").isdigit():
            found.append((float(version), bindir))
    return max(found)[1] if found else None


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], what: str, log: Path | None = None) -> None:
    result = subprocess.run(_as_postgres(args), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        tail = log.read_text()[-2000:] if log and log.exists() else ""
        pytest.fail(f"{what} failed ({result.returncode}):\n{result.stderr[-2000:]}\n{tail}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_root() -> Path:
    # Not under pytest's tmp_path: that is private to the current user and postgres must enter it.
    root = Path(tempfile.mkdtemp(prefix="tunelab-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.fail(f"No `postgres` OS user to run the server as. {INSTALL_HINT}")
        os.chown(root, user.pw_uid, user.pw_gid)
    return root


def start_server() -> _Server:
    """initdb + pg_ctl start on a free loopback port; create the test database."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(INSTALL_HINT)
    root = _make_root()
    try:
        return _start_in(root, bindir)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _start_in(root: Path, bindir: Path) -> _Server:
    data, log = root / "data", root / "server.log"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    _run([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")
    port = _free_port()
    # -F: no fsync (a throwaway server); the socket goes in our folder, not /var/run/postgresql.
    options = f"-h 127.0.0.1 -p {port} -k {root} -F -c max_connections=200"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
    _run([*pg_ctl, "-l", str(log), "-o", options, "start"], "pg_ctl start", log)
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}"
    return _Server(root=root, bindir=bindir, url=url)


def stop_server(server: _Server) -> None:
    """pg_ctl stop (fast) and remove the data folder."""
    pg_ctl = [str(server.bindir / "pg_ctl"), "-D", str(server.root / "data"), "-w"]
    subprocess.run(_as_postgres([*pg_ctl, "-m", "fast", "stop"]), capture_output=True, timeout=120)
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url():
    """The URL of a PostgreSQL database the tests may wipe (one server for the whole session)."""
    global _server
    url = os.environ.get("TUNELAB_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    # Several test modules import this fixture; they share one server, stopped by the last user.
    if _server is None:
        _server = start_server()
    server = _server
    server.users += 1
    try:
        yield server.url
    finally:
        server.users -= 1
        if server.users == 0:
            stop_server(server)
            _server = None


def reset_database(url: str) -> None:
    """Drop every table so the next test starts from an empty, unmigrated database."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


BACKENDS = ["sqlite", "postgresql"]


def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """For a fixture parametrized over ``BACKENDS``: a fresh SQLite file or a wiped PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tunelab.db'}"
    url = request.getfixturevalue("pg_url")
    reset_database(url)
    return url
