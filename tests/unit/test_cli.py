"""The command line: thin commands over the library, clear errors, no stack traces."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from helpers import toy_rows, write_jsonl

from tunelab.cli.main import main


def test_data_check_reports_stats_and_estimate(tiny_model_dir, toy_data, capsys):
    assert main(["data", "check", str(toy_data), "--model", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "40 records, 0 error(s)" in out
    assert "tokens:" in out and "estimated training time" in out


def test_data_check_json_lists_errors_with_lines(tiny_model_dir, tmp_path, capsys):
    rows = toy_rows(12)
    rows[3]["messages"][1]["role"] = "bot"
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with open(path, "a") as fh:
        fh.write('{"messages": [\n')  # truncated last line
    code = main(["data", "check", str(path), "--model", str(tiny_model_dir), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 2 and not result["ok"]
    found = {(e["code"], e["line"], e["pointer"]) for e in result["errors"]}
    assert ("unrecognized_role", 4, "/messages/1/role") in found
    assert ("invalid_json", 13, "") in found
    assert result["stats"]["examples"] == 11


def test_models_list_shows_builtin_and_local(tiny_model_dir, capsys):
    assert main(["models", "list", str(tiny_model_dir), "--json"]) == 0
    infos = {m["name"]: m for m in json.loads(capsys.readouterr().out)["bases"]}
    builtin = infos["smollm2-135m-instruct"]
    assert builtin["context_length"] == 8192 and builtin["parameters"] > 100_000_000
    local = infos[tiny_model_dir.name]
    assert local["cached"] and local["parameters"] > 0 and local["context_length"] == 256


def test_refuses_pickle_only_and_remote_code_models(tmp_path, capsys):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text("{}")
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04")
    assert main(["models", "list", str(pickled)]) == 2
    assert "unsafe_weights" in capsys.readouterr().err
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "x.Y"}}))
    (remote / "model.safetensors").write_bytes(b"")
    assert main(["models", "list", str(remote)]) == 2
    assert "remote_code_refused" in capsys.readouterr().err


def test_train_eval_and_chat_through_the_cli(
    tiny_model_dir, toy_data, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "run"
    test_file = write_jsonl(
        tmp_path / "test.jsonl",
        [{"messages": r["messages"][:2], "must_contain": "code"} for r in toy_rows(4)],
    )
    code = main(
        [
            "train",
            "--set",
            f"model={tiny_model_dir}",
            "--set",
            f"train_file={toy_data}",
            "--set",
            f"output_dir={out}",
            "--set",
            "max_steps=3",
            "--set",
            "samples=1",
            "--set",
            f"test_file={test_file}",
            "--set",
            "max_new_tokens=4",
            "--set",
            "forgetting.retention=true",
            "--set",
            "forgetting.max_new_tokens=2",
            "--no-progress",
        ]
    )
    assert code == 0
    summary = capsys.readouterr().out
    assert "validation loss" in summary and "held-out test accuracy (4 questions)" in summary
    # the forgetting table against the starting model, as the promotion gate reads it
    assert re.search(r"retention \(general ability\)\s+accuracy\s+[\d.]+\s+[\d.]+", summary)
    report = json.loads((out / "report.json").read_text())
    assert report["stop_reason"] == "max_steps" and report["steps"] == 3
    assert (
        main(["eval", str(out), "--data", str(test_file), "--json", "--max-new-tokens", "4"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["generation"]["n"] == 4 and 0 <= result["generation"]["accuracy"] <= 1
    answers = iter(["hello", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert main(["chat", str(out), "--max-new-tokens", "3"]) == 0
    assert "assistant> " in capsys.readouterr().out


def test_resume_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_bad_config_key_is_named_without_traceback(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train_file: x.jsonl\nlearning_rat: 0.1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tunelab.cli.main", "train", str(cfg)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "learning_rat: unknown key" in proc.stderr and "Traceback" not in proc.stderr


def test_data_check_shows_the_memory_estimate(tiny_model_dir, toy_data, capsys):
    assert main(["data", "check", str(toy_data), "--model", str(tiny_model_dir)]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("peak memory")]
    assert len(line) == 1 and "GB of" in line[0] and "gradient checkpointing off" in line[0]
    assert main(["data", "check", str(toy_data), "--model", str(tiny_model_dir), "--json"]) == 0
    memory = json.loads(capsys.readouterr().out)["estimate"]["memory"]
    assert memory["estimated_peak_bytes"] > 0 and memory["token_budget"] >= 1


def test_local_runs_register_and_a_version_or_alias_is_a_base_chat_and_eval_model(
    tiny_model_dir, toy_data, tmp_path, capsys, monkeypatch
):
    def train(model: str, out) -> str:
        args = ["train", "--set", f"model={model}", "--set", f"train_file={toy_data}"]
        args += ["--set", f"output_dir={out}", "--set", "max_steps=2", "--set", "samples=0"]
        assert main([*args, "--no-progress", "--json"]) == 0
        return json.loads(capsys.readouterr().out)["model_id"]

    v1 = train(str(tiny_model_dir), tmp_path / "v1")
    assert v1.startswith(f"ft:{tiny_model_dir.name}:") and v1.endswith(":run-v1")
    assert main(["models", "alias", "set", "stable", v1]) == 0
    capsys.readouterr()
    v2 = train("stable", tmp_path / "v2")  # LoRA on LoRA: the alias' adapter merged into a base
    assert main(["models", "show", v2, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["parent"] == v1
    assert [step["id"] for step in shown["lineage"]][-2:] == [v1, v2]
    merged = json.loads((tmp_path / "v2" / "run.json").read_text())["config"]["model"]
    assert "bases" in merged and merged != str(tiny_model_dir)
    test_file = write_jsonl(
        tmp_path / "test.jsonl",
        [{"messages": r["messages"][:2], "must_contain": "code"} for r in toy_rows(2)],
    )
    for ref in (v2, "stable"):
        args = ["eval", ref, "--data", str(test_file), "--json", "--max-new-tokens", "2"]
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out)["generation"]["n"] == 2
    assert main(["eval", "no-such-alias", "--data", str(test_file)]) == 2
    assert "model_not_found" in capsys.readouterr().err


def test_data_check_knows_preference_files(tmp_path, capsys, tiny_model_dir):
    rows = [
        {
            "input": {"messages": [{"role": "user", "content": f"question {i}"}]},
            "preferred_output": [{"role": "assistant", "content": f"good answer {i}"}],
            "non_preferred_output": [{"role": "assistant", "content": f"bad answer {i}"}],
        }
        for i in range(12)
    ]
    rows[3]["preferred_output"] = rows[3]["non_preferred_output"]
    path = write_jsonl(tmp_path / "prefs.jsonl", rows)
    assert main(["data", "check", str(path), "--model", str(tiny_model_dir)]) == 2
    out = capsys.readouterr().out
    assert "line 4 /non_preferred_output/0/content: [identical_outputs]" in out
    assert "dpo data: 11 preference pairs" in out
    assert re.search(r"estimated training time: [\d.]+ min \(\d+ epochs over \d+ pairs, plus", out)
    kto = [
        {"input": r["input"], "output": r["preferred_output"], "label": i % 2 == 0}
        for i, r in enumerate(rows)
    ]
    kto_path = str(write_jsonl(tmp_path / "kto.jsonl", kto))
    assert main(["data", "check", kto_path, "--json", "--model", str(tiny_model_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["estimate"]["units"] > 0
    assert result["kind"] == "kto" and result["stats"]["desirable"] == 6
