"""Checkpoints: atomic, verified before loading, never unpickled beyond weights_only."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from tunelab.errors import CheckpointError
from tunelab.train import checkpoint as ckpt


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.frozen = torch.nn.Linear(3, 3)
        self.trained = torch.nn.Linear(3, 2)
        self.frozen.requires_grad_(False)


def save(run_dir, step=4, model=None):
    model = model or Tiny()
    opt = torch.optim.AdamW(model.trained.parameters())
    state = {"optimizer": opt.state_dict(), "rng": {"torch": torch.get_rng_state()}}
    folder = run_dir / "checkpoints" / f"step-{step:07d}"
    return ckpt.save_checkpoint(folder, model, state, {"step": step}), model


def test_roundtrip_restores_only_trainable_weights(tmp_path):
    folder, model = save(tmp_path)
    weights, state, trainer = ckpt.load_checkpoint(folder)
    assert set(weights) == {"trained.weight", "trained.bias"}
    assert trainer == {"step": 4} and "optimizer" in state
    other = Tiny()
    ckpt.restore_trainable(other, weights)
    assert torch.equal(other.trained.weight, model.trained.weight)


def test_folder_without_manifest_is_ignored(tmp_path):
    folder, _ = save(tmp_path, step=4)
    newer, _ = save(tmp_path, step=8)
    (newer / ckpt.MANIFEST).unlink()  # killed before the manifest was written
    assert ckpt.list_checkpoints(tmp_path) == [folder]


def test_tampered_file_fails_verification(tmp_path):
    folder, _ = save(tmp_path)
    with open(folder / ckpt.STATE, "ab") as fh:
        fh.write(b"\0")
    assert not ckpt.verify_checkpoint(folder)
    with pytest.raises(CheckpointError):
        ckpt.load_checkpoint(folder)


def test_manifest_must_list_every_part(tmp_path):
    folder, _ = save(tmp_path)
    manifest = json.loads((folder / ckpt.MANIFEST).read_text())
    del manifest["files"][ckpt.STATE]
    (folder / ckpt.MANIFEST).write_text(json.dumps(manifest))
    assert ckpt.list_checkpoints(tmp_path) == []


def test_loading_never_calls_pickle(tmp_path, monkeypatch):
    folder, _ = save(tmp_path)

    def refuse(*a, **k):
        raise AssertionError("pickle.load was called")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    weights, state, _ = ckpt.load_checkpoint(folder)
    assert weights and state


def test_state_with_code_is_refused_by_weights_only(tmp_path):
    folder, _ = save(tmp_path)
    torch.save({"evil": Tiny()}, folder / ckpt.STATE)  # a pickled object, not plain tensors
    files = {f.name: ckpt.sha256_file(f) for f in folder.iterdir() if f.name != ckpt.MANIFEST}
    (folder / ckpt.MANIFEST).write_text(json.dumps({"files": files}))
    with pytest.raises(pickle.UnpicklingError):
        ckpt.load_checkpoint(folder)


def test_prune_keeps_newest(tmp_path):
    for step in (1, 2, 3, 4):
        save(tmp_path, step=step)
    ckpt.prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-0000003", "step-0000004"]


def test_checkpoint_files_and_folders_are_fsynced(tmp_path, monkeypatch):
    from helpers import FsyncRecorder

    recorder = FsyncRecorder(monkeypatch)
    folder, _ = save(tmp_path)
    for name in (ckpt.WEIGHTS, ckpt.STATE, ckpt.TRAINER, ckpt.MANIFEST):
        assert recorder.was_synced(folder / name), name
    assert recorder.was_synced(folder) and recorder.was_synced(folder.parent)


def test_full_disk_mid_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    import errno

    folder, _ = save(tmp_path, step=4)
    monkeypatch.setenv("TUNELAB_FAULT", "enospc_at:checkpoint:8")
    with pytest.raises(OSError) as err:
        save(tmp_path, step=8)
    assert err.value.errno == errno.ENOSPC
    assert ckpt.list_checkpoints(tmp_path) == [folder] and ckpt.verify_checkpoint(folder)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no .tmp-* left
    assert ckpt.load_checkpoint(folder)[2] == {"step": 4}


def test_full_disk_fails_a_run_with_disk_full_and_no_path():
    import errno

    from tunelab.errors import TunelabError
    from tunelab.store.atomic import disk_full_as_error

    with pytest.raises(TunelabError) as err, disk_full_as_error():
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/tunelab/runs/x/state.pt")
    assert err.value.code == "disk_full" and "/srv" not in err.value.message
    with pytest.raises(PermissionError), disk_full_as_error():
        raise PermissionError(errno.EACCES, "denied")  # other errors pass unchanged
