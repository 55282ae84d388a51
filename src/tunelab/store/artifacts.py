"""Artifact storage on disk under server-generated keys: atomic, size-capped, checksummed uploads.

A key is always made here (``prefix-<24 hex>``); ``path_for`` accepts nothing else, so no string a
user sent (a filename, a model id, ``../x``) is ever joined into a path.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from tunelab.errors import TunelabError
from tunelab.settings import home_dir
from tunelab.store.atomic import TEMP_PREFIX, fsync_path

KEY_PATTERN = re.compile(r"[a-z]{1,16}-[0-9a-f]{24}")
CHUNK_BYTES = 1 << 20
# Only an upload temp file unwritten this long is swept: a live upload writes every few seconds,
# and another server sharing this home may be mid-upload, so fresher ones are left alone.
TEMP_MAX_AGE_S = 3600.0


def new_id(prefix: str) -> str:
    """A fresh random id such as ``file-3f9a…`` (24 hex digits); also the shape of artifact keys."""
    if not re.fullmatch(r"[a-z]{1,16}", prefix):
        raise ValueError(f"id prefix must be 1-16 lowercase letters, got {prefix!r}")
    return f"{prefix}-{secrets.token_hex(12)}"


def artifacts_dir() -> Path:
    """The folder that holds every artifact, created on first use."""
    path = home_dir() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_key(key: object) -> bool:
    """True only for a string shaped exactly like a key that ``new_id`` makes."""
    return isinstance(key, str) and KEY_PATTERN.fullmatch(key) is not None


def path_for(key: str) -> Path:
    """The path of the artifact ``key``; anything that is not a server-generated key is rejected."""
    if not is_key(key):
        raise TunelabError("Not a valid artifact id.", code="invalid_artifact_key", param="id")
    root = artifacts_dir()
    path = root / key
    if path.parent != root:  # defence in depth: the pattern already allows no separators
        raise TunelabError("Not a valid artifact id.", code="invalid_artifact_key", param="id")
    return path


def delete(key: str) -> bool:
    """Remove the artifact ``key``; False when it was already gone."""
    path = path_for(key)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


class UploadWriter:
    """Streams chunks into a temp file beside the artifacts; ``commit`` renames it into place.

    Over ``max_bytes`` it raises ``file_too_large`` and removes the temp file; leaving the ``with``
    block without ``commit`` (an error, a client that went away) removes it too. Usable from async
    code: feed it chunks as they arrive.
    """

    def __init__(self, *, max_bytes: int, prefix: str = "upload"):
        self.max_bytes = max_bytes
        self.key = new_id(prefix)
        self.size = 0
        self._sha = hashlib.sha256()
        fd, name = tempfile.mkstemp(dir=artifacts_dir(), prefix=TEMP_PREFIX)
        self._tmp = Path(name)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            raise ValueError("upload already finished")
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.abort()
            raise TunelabError(
                f"The file is larger than the limit of {self.max_bytes} bytes.",
                code="file_too_large",
                param="file",
            )
        self._sha.update(chunk)
        self._file.write(chunk)

    def commit(self) -> tuple[str, int, str]:
        """Flush, fsync and rename into place; returns ``(key, bytes, sha256 hex)``."""
        if self._file is None:
            raise ValueError("upload already finished")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self._tmp, path_for(self.key))
        fsync_path(self._tmp.parent)  # the rename itself survives a power loss
        return self.key, self.size, self._sha.hexdigest()

    def abort(self) -> None:
        """Drop the temp file (safe to call more than once)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> UploadWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def sweep_temp_files(older_than_s: float = TEMP_MAX_AGE_S) -> list[str]:
    """Remove upload temp files (``.tmp-*``) a crashed process left, once they have not been
    written for ``older_than_s`` seconds; returns the names removed. Artifacts are never touched."""
    cutoff = time.time() - older_than_s
    removed = []
    for path in artifacts_dir().glob(f"{TEMP_PREFIX}*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path.name)
        except FileNotFoundError:  # finished or swept by another process meanwhile
            continue
    return sorted(removed)


def save_upload(
    stream: BinaryIO | Iterable[bytes], *, max_bytes: int, prefix: str = "upload"
) -> tuple[str, int, str]:
    """Store a stream (a file object or an iterable of byte chunks) as a new artifact.

    Returns ``(key, bytes, sha256 hex)``. Over ``max_bytes`` it raises ``TunelabError`` with code
    ``file_too_large`` and leaves neither the file nor a temp file behind.
    """
    with UploadWriter(max_bytes=max_bytes, prefix=prefix) as writer:
        for chunk in _chunks(stream):
            writer.write(chunk)
        return writer.commit()


def _chunks(stream: BinaryIO | Iterable[bytes]) -> Iterable[bytes]:
    read = getattr(stream, "read", None)
    if read is None:
        yield from stream
        return
    while chunk := read(CHUNK_BYTES):
        yield chunk
