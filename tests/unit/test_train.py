"""The SFT recipe on a tiny local model: learning, frozen weights, best checkpoint, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import write_jsonl
from safetensors.torch import load_file

from tunelab.errors import ConfigError, DataValidationError, TunelabError
from tunelab.train.config import load_config, parse_set
from tunelab.train.sft import run_sft


def make_config(model_dir: Path, data: Path, out: Path, **extra):
    values = {
        "model": str(model_dir),
        "train_file": str(data),
        "output_dir": str(out),
        "samples": 2,
        "max_new_tokens": 8,
        "seed": 7,
    } | extra
    return load_config(None, values)


def test_full_finetune_learns_toy_task(tiny_model_dir, toy_data, tmp_path):
    cfg = make_config(
        tiny_model_dir,
        toy_data,
        tmp_path / "run",
        tuning="full",
        learning_rate=3e-3,
        epochs=6,
        batch_size=4,
        early_stopping_patience=0,
    )
    report = run_sft(cfg, progress=False)
    base, tuned = report["base"]["validation"], report["tuned"]["validation"]
    assert tuned["loss"] < base["loss"] * 0.6
    assert tuned["token_accuracy"] > base["token_accuracy"]
    run = Path(report["run_dir"])
    for name in (
        "run.json",
        "metrics.jsonl",
        "report.md",
        "report.json",
        "loss.png",
        "final/model.safetensors",
        "base_eval.json",
    ):
        assert (run / name).exists(), name
    saved = json.loads((run / "run.json").read_text())
    assert saved["resolved"]["learning_rate"] == 3e-3 and saved["config"]["tuning"] == "full"
    assert saved["method"] == saved["config"]["method"] == "sft"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "train_loss" in r]
    assert {"learning_rate", "grad_norm", "tokens_per_second"} <= set(steps[0])
    assert any("valid_perplexity" in r and "valid_token_accuracy" in r for r in rows)


def test_lora_trains_adapters_only_and_reloads_to_same_logits(
    tiny_model_dir, toy_data, tmp_path, monkeypatch
):
    import tunelab.train.sft as sft
    from tunelab.models.load import load_base, load_tuned

    trained = {}
    real_save = sft.save_final
    monkeypatch.setattr(
        sft, "save_final", lambda m, *a: (trained.setdefault("m", m), real_save(m, *a))
    )
    cfg = make_config(
        tiny_model_dir,
        toy_data,
        tmp_path / "run",
        learning_rate=1e-2,
        epochs=2,
        batch_size=4,
        lora={"r": 4, "alpha": 8},
    )
    report = run_sft(cfg, progress=False)
    run = Path(report["run_dir"])
    adapter = load_file(str(run / "final" / "adapter_model.safetensors"))
    assert adapter and all("lora_" in k for k in adapter)
    assert any(t.abs().sum() > 0 for k, t in adapter.items() if "lora_B" in k)  # B starts at 0
    base, _, _ = load_base(str(tiny_model_dir))
    after = {
        k.replace(".base_layer", ""): v
        for k, v in trained["m"].get_base_model().state_dict().items()
        if "lora_" not in k
    }
    for name, tensor in base.state_dict().items():
        assert torch.equal(after[name], tensor), f"frozen weight {name} changed"
    assert all(not p.requires_grad for n, p in trained["m"].named_parameters() if "lora_" not in n)
    ids = torch.tensor([[1, 5, 9, 12, 30, 2]])
    reloaded, _ = load_tuned(run, merge=True)
    with torch.no_grad():
        trained["m"].eval()
        assert torch.allclose(trained["m"](ids).logits, reloaded(ids).logits, atol=1e-5)
        assert not torch.allclose(base(ids).logits, reloaded(ids).logits, atol=1e-4)


def test_best_checkpoint_is_the_result_and_early_stopping(tiny_model_dir, toy_data, tmp_path):
    # a learning rate this high makes validation loss worse after the first evaluations
    cfg = make_config(
        tiny_model_dir,
        toy_data,
        tmp_path / "run",
        tuning="full",
        learning_rate=0.3,
        epochs=10,
        batch_size=4,
        eval_every=2,
        early_stopping_patience=2,
        warmup_ratio=0.0,
        lr_scheduler="constant",
    )
    report = run_sft(cfg, progress=False)
    assert report["stop_reason"] == "early_stopping"
    assert report["steps"] < report["resolved"]["total_steps"]
    assert report["best_step"] < report["steps"]
    tuned_loss = report["tuned"]["validation"]["loss"]
    assert tuned_loss == pytest.approx(report["best_validation_loss"], abs=1e-3)


def test_bad_data_fails_before_any_model_load(tiny_model_dir, tmp_path, monkeypatch):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "bot", "content": "hi"}]}\n' * 12)
    import tunelab.train.sft as sft

    monkeypatch.setattr(sft, "build_model", lambda *a, **k: pytest.fail("model was built"))
    with pytest.raises(DataValidationError) as err:
        run_sft(make_config(tiny_model_dir, bad, tmp_path / "run"), progress=False)
    assert err.value.issues[0].code == "unrecognized_role"
    assert err.value.issues[0].line == 1
    assert not (tmp_path / "run").exists()


def test_over_long_examples_are_an_error_unless_dropped(tiny_model_dir, toy_data, tmp_path):
    with pytest.raises(DataValidationError) as err:
        run_sft(
            make_config(tiny_model_dir, toy_data, tmp_path / "a", max_length=20), progress=False
        )
    assert {i.code for i in err.value.issues} == {"example_too_long"}
    report = run_sft(
        make_config(
            tiny_model_dir, toy_data, tmp_path / "b", max_length=64, overflow="drop", max_steps=2
        ),
        progress=False,
    )
    assert report["data"]["overflow"]["dropped"] > 0


def test_long_documents_train_as_context_sized_windows(tiny_model_dir, tmp_path):
    from tunelab.models.load import load_tokenizer
    from tunelab.train.sft import prepare_data

    docs = [{"text": " ".join(f"w{i}x{j}" for j in range(120))} for i in range(12)]
    data = write_jsonl(tmp_path / "docs.jsonl", docs)
    config = make_config(tiny_model_dir, data, tmp_path / "run", max_length=64, max_steps=2)
    prepared = prepare_data(config, load_tokenizer(str(tiny_model_dir)), 64)
    rows = prepared.train + prepared.val
    assert len(rows) > len(docs) and max(len(r.input_ids) for r in rows) <= 64
    assert prepared.overflow["windowed"] == len(docs) and prepared.overflow["too_long"] == 0
    report = run_sft(config, progress=False)
    assert report["data"]["overflow"]["windowed"] > 0 and report["steps"] == 2


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"epochs": 0}, "epochs"),
        ({"lora": {"rank": 8}}, "lora.rank"),
        ({"method": "qlora"}, "method"),
        ({"tuning": "qlora"}, "tuning"),
        ({"learning_rate": 5}, "learning_rate"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_config_errors_name_the_key(values, key, tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(None, {"train_file": "x.jsonl"} | values)
    assert f": {key}:" in err.value.message


def test_yaml_and_set_overrides(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("train_file: data/train.jsonl\nepochs: 2\nlora:\n  r: 4\n")
    cfg = load_config(path, parse_set(["epochs=5", "lora.alpha=16", "learning_rate=auto"]))
    assert cfg.epochs == 5 and cfg.lora.r == 4 and cfg.lora.alpha == 16
    assert cfg.train_file == tmp_path / "data" / "train.jsonl"


def run_cli_train(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tunelab.cli.main", "train", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("fault", ["kill_at:step:5", "kill_at:checkpoint:6"])
def test_kill_and_resume_matches_uninterrupted(tiny_model_dir, toy_data, tmp_path, fault):
    common = [
        f"model={tiny_model_dir}",
        f"train_file={toy_data}",
        "epochs=2",
        "batch_size=4",
        "eval_every=3",
        "samples=0",
        "lora.dropout=0.1",
        "seed=3",
    ]
    env = {**os.environ}

    def sets(out):
        return [a for s in [*common, f"output_dir={out}"] for a in ("--set", s)]

    straight = run_cli_train([*sets(tmp_path / "straight"), "--no-progress"], env)
    assert straight.returncode == 0, straight.stderr
    killed = run_cli_train(
        [*sets(tmp_path / "killed"), "--no-progress"], env | {"TUNELAB_FAULT": fault}
    )
    assert killed.returncode == -9  # SIGKILL
    assert not (tmp_path / "killed" / "final").exists()
    resumed = run_cli_train(["--resume", str(tmp_path / "killed"), "--no-progress"], env)
    assert resumed.returncode == 0, resumed.stderr
    a = load_file(str(tmp_path / "straight" / "final" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "final" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = [
        json.loads(x)["step"]
        for x in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    ]
    straight_steps = [
        json.loads(x)["step"]
        for x in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == straight_steps  # replayed steps are not logged twice


@pytest.mark.parametrize(
    ("n", "batch", "epochs"),
    [(10, 2, 10), (30, 2, 10), (313, 8, 4), (2000, 8, 3), (20_000, 8, 1)],
)
def test_auto_epochs(n, batch, epochs):
    from tunelab.train.config import auto_epochs

    assert auto_epochs(n, batch) == epochs


def test_auto_learning_rate_by_method_and_size():
    from tunelab.train.config import auto_learning_rate

    assert auto_learning_rate("lora", 8, 135_000_000) == pytest.approx(2e-3)
    assert auto_learning_rate("lora", 8, 7_000_000_000) == pytest.approx(2e-4)
    assert auto_learning_rate("full", 8, 135_000_000) == pytest.approx(5e-5)
    assert auto_learning_rate("lora", 2, 135_000_000) == pytest.approx(1e-3)


def test_nan_loss_fails_with_a_clear_code(tiny_model_dir, toy_data, tmp_path, monkeypatch):
    import tunelab.train.sft as sft
    from tunelab.train.sft import TrainingError

    real = sft.trained_token_loss

    def poisoned(model, batch):
        loss, n, right = real(model, batch)
        return loss * float("nan"), n, right

    monkeypatch.setattr(sft, "trained_token_loss", poisoned)
    with pytest.raises(TrainingError) as err:
        run_sft(make_config(tiny_model_dir, toy_data, tmp_path / "run"), progress=False)
    assert err.value.code == "nan_loss" and "step 1" in err.value.message


def test_learning_rate_multiplier_scales_only_the_auto_rate(tmp_path):
    from tunelab.train.sft import resolve_auto

    auto = load_config(None, {"train_file": "x.jsonl", "learning_rate_multiplier": 0.5})
    assert resolve_auto(auto, 313, 8192, 135_000_000)["learning_rate"] == pytest.approx(1e-3)
    fixed = load_config(
        None, {"train_file": "x.jsonl", "learning_rate_multiplier": 0.5, "learning_rate": 3e-4}
    )
    assert resolve_auto(fixed, 313, 8192, 135_000_000)["learning_rate"] == pytest.approx(3e-4)


def test_a_step_split_by_the_token_budget_equals_the_whole_batch(
    tiny_model_dir, toy_data, tmp_path
):
    """Several packed rows with accumulated gradients give the step one padded batch gives."""
    from helpers import toy_rows, write_jsonl
    from safetensors.torch import load_file

    rows = toy_rows(40)
    for row in rows[::3]:  # mixed lengths: a whole batch in one row is packed, not padded
        row["messages"][1]["content"] += " please" * 25
    data = write_jsonl(tmp_path / "mixed.jsonl", rows)
    runs = {}
    for budget in (250, 100_000):  # 250: rows of a few examples; 100k: one packed row
        out = tmp_path / f"b{budget}"
        config = make_config(
            tiny_model_dir, data, out, batch_size=8, max_steps=3, token_budget=budget
        )
        report = run_sft(config, progress=False)
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        losses = [r["train_loss"] for r in rows if "train_loss" in r]
        runs[budget] = (report, losses, load_file(str(out / "best.safetensors")))
    (small, small_losses, small_w), (big, big_losses, big_w) = runs[250], runs[100_000]
    assert small["resolved"]["token_budget"] == 250 and big["resolved"]["token_budget"] == 100_000
    assert small_losses == pytest.approx(big_losses, abs=2e-4) and len(small_losses) == 3  # 4 d.p.
    assert all(torch.allclose(small_w[k], big_w[k], atol=1e-5) for k in big_w)


def test_the_step_loss_equals_the_padded_batch_loss(tiny_model_dir, toy_data, tmp_path):
    from tunelab.data.batches import collate, pack, token_groups
    from tunelab.models.attention import packed_attention
    from tunelab.models.forward import trained_token_loss
    from tunelab.train.sft import build_model, prepare_data, resolve_auto

    config = make_config(tiny_model_dir, toy_data, tmp_path / "r", tuning="full")
    from tunelab.models.load import load_tokenizer

    data = prepare_data(config, load_tokenizer(str(tiny_model_dir)), 256)
    resolved = resolve_auto(config, len(data.train), 256, 1000) | {"gradient_checkpointing": False}
    model, _ = build_model(config, resolved)
    items = data.train[:8]
    padded_sum, padded_n, _ = trained_token_loss(model, collate(items, data.pad_id))
    lengths = [len(r.input_ids) for r in items]
    parts = token_groups(list(range(8)), lengths, max(lengths) + 1)
    assert len(parts) > 1
    with packed_attention(model):
        packed = [trained_token_loss(model, pack([items[i] for i in p])) for p in parts]
    assert sum(n for _, n, _ in packed) == padded_n
    assert float(sum(s for s, _, _ in packed)) == pytest.approx(float(padded_sum), rel=1e-5)


def test_a_run_that_cannot_fit_is_refused_before_any_model_load(
    tiny_model_dir, toy_data, tmp_path, monkeypatch
):
    from tunelab.train import memory, sft

    monkeypatch.setattr(memory, "available_memory", lambda *a, **k: 50 * 2**20)  # 50 MB
    monkeypatch.setattr(sft, "build_model", lambda *a: pytest.fail("the model was loaded"))
    with pytest.raises(TunelabError) as err:
        run_sft(make_config(tiny_model_dir, toy_data, tmp_path / "r"), progress=False)
    assert err.value.code == "insufficient_memory"
    assert "GB" in err.value.message and "available" in err.value.message


def test_the_report_records_estimated_and_measured_peak_memory(tiny_model_dir, toy_data, tmp_path):
    report = run_sft(
        make_config(tiny_model_dir, toy_data, tmp_path / "r", max_steps=2), progress=False
    )
    memory = report["memory"]
    assert memory["estimated_peak_bytes"] > 0 and memory["measured_peak_bytes"] > 0
    assert memory["token_budget"] >= memory["longest_example"]
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["memory"]["token_budget"] == report["resolved"]["token_budget"]
    assert "peak memory" in (tmp_path / "r" / "report.md").read_text()


def test_compiled_training_matches_eager_and_auto_leaves_tiny_models_eager(
    tiny_model_dir, toy_data, tmp_path
):
    """``compile: true`` trains the same steps as eager layers; ``auto`` keeps a tiny model eager
    (nothing to fuse) and says so in run.json."""
    from tunelab.models.compile import compiler_available

    runs = {}
    for choice in ("auto", True):
        if choice is True and not compiler_available("cpu"):
            pytest.skip("inductor needs a C++ compiler on CPU")
        out = tmp_path / str(choice)
        config = make_config(tiny_model_dir, toy_data, out, max_steps=3, compile=choice)
        report = run_sft(config, progress=False)
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        runs[choice] = (report, [r["train_loss"] for r in rows if "train_loss" in r])
    (eager, eager_losses), (compiled, compiled_losses) = runs["auto"], runs[True]
    assert eager["resolved"]["compile"] is False and compiled["resolved"]["compile"] is True
    assert json.loads((tmp_path / "True" / "run.json").read_text())["resolved"]["compile"] is True
    assert len(compiled_losses) == 3 and compiled_losses == pytest.approx(eager_losses, abs=2e-4)


def test_examples_over_the_budget_alone_are_checkpointed_and_train_the_same(
    tiny_model_dir, tmp_path, monkeypatch
):
    from helpers import toy_rows, write_jsonl

    from tunelab.models import compile as model_compile

    rows = toy_rows(40)
    for row in rows[::4]:  # a few long examples among short ones
        row["messages"][1]["content"] += " please" * 25
    data = write_jsonl(tmp_path / "mixed.jsonl", rows)
    switched = []
    real = model_compile.checkpointing

    def spy(model, on):
        switched.append(on)
        return real(model, on)

    monkeypatch.setattr(model_compile, "checkpointing", spy)  # what each training pass switches
    runs = {}
    for gc in ("auto", False):
        out = tmp_path / str(gc)
        config = make_config(
            tiny_model_dir,
            data,
            out,
            batch_size=8,
            max_steps=3,
            token_budget=150,
            gradient_checkpointing=gc,
        )
        report = run_sft(config, progress=False)
        metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        runs[gc] = (report, [r["train_loss"] for r in metrics if "train_loss" in r])
    (auto, auto_losses), (off, off_losses) = runs["auto"], runs[False]
    assert auto["resolved"]["gradient_checkpointing"] == "long"
    assert auto["resolved"]["token_budget"] == 150 < auto["memory"]["longest_example"]
    assert off["resolved"]["token_budget"] == off["memory"]["longest_example"]  # raised to fit
    assert True in switched and False in switched  # only the long micro-batches recompute
    assert len(auto_losses) == 3 and auto_losses == pytest.approx(off_losses, abs=2e-4)
    assert "longer than the token budget" in (tmp_path / "auto" / "report.md").read_text()
