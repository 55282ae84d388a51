"""The one atomic writer: files and folders appear whole or not at all, and survive power loss.

A file is written to a temp file in the same folder, flushed, fsynced, renamed over the target
and the folder fsynced (so the rename itself is on disk). A folder is built in a temp folder,
every file and folder in it fsynced, then swapped in: the old folder is renamed aside
(``.old-<name>``), the new one renamed in, the parent fsynced, the old one removed. A crash
between the two renames leaves only ``.old-<name>``: ``existing_dir`` reads that, and the next
write of the folder replaces it. A folder may carry a manifest (the SHA-256 of every file,
written last); ``verify_manifest`` tells a complete folder from a half-written or altered one.

Temp files and folders start with ``.tmp-``; what a crash leaves of them is swept by the owner of
the folder (``artifacts.sweep_temp_files``, ``checkpoint.prune_checkpoints``). Torch-free.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tunelab.errors import TunelabError

TEMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
MANIFEST = "manifest.json"


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by path (a folder's fsync makes renames in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target`` to write (by any means: ``save_file``, a hard link);
    on success it is fsynced and renamed over ``target``; on error it is removed."""
    target = Path(target)
    tmp = target.with_name(f"{TEMP_PREFIX}{target.name}-{secrets.token_hex(6)}")
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, target)
        fsync_path(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(path)


def write_text_atomic(path: Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, value, *, indent: int | None = 1) -> Path:
    return write_text_atomic(path, json.dumps(value, indent=indent))


@contextmanager
def atomic_dir(target: Path, *, manifest: bool = False) -> Iterator[Path]:
    """Yield an empty temp folder beside ``target``; on success (with ``manifest``: the manifest
    written last) everything in it is fsynced and it replaces ``target``, which is never missing
    meanwhile (see the module docstring). On error the temp folder is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f"{TEMP_PREFIX}{target.name}-"))
    try:
        yield tmp
        if manifest:
            write_manifest(tmp)
        _fsync_tree(tmp)
        _swap_in(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            fsync_path(Path(folder) / name)
        fsync_path(Path(folder))


def _swap_in(tmp: Path, target: Path) -> None:
    old = old_dir(target)
    if old.exists() and target.exists():  # a crash after the last swap, before its clean-up
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    fsync_path(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def old_dir(target: Path) -> Path:
    return target.with_name(f"{OLD_PREFIX}{target.name}")


def existing_dir(target: Path) -> Path | None:
    """``target`` if it is a folder, else the previous version a crash mid-swap left aside.

    ``target`` is looked at again last: a swap may have finished between the first two looks."""
    for folder in (target, old_dir(target), target):
        if folder.is_dir():
            return folder
    return None


@contextmanager
def disk_full_as_error() -> Iterator[None]:
    """A full disk (ENOSPC) in the block becomes ``disk_full``, with a message that names no
    server path. (Also a decorator.) Every write here is atomic, so the disk holds the state from
    before the write that failed."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise TunelabError(
            "The disk is full: the run stopped before it could save its next files. What it saved "
            "before, checkpoints included, is kept and usable; free some space and start again.",
            code="disk_full",
        ) from exc


# ---------------------------------------------------------------- manifests


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path) -> None:
    """``manifest.json``: ``{"files": {relative path: sha256}}`` of every other file; write it
    last, when the folder is complete."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    hashes = {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}
    (folder / MANIFEST).write_text(json.dumps({"files": hashes}, indent=1))


def read_manifest(folder: Path) -> dict[str, str] | None:
    """The manifest's ``{file: sha256}``, or None when it is missing or unreadable."""
    try:
        files = json.loads((folder / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files if isinstance(files, dict) else None


def verify_manifest(folder: Path, required: set[str] = frozenset()) -> bool:
    """True when the manifest exists, lists ``required``, and every file has its hash."""
    files = read_manifest(folder)
    if files is None or not required <= set(files):
        return False
    for name, expected in files.items():
        path = folder / name
        if ".." in Path(name).parts or not path.is_file() or sha256_file(path) != expected:
            return False
    return True
