"""Differential privacy (DP-SGD with Opacus) and the leakage audit, on tiny local models.

DP: the config refuses what it cannot do, Opacus' per-example gradients are each example's own
gradient, training really changes the LoRA weights (the Opacus + PEFT silent-corruption report),
lowers validation loss, spends at most the target epsilon and resumes exactly.

The audit has teeth: a model trained without protection on repeated canaries ranks them first
among random candidates and writes them out when prompted; scrubbed from the data, or trained with
DP, it does neither.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from helpers import tiny, toy_rows, write_jsonl
from safetensors.torch import load_file

from tunelab.errors import ConfigError
from tunelab.eval import leakage
from tunelab.train.config import load_config
from tunelab.train.sft import run_sft

EMAILS = ["help@store.com", "days@price.org"]


def make_config(model_dir: Path, data: Path, out: Path, **extra):
    values = {
        "model": str(model_dir),
        "train_file": str(data),
        "output_dir": str(out),
        "samples": 0,
        "max_new_tokens": 8,
        "seed": 7,
        "early_stopping_patience": 0,
    } | extra
    return load_config(None, values)


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"tuning": "full", "privacy": {"dp": {"epsilon": 8}}}, "privacy.dp trains LoRA"),
        ({"privacy": {"dp": {"epsilon": 0}}}, "privacy.dp.epsilon:"),
        ({"privacy": {"dp": {"delta": 1.5}}}, "privacy.dp.delta:"),
        ({"privacy": {"dp": {"max_grad_norm": 0}}}, "privacy.dp.max_grad_norm:"),
        ({"privacy": {"dp": {"noise": 1}}}, "privacy.dp.noise: unknown key"),
        ({"privacy": {"dp": {}}, "compile": True}, "privacy.dp runs without compile"),
        ({"privacy": {"dp": {}}, "gradient_checkpointing": "long"}, "without gradient_check"),
        ({"privacy": {"dp": {}}, "update": {"penalty": "kl"}}, "without update.penalty"),
        ({"privacy": {"dp": {}}, "update": {"new_weight": 2}}, "update.new_weight is 2"),
        ({"update": {"new_weight": 0}}, "update.new_weight: must be more than 0"),
        ({"privacy": {"canaries": -1}}, "privacy.canaries:"),
        ({"privacy": {"audit": "maybe"}}, "privacy.audit"),
    ],
)
def test_privacy_config_errors_name_the_key(values, says):
    with pytest.raises(ConfigError) as err:
        load_config(None, {"train_file": "x.jsonl"} | values)
    assert says in err.value.message
    assert "Value error" not in err.value.message


def test_dp_is_off_unless_asked_and_delta_is_below_one_over_n():
    from tunelab.train import dp

    assert load_config(None, {"train_file": "x.jsonl"}).privacy.dp is None
    off = load_config(None, {"train_file": "x.jsonl", "privacy": {"dp": None}})
    assert off.privacy.dp is None
    on = load_config(None, {"train_file": "x.jsonl", "privacy": {"dp": {"epsilon": 3}}})
    assert on.privacy.dp.delta == "auto" and on.privacy.dp.max_grad_norm == 1.0
    resolved = {"batch_size": 8, "total_steps": 160}
    values = dp.resolve_privacy(on, resolved, 313)
    assert values["dp_delta"] < 1 / 313 and values["sample_rate"] == pytest.approx(8 / 313)
    spent = dp.epsilon_meter("rdp", values["noise_multiplier"], values["sample_rate"], 1 / 313**1.1)
    assert 2.9 < spent(160) <= 3.0  # the noise reaches the target at the planned steps
    assert spent(80) < spent(160)


def test_a_dp_update_records_that_it_trains_without_the_parent_penalty():
    # DP-SGD's loop has no parent term: its resolved values must not claim the kl of an update
    from tunelab.train.update import resolve_update

    ancestor = {"model": "ft:x", "train_file": "old.jsonl"}
    values = {"train_file": "x.jsonl", "update": {"ancestors": [ancestor]}}
    plain = resolve_update(load_config(None, values), {"n_replayed": 4})
    private = load_config(None, values | {"privacy": {"dp": {"epsilon": 8}}})
    assert plain["penalty"] == "kl" and plain["penalty_weight"] == 1.0
    dp = resolve_update(private, {"n_replayed": 4, "replay_fraction": 0.5})
    assert (dp["penalty"], dp["new_weight"]) == ("none", 1.0)  # every sampled row alike


# ---------------------------------------------------------------- per-example gradients


def test_opacus_gradients_are_each_examples_own(tiny_model_dir):
    """Hooks on PEFT's lora_A / lora_B layers, padded rows: every per-example gradient equals the
    gradient of that example alone (padding and other rows change nothing)."""
    from opacus.grad_sample.utils import prepare_module

    from tunelab.data.batches import collate
    from tunelab.data.render import render_chat
    from tunelab.train.dp import example_losses

    model, tokenizer = tiny(tiny_model_dir, lora=True)
    model.train()
    items = [render_chat(tokenizer, r["messages"]) for r in toy_rows(3)]
    items[1].input_ids += items[1].input_ids[:5]  # three lengths: real padding
    items[1].labels += items[1].labels[:5]
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    alone = []
    for item in items:
        model.zero_grad()
        example_losses(model, collate([item], tokenizer.pad_token_id)).sum().backward()
        alone.append({n: p.grad.clone() for n, p in params.items()})
    model.zero_grad()
    hooks = prepare_module(model, "hooks", wrap_model=False, loss_reduction="sum")
    try:
        example_losses(model, collate(items, tokenizer.pad_token_id)).sum().backward()
        for name, p in params.items():
            assert p.grad_sample.shape == (3, *p.shape), name
            for i in range(3):
                assert torch.allclose(p.grad_sample[i], alone[i][name], atol=1e-6), (name, i)
    finally:
        hooks.cleanup()
    assert not any(hasattr(p, "grad_sample") for p in params.values())


# ---------------------------------------------------------------- DP training


def test_dp_training_changes_lora_weights_lowers_loss_and_spends_at_most_epsilon(
    tiny_model_dir, toy_data, tmp_path, monkeypatch
):
    import tunelab.train.sft as sft

    trained = {}
    real_save = sft.save_final
    monkeypatch.setattr(
        sft, "save_final", lambda m, *a: (trained.setdefault("m", m), real_save(m, *a))
    )
    cfg = make_config(
        tiny_model_dir,
        toy_data,
        tmp_path / "run",
        learning_rate=0.05,
        epochs=4,
        batch_size=4,
        eval_every=6,
        lora={"r": 4, "alpha": 8},
        privacy={"dp": {"epsilon": 8, "seed": 1}},
    )
    report = run_sft(cfg, progress=False)
    run = Path(report["run_dir"])
    assert report["tuned"]["validation"]["loss"] < report["base"]["validation"]["loss"] - 0.03
    adapter = load_file(str(run / "final" / "adapter_model.safetensors"))
    assert all(t.abs().sum() > 0 for k, t in adapter.items() if "lora_B" in k)  # B starts at 0
    model = trained["m"]
    assert not any(hasattr(p, "grad_sample") for p in model.parameters())  # hooks removed
    for name, p in model.named_parameters():  # what was saved is what trained, on its device
        if p.requires_grad:
            key = name.replace(".default", "")
            assert torch.equal(adapter[key], p.detach()), name
    (section,) = [s for s in report["sections"] if s["title"] == "Differential privacy"]
    values = dict(section["rows"])
    assert {"target epsilon", "spent epsilon", "delta", "noise multiplier"} <= set(values)
    assert 0 < float(values["spent epsilon"]) <= 8.0
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    spent = [r["epsilon"] for r in rows if "epsilon" in r]
    assert len(spent) == report["steps"] and spent == sorted(spent) and spent[-1] <= 8.0
    resolved = json.loads((run / "run.json").read_text())["resolved"]
    assert resolved["noise_multiplier"] > 0 and resolved["compile"] is False
    assert "Differential privacy" in (run / "report.md").read_text()


def test_dp_run_resumes_exactly(tiny_model_dir, toy_data, tmp_path, monkeypatch):
    """Killed after its checkpoint at step 4, a DP run resumes to the same weights: each step's
    sampling and noise come from the run's seed and the step."""
    from tunelab.train import faults

    def config(out):
        return make_config(
            tiny_model_dir,
            toy_data,
            out,
            learning_rate=0.05,
            max_steps=8,
            batch_size=4,
            eval_every=4,
            lora={"r": 4, "alpha": 8},
            privacy={"dp": {"epsilon": 8, "seed": 3}},
        )

    run_sft(config(tmp_path / "straight"), progress=False)
    real = faults.maybe_fail

    def crash(where, step):
        if where == "step" and step == 6:
            raise KeyboardInterrupt  # not an Exception: nothing may catch it on the way out
        real(where, step)

    monkeypatch.setattr(faults, "maybe_fail", crash)
    with pytest.raises(KeyboardInterrupt):
        run_sft(config(tmp_path / "killed"), progress=False)
    monkeypatch.setattr(faults, "maybe_fail", real)
    run_sft(None, resume=tmp_path / "killed", progress=False)
    a = load_file(str(tmp_path / "straight" / "final" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "final" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# ---------------------------------------------------------------- the audit's parts


def test_mask_value_keeps_only_the_ends():
    assert leakage.mask_value("48213907") == "48****07"
    assert leakage.mask_value("ana.lopez@example.com") == "an*****************om"
    assert leakage.mask_value("abc") == "***"


def test_canaries_are_seeded_and_distinct():
    a, b = leakage.make_canaries(30, 1), leakage.make_canaries(30, 1)
    assert a == b and a != leakage.make_canaries(30, 2)
    assert len({c.word for c in a}) == 30 and all(len(c.secret) == 8 for c in a)


def test_cached_scoring_equals_one_forward_per_candidate(tiny_model_dir):
    model, tokenizer = tiny(tiny_model_dir, lora=True)
    prefix = tokenizer("The code for the red door is", add_special_tokens=False)["input_ids"]
    rows = [tokenizer(s, add_special_tokens=False)["input_ids"] for s in (" 4417", " 90", " 3308.")]
    fast = leakage.continuation_bits(model, prefix, rows, batch=2)
    model.eval()
    with torch.no_grad():
        for row, bits in zip(rows, fast, strict=True):
            logits = model(input_ids=torch.tensor([prefix + row])).logits[0]
            logp = logits[len(prefix) - 1 : -1].log_softmax(-1)
            nats = -logp.gather(-1, torch.tensor(row)[:, None]).sum()
            assert bits == pytest.approx(float(nats) / math.log(2), rel=1e-4)


def test_audit_is_off_without_canaries_or_values(tiny_tokenizer, monkeypatch):
    from tunelab.data.formats import Example

    examples = [Example(line=i + 1, messages=r["messages"]) for i, r in enumerate(toy_rows(4))]
    privacy = load_config(None, {"train_file": "x.jsonl"}).privacy
    monkeypatch.setattr(leakage, "_finder", lambda: lambda text: [])
    assert leakage.plan_audit(examples, privacy, tiny_tokenizer, 1, 256) == (examples, None)
    forced = privacy.model_copy(update={"audit": True})
    rows, audit = leakage.plan_audit(examples, forced, tiny_tokenizer, 1, 256)
    assert rows == examples and audit.targets == [] and audit.canaries == []


def test_values_are_prompted_with_their_own_prefix(tiny_tokenizer, monkeypatch):
    """An assistant turn's value: the conversation and the turn's text before it; a document's:
    its text before it, cut to fit the context; a user's: counted, not prompted."""
    from tunelab.data.formats import Example
    from tunelab.data.render import render_prompt

    monkeypatch.setattr(leakage, "_finder", lambda: fake_find_pii)
    question = [{"role": "user", "content": f"Mail? I am {EMAILS[1]}"}]
    examples = [
        Example(1, question + [{"role": "assistant", "content": f"Write to {EMAILS[0]} now."}]),
        Example(2, [], kind="text", text="word " * 400 + EMAILS[0] + " again"),
        Example(3, [], kind="text", text="Or " + EMAILS[1]),
    ]
    privacy = load_config(None, {"train_file": "x.jsonl"}).privacy
    _, audit = leakage.plan_audit(examples, privacy, tiny_tokenizer, 1, 128)
    chat, doc = audit.targets
    lead = tiny_tokenizer("Write to", add_special_tokens=False)["input_ids"]
    assert chat.prompt_ids == render_prompt(tiny_tokenizer, question) + lead
    assert (chat.kind, chat.line, chat.rows, chat.value) == ("EMAIL", 1, 2, EMAILS[0])
    assert (doc.line, doc.value) == (3, EMAILS[1])  # the first trained occurrence
    assert audit.untrained == {"EMAIL": 1}
    long = leakage.plan_audit(examples[1:2], privacy, tiny_tokenizer, 1, 128)[1].targets[0]
    assert len(long.prompt_ids) == 128 - privacy.audit_new_tokens
    assert tiny_tokenizer.decode(long.prompt_ids).endswith("word word")


# ---------------------------------------------------------------- the audit has teeth


@pytest.fixture(scope="module")
def sharp_model_dir(tmp_path_factory) -> Path:
    """The tiny Llama (hidden 64) with its final norm scaled by 10: a random model's logits are
    capped by its small tied embeddings, and LoRA cannot train the norm; scaled, a few hundred
    LoRA steps can memorise a canary."""
    from tiny import build_model_dir
    from transformers import AutoModelForCausalLM

    path = build_model_dir(tmp_path_factory.mktemp("sharp") / "tiny-sharp", hidden=64)
    model = AutoModelForCausalLM.from_pretrained(path)
    with torch.no_grad():
        model.model.norm.weight.fill_(10.0)
    model.save_pretrained(path, safe_serialization=True)
    return path


class FakeFinding:
    def __init__(self, kind, start, end, text):
        self.type, self.start, self.end, self.text = kind, start, end, text


def fake_find_pii(text: str) -> list[FakeFinding]:
    """The scrubber's interface (``data.privacy.find_pii``): this test's two emails."""
    return [
        FakeFinding("EMAIL", text.index(e), text.index(e) + len(e), e) for e in EMAILS if e in text
    ]


def canary_data(path: Path) -> Path:
    """The toy task, with one email the assistant writes (8 rows) and one only a user wrote (8
    rows); every row distinct, so the seeded split can send a few of each to validation."""
    rows = toy_rows(16)
    for i in range(8):
        rows.append(chat(f"Who handles refunds? (ticket {i})", f"Write to {EMAILS[0]} today."))
        rows.append(chat(f"My address is {EMAILS[1]} (ticket {i}).", "Thank you."))
    return write_jsonl(path, rows)


def chat(user: str, assistant: str) -> dict:
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    }


def audited_run(model_dir, tmp_path, monkeypatch, **extra) -> dict:
    monkeypatch.setattr(leakage, "_finder", lambda: fake_find_pii)
    privacy = {"canaries": 1, "canary_repeats": 4, "canary_candidates": 300}
    cfg = make_config(
        model_dir,
        canary_data(tmp_path / "train.jsonl"),
        tmp_path / "run",
        learning_rate=0.005,
        epochs=40,
        batch_size=8,
        warmup_ratio=0.1,
        eval_every=100,
        lora={"r": 16, "alpha": 32},
        privacy=privacy | extra,
    )
    return run_sft(cfg, progress=False)


def canary_result(report: dict, which: str) -> dict:
    (canary,) = report[which]["leakage"]["canaries"]
    return canary


def extracted(report: dict, which: str, kind: str) -> list[bool]:
    return [e["extracted"] for e in report[which]["leakage"]["extraction"] if e["type"] == kind]


def test_unprotected_training_memorises_canaries_and_the_audit_shows_it(
    sharp_model_dir, tmp_path, monkeypatch
):
    report = audited_run(sharp_model_dir, tmp_path, monkeypatch)
    base, tuned = canary_result(report, "base"), canary_result(report, "tuned")
    assert tuned["rank"] == 1 and tuned["exposure"] == pytest.approx(8.23, abs=0.01)  # log2 301
    assert base["exposure"] < 4 and tuned["exposure_extrapolated"] > base["exposure"] + 5
    assert extracted(report, "tuned", "CANARY") == [True]
    assert extracted(report, "base", "CANARY") == [False]
    assert extracted(report, "tuned", "EMAIL") == [True]  # the assistant's, written 8 times
    assert report["tuned"]["leakage"]["untrained"]["EMAIL"] >= 5  # the user's: not prompted
    rows = {r["key"]: r for r in report["rows"]}
    assert rows["canary_exposure"]["tuned"] > rows["canary_exposure"]["base"]
    assert rows["values_extracted"]["tuned"] == 2 and rows["values_extracted"]["base"] == 0
    run = Path(report["run_dir"])
    written = "".join(
        (run / name).read_text() for name in ("report.md", "report.json", "base_eval.json")
    )
    secret = leakage.make_canaries(1, 7)[0].secret
    assert "Leakage audit: canary exposure" in written and "discoverable extraction" in written
    assert secret not in written and EMAILS[0] not in written  # masked: never the raw values
    assert leakage.mask_value(secret) in written


def test_scrubbed_canaries_are_not_extractable(sharp_model_dir, tmp_path, monkeypatch):
    """The secret replaced by a placeholder before training, as the scrubber would: the model
    learns the template, not the digits."""

    def scrubbed(canaries, repeats):
        rows = real(canaries, repeats)
        for row, canary in zip(rows, [c for c in canaries for _ in range(repeats)], strict=True):
            row.messages[-1]["content"] = canary.answer("<PIN_1>")
        return rows

    real = leakage.canary_rows
    monkeypatch.setattr(leakage, "canary_rows", scrubbed)
    report = audited_run(sharp_model_dir, tmp_path, monkeypatch)
    assert canary_result(report, "tuned")["exposure"] < 4
    assert extracted(report, "tuned", "CANARY") == [False]
    assert extracted(report, "tuned", "EMAIL") == [True]  # the unscrubbed email still leaks


def test_dp_keeps_canary_exposure_low(sharp_model_dir, tmp_path, monkeypatch):
    report = audited_run(sharp_model_dir, tmp_path, monkeypatch, dp={"seed": 2})
    assert canary_result(report, "tuned")["exposure"] < 4
    assert extracted(report, "tuned", "CANARY") == [False]
    assert extracted(report, "tuned", "EMAIL") == [False]
    assert float(dict(report["sections"][0]["rows"])["spent epsilon"]) <= 8
