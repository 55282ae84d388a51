"""Incremental updates: seeded replay of the ancestors' training rows, penalties to the parent."""

from __future__ import annotations

import pytest
import torch
from helpers import tiny, toy_rows, write_jsonl

from tunelab.data.batches import collate
from tunelab.data.render import render_example
from tunelab.data.split import split_examples
from tunelab.data.validate import load_examples
from tunelab.models.forward import causal_lm
from tunelab.train.config import auto_epochs
from tunelab.train.update import (
    ancestor_training_rows,
    auto_replay_fraction,
    epoch_rows,
    full_l2,
    kl_to_parent,
    lora_l2,
    parent_logits,
    replay_rows,
)


def test_auto_replay_is_at_most_half_and_nothing_without_old_data():
    assert auto_replay_fraction(300, 100) == 0.5
    assert auto_replay_fraction(50, 150) == 0.25
    assert auto_replay_fraction(0, 100) == 0.0 and auto_replay_fraction(10, 0) == 0.0


def test_replay_is_seeded_exact_and_never_the_ancestors_validation_rows(tmp_path):
    train = write_jsonl(tmp_path / "old.jsonl", toy_rows(40))
    ancestor = {"model": "ft:x:v1", "train_file": str(train), "seed": 7}
    pool = ancestor_training_rows([ancestor])
    _, held_out = split_examples(load_examples(train), seed=7, fraction=0.1)
    assert len(pool) == 35 and not {e.line for e in held_out} & {e.line for e in pool}
    with_val = ancestor | {"validation_file": str(train)}  # its own file: nothing held out
    assert len(ancestor_training_rows([with_val])) == 40
    first, again = replay_rows(pool, 20, 0.5, seed=3), replay_rows(pool, 20, 0.5, seed=3)
    assert len(first) == 20 and [e.line for e in first] == [e.line for e in again]
    assert [e.line for e in first] == sorted(e.line for e in first)  # in the pool's order
    assert [e.line for e in replay_rows(pool, 20, 0.5, seed=4)] != [e.line for e in first]
    assert len(replay_rows(pool, 10, 0.2, seed=3)) == 2  # 0.2 / 0.8 x 10 (new rows)
    assert replay_rows(pool, 1000, 0.5, seed=3) == pool and replay_rows(pool, 10, 0, 1) == []


def test_a_dp_update_keeps_one_epochs_worth_of_old_rows_so_sampling_keeps_the_share(tmp_path):
    # DP-SGD samples from every row at once: a ten-epoch pool would make most of a step old rows
    from tunelab.train.config import load_config
    from tunelab.train.update import plan_update

    train = write_jsonl(tmp_path / "old.jsonl", toy_rows(200))
    ancestor = {"model": "ft:x:v1", "train_file": str(train)}
    values = {"train_file": "x.jsonl", "update": {"ancestors": [ancestor], "replay": 0.2}}
    new = load_examples(write_jsonl(tmp_path / "new.jsonl", toy_rows(12)))
    rows, plain = plan_update(load_config(None, values), new, seed=1)
    private = load_config(None, values | {"privacy": {"dp": {"epsilon": 8}}})
    dp_rows, planned = plan_update(private, new, seed=1)
    assert plain["n_replayed"] == planned["n_replayed"] == 3  # 0.2 / 0.8 x 12
    assert (plain["replay_pool"], len(rows)) == (30, 42)  # ten epochs' worth, rotated
    assert (planned["replay_pool"], len(dp_rows)) == (3, 15)  # 0.2 of what DP samples from


def test_auto_epochs_of_an_update_count_its_new_rows():
    # an update of 104 new rows and 104 replayed an epoch, batch 8: the 4 new rows of a step get
    # the epochs 104 rows would get alone in batches of 4; replay adds to those, takes none away
    from tunelab.train.config import load_config
    from tunelab.train.sft import resolve_auto

    config = load_config(None, {"train_file": "x.jsonl"})
    plain = resolve_auto(config, 208, 8192, 135_000_000)
    update = resolve_auto(config, 208, 8192, 135_000_000, n_new=104)
    alone = resolve_auto(config, 104, 8192, 135_000_000)
    assert (plain["epochs"], plain["steps_per_epoch"]) == (6, 26)
    assert (alone["batch_size"], alone["epochs"], alone["total_steps"]) == (4, 6, 156)
    assert (update["batch_size"], update["total_steps"]) == (8, 6 * 26)  # same steps, 4 old more
    assert update["epochs"] == auto_epochs(104, 4)
    fixed = load_config(None, {"train_file": "x.jsonl", "epochs": 2})
    assert resolve_auto(fixed, 208, 8192, 135_000_000, n_new=104)["epochs"] == 2


def test_new_rows_weigh_their_own_mean_against_the_replayed_ones():
    from tunelab.train.config import load_config
    from tunelab.train.update import resolve_update

    ancestor = {"model": "ft:x", "train_file": "old.jsonl"}
    values = {"train_file": "x.jsonl", "update": {"ancestors": [ancestor]}}
    half = {"replay_fraction": 0.5, "n_replayed": 10}
    assert resolve_update(load_config(None, values), half)["new_weight"] == 2.0
    quarter = {"replay_fraction": 0.25, "n_replayed": 3}
    assert resolve_update(load_config(None, values), quarter)["new_weight"] == 1.3333
    none = {"replay_fraction": 0.0, "n_replayed": 0}
    assert resolve_update(load_config(None, values), none)["new_weight"] == 1.0
    chosen = values | {"update": values["update"] | {"new_weight": 3}}
    assert resolve_update(load_config(None, chosen), half)["new_weight"] == 3


def test_each_epoch_replays_the_next_old_examples_in_a_seeded_order():
    # 4 new rows (0-3), then 7 old examples; the third is a long text in two windows (6, 7)
    groups = [[4], [5], [6, 7], [8], [9], [10], [11]]
    epochs = [epoch_rows(12, groups, 3, seed=5, epoch=e) for e in range(5)]
    assert all(rows[:4] == [0, 1, 2, 3] for rows in epochs)  # every new row, every epoch
    assert all(rows[4:] == sorted(rows[4:]) for rows in epochs)
    assert epochs == [epoch_rows(12, groups, 3, seed=5, epoch=e) for e in range(5)]  # exact
    taken = [[g for g, rows in enumerate(groups) if rows[0] in e] for e in epochs]
    assert all(len(t) == 3 for t in taken) and {6, 7} <= set(
        epochs[[2 in t for t in taken].index(True)]
    )
    # 7 examples, 3 an epoch: epochs 0 and 1 take 6 different ones, epoch 2 the last and two
    # of the first turn again
    assert len(set(taken[0] + taken[1])) == 6
    assert set(taken[0] + taken[1] + taken[2]) == set(range(7))
    assert epoch_rows(12, groups, 3, seed=6, epoch=0) != epochs[0]
    assert epoch_rows(12, groups, 10, seed=5, epoch=3) == list(range(12))  # more than the pool
    assert epoch_rows(4, [], 0, seed=5, epoch=1) == [0, 1, 2, 3]  # not an update


def test_lora_l2_is_the_squared_distance_of_the_merged_weights(tiny_model_dir):
    model, _ = tiny(tiny_model_dir, lora=True)  # random B: the adapters change the weights
    expected = 0.0
    for module in model.modules():
        if hasattr(module, "lora_A") and hasattr(module, "lora_B"):
            for name in module.lora_A:
                delta = module.lora_B[name].weight @ module.lora_A[name].weight
                expected += float((module.scaling[name] * delta).detach().pow(2).sum())
    value = lora_l2(model)
    assert value.requires_grad and float(value) == pytest.approx(expected, rel=1e-5)
    base, _ = tiny(tiny_model_dir)
    with pytest.raises(ValueError, match="LoRA layers"):
        lora_l2(base)
    parent = {n: p.detach().clone() for n, p in base.named_parameters()}
    assert float(full_l2(base, parent)) == 0.0
    with torch.no_grad():
        next(base.parameters()).add_(0.5)
    first = next(base.parameters())
    assert float(full_l2(base, parent)) == pytest.approx(0.25 * first.numel(), rel=1e-5)


def test_kl_to_the_parent_is_zero_for_the_parent_and_grows_as_the_adapter_moves(
    tiny_model_dir, tmp_path
):
    from peft import LoraConfig, get_peft_model

    base, tokenizer = tiny(tiny_model_dir)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    path = write_jsonl(tmp_path / "d.jsonl", toy_rows(12))
    rows = [render_example(tokenizer, e) for e in load_examples(path)[:4]]
    batch = collate(rows, tokenizer.pad_token_id or 0, "cpu")
    keep = batch["labels"][:, 1:] != -100
    lm = causal_lm(model)

    def logits():
        hidden = lm.get_decoder()(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        return lm.get_output_embeddings()(hidden[:, :-1][keep]).float()

    parent = parent_logits(model, batch, keep)
    assert not parent.requires_grad
    assert float(kl_to_parent(logits(), parent)) == pytest.approx(0.0, abs=1e-5)  # B = 0
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    moved = kl_to_parent(logits(), parent_logits(model, batch, keep))
    assert float(moved) > 1e-3
    assert torch.allclose(parent_logits(model, batch, keep), parent, atol=1e-5)  # still the parent


def test_an_update_from_a_version_replays_pulls_and_reports_forgetting(
    tiny_model_dir, tmp_path, capsys
):
    """v1 on the door codes, v2 --from v1 on other rows: ancestors, replay, KL, the table."""
    import json

    from tunelab.cli.main import main

    old = write_jsonl(tmp_path / "old.jsonl", toy_rows(40))
    test = write_jsonl(
        tmp_path / "test.jsonl",
        [{"messages": r["messages"][:2], "must_contain": "code"} for r in toy_rows(3)],
    )
    new_rows = [
        {
            "messages": [
                r["messages"][0],
                r["messages"][1],
                {"role": "assistant", "content": "Closed."},
            ]
        }
        for r in toy_rows(20)
    ]
    new = write_jsonl(tmp_path / "new.jsonl", new_rows)

    def train(*args) -> dict:
        common = ["--set", "max_steps=2", "--set", "samples=0", "--set", "max_new_tokens=2"]
        common += ["--set", "forgetting.max_new_tokens=2"]
        assert main(["train", *args, *common, "--no-progress", "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    v1 = train(
        "--set",
        f"model={tiny_model_dir}",
        "--set",
        f"train_file={old}",
        "--set",
        f"test_file={test}",
        "--set",
        f"output_dir={tmp_path / 'v1'}",
        "--set",
        "forgetting.retention=true",  # auto: for updates and built-in bases only
    )
    assert [r["task"] for r in v1["forgetting"]] == ["retention (general ability)"] * 2
    v2 = train(
        "--from",
        v1["model_id"],
        "--set",
        f"train_file={new}",
        "--set",
        f"output_dir={tmp_path / 'v2'}",
    )
    run = json.loads((tmp_path / "v2" / "run.json").read_text())
    ancestors = run["config"]["update"]["ancestors"]
    assert [a["model"] for a in ancestors] == [v1["model_id"]]
    assert ancestors[0]["train_file"] == str(old) and ancestors[0]["test_file"] == str(test)
    resolved = run["resolved"]
    assert resolved["penalty"] == "kl" and resolved["penalty_weight"] == 1.0
    # 15 new rows after the split (at least 5 held out); as many replayed each epoch, in turn
    # from all of v1's 35 (ten epochs' worth would be 150)
    assert resolved["replay_fraction"] == 0.5 and resolved["n_replayed"] == 15
    assert resolved["replay_pool"] == 35 and run["data"]["counts"]["n_train"] == 50
    assert resolved["steps_per_epoch"] == 30 // resolved["batch_size"] + bool(
        30 % resolved["batch_size"]
    )
    assert resolved["epochs"] == auto_epochs(15, resolved["batch_size"])  # the new rows
    tasks = {(r["task"], r["metric"]) for r in v2["forgetting"]}
    assert tasks == {
        (f"{v1['model_id']}: validation", "loss"),
        (f"{v1['model_id']}: test", "accuracy"),
        ("retention (general ability)", "loss"),
        ("retention (general ability)", "accuracy"),
    }
    steps = [
        json.loads(line) for line in (tmp_path / "v2" / "metrics.jsonl").read_text().splitlines()
    ]
    assert all(s["penalty"] >= 0 for s in steps if "train_loss" in s)
    report = (tmp_path / "v2" / "report.md").read_text()
    assert "## Forgetting" in report and v1["model_id"] in report
    assert main(["models", "show", v2["model_id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["parent"] == v1["model_id"]


def test_recorded_data_paths_are_found_absolute_relative_or_not_at_all(tmp_path, monkeypatch):
    from tunelab.jobs.ancestry import _existing

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    assert _existing("data/a.jsonl", None) == str(tmp_path / "data" / "a.jsonl")  # as started
    assert _existing("a.jsonl", str(tmp_path / "data")) == str(tmp_path / "data" / "a.jsonl")
    assert _existing("gone.jsonl", str(tmp_path)) is None and _existing(None, None) is None


def test_the_kl_is_taken_on_the_replayed_rows_only(tiny_model_dir, tmp_path):
    from tunelab.data.batches import pack
    from tunelab.models.attention import packed_attention
    from tunelab.models.forward import trained_token_loss
    from tunelab.train.update import Penalty, mixed_loss

    model, tokenizer = tiny(tiny_model_dir, lora=True)  # random B: the adapter moves the model
    path = write_jsonl(tmp_path / "d.jsonl", toy_rows(12))
    rows = [render_example(tokenizer, e) for e in load_examples(path)[:3]]
    penalty = Penalty(model, "kl", 1.0, lora=True)
    with torch.no_grad():
        padded = collate(rows, tokenizer.pad_token_id or 0, "cpu")
        _, _, every = mixed_loss(model, padded, None, penalty)
        parts = [
            mixed_loss(model, padded, [i == k for i in range(3)], penalty)[2] for k in range(3)
        ]
        assert mixed_loss(model, padded, [False] * 3, penalty)[2] is None
        assert float(sum(parts)) == pytest.approx(float(every), rel=1e-4) and float(parts[0]) > 0
        packed = pack(rows, "cpu")
        with packed_attention(model):
            same = [
                mixed_loss(model, packed, [i == k for i in range(3)], penalty)[2] for k in range(3)
            ]
            # the new rows' extra cross-entropy: (weight - 1) x their own summed CE, packed too
            _, extra, _ = mixed_loss(model, packed, [True, False, False], None, 3.0)
        alone = sum(trained_token_loss(model, collate([r], 0, "cpu"))[0] for r in rows[1:])
        assert float(extra) == pytest.approx(2.0 * float(alone), rel=1e-3)
        assert mixed_loss(model, padded, [True, False, False], None, 1.0)[1:] == (None, None)
        assert mixed_loss(model, padded, [True] * 3, None, 3.0)[1] is None  # no new row
    for a, b in zip(parts, same, strict=True):
        assert float(a) == pytest.approx(float(b), rel=1e-3)  # a packed row's segments too
