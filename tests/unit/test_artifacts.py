"""Artifact storage: atomic, size-capped uploads and paths only from server-generated keys."""

from __future__ import annotations

import hashlib
import io

import pytest

from tunelab.errors import TunelabError
from tunelab.store import artifacts

TRAVERSAL = [
    "../../etc/passwd",
    "/etc/passwd",
    "a/../../b",
    "x\x00y",
    "..",
    ".",
    "",
    "a" * 300,
    "file-../x",
    "file-" + "0" * 23 + "/",
    "upload-" + "0" * 24 + "\n",
    "upload-" + "0" * 24 + "/../x",
    "UPLOAD-" + "0" * 24,
    "upload-" + "g" * 24,
    "upload-" + "0" * 25,
    "upload\\" + "0" * 24,
    "~/upload-" + "0" * 24,
    "C:\\upload",
    ".tmp-abc",
]


def files_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_upload_stored_with_sha256(tunelab_home):
    payload = b'{"messages": []}\n' * 5000
    key, size, sha = artifacts.save_upload(io.BytesIO(payload), max_bytes=len(payload))
    assert artifacts.is_key(key) and key.startswith("upload-")
    assert size == len(payload) and sha == hashlib.sha256(payload).hexdigest()
    path = artifacts.path_for(key)
    assert path.read_bytes() == payload
    assert path.parent == tunelab_home / "artifacts"
    assert files_in(path.parent) == [key]  # no temp file left


def test_upload_from_chunk_iterable():
    chunks = [b"ab", b"", b"cd"]
    key, size, sha = artifacts.save_upload(iter(chunks), max_bytes=10, prefix="file")
    assert key.startswith("file-") and size == 4
    assert sha == hashlib.sha256(b"abcd").hexdigest()


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_upload_over_cap_leaves_nothing(tunelab_home, chunk, monkeypatch):
    monkeypatch.setattr(artifacts, "CHUNK_BYTES", chunk)
    with pytest.raises(TunelabError) as info:
        artifacts.save_upload(io.BytesIO(b"x" * 101), max_bytes=100)
    assert info.value.code == "file_too_large" and info.value.param == "file"
    assert files_in(tunelab_home / "artifacts") == []


def test_upload_error_midway_leaves_nothing(tunelab_home):
    def broken():
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        artifacts.save_upload(broken(), max_bytes=1000)
    assert files_in(tunelab_home / "artifacts") == []


def test_writer_usable_chunk_by_chunk(tunelab_home):
    with artifacts.UploadWriter(max_bytes=10) as writer:
        writer.write(b"12345")
        writer.write(b"67890")
        key, size, _ = writer.commit()
    assert size == 10 and artifacts.path_for(key).read_bytes() == b"1234567890"
    with artifacts.UploadWriter(max_bytes=10) as writer:
        writer.write(b"abc")  # never committed
    assert files_in(tunelab_home / "artifacts") == [key]


@pytest.mark.parametrize("key", TRAVERSAL)
def test_path_for_rejects_anything_not_a_server_key(key):
    with pytest.raises(TunelabError) as info:
        artifacts.path_for(key)
    assert info.value.code == "invalid_artifact_key"
    with pytest.raises(TunelabError):
        artifacts.delete(key)


@pytest.mark.parametrize("key", [None, 123, b"upload-" + b"0" * 24])
def test_path_for_rejects_non_strings(key):
    with pytest.raises(TunelabError):
        artifacts.path_for(key)


def test_new_ids_are_keys_and_unique():
    ids = {artifacts.new_id("ftjob") for _ in range(1000)}
    assert len(ids) == 1000 and all(artifacts.is_key(i) for i in ids)
    with pytest.raises(ValueError):
        artifacts.new_id("../x")


def test_delete(tunelab_home):
    key, _, _ = artifacts.save_upload(io.BytesIO(b"data"), max_bytes=10)
    assert artifacts.delete(key) is True
    assert not artifacts.path_for(key).exists()
    assert artifacts.delete(key) is False


def test_upload_commit_fsyncs_the_file_and_the_folder(tunelab_home, monkeypatch):
    from helpers import FsyncRecorder

    recorder = FsyncRecorder(monkeypatch)
    key, _, _ = artifacts.save_upload(io.BytesIO(b"data\n"), max_bytes=100)
    assert recorder.was_synced(artifacts.path_for(key))
    assert recorder.was_synced(artifacts.artifacts_dir())  # the rename is on disk too


def test_sweep_removes_only_stale_temp_files(tunelab_home):
    import os
    import time

    key, _, _ = artifacts.save_upload(io.BytesIO(b"kept\n"), max_bytes=100)
    root = artifacts.artifacts_dir()
    stale, fresh = root / ".tmp-crashed", root / ".tmp-live-upload"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"still arriving")
    old = time.time() - artifacts.TEMP_MAX_AGE_S - 60
    os.utime(stale, (old, old))
    os.utime(artifacts.path_for(key), (old, old))  # an old artifact is still an artifact
    assert artifacts.sweep_temp_files() == [".tmp-crashed"]
    assert files_in(root) == sorted([".tmp-live-upload", key])
    assert artifacts.sweep_temp_files(older_than_s=-1) == [".tmp-live-upload"]
    assert files_in(root) == [key]
