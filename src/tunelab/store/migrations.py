"""Append-only, named schema migrations recorded in ``schema_migrations`` (after simonw/llm).

Each migration is a function of a connection, applied once, in list order, and recorded by name.
Never edit or reorder one that has shipped: add a new one at the end. A migration describes the
schema as it was at that point (Core tables defined inside it), not by importing ``tables``, so a
later change to the ORM cannot alter what an old migration does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.schema import CreateColumn

MIGRATIONS_TABLE = "schema_migrations"
_PG_LOCK_KEY = 0x7475_6E65  # any fixed number: serialises migrators on one PostgreSQL database


def _m001_initial(conn: Connection) -> None:
    meta = MetaData()

    def base(name: str, *columns: Column | Index, id_length: int = 64) -> Table:
        return Table(
            name,
            meta,
            Column("seq", Integer, primary_key=True, autoincrement=True),
            Column("id", String(id_length), unique=True, nullable=False),
            Column("created_at", BigInteger, nullable=False),
            *columns,
        )

    def job_fk(ondelete: str, nullable: bool = False) -> Column:
        fk = ForeignKey("jobs.id", ondelete=ondelete)
        return Column("job_id", String(64), fk, nullable=nullable)

    base(
        "files",
        Column("purpose", String(32), nullable=False),
        Column("filename", Text, nullable=False),
        Column("bytes", BigInteger, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("status", String(32), nullable=False),
        Column("storage_key", String(64), nullable=False),
    )
    base(
        "jobs",
        Column("model", String(256), nullable=False),
        Column("training_file", String(64), nullable=False),
        Column("validation_file", String(64)),
        Column("hyperparameters", JSON, nullable=False),
        Column("method", JSON),
        Column("suffix", String(64)),
        Column("seed", BigInteger),
        Column("status", String(32), nullable=False),
        Column("error", JSON),
        Column("fine_tuned_model", String(256)),
        Column("trained_tokens", BigInteger),
        Column("started_at", BigInteger),
        Column("finished_at", BigInteger),
        Column("worker_id", String(128)),
        Column("heartbeat_at", BigInteger),
        Column("attempt", Integer, nullable=False),
        Column("device", String(64)),
        Column("queue_reason", Text),
        Column("run_dir", Text),
        Column("cancel_requested", Boolean, nullable=False),
        Index("ix_jobs_status_device", "status", "device"),
    )
    base(
        "job_events",
        job_fk("CASCADE"),
        Column("level", String(16), nullable=False),
        Column("message", Text, nullable=False),
        Column("type", String(16), nullable=False),
        Column("data", JSON),
        Index("ix_job_events_job_seq", "job_id", "seq"),
    )
    base(
        "checkpoints",
        job_fk("CASCADE"),
        Column("step", Integer, nullable=False),
        Column("metrics", JSON, nullable=False),
        Column("model_id", String(256), nullable=False),
        Column("path_key", Text, nullable=False),
        Index("ix_checkpoints_job_seq", "job_id", "seq"),
    )
    base(
        "models",
        job_fk("SET NULL", nullable=True),
        Column("base", String(256), nullable=False),
        Column("run_dir", Text),
        Column("deleted", Boolean, nullable=False),
        id_length=256,  # ft:<base>:<suffix>:<job>, longer than the generated ids
    )
    meta.create_all(conn)


def _m002_model_registry(conn: Connection) -> None:
    """What a model version records (lineage, data hashes, config, metrics, artifacts), and
    aliases with their append-only history."""
    added = [
        Column("parent", String(256)),
        Column("method", String(32)),
        Column("tuning", String(16)),
        Column("training_file", String(64)),
        Column("training_sha256", String(64)),
        Column("validation_file", String(64)),
        Column("validation_sha256", String(64)),
        Column("config", JSON),
        Column("metrics", JSON),
        Column("report_path", Text),
        Column("size_bytes", BigInteger),
        Column("artifacts", JSON),
        Column("deleted_at", BigInteger),
    ]
    for column in added:  # all nullable: rows of models registered before keep NULLs
        ddl = CreateColumn(column).compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE models ADD COLUMN {ddl}")
    conn.exec_driver_sql("CREATE INDEX ix_models_parent ON models (parent)")
    meta = MetaData()
    Table(
        "model_aliases",
        meta,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("name", String(64), unique=True, nullable=False),
        Column("model_id", String(256), nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("updated_at", BigInteger, nullable=False),
    )
    Table(
        "model_alias_history",
        meta,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("alias", String(64), nullable=False, index=True),
        Column("action", String(16), nullable=False),
        Column("model_id", String(256)),
        Column("previous", String(256)),
        Column("created_at", BigInteger, nullable=False),
        Column("forced", Boolean, nullable=False),
        Column("note", Text),
    )
    meta.create_all(conn)


def _m003_feedback(conn: Connection) -> None:
    """Served chat completions (one row per choice) and users' feedback on them: ratings,
    corrections and comparisons, each with its own copy of the prompt and outputs, and tags."""
    meta = MetaData()

    def table(name: str, *columns: Column) -> Table:
        seq = Column("seq", Integer, primary_key=True, autoincrement=True)
        return Table(name, meta, seq, *columns)

    def text(name: str, length: int | None = None, nullable: bool = False, **kw) -> Column:
        kind = Text if length is None else String(length)
        return Column(name, kind, nullable=nullable, **kw)

    table(
        "completions",
        text("id", 64, unique=True),
        text("request_id", 64),
        Column("choice", Integer, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        text("model", 256),
        text("model_version", 256),
        Column("served", JSON),
        Column("messages", JSON, nullable=False),
        text("prompt_sha256", 64),
        text("output"),
        text("finish_reason", 16),
        Column("params", JSON, nullable=False),
        Column("usage", JSON),
        Index("ix_completions_request_id", "request_id"),
        Index("ix_completions_created_at", "created_at"),
    )
    table(
        "feedback",
        text("id", 64, unique=True),
        Column("created_at", BigInteger, nullable=False),
        text("kind", 16),
        text("completion_id", 64),
        text("rejected_id", 64, nullable=True),
        text("model", 256),
        text("model_version", 256),
        text("rejected_model", 256, nullable=True),
        text("rejected_model_version", 256, nullable=True),
        text("rating", 8, nullable=True),
        text("correction", nullable=True),
        text("comment", nullable=True),
        Column("tags", JSON, nullable=False),
        Column("messages", JSON, nullable=False),
        text("prompt_sha256", 64),
        text("output"),
        text("rejected_output", nullable=True),
        text("idempotency_key", 255, nullable=True, unique=True),
        text("request_sha256", 64, nullable=True),
        Index("ix_feedback_kind", "kind"),
        Index("ix_feedback_prompt_sha256", "prompt_sha256"),
    )
    table(
        "feedback_tags",
        Column(
            "feedback_id",
            String(64),
            ForeignKey("feedback.id", ondelete="CASCADE"),
            nullable=False,
        ),
        text("tag", 64),
        Index("ix_feedback_tags_feedback_id", "feedback_id"),
        Index("ix_feedback_tags_tag", "tag"),
    )
    meta.create_all(conn)


# Append only. (name, function); the name is what gets recorded.
MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", _m001_initial),
    ("m002_model_registry", _m002_model_registry),
    ("m003_feedback", _m003_feedback),
]


def _migrations_table() -> Table:
    return Table(
        MIGRATIONS_TABLE,
        MetaData(),
        Column("name", String(128), primary_key=True),
        Column("applied_at", BigInteger, nullable=False),
    )


def applied_migrations(conn: Connection) -> list[str]:
    """Names of the migrations already applied, oldest first."""
    table = _migrations_table()
    if not conn.dialect.has_table(conn, MIGRATIONS_TABLE):
        return []
    rows = conn.execute(select(table.c.name).order_by(table.c.applied_at, table.c.name))
    return [row[0] for row in rows]


def migrate(engine: Engine) -> list[str]:
    """Apply pending migrations in one transaction; returns the names applied (empty: no-op).

    Safe when several processes start at once: SQLite's write transaction (``BEGIN IMMEDIATE``)
    or a PostgreSQL advisory lock lets one apply them while the others wait, then find none left.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        table = _migrations_table()
        table.create(conn, checkfirst=True)
        done = set(applied_migrations(conn))
        applied = []
        for name, apply in MIGRATIONS:
            if name in done:
                continue
            apply(conn)
            conn.execute(table.insert().values(name=name, applied_at=int(time.time())))
            applied.append(name)
        return applied


def pending_migrations(conn: Connection) -> list[str]:
    """Names of the migrations not yet applied."""
    done = set(applied_migrations(conn))
    return [name for name, _ in MIGRATIONS if name not in done]
