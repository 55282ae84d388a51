"""DPO on a tiny local model: the loss (by hand and against TRL's), the frozen reference, learning
a preference, exact resume, a job through the openai SDK, SFT then DPO from a registered version."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from helpers import FACTS, serve_app, tiny, toy_rows, write_jsonl
from safetensors.torch import load_file

from tunelab.data.preference import PreferenceExample
from tunelab.data.render import Rendered
from tunelab.models.load import load_tokenizer
from tunelab.train.config import load_config
from tunelab.train.dpo import DPO, dpo_losses, pair_units, run_dpo
from tunelab.train.logprobs import REFERENCE_LOGPS, sequence_logps, units_logps

RESOLVED = {"device": "cpu", "token_budget": 2048}


def preference_rows(n: int = 40) -> list[dict]:
    """A learnable preference: the door's code preferred over not knowing it."""
    rows = []
    for i in range(n):
        place, code = FACTS[i % len(FACTS)]
        rows.append(
            {
                "input": {"messages": [{"role": "user", "content": f"Code for the {place}? #{i}"}]},
                "preferred_output": [
                    {"role": "assistant", "content": f"The code for the {place} is {code}."}
                ],
                "non_preferred_output": [{"role": "assistant", "content": "I do not know."}],
            }
        )
    return rows


def dpo_config(model_dir: Path, data: Path, out: Path, **extra):
    values = {
        "method": "dpo",
        "model": str(model_dir),
        "train_file": str(data),
        "output_dir": str(out),
        "samples": 2,
        "max_new_tokens": 4,
        "compare_prompts": 3,
        "seed": 7,
    }
    return load_config(None, values | extra)


@pytest.fixture
def pairs_file(tmp_path) -> Path:
    return write_jsonl(tmp_path / "pairs.jsonl", preference_rows())


# ---------------------------------------------------------------- the loss


def test_dpo_loss_by_hand():
    # pair 1: rewards 0.5 * (-1 + 1.5) = 0.25 and 0.5 * (-2 + 1.5) = -0.25, margin 0.5
    # pair 2: policy = reference, margin 0: log 2
    loss, chosen, rejected = dpo_losses(
        torch.tensor([-1.0, -3.0]),
        torch.tensor([-2.0, -4.0]),
        torch.tensor([-1.5, -3.0]),
        torch.tensor([-1.5, -4.0]),
        beta=0.5,
    )
    assert torch.allclose(chosen, torch.tensor([0.25, 0.0]))
    assert torch.allclose(rejected, torch.tensor([-0.25, 0.0]))
    expected = torch.tensor([math.log1p(math.exp(-0.5)), math.log(2)])
    assert torch.allclose(loss, expected, atol=1e-7)


def tokenized_pairs(tokenizer):
    examples = [
        PreferenceExample(
            i + 1,
            [{"role": "user", "content": f"code for door {i}?"}],
            chosen=f"The code is {4417 + i}.",
            rejected="I do not know." + " no" * i,
        )
        for i in range(4)
    ]
    return examples, pair_units(tokenizer, examples, 256)[0]


def test_sequence_logps_are_the_same_packed_or_padded(tiny_model_dir):
    from tunelab.data.batches import collate, pack
    from tunelab.models.attention import attention_for

    torch.manual_seed(0)
    model, tokenizer = tiny(tiny_model_dir, lora=True)
    rows = [r for unit in tokenized_pairs(tokenizer)[1] for r in unit]
    with torch.no_grad():
        padded, n_padded = sequence_logps(model, collate(rows, tokenizer.pad_token_id), len(rows))
        batch = pack(rows)
        with attention_for(model, batch):
            packed, n_packed = sequence_logps(model, batch, len(rows))
    assert torch.allclose(padded, packed, atol=1e-4)
    assert n_padded.tolist() == n_packed.tolist() == [r.n_trained for r in rows]
    assert len({round(float(x), 3) for x in padded}) == len(rows)  # each row its own sum


def test_dpo_loss_and_log_probs_match_trl(tiny_model_dir, tmp_path):
    """TRL's DPOTrainer (loss_type sigmoid) on the batch it builds itself: its policy
    log-probs and loss against ours on the same token ids, with the same reference values."""
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    torch.manual_seed(0)
    model, tokenizer = tiny(tiny_model_dir, lora=True)
    examples, _ = tokenized_pairs(tokenizer)
    rows = [
        {
            "prompt": e.prompt,
            "chosen": [{"role": "assistant", "content": e.chosen}],
            "rejected": [{"role": "assistant", "content": e.rejected}],
        }
        for e in examples
    ]
    args = DPOConfig(
        output_dir=str(tmp_path / "trl"),
        beta=0.1,
        report_to=[],
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        per_device_train_batch_size=4,
    )
    trainer = DPOTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])

    def row(i: int) -> Rendered:  # TRL's row i as ours: labels on its completion tokens
        keep = batch["attention_mask"][i].bool()
        ids = batch["input_ids"][i][keep].tolist()
        mask = batch["completion_mask"][i][keep].tolist()
        return Rendered(ids, [t if m else -100 for t, m in zip(ids, mask, strict=True)])

    units = [[row(i), row(i + 4)] for i in range(4)]  # TRL's batch: chosen rows, then rejected
    policy, _ = units_logps(model, units, tokenizer.pad_token_id, RESOLVED)
    with model.disable_adapter():  # the reference: the same weights, adapter off
        reference, _ = units_logps(model, units, tokenizer.pad_token_id, RESOLVED)
    ours, _, _ = dpo_losses(policy[:, 0], policy[:, 1], reference[:, 0], reference[:, 1], 0.1)
    batch["ref_chosen_logps"], batch["ref_rejected_logps"] = reference[:, 0], reference[:, 1]
    trainer.precompute_ref_logps = True  # use the reference values given in the batch
    trainer.model.eval()
    with torch.no_grad():
        theirs = trainer._compute_loss(trainer.model, batch, return_outputs=False)
        labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
        trl_logps = trainer.model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=labels,
            fused_lm_head=True,
        ).log_probs.sum(1)
    assert torch.allclose(policy.T.flatten(), trl_logps, atol=1e-4)
    assert abs(float(ours.mean()) - float(theirs)) < 1e-5
    assert abs(float(ours.mean()) - math.log(2)) > 1e-3  # the adapters moved the policy


# ---------------------------------------------------------------- training


def test_dpo_learns_a_preference_and_keeps_the_reference_frozen(
    tiny_model_dir, pairs_file, tmp_path, monkeypatch
):
    import tunelab.train.preference as preference
    import tunelab.train.sft as sft
    from tunelab.models.load import load_base

    trained = {}
    real_save = sft.save_final  # the preference recipe saves its result as SFT's does
    monkeypatch.setattr(
        sft, "save_final", lambda m, *a: (trained.setdefault("m", m), real_save(m, *a))
    )
    cfg = dpo_config(tiny_model_dir, pairs_file, tmp_path / "run", epochs=2, batch_size=4)
    report = run_dpo(cfg, progress=False)
    base, tuned = report["base"]["validation"], report["tuned"]["validation"]
    assert base["loss"] == pytest.approx(math.log(2)) and base["reward_margin"] == 0
    assert base["preference_accuracy"] == 0  # no implicit reward before training
    assert tuned["preference_accuracy"] >= 0.8 and tuned["loss"] < base["loss"]
    assert tuned["reward_margin"] > 0
    run = Path(report["run_dir"])
    saved = json.loads((run / "run.json").read_text())
    assert saved["method"] == "dpo" and saved["resolved"]["beta"] == 0.1
    assert saved["resolved"]["learning_rate"] < 2e-3 * math.sqrt(4 / 8)  # below SFT's auto
    keys = {r["key"] for r in report["rows"]}
    assert {"loss", "preference_accuracy", "reward_margin", "chosen_nll", "logp_preference"} <= keys
    assert any(s["title"] == "Comparison: start vs tuned" for s in report["sections"])
    assert "Comparison: start vs tuned" in (run / "report.md").read_text()
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("valid_preference_accuracy" in r for r in rows)
    assert any("train_reward_margin" in r for r in rows)

    model = trained["m"]  # frozen: the base weights, and the reference log-probs
    base_model, _, _ = load_base(str(tiny_model_dir))
    after = {
        k.replace(".base_layer", ""): v
        for k, v in model.get_base_model().state_dict().items()
        if "lora_" not in k
    }
    for name, tensor in base_model.state_dict().items():
        assert torch.equal(after[name], tensor), f"frozen weight {name} changed"
    assert all(not p.requires_grad for n, p in model.named_parameters() if "lora_" not in n)
    stored = load_file(str(run / REFERENCE_LOGPS))
    assert stored["train"].shape == (35, 2) and stored["val"].shape == (5, 2)
    data = preference.prepare_data(cfg, DPO, load_tokenizer(tiny_model_dir), 256)
    with model.disable_adapter():
        again, _ = units_logps(model, data.val, data.pad_id, RESOLVED)
    assert torch.allclose(again, stored["val"], atol=1e-5)
    policy, _ = units_logps(model, data.val, data.pad_id, RESOLVED)
    assert not torch.allclose(policy, stored["val"], atol=1e-4)  # only the adapters moved it


def test_full_tuning_dpo_needs_no_second_model(tiny_model_dir, pairs_file, tmp_path):
    cfg = dpo_config(
        tiny_model_dir, pairs_file, tmp_path / "run", tuning="full", max_steps=3, batch_size=4
    )
    report = run_dpo(cfg, progress=False)
    run = Path(report["run_dir"])
    assert (run / "final" / "model.safetensors").exists() and (run / REFERENCE_LOGPS).exists()
    assert report["stop_reason"] == "max_steps" and report["steps"] == 3
    assert report["resolved"]["learning_rate"] == pytest.approx(1e-5 * math.sqrt(4 / 8))


def run_cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tunelab.cli.main", "train", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_kill_and_resume_matches_uninterrupted(tiny_model_dir, pairs_file, tmp_path):
    common = [
        "method=dpo",
        f"model={tiny_model_dir}",
        f"train_file={pairs_file}",
        "max_steps=8",
        "batch_size=4",
        "eval_every=3",
        "samples=0",
        "compare_prompts=0",
        "lora.dropout=0.1",
        "learning_rate=0.01",
        "seed=3",
    ]

    def sets(out):
        return [a for s in [*common, f"output_dir={out}"] for a in ("--set", s)]

    env = {**os.environ}
    straight = run_cli([*sets(tmp_path / "straight"), "--no-progress"], env)
    assert straight.returncode == 0, straight.stderr
    killed = run_cli(
        [*sets(tmp_path / "killed"), "--no-progress"], env | {"TUNELAB_FAULT": "kill_at:step:5"}
    )
    assert killed.returncode == -9
    reference = (tmp_path / "killed" / REFERENCE_LOGPS).read_bytes()
    resumed = run_cli(["--resume", str(tmp_path / "killed"), "--no-progress"], env)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "killed" / REFERENCE_LOGPS).read_bytes() == reference  # read, not redone
    a = load_file(str(tmp_path / "straight" / "final" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "final" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = [
        json.loads(x)["step"]
        for x in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == [
        json.loads(x)["step"]
        for x in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    ]


# ---------------------------------------------------------------- jobs, CLI, registry


def test_a_dpo_job_through_the_openai_sdk(tiny_model_dir, tmp_path):
    import openai

    from tunelab.api.app import create_app
    from tunelab.jobs.worker import run_worker

    url = f"sqlite:///{tmp_path / 'tunelab.db'}"
    app = create_app(database_url=url, extra_bases={"tiny": str(tiny_model_dir)})
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(url,),
        kwargs={"worker_id": "w-dpo", "poll_s": 0.2, "stop_event": stop},
        daemon=True,
    )
    worker.start()
    try:
        with serve_app(app) as base:
            client = openai.OpenAI(base_url=f"{base}/v1", api_key="local", max_retries=0)
            data = write_jsonl(tmp_path / "pairs.jsonl", preference_rows(24))
            with open(data, "rb") as fh:
                file = client.files.create(file=fh, purpose="fine-tune")
            job = client.fine_tuning.jobs.create(
                model="tiny",
                training_file=file.id,
                seed=3,
                method={
                    "type": "dpo",
                    "dpo": {"hyperparameters": {"beta": 0.2, "n_epochs": 1, "batch_size": 4}},
                },
            )
            deadline = time.monotonic() + 240
            while job.status not in {"succeeded", "failed", "cancelled"}:
                assert time.monotonic() < deadline, "the DPO job did not finish"
                time.sleep(0.5)
                job = client.fine_tuning.jobs.retrieve(job.id)
            assert job.status == "succeeded", job.error
            assert job.method.type == "dpo"
            hp = job.method.dpo.hyperparameters
            assert (hp.beta, hp.n_epochs, hp.batch_size) == (0.2, 1, 4)
            assert hp.learning_rate_multiplier == 1.0  # auto, as the run resolved it
            events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
            metrics = [e.data for e in events if e.type == "metrics"]
            assert any("valid_preference_accuracy" in m for m in metrics)
            reply = client.chat.completions.create(
                model=job.fine_tuned_model,
                messages=[{"role": "user", "content": "Code for the red door?"}],
                max_tokens=4,
            )
            assert reply.choices[0].message.role == "assistant"
            bad = write_jsonl(tmp_path / "bad.jsonl", preference_rows(12)[:11] + [toy_rows(1)[0]])
            with open(bad, "rb") as fh:
                bad_file = client.files.create(file=fh, purpose="fine-tune")
            failed = client.fine_tuning.jobs.create(
                model="tiny", training_file=bad_file.id, method={"type": "dpo"}
            )
            while failed.status not in {"failed", "succeeded"}:
                time.sleep(0.3)
                failed = client.fine_tuning.jobs.retrieve(failed.id)
            assert failed.error.code == "unknown_format" and "line 12" in failed.error.param
    finally:
        stop.set()
        worker.join(30)


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ({"type": "dpo", "dpo": {"hyperparameters": {"beta": 0}}}, "invalid_hyperparameters"),
        ({"type": "dpo", "dpo": {"hyperparameters": {"gamma": 1}}}, "invalid_hyperparameters"),
        ({"type": "dpo", "supervised": {}}, "invalid_method"),
    ],
)
def test_dpo_job_requests_are_checked(sqlite_db, bases, method, code):
    from helpers import upload

    from tunelab.errors import TunelabError
    from tunelab.jobs import requests

    _, store = sqlite_db
    training = upload(store, preference_rows(12))
    with pytest.raises(TunelabError) as err:
        requests.create_fine_tuning_job(
            store, model="tiny", training_file=training.id, method=method, extra_bases=bases
        )
    assert err.value.code == code


def test_sft_then_dpo_from_a_registered_version(
    tiny_model_dir, toy_data, pairs_file, tmp_path, capsys
):
    from tunelab.cli.main import main

    def train(*sets: str) -> str:
        args = [a for s in sets for a in ("--set", s)]
        assert main(["train", *args, "--no-progress", "--json"]) == 0
        return json.loads(capsys.readouterr().out)["model_id"]

    sft = train(
        f"model={tiny_model_dir}",
        f"train_file={toy_data}",
        f"output_dir={tmp_path / 'sft'}",
        "max_steps=2",
        "samples=0",
    )
    assert main(["models", "alias", "set", "sft-best", sft]) == 0
    capsys.readouterr()
    dpo = train(
        "method=dpo",
        "model=sft-best",
        f"train_file={pairs_file}",
        f"output_dir={tmp_path / 'dpo'}",
        "max_steps=2",
        "samples=0",
        "compare_prompts=1",
    )
    assert main(["models", "show", dpo, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["parent"] == sft and shown["method"] == "dpo"
    config = json.loads((tmp_path / "dpo" / "run.json").read_text())["config"]
    assert "bases" in config["model"]  # the SFT adapter merged into a base folder once
    # an update: forgetting measured on the SFT version's validation rows, kept with the version
    assert [a["model"] for a in config["update"]["ancestors"]] == [sft]
    rows = shown["config"]["forgetting"]  # what the promotion gate reads
    tasks = [(r["task"], r["metric"]) for r in rows]
    assert tasks[0] == (f"{sft}: validation", "loss") and rows[0]["parent"] > 0
    assert ("retention (general ability)", "accuracy") in tasks  # an update: retention auto
    assert {r["over"] for r in rows} <= {True, False} and rows[0]["threshold"] == 0.25
    assert "forgetting" in (tmp_path / "dpo" / "report.md").read_text().lower()


@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_preference_updates_refuse_sfts_replay_and_penalty_keys(method):
    from tunelab.errors import ConfigError
    from tunelab.train.config import load_config

    values = {"train_file": "x.jsonl", "method": method}
    assert load_config(None, values | {"update": {"replay": 0, "penalty": "none"}})
    with pytest.raises(ConfigError) as err:
        load_config(None, values | {"update": {"replay": 0.3, "new_weight": 2}})
    assert "update.replay, update.new_weight: SFT updates only" in err.value.message
