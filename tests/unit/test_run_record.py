"""The run layout and record (``store.runs``): run.json round-trips, run.json files written before
the record read, and one PEFT key fix serves checkpoint exports and serving alike."""

from __future__ import annotations

import json

import pytest

from tunelab.errors import TunelabError
from tunelab.store.runs import (
    DataRecord,
    RunLayout,
    RunRecord,
    checkpoint_step,
    is_run_result,
    peft_saved_names,
    read_run,
    run_dir_of,
    strip_adapter_name,
    write_run,
)
from tunelab.train.config import SFTConfig, config_from_record, load_config

# run.json as tunelab wrote it before the typed record: no "method", the config's method was
# LoRA or full, the data counts sat beside the hashes
OLD_RUN = {
    "config": {"model": "tiny", "train_file": "/data/t.jsonl", "method": "full", "name": "sft"},
    "resolved": {"device": "cpu", "epochs": 3, "total_steps": 30},
    "data": {"hashes": {"train_file": "ab" * 32}, "n_train": 36, "n_validation": 4, "dropped": 0},
    "memory": {"token_budget": 512},
    "versions": {"tunelab": "0.1.0"},
    "created_at": "2025-01-02T03:04:05",
    "run_dir": "/runs/sft-1",
}


def test_the_record_round_trips(tmp_path):
    config = load_config(None, {"train_file": str(tmp_path / "t.jsonl"), "tuning": "full"})
    record = RunRecord(
        method="sft",
        config=config.model_dump(mode="json"),
        resolved={"device": "cpu", "learning_rate": 3e-3, "compile": False},
        data=DataRecord(hashes={"train_file": "00" * 32}, counts={"n_train": 9}),
        memory={"token_budget": 256},
        versions={"tunelab": "0.1.0"},
        created_at="2025-01-02T03:04:05",
        run_dir=str(tmp_path),
    )
    write_run(tmp_path, record)
    again = read_run(tmp_path)
    assert again == record
    assert json.loads((tmp_path / "run.json").read_text())["method"] == "sft"
    assert config_from_record(again) == config
    assert again.base_model == config.model and again.layout.root == tmp_path


def test_an_old_run_json_reads(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps(OLD_RUN))
    record = read_run(tmp_path)
    assert record.method == "sft" and record.resolved["total_steps"] == 30
    assert record.data.hashes == {"train_file": "ab" * 32}
    assert record.data.counts == {"n_train": 36, "n_validation": 4, "dropped": 0}
    config = config_from_record(record)
    assert type(config) is SFTConfig and config.tuning == "full" and config.method == "sft"
    assert record.base_model == "tiny"
    assert record.data.hashes == {"train_file": "ab" * 32}
    write_run(tmp_path, record)  # rewritten in the new form, the same record
    assert read_run(tmp_path) == record


def test_missing_and_broken_records_are_named_errors(tmp_path):
    with pytest.raises(TunelabError) as err:
        read_run(tmp_path)
    assert err.value.code == "run_not_found"
    (tmp_path / "run.json").write_text('{"config": {}}')
    with pytest.raises(TunelabError) as err:
        read_run(tmp_path)
    assert err.value.code == "invalid_run_record"


def test_the_layout_names_every_part(tmp_path):
    layout = RunLayout(tmp_path)
    names = {
        layout.record: "run.json",
        layout.metrics: "metrics.jsonl",
        layout.base_eval: "base_eval.json",
        layout.best_weights: "best.safetensors",
        layout.report: "report.json",
        layout.final: "final",
        layout.model_files: "model_files",
        layout.data: "data",
        layout.checkpoint(12): "checkpoints/step-0000012",
        layout.export(12): "exports/ckpt-step-0000012",
    }
    for path, name in names.items():
        assert path == tmp_path / name
    assert layout.checkpoint_key(12) == "checkpoints/step-0000012"
    assert checkpoint_step(layout.checkpoint(12)) == 12
    for folder in (layout.checkpoint(3), layout.export(3), layout.final):
        assert run_dir_of(folder) == tmp_path
    (tmp_path / "run.json").write_text(json.dumps(OLD_RUN))
    assert is_run_result(layout.final) and is_run_result(layout.export(3))
    assert not is_run_result(layout.checkpoint(3))  # verified as a checkpoint instead


def test_one_peft_key_fix_for_exports_and_serving():
    names = {
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight": 1,
        "x.lora_embedding_A.default": 2,
        "model.default_head.weight": 3,  # not an adapter name: kept
    }
    assert peft_saved_names(names) == {
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": 1,
        "x.lora_embedding_A": 2,
        "model.default_head.weight": 3,
    }
    assert strip_adapter_name("a.lora_B.default.weight") == "a.lora_B.weight"
