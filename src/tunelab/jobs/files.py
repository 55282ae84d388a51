"""Uploaded files: stream to disk under a server id, list, look up, delete.

The filename a user sends is display metadata only; bytes live at the row's ``storage_key``
(``store.artifacts``), never at a path made from a name or an id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from tunelab.errors import TunelabError
from tunelab.jobs import queue
from tunelab.store import artifacts
from tunelab.store.db import Store
from tunelab.store.tables import File

FILE_PURPOSES = ("fine-tune",)
MAX_FILE_LIST = 10_000


def create_file(
    store: Store, stream: BinaryIO | Any, filename: str, purpose: str, max_bytes: int
) -> File:
    """Stream an upload to disk under a new server id and record it; the name is display only."""
    if purpose not in FILE_PURPOSES:
        raise TunelabError(
            f"purpose must be one of {', '.join(FILE_PURPOSES)}, not {purpose!r}.",
            code="invalid_purpose",
            param="purpose",
        )
    key, size, sha256 = artifacts.save_upload(stream, max_bytes=max_bytes, prefix="file")
    row = File(
        purpose=purpose,
        filename=display_filename(filename),
        bytes=size,
        sha256=sha256,
        storage_key=key,
        status="processed",
    )
    try:
        with store.session() as s:
            s.add(row)
    except BaseException:
        artifacts.delete(key)
        raise
    return row


def display_filename(name: str | None) -> str:
    """The name as sent, without control characters, at most 255 characters; never a path."""
    cleaned = "".join(ch for ch in (name or "") if ch.isprintable()).strip()
    return cleaned[:255] or "upload.jsonl"


def list_files(
    store: Store,
    *,
    purpose: str | None = None,
    after: str | None = None,
    limit: int = MAX_FILE_LIST,
    order: str = "desc",
) -> queue.Page:
    """Files newest first (``order="asc"``: oldest first); ``after`` is the last id of a page."""
    if not 1 <= limit <= MAX_FILE_LIST:
        raise TunelabError(
            f"limit must be between 1 and {MAX_FILE_LIST}.", code="invalid_limit", param="limit"
        )
    if order not in ("asc", "desc"):
        raise TunelabError("order must be 'asc' or 'desc'.", code="invalid_order", param="order")
    query = select(File)
    if purpose is not None:
        query = query.where(File.purpose == purpose)
    with store.session(readonly=True) as s:
        if after is not None:
            cursor = s.scalar(select(File.seq).where(File.id == after))
            if cursor is None:
                raise TunelabError(
                    f"No file {after!r} to list after.", code="invalid_cursor", param="after"
                )
            query = query.where(File.seq < cursor if order == "desc" else File.seq > cursor)
        sort = File.seq.desc() if order == "desc" else File.seq.asc()
        rows = list(s.scalars(query.order_by(sort).limit(limit + 1)))
    return queue.Page(rows[:limit], len(rows) > limit)


def get_file(store: Store, file_id: str, *, param: str = "file_id") -> File:
    """The file ``file_id``; ``file_not_found`` (naming ``param``) if there is none."""
    with store.session(readonly=True) as s:
        row = s.scalar(select(File).where(File.id == file_id))
    if row is None:
        raise TunelabError(f"No such file: {file_id!r}.", code="file_not_found", param=param)
    return row


def delete_file(store: Store, file_id: str) -> File:
    """Delete a file's row and bytes; returns the deleted row."""
    with store.session() as s:
        row = s.scalar(select(File).where(File.id == file_id))
        if row is None:
            message = f"No such file: {file_id!r}."
            raise TunelabError(message, code="file_not_found", param="file_id")
        s.delete(row)
    artifacts.delete(row.storage_key)
    return row


def file_content_path(store: Store, file_id: str) -> Path:
    """Where the bytes of ``file_id`` are stored."""
    path = artifacts.path_for(get_file(store, file_id).storage_key)
    if not path.exists():
        raise TunelabError(
            f"The content of file {file_id!r} is gone.", code="file_not_found", param="file_id"
        )
    return path


def upload_suffix(filename: str) -> str:
    """The suffix a reader needs for an upload: its display name picks CSV, else JSON Lines."""
    return ".csv" if Path(filename).suffix.lower() == ".csv" else ".jsonl"
