"""KTO on a tiny local model: the loss by hand and against TRL's KTOTrainer, pairs read as two
rows, and training that separates desirable from undesirable answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from helpers import FACTS, tiny, write_jsonl

from tunelab.data.preference import PreferenceExample
from tunelab.data.render import Rendered
from tunelab.train.config import load_config
from tunelab.train.kto import kl_estimate, kto_losses, kto_units, run_kto
from tunelab.train.logprobs import units_logps

RESOLVED = {"device": "cpu", "token_budget": 2048}


def feedback_rows(n: int = 40) -> list[dict]:
    """Unpaired feedback: the right code is desirable, not knowing it is not."""
    rows = []
    for i in range(n):
        place, code = FACTS[i % len(FACTS)]
        good = i % 2 == 0
        answer = f"The code for the {place} is {code}." if good else "I do not know."
        rows.append(
            {
                "input": {"messages": [{"role": "user", "content": f"Code for the {place}? #{i}"}]},
                "output": [{"role": "assistant", "content": answer}],
                "label": good,
            }
        )
    return rows


def test_kto_loss_by_hand():
    # row 1 desirable, log-ratio 1, kl 0.5: 1 - sigmoid(0.1 * 0.5); row 2 undesirable, log-ratio
    # -2: 2 * (1 - sigmoid(0.1 * (0.5 + 2))) with undesirable_weight 2
    loss, reward = kto_losses(
        torch.tensor([-1.0, -4.0]),
        torch.tensor([-2.0, -2.0]),
        torch.tensor([True, False]),
        0.5,
        beta=0.1,
        undesirable_weight=2.0,
    )
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = torch.tensor([1 - sigmoid(0.05), 2 * (1 - sigmoid(0.25))])
    assert torch.allclose(loss, expected, atol=1e-7)
    assert torch.allclose(reward, torch.tensor([0.1, -0.2]))
    assert float(kl_estimate(torch.tensor([-1.0, -3.0]), torch.tensor([0.0, 0.0]))) == 0.0
    assert float(kl_estimate(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]))) == 0.5


def test_kto_loss_matches_trl(tiny_model_dir, tmp_path):
    """TRL's KTOTrainer (loss_type kto, with its KL estimate) on the batch it builds itself,
    against ours on the same token ids and the same reference values."""
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import KTOConfig, KTOTrainer

    torch.manual_seed(0)
    model, tokenizer = tiny(tiny_model_dir, lora=True)
    rows = [
        {
            "prompt": [{"role": "user", "content": f"code for door {i}?"}],
            "completion": [{"role": "assistant", "content": f"It is {4417 + i}." + " ok" * i}],
            "label": i % 3 != 1,
        }
        for i in range(4)
    ]
    args = KTOConfig(
        output_dir=str(tmp_path / "trl"),
        beta=0.1,
        desirable_weight=1.0,
        undesirable_weight=1.5,
        report_to=[],
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        per_device_train_batch_size=4,
    )
    trainer = KTOTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])

    def row(prefix: str, i: int) -> Rendered:
        keep = batch[f"{prefix}attention_mask"][i].bool()
        ids = batch[f"{prefix}input_ids"][i][keep].tolist()
        mask = batch[f"{prefix}completion_mask"][i][keep].tolist()
        return Rendered(ids, [t if m else -100 for t, m in zip(ids, mask, strict=True)])

    units = [[row("", i), row("KL_", i)] for i in range(4)]
    policy, _ = units_logps(model, units, tokenizer.pad_token_id, RESOLVED)
    with model.disable_adapter():
        reference, _ = units_logps(model, units, tokenizer.pad_token_id, RESOLVED)
    labels = batch["label"].bool()
    kl = kl_estimate(policy[:, 1], reference[:, 1])
    ours, _ = kto_losses(policy[:, 0], reference[:, 0], labels, kl, 0.1, 1.0, 1.5)
    batch["ref_logps"], batch["ref_KL_logps"] = reference[:, 0], reference[:, 1]
    trainer.precompute_ref_logps = True
    trainer.model.eval()
    with torch.no_grad():
        theirs = trainer._compute_loss(trainer.model, batch, return_outputs=False)
    assert abs(float(ours.mean()) - float(theirs)) < 1e-5
    assert abs(trainer._metrics["eval"]["kl"][-1] - float(kl)) < 1e-5


def test_kto_reads_a_pair_as_a_desirable_and_an_undesirable_row(tiny_tokenizer):
    pairs = [
        PreferenceExample(i, [{"role": "user", "content": f"q{i}"}], chosen="yes", rejected="no")
        for i in range(1, 4)
    ]
    units, labels = kto_units(tiny_tokenizer, pairs, 256)
    assert labels == [True, False] * 3 and len(units) == 6
    answers = [tiny_tokenizer.decode([t for t in u[0].labels if t != -100]) for u in units]
    assert answers[:2] == ["yes<|im_end|>", "no<|im_end|>"]
    # the KL row: the same prompt with the answer of the row half the set away (another prompt)
    kl_answers = [tiny_tokenizer.decode([t for t in u[1].labels if t != -100]) for u in units]
    assert kl_answers == answers[3:] + answers[:3]
    for i, unit in enumerate(units):
        prompt = len(unit[0].input_ids) - len([t for t in unit[0].labels if t != -100])
        assert unit[1].input_ids[:prompt] == unit[0].input_ids[:prompt]
        assert units[(i + 3) % 6][0].input_ids[:prompt] != unit[0].input_ids[:prompt]


def test_kto_trains_and_separates_desirable_answers(tiny_model_dir, tmp_path):
    data = write_jsonl(tmp_path / "feedback.jsonl", feedback_rows())
    config = load_config(
        None,
        {
            "method": "kto",
            "model": str(tiny_model_dir),
            "train_file": str(data),
            "output_dir": str(tmp_path / "run"),
            "max_steps": 12,
            "batch_size": 4,
            "learning_rate": 5e-3,
            "samples": 1,
            "max_new_tokens": 4,
            "compare_prompts": 2,
        },
    )
    report = run_kto(config, progress=False)
    base, tuned = report["base"]["validation"], report["tuned"]["validation"]
    assert base["loss"] == pytest.approx(0.5) and base["label_accuracy"] == 0
    assert tuned["loss"] < base["loss"] and tuned["reward_margin"] > 0
    assert tuned["label_accuracy"] >= 0.6
    run = Path(report["run_dir"])
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert all("train_kl" in r for r in rows if "train_loss" in r)
    assert json.loads((run / "run.json").read_text())["method"] == "kto"
    assert any(s["title"] == "Comparison: start vs tuned" for s in report["sections"])
