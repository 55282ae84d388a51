"""Database engine and sessions: SQLite in the home folder by default, PostgreSQL by URL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit that returned survives a crash or power
loss), a busy timeout and foreign keys on every connection. Write sessions
start with ``BEGIN IMMEDIATE`` so that writers queue on the busy timeout instead of failing with
"database is locked" when a read lock cannot be upgraded; read-only sessions start a plain deferred
``BEGIN`` and, under WAL, never wait for writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tunelab.settings import home_dir
from tunelab.store.migrations import migrate

BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "tunelab_sqlite_begin"


def default_url() -> str:
    """``sqlite:///<home>/tunelab.db``."""
    return f"sqlite:///{home_dir() / 'tunelab.db'}"


def normalize_url(url: str) -> str:
    """Point ``postgresql://`` and ``postgres://`` URLs at the psycopg (3) driver."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def make_engine(url: str | None = None, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url`` (default: SQLite in the home folder), set up for concurrent use."""
    url = normalize_url(url or default_url())
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url)
        _setup_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise ValueError(f"unsupported database URL scheme {backend!r}: use sqlite:// or postgresql://")


def _setup_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver (it skips it for SELECT and DDL); see
        # SQLAlchemy's "Enabling Non-Legacy SQLite Transactional Modes". Python 3.12+ could use
        # connect_args={"autocommit": False} instead; this works from 3.11.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is fsynced at every commit, so a committed transaction survives a power
        # loss or OS crash (NORMAL would keep the database consistent but could lose the last
        # commits, e.g. a job marked succeeded or a registered checkpoint).
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


class Store:
    """An open database: an engine plus write and read-only session factories."""

    def __init__(self, engine: Engine):
        self.engine = engine
        reader = engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        self._writer = sessionmaker(engine, expire_on_commit=False)
        self._reader = sessionmaker(reader, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        Rows returned stay readable after the block (``expire_on_commit=False``).
        """
        factory = self._reader if readonly else self._writer
        with factory.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close pooled connections (call before a process exits or forks)."""
        self.engine.dispose()


def open_store(url: str | None = None, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Store:
    """Open the database at ``url`` (default: SQLite in the home folder) and apply migrations."""
    engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
    migrate(engine)
    return Store(engine)
