"""The one atomic writer: files and folders are fsynced (contents and folder), a crash or an error
mid-write leaves the old version, a folder swap never leaves no folder, and a run's final/ carries
a manifest that is checked before anything is loaded from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import FsyncRecorder, toy_rows, write_jsonl

from tunelab.errors import ModelError
from tunelab.store import atomic


def test_file_writer_fsyncs_the_file_and_its_folder(tmp_path, monkeypatch):
    recorder = FsyncRecorder(monkeypatch)
    target = tmp_path / "run.json"
    atomic.write_json_atomic(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert recorder.was_synced(target)  # the renamed file is the one that was synced
    assert recorder.was_synced(tmp_path)  # and the folder, so the rename is on disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_folder_writer_fsyncs_every_file_and_folder(tmp_path, monkeypatch):
    recorder = FsyncRecorder(monkeypatch)
    target = tmp_path / "final"
    with atomic.atomic_dir(target, manifest=True) as tmp:
        (tmp / "a.bin").write_bytes(b"a")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.bin").write_bytes(b"b")
    for path in (target / "a.bin", target / "sub" / "b.bin", target / atomic.MANIFEST):
        assert recorder.was_synced(path), path
    assert recorder.was_synced(target / "sub") and recorder.was_synced(target)
    assert recorder.was_synced(tmp_path)
    assert atomic.verify_manifest(target, {"a.bin", "sub/b.bin"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]


def test_an_error_mid_write_keeps_the_old_version(tmp_path):
    target = atomic.write_text_atomic(tmp_path / "report.md", "old")
    with pytest.raises(OSError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise OSError(28, "No space left on device")
    folder = tmp_path / "final"
    with atomic.atomic_dir(folder) as tmp:
        (tmp / "w").write_text("old")
    with pytest.raises(RuntimeError), atomic.atomic_dir(folder) as tmp:
        (tmp / "w").write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and (folder / "w").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final", "report.md"]  # no temp left


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from tunelab.store import atomic
root = Path(sys.argv[1])
if sys.argv[2] == "file":
    with atomic.atomic_path(root / "run.json") as tmp:
        tmp.write_text('{"new": tru')
        os.kill(os.getpid(), signal.SIGKILL)
elif sys.argv[2] == "dir":
    with atomic.atomic_dir(root / "final") as tmp:
        (tmp / "w").write_text("new, half")
        os.kill(os.getpid(), signal.SIGKILL)
else:  # killed between the two renames of the swap
    real = os.replace
    def replace(src, dst):
        real(src, dst)
        if Path(dst).name.startswith(atomic.OLD_PREFIX):
            os.kill(os.getpid(), signal.SIGKILL)
    os.replace = replace
    with atomic.atomic_dir(root / "final") as tmp:
        (tmp / "w").write_text("new")
"""


@pytest.mark.parametrize("where", ["file", "dir", "swap"])
def test_sigkill_mid_write_leaves_the_old_version(tmp_path, where):
    atomic.write_text_atomic(tmp_path / "run.json", '{"old": true}')
    with atomic.atomic_dir(tmp_path / "final") as tmp:
        (tmp / "w").write_text("old")
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_WRITER), str(tmp_path), where],
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr.decode()
    assert json.loads((tmp_path / "run.json").read_text()) == {"old": True}
    final = atomic.existing_dir(tmp_path / "final")
    assert final is not None and (final / "w").read_text() == "old"
    with atomic.atomic_dir(tmp_path / "final") as tmp:  # the next write recovers
        (tmp / "w").write_text("new")
    assert (tmp_path / "final" / "w").read_text() == "new"
    assert not atomic.old_dir(tmp_path / "final").exists()


def test_folder_swap_never_leaves_no_folder(tmp_path, monkeypatch):
    target = tmp_path / "final"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "w").write_text("v0")
    seen = []
    real = os.replace

    def replace(src, dst):
        real(src, dst)
        found = atomic.existing_dir(target)
        seen.append(None if found is None else (found / "w").read_text())

    monkeypatch.setattr(os, "replace", replace)
    for version in ("v1", "v2"):
        with atomic.atomic_dir(target) as tmp:
            (tmp / "w").write_text(version)
    assert seen == ["v0", "v1", "v1", "v2"]  # after each rename: the old or the new, whole
    assert (target / "w").read_text() == "v2"


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_model_dir) -> Path:
    from tunelab.train.config import load_config
    from tunelab.train.sft import run_sft

    root = tmp_path_factory.mktemp("durable")
    values = {
        "model": str(tiny_model_dir),
        "train_file": str(write_jsonl(root / "train.jsonl", toy_rows(12))),
        "output_dir": str(root / "run"),
        "max_steps": 2,
        "eval_every": 2,
        "samples": 0,
    }
    return Path(run_sft(load_config(None, values), progress=False)["run_dir"])


def test_a_run_writes_manifests_for_final_and_model_files(lora_run):
    from tunelab.train.sft import MODEL_FILES

    assert atomic.verify_manifest(lora_run / "final", {"adapter_model.safetensors"})
    assert atomic.verify_manifest(lora_run / MODEL_FILES, {"adapter_config.json"})
    names = {p.name for p in (lora_run / MODEL_FILES).iterdir()}
    assert not any(n.endswith(".safetensors") for n in names) and "tokenizer.json" in names
    leftovers = [p.name for p in lora_run.rglob(f"{atomic.TEMP_PREFIX}*")]
    assert leftovers == []


def altered_copy(run: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "altered"
    shutil.copytree(run, copy)
    weights = copy / "final" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    return copy


def test_an_altered_final_is_refused_on_load(lora_run, tmp_path):
    from tunelab.models.load import load_tuned

    model, _ = load_tuned(lora_run, merge=False)  # the intact run loads, with its adapter
    assert "default" in model.peft_config
    copy = altered_copy(lora_run, tmp_path)
    with pytest.raises(ModelError) as err:
        load_tuned(copy)
    assert err.value.code == "model_files_corrupt" and str(tmp_path) not in err.value.message
    (copy / "final" / atomic.MANIFEST).unlink()  # no manifest: refused too
    with pytest.raises(ModelError):
        load_tuned(copy)


def test_the_engine_refuses_an_altered_final(lora_run, tmp_path, tiny_model_dir):
    from tunelab.serve.engine import Engine
    from tunelab.serve.spec import ModelSpec

    copy = altered_copy(lora_run, tmp_path)
    engine = Engine()
    try:
        chat = [{"role": "user", "content": "hi"}]
        good = ModelSpec(str(tiny_model_dir), adapter_dir=lora_run / "final")
        assert engine.generate(good, chat, max_tokens=2).choices
        with pytest.raises(ModelError):
            bad = ModelSpec(str(tiny_model_dir), adapter_dir=copy / "final")
            engine.generate(bad, chat, max_tokens=2)
    finally:
        engine.close()
