"""ORM tables for files, jobs, job events, checkpoints, models, aliases, served completions and
feedback (SQLAlchemy 2.0 style).

Every table has ``seq``, an integer primary key that only grows (it orders lists and pages), and
``id``, the public string id made here (``file-…``, ``ftjob-…``); aliases are keyed by name.
Timestamps are integer unix seconds, as in OpenAI's objects. The schema itself is created by
``migrations``; a test checks that the two agree.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import FunctionElement

from tunelab.store.artifacts import new_id

ID_LENGTH = 64


def now() -> int:
    """The current time as integer unix seconds."""
    return int(time.time())


class db_now(FunctionElement):
    """The database server's clock as integer unix seconds, for leases and heartbeats.

    Servers and workers on several machines share one database; their own clocks may disagree,
    so every heartbeat is stamped and every lease judged by the one clock they share.
    """

    type = BigInteger()
    inherit_cache = True


@compiles(db_now, "sqlite")
def _db_now_sqlite(element, compiler, **kw) -> str:
    return "CAST(strftime('%s', 'now') AS INTEGER)"


@compiles(db_now, "postgresql")
def _db_now_postgresql(element, compiler, **kw) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)"


def _id(prefix: str) -> Any:
    return mapped_column(
        String(ID_LENGTH), unique=True, nullable=False, default=lambda: new_id(prefix)
    )


def _seq() -> Any:
    return mapped_column(Integer, primary_key=True, autoincrement=True)


def _created() -> Any:
    return mapped_column(BigInteger, nullable=False, default=now)


class Base(DeclarativeBase):
    """Base of the tables; ``as_dict`` gives a row's columns."""

    def as_dict(self) -> dict[str, Any]:
        return {column.key: getattr(self, column.key) for column in self.__table__.columns}


class File(Base):
    """An uploaded file: ``filename`` is display metadata only; the bytes are at ``storage_key``."""

    __tablename__ = "files"
    seq: Mapped[int] = _seq()
    id: Mapped[str] = _id("file")
    purpose: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="processed")
    created_at: Mapped[int] = _created()
    storage_key: Mapped[str] = mapped_column(String(ID_LENGTH))


class Job(Base):
    """A fine-tuning job; ``status`` moves only along ``jobs.states.TRANSITIONS``."""

    __tablename__ = "jobs"
    seq: Mapped[int] = _seq()
    id: Mapped[str] = _id("ftjob")
    model: Mapped[str] = mapped_column(String(256))
    training_file: Mapped[str] = mapped_column(String(ID_LENGTH))
    validation_file: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    hyperparameters: Mapped[dict] = mapped_column(JSON, default=dict)
    method: Mapped[dict | None] = mapped_column(JSON)
    suffix: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[dict | None] = mapped_column(JSON)  # {code, message, param}
    fine_tuned_model: Mapped[str | None] = mapped_column(String(256))
    trained_tokens: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = _created()
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[int | None] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    device: Mapped[str | None] = mapped_column(String(64))
    queue_reason: Mapped[str | None] = mapped_column(Text)
    run_dir: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class JobEvent(Base):
    """One message or metrics record of a job; ``seq`` gives their order."""

    __tablename__ = "job_events"
    seq: Mapped[int] = _seq()
    id: Mapped[str] = _id("ftevent")
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    created_at: Mapped[int] = _created()
    level: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="message")
    data: Mapped[dict | None] = mapped_column(JSON)


class Checkpoint(Base):
    """A saved checkpoint of a job: usable as the model ``model_id``; files at ``path_key``."""

    __tablename__ = "checkpoints"
    seq: Mapped[int] = _seq()
    id: Mapped[str] = _id("ftckpt")
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    created_at: Mapped[int] = _created()
    step: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    model_id: Mapped[str] = mapped_column(String(256))
    path_key: Mapped[str] = mapped_column(Text)


class Model(Base):
    """A model version (``ft:base:suffix:job``, or ``ft:base:name:run-folder`` for a local run).

    ``base`` is what its weights load on (a built-in name or a folder); ``parent`` the version
    or checkpoint id it was trained from (None for a base). ``deleted`` keeps the row (the
    lineage of its descendants) after its weights are removed.
    """

    __tablename__ = "models"
    seq: Mapped[int] = _seq()
    id: Mapped[str] = mapped_column(String(256), unique=True, nullable=False)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    base: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[int] = _created()
    run_dir: Mapped[str | None] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    parent: Mapped[str | None] = mapped_column(String(256), index=True)
    method: Mapped[str | None] = mapped_column(String(32))  # the training method: "sft", ...
    tuning: Mapped[str | None] = mapped_column(String(16))  # "lora" or "full"
    training_file: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    training_sha256: Mapped[str | None] = mapped_column(String(64))
    validation_file: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    validation_sha256: Mapped[str | None] = mapped_column(String(64))
    config: Mapped[dict | None] = mapped_column(JSON)  # {"config": ..., "resolved": ...}
    metrics: Mapped[list | None] = mapped_column(JSON)  # [{metric, base, tuned, change}]
    report_path: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    artifacts: Mapped[dict | None] = mapped_column(JSON)  # {name: path in the run folder}
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)


class ModelAlias(Base):
    """An alias's current target (a version, checkpoint or built-in id), keyed by its name."""

    __tablename__ = "model_aliases"
    seq: Mapped[int] = _seq()
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    model_id: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[int] = _created()
    updated_at: Mapped[int] = mapped_column(BigInteger, nullable=False, default=now)


class AliasEvent(Base):
    """One change of an alias, append-only: ``set``, ``rollback`` or ``remove``.

    ``forced`` and ``note`` are for a promotion gate (a set that overrode a failed check).
    """

    __tablename__ = "model_alias_history"
    seq: Mapped[int] = _seq()
    alias: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    model_id: Mapped[str | None] = mapped_column(String(256))
    previous: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[int] = _created()
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)


class Completion(Base):
    """One choice of a chat completion the server returned (the feedback API refers to it).

    ``id`` is the response's ``chatcmpl-…`` for choice 0 and ``chatcmpl-…-<i>`` for choice i;
    ``request_id`` is the response's id for every choice. ``model`` is the id as asked,
    ``model_version`` the concrete one it resolved to (an alias's target), ``served`` what was
    loaded (``{"weights": "base"|"lora"|"full"|"checkpoint"}``). ``prompt_sha256`` hashes the
    messages, so "same prompt" is one comparison. Pruned by the retention setting.
    """

    __tablename__ = "completions"
    seq: Mapped[int] = _seq()
    id: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True, nullable=False)
    request_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    choice: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False, default=now, index=True)
    model: Mapped[str] = mapped_column(String(256))
    model_version: Mapped[str] = mapped_column(String(256))
    served: Mapped[dict | None] = mapped_column(JSON)
    messages: Mapped[list] = mapped_column(JSON)
    prompt_sha256: Mapped[str] = mapped_column(String(64))
    output: Mapped[str] = mapped_column(Text)
    finish_reason: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict] = mapped_column(JSON)  # temperature, top_p, max_tokens, stop, n, seed
    usage: Mapped[dict | None] = mapped_column(JSON)  # prompt_tokens, completion_tokens


class Feedback(Base):
    """A rating, correction or comparison of served completions, with its own copy of the
    prompt and outputs (pruning completions never breaks it).

    ``kind``: ``rating`` (``rating`` up/down), ``correction`` (a rating with a corrected
    output) or ``comparison`` (``completion_id`` preferred over ``rejected_id``). ``model`` and
    ``model_version`` are the (preferred) completion's, ``rejected_model*`` the rejected one's.
    ``idempotency_key`` and ``request_sha256`` make a retried POST return the same object.
    """

    __tablename__ = "feedback"
    seq: Mapped[int] = _seq()
    id: Mapped[str] = _id("feedback")
    created_at: Mapped[int] = _created()
    kind: Mapped[str] = mapped_column(String(16), index=True)
    completion_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    rejected_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    model: Mapped[str] = mapped_column(String(256))
    model_version: Mapped[str] = mapped_column(String(256))
    rejected_model: Mapped[str | None] = mapped_column(String(256))
    rejected_model_version: Mapped[str | None] = mapped_column(String(256))
    rating: Mapped[str | None] = mapped_column(String(8))
    correction: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    messages: Mapped[list] = mapped_column(JSON)
    prompt_sha256: Mapped[str] = mapped_column(String(64), index=True)
    output: Mapped[str] = mapped_column(Text)
    rejected_output: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_sha256: Mapped[str | None] = mapped_column(String(64))


class FeedbackTag(Base):
    """One tag of one feedback row (the ``tag`` filter of ``GET /v1/feedback``)."""

    __tablename__ = "feedback_tags"
    seq: Mapped[int] = _seq()
    feedback_id: Mapped[str] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(64), index=True)
