"""Trained preference pairs per second: tunelab's DPO step against TRL's DPOTrainer, same run.

Both train LoRA (r 16, alpha 32, dropout 0, all linear layers) on the built-in SmolLM2-135M in
float32 on the CPU, without gradient checkpointing or bf16, on the same pairs (the support
demo's questions: its answer preferred over another question's answer), the same batch size and
max length, with the reference log-probs computed before training (TRL's
``precompute_ref_log_probs``; timed apart) and the data loaded in the process. tunelab: the
recipe's step (``train.preference.step_gradients`` + ``train.sft.optimizer_step``: chosen and
rejected rows padded or packed, only answer tokens through the output head), eager layers. TRL:
``DPOTrainer.training_step`` and the optimizer step of its loop (its fused LM head also scores
only answer tokens). The two are interleaved step by step after untimed warm-up steps (machines
here are noisy: the ratio is what to read).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/dpo_speed.py [--steps 8] [--batch-size 4]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402

from tunelab.data.batches import epoch_batches  # noqa: E402
from tunelab.data.preference import PreferenceExample  # noqa: E402
from tunelab.models.load import load_base  # noqa: E402
from tunelab.train.config import load_config  # noqa: E402
from tunelab.train.dpo import DPO, pair_units  # noqa: E402
from tunelab.train.logprobs import units_logps  # noqa: E402
from tunelab.train.preference import PreferenceData, step_gradients  # noqa: E402
from tunelab.train.sft import optimizer_step  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "examples" / "support" / "train.jsonl"
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": "all-linear"}
MAX_LENGTH = 1024
LR = 2e-4


def support_pairs(n: int) -> list[PreferenceExample]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    pairs = []
    for i, row in enumerate(rows[:n]):
        other = rows[(i + 1) % len(rows)]["messages"][-1]["content"]
        prompt = row["messages"][:-1]
        pairs.append(PreferenceExample(i + 1, prompt, row["messages"][-1]["content"], other))
    return pairs


class Tunelab:
    """tunelab's DPO step: ``train.preference.step_gradients`` + ``train.sft.optimizer_step``."""

    def __init__(self, pairs, batch_size: int):
        model, tokenizer, _ = load_base("smollm2-135m-instruct", device="cpu")
        self.model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **LORA))
        self.config = load_config(None, {"method": "dpo", "train_file": "unused.jsonl"})
        self.resolved = {
            "device": "cpu",
            "dtype": "float32",
            "token_budget": 2048,
            "gradient_checkpointing": False,
            "compile": False,
        }
        units, _ = pair_units(tokenizer, pairs, MAX_LENGTH)
        self.data = PreferenceData(units, [], [], [], [], [], {}, {}, tokenizer.pad_token_id)
        started = time.perf_counter()
        with self.model.disable_adapter():
            logps, _ = units_logps(self.model, units, self.data.pad_id, self.resolved)
        self.reference = {"train": logps}
        self.setup_seconds = time.perf_counter() - started
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=LR)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda _: 1.0)
        lengths = [sum(len(r.input_ids) for r in u) for u in units]
        self.batches = epoch_batches(lengths, batch_size, 0, 0)
        self.model.train()

    def step(self, i: int) -> None:
        step = self.batches[i % len(self.batches)]
        step_gradients(self.model, self.data, step, DPO, self.config, self.resolved, self.reference)
        optimizer_step(self.params, self.optimizer, self.scheduler, self.config)


class TRL:
    """TRL's DPOTrainer step: the trainer's ``training_step`` (its DPO loss, backward), then
    the optimizer step its loop takes (clipping at its max_grad_norm, AdamW), on the batches
    of its own dataloader."""

    def __init__(self, pairs, batch_size: int, steps: int):
        from datasets import Dataset
        from trl import DPOConfig, DPOTrainer

        model, tokenizer, _ = load_base("smollm2-135m-instruct", device="cpu")
        rows = [
            {
                "prompt": p.prompt,
                "chosen": [{"role": "assistant", "content": p.chosen}],
                "rejected": [{"role": "assistant", "content": p.rejected}],
            }
            for p in pairs
        ]
        self.out = tempfile.TemporaryDirectory()
        args = DPOConfig(
            output_dir=self.out.name,
            per_device_train_batch_size=batch_size,
            max_steps=steps,
            learning_rate=LR,
            lr_scheduler_type="constant",
            beta=0.1,
            max_length=MAX_LENGTH,
            bf16=False,
            fp16=False,
            gradient_checkpointing=False,
            precompute_ref_log_probs=True,
            use_cpu=True,
            dataloader_num_workers=0,
            dataloader_pin_memory=False,
            report_to=[],
            save_strategy="no",
            eval_strategy="no",
            disable_tqdm=True,
        )
        started = time.perf_counter()
        self.trainer = DPOTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA),
        )
        self.setup_seconds = time.perf_counter() - started
        self.trainer.create_optimizer_and_scheduler(num_training_steps=steps)
        self.trainer.current_gradient_accumulation_steps = 1  # what its train loop sets
        self.batches = list(self.trainer.get_train_dataloader())
        self.trainer.model.train()

    def step(self, i: int) -> None:
        trainer = self.trainer
        trainer.training_step(trainer.model, self.batches[i % len(self.batches)])
        params = [p for p in trainer.model.parameters() if p.requires_grad]
        torch.nn.utils.clip_grad_norm_(params, trainer.args.max_grad_norm)
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
        trainer.optimizer.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8, help="Timed steps per contender.")
    parser.add_argument("--warmup", type=int, default=2, help="Untimed steps first.")
    parser.add_argument("--batch-size", type=int, default=4, help="Pairs per step.")
    args = parser.parse_args()
    torch.manual_seed(0)
    total = args.steps + args.warmup
    pairs = support_pairs(total * args.batch_size)
    contenders = {
        "tunelab": Tunelab(pairs, args.batch_size),
        "TRL": TRL(pairs, args.batch_size, total),
    }
    seconds = dict.fromkeys(contenders, 0.0)
    for i in range(total):  # interleaved step by step: the machine's noise falls on both
        for name, contender in contenders.items():
            started = time.perf_counter()
            contender.step(i)
            if i >= args.warmup:
                seconds[name] += time.perf_counter() - started
    rates = {name: args.steps * args.batch_size / s for name, s in seconds.items()}
    print(f"pairs: {len(pairs)}, batch {args.batch_size}, {args.steps} timed steps each")
    for name, contender in contenders.items():
        print(
            f"{name:<8} {rates[name]:6.2f} pairs/s  (set-up with the reference pass "
            f"{contender.setup_seconds:.1f} s)"
        )
    print(f"tunelab / TRL: {rates['tunelab'] / rates['TRL']:.2f}x")


if __name__ == "__main__":
    main()
