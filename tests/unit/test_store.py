"""The metadata store on SQLite and on a real PostgreSQL: engine set-up, migrations, tables."""

from __future__ import annotations

import multiprocessing
import threading

import postgres
import pytest
from postgres import BACKENDS, backend_url, pg_url  # noqa: F401
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from tunelab.store import db
from tunelab.store.db import make_engine, normalize_url, open_store
from tunelab.store.migrations import MIGRATIONS, applied_migrations, migrate, pending_migrations
from tunelab.store.tables import Base, Checkpoint, File, Job, JobEvent, Model


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    return backend_url(request, tmp_path)


@pytest.fixture
def store(url):
    opened = open_store(url)
    yield opened
    opened.dispose()


def test_default_url_is_sqlite_in_home(tunelab_home):
    assert db.default_url() == f"sqlite:///{tunelab_home / 'tunelab.db'}"
    engine = make_engine()
    with engine.connect() as conn:
        conn.execute(text("select 1"))
    assert (tunelab_home / "tunelab.db").exists()
    engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5/d", "postgresql+psycopg://u:p@h:5/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_url_uses_psycopg(given, expected):
    assert normalize_url(given) == expected


def test_unsupported_url_rejected():
    with pytest.raises(ValueError, match="unsupported"):
        make_engine("mysql://u@h/d")


def test_sqlite_pragmas_on_every_connection(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    conns = [engine.connect() for _ in range(2)]  # two pooled connections, each set up
    for conn in conns:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA busy_timeout").scalar() == 30000
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA synchronous").scalar() == 2  # FULL: commits survive power loss
        conn.close()
    engine.dispose()


def test_sqlite_writers_queue_and_readers_do_not_wait(tmp_path):
    """Write sessions take the write lock up front; read-only ones read while a writer holds it."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    store = open_store(url, busy_timeout_ms=200)
    with store.session() as writer:
        writer.add(File(purpose="fine-tune", filename="a", bytes=1, sha256="0", storage_key="k"))
        writer.flush()
        with store.session(readonly=True) as reader:
            assert reader.scalar(select(File.id)) is None  # not yet committed, read not blocked
        with pytest.raises(OperationalError, match="locked"):
            with store.session() as other:
                other.execute(select(File.id))
    with store.session(readonly=True) as reader:
        assert reader.scalar(select(File.id)).startswith("file-")
    store.dispose()


def test_sqlite_long_writer_waits_instead_of_failing(tmp_path):
    """With the default busy timeout a second writer waits for the first and then succeeds."""
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    released = threading.Event()

    def hold_lock():
        with store.session() as s:
            s.add(File(purpose="p", filename="a", bytes=1, sha256="0", storage_key="k"))
            s.flush()
            released.wait(5)

    thread = threading.Thread(target=hold_lock)
    thread.start()
    threading.Timer(0.5, released.set).start()
    with store.session() as s:
        s.add(File(purpose="p", filename="b", bytes=2, sha256="0", storage_key="k"))
    thread.join(10)
    with store.session(readonly=True) as s:
        assert sorted(s.scalars(select(File.filename))) == ["a", "b"]
    store.dispose()


def test_migrations_are_recorded_and_idempotent(store):
    names = [name for name, _ in MIGRATIONS]
    with store.engine.connect() as conn:
        assert applied_migrations(conn) == names
        assert pending_migrations(conn) == []
    assert migrate(store.engine) == []
    assert migrate(store.engine) == []
    with store.engine.connect() as conn:
        count = conn.execute(text("select count(*) from schema_migrations")).scalar()
    assert count == len(MIGRATIONS)


def test_migrate_applies_pending_on_empty_database(url):
    engine = make_engine(url)
    assert migrate(engine) == [name for name, _ in MIGRATIONS]
    assert migrate(engine) == []
    engine.dispose()


def _open_and_count(url):
    store = open_store(url)
    with store.engine.connect() as conn:
        names = applied_migrations(conn)
    store.dispose()
    return names


def test_processes_opening_a_new_database_at_once_migrate_once(url):
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        results = pool.map_async(_open_and_count, [url] * 3).get(timeout=120)
    assert results == [[name for name, _ in MIGRATIONS]] * 3


def test_schema_from_migrations_matches_orm_tables(store):
    """Migrations, not create_all, make the schema: they must agree with the ORM on every column."""
    inspector = inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)


def test_ids_are_server_generated_with_prefixes(store):
    with store.session() as s:
        job = Job(model="m", training_file="file-x", status="queued")
        s.add(job)
        s.flush()
        f = File(purpose="fine-tune", filename="../../etc/passwd", bytes=3, sha256="a")
        f.storage_key = "upload-0"
        event = JobEvent(job_id=job.id, message="hi")
        ckpt = Checkpoint(job_id=job.id, step=1, model_id="ft:x", path_key="k", metrics={})
        model = Model(id="ft:base:s:ftjob-1", job_id=job.id, base="base")
        s.add_all([f, event, ckpt, model])
    assert job.id.startswith("ftjob-") and f.id.startswith("file-")
    assert event.id.startswith("ftevent-") and ckpt.id.startswith("ftckpt-")
    assert job.created_at > 1_600_000_000 and isinstance(job.created_at, int)
    assert f.filename == "../../etc/passwd"  # kept as display metadata only
    assert job.attempt == 1 and job.cancel_requested is False and model.deleted is False


def test_json_columns_round_trip(store):
    params = {"n_epochs": "auto", "learning_rate_multiplier": 0.5, "nested": {"a": [1, 2]}}
    with store.session() as s:
        job = Job(model="m", training_file="f", status="queued", hyperparameters=params)
        job.error = {"code": "x", "message": "m", "param": None}
        s.add(job)
    with store.session(readonly=True) as s:
        loaded = s.scalar(select(Job).where(Job.id == job.id))
    assert loaded.hyperparameters == params
    assert loaded.error == {"code": "x", "message": "m", "param": None}


def test_foreign_keys_enforced(store):
    with pytest.raises(IntegrityError):
        with store.session() as s:
            s.add(JobEvent(job_id="ftjob-missing", message="orphan"))


def test_ids_unique_constraint(store):
    with pytest.raises(IntegrityError):
        with store.session() as s:
            s.add(Job(id="ftjob-same", model="m", training_file="f", status="queued"))
            s.add(Job(id="ftjob-same", model="m", training_file="f", status="queued"))


def test_missing_postgresql_fails_with_install_hint(monkeypatch):
    monkeypatch.setattr(postgres, "find_bindir", lambda: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y postgresql"):
        postgres.start_server()
