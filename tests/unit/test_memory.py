"""Predicted memory: the estimate's parts, a measured step, the plan's choices and refusals, and
what the machine says is available."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tunelab.errors import TunelabError
from tunelab.train import memory
from tunelab.train.memory import (
    GB,
    ModelShape,
    available_memory,
    estimate_peak,
    plan_memory,
    process_peak_rss,
    trainable_parameters,
)

SMOLLM2 = {  # the built-in model's config.json, the parts memory reads
    "num_hidden_layers": 30,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "vocab_size": 49152,
}
SHAPE = ModelShape.from_config(SMOLLM2, 134_515_008)
LORA = trainable_parameters(SHAPE, "lora")


def test_activations_linear_in_tokens_and_logits_in_trained_tokens():
    one = estimate_peak(SHAPE, tokens=1000, trained_tokens=300, trainable=LORA)
    two = estimate_peak(SHAPE, tokens=2000, trained_tokens=600, trainable=LORA)
    assert two.activations == pytest.approx(2 * one.activations, rel=1e-6)
    assert two.logits == pytest.approx(2 * one.logits, rel=1e-6)
    assert one.logits >= 300 * SHAPE.vocab * 4 * 2  # logits + the softmax copy, float32
    assert (two.weights, two.optimizer, two.overhead) == (one.weights, one.optimizer, one.overhead)
    assert two.total == sum(v for k, v in two.to_dict().items() if k != "total")


def test_attention_is_quadratic_in_the_longest_example_on_the_eager_path():
    def attention(longest):
        kw = {"tokens": 4096, "longest": longest, "trainable": LORA}
        eager = estimate_peak(SHAPE, attention="eager", **kw).activations
        return eager - estimate_peak(SHAPE, **kw).activations

    assert attention(512) > 0
    assert attention(2048) == pytest.approx(16 * attention(512), rel=1e-6)
    # SDPA's flash kernel keeps O(length) per example: the packed row's mix does not matter
    sdpa = {estimate_peak(SHAPE, tokens=4096, longest=n).activations for n in (256, 4096)}
    assert len(sdpa) == 1


def test_checkpointing_lowers_activations_and_full_adds_optimizer_state():
    plain = estimate_peak(SHAPE, tokens=2048, trainable=LORA)
    ckpt = estimate_peak(SHAPE, tokens=2048, trainable=LORA, gradient_checkpointing=True)
    assert ckpt.activations < plain.activations / 2
    assert (ckpt.weights, ckpt.logits) == (plain.weights, plain.logits)
    full = estimate_peak(SHAPE, tokens=2048)
    # gradients + AdamW's two float32 states for every parameter, at least
    assert full.optimizer - plain.optimizer >= (SHAPE.parameters - LORA) * 12
    assert plain.optimizer < full.optimizer / 20
    # compiled layers keep fewer intermediates (inductor fuses the element-wise chains)
    compiled = estimate_peak(SHAPE, tokens=2048, trainable=LORA, compiled=True)
    assert compiled.activations < 0.7 * plain.activations
    assert (compiled.weights, compiled.logits) == (plain.weights, plain.logits)


def test_lora_trainable_count_matches_peft(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    counted = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    shape = ModelShape.from_model_dir(tiny_model_dir)
    assert trainable_parameters(shape, "lora", r=4) == counted
    assert trainable_parameters(shape, "full") == shape.parameters


# A random Llama large enough that activations (~0.5 GB) weigh against the process overhead.
STEP = """
import json, torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM
from tunelab.models.forward import trained_token_loss
from tunelab.train.memory import process_peak_rss
cfg = dict(vocab_size=512, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
model = LlamaForCausalLM(LlamaConfig(**cfg))
model = get_peft_model(model, LoraConfig(r=8, target_modules="all-linear", task_type="CAUSAL_LM"))
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params)
ids = torch.randint(0, 512, (2, 2048))
labels = ids.clone()
labels[:, :1024] = -100
batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
for _ in range(3):  # the estimate is of steady-state steps: the allocator grows after the first
    loss, n, _ = trained_token_loss(model, batch)
    (loss / n).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
print(json.dumps({"config": cfg, "parameters": sum(p.numel() for p in model.base_model.parameters()
      if not p.requires_grad), "trainable": sum(p.numel() for p in params),
      "peak": process_peak_rss()}))
"""


def test_estimate_is_near_a_measured_step():
    out = subprocess.run([sys.executable, "-c", STEP], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    shape = ModelShape.from_config(got["config"], got["parameters"])
    est = estimate_peak(
        shape, tokens=4096, longest=2048, trained_tokens=2046, trainable=got["trainable"]
    )
    assert est.activations > est.overhead  # the test weighs the arithmetic, not just the constant
    assert 0.65 < est.total / got["peak"] < 1.5, (est.to_dict(), got["peak"])


# ---------------------------------------------------------------- the plan


def plan(available, lengths=(3000, 400, 300, 200), **kw):
    kw.setdefault("trainable", LORA)
    trained = [n // 2 for n in lengths]
    return plan_memory(SHAPE, lengths=list(lengths), trained=trained, available=available, **kw)


def test_auto_budget_is_the_largest_that_fits():
    roomy = plan(100 * GB, max_budget=8192)
    assert roomy.token_budget == 3900 and not roomy.gradient_checkpointing  # all the data
    tight = plan(10 * GB, lengths=[1000] * 10, max_budget=8192)
    limit = memory.SAFETY_FRACTION * 10 * GB
    assert 1000 <= tight.token_budget < 8192 and tight.estimate.total <= limit
    assert tight.gradient_checkpointing is False
    bigger = plan(20 * GB, lengths=[1000] * 10, max_budget=8192)
    assert bigger.token_budget > tight.token_budget
    one_more = estimate_peak(
        SHAPE,
        tokens=tight.token_budget + 1,
        trained_tokens=math.ceil((tight.token_budget + 1) / 2),
        trainable=LORA,
    )
    assert one_more.total > limit
    assert plan(100 * GB, lengths=[500] * 100).token_budget == memory.DEFAULT_MAX_BUDGET


def test_dp_counts_each_rows_gradient_and_a_smaller_budget_makes_them_fit():
    lengths = [100] * 64
    plain = plan(100 * GB, lengths=lengths, gradient_checkpointing=False)
    dp = plan(100 * GB, lengths=lengths, gradient_checkpointing=False, per_example_rows=16)
    assert plain.estimate.per_example == 0 and "per_example" not in plain.describe()
    # 16 rows fit the budget (6400 tokens of 100-token rows): 16 gradients and their sum
    assert dp.estimate.per_example == LORA * (16 * 4 + 4)
    assert dp.estimate.total == plain.estimate.total + dp.estimate.per_example
    few = estimate_peak(SHAPE, tokens=300, trainable=LORA, per_example_rows=3)
    assert few.per_example == LORA * (3 * 4 + 4)
    # memory for 5 rows' gradients but not 16: the budget shrinks to what fits
    room = (plain.estimate.total - plain.estimate.activations + LORA * 4 * 6) / 0.8
    tight = plan(room, lengths=lengths, gradient_checkpointing=False, per_example_rows=16)
    assert tight.token_budget < dp.token_budget and tight.estimate.total <= 0.8 * room
    assert tight.estimate.per_example < dp.estimate.per_example


def test_the_budget_bounds_the_peak_whatever_the_lengths():
    """Examples longer than the budget go alone and only they are checkpointed, so a mix with
    longer examples has about the peak of one without them."""
    short = plan(100 * GB, lengths=[500] * 100)
    mixed = plan(100 * GB, lengths=[500] * 100 + [3000, 6000])
    assert short.gradient_checkpointing is False
    assert mixed.gradient_checkpointing == "long" and mixed.token_budget == short.token_budget
    assert mixed.estimate.total < 1.2 * short.estimate.total
    assert "longer than the token budget" in mixed.describe()
    assert mixed.to_dict()["checkpointing"] == "on for examples longer than the token budget"
    no_gc = estimate_peak(SHAPE, tokens=6000, trained_tokens=3000, trainable=LORA).total
    assert mixed.estimate.total < 0.6 * no_gc


@pytest.mark.parametrize(
    ("mode", "budget", "tokens", "expected"),
    [
        (False, 2048, 3000, False),
        (True, 2048, 100, True),
        ("long", 2048, 2048, False),
        ("long", 2048, 2049, True),
    ],
)
def test_which_micro_batches_are_checkpointed(mode, budget, tokens, expected):
    assert memory.checkpointed(mode, budget, tokens) is expected


def test_checkpointing_everything_only_when_no_budget_fits():
    lengths = [300] * 10
    no_gc = estimate_peak(SHAPE, tokens=memory.MIN_BUDGET, trained_tokens=128, trainable=LORA)
    between = no_gc.total / memory.SAFETY_FRACTION * 0.9  # even the smallest row needs it
    chosen = plan(between, lengths=lengths)
    assert chosen.gradient_checkpointing is True and chosen.token_budget >= 300
    assert plan(
        no_gc.total / memory.SAFETY_FRACTION * 1.5, lengths=lengths
    ).gradient_checkpointing in (
        False,
        "long",
    )


def test_explicit_settings_are_kept():
    chosen = plan(100 * GB, token_budget=3500, gradient_checkpointing=True)
    assert (chosen.token_budget, chosen.gradient_checkpointing) == (3500, True)
    below = plan(100 * GB, token_budget=1000, gradient_checkpointing=False)
    assert below.token_budget == 3000  # a row holds the longest example whole
    kept = plan(100 * GB, token_budget=1000)  # auto: the longest alone, checkpointed
    assert (kept.token_budget, kept.gradient_checkpointing) == (1000, "long")
    no_gc = estimate_peak(SHAPE, tokens=3000, trained_tokens=1500, trainable=LORA).total
    with pytest.raises(TunelabError) as err:
        plan(no_gc / memory.SAFETY_FRACTION * 0.9, gradient_checkpointing=False)
    assert err.value.code == "insufficient_memory"
    assert "gradient_checkpointing: true" in err.value.message


def test_refuses_with_the_numbers_when_nothing_fits(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: int(1.5 * GB))
    with pytest.raises(TunelabError) as err:
        plan(None, trainable=SHAPE.parameters)
    message = err.value.message
    assert err.value.code == "insufficient_memory"
    assert "3000 tokens" in message and "1.5 GB are available" in message
    assert "max_length" in message and "lora" in message and "more memory" in message


def test_unknown_memory_plans_without_refusing(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    chosen = plan(None)  # the default budget; the 3000-token example alone, checkpointed
    assert (chosen.token_budget, chosen.available, chosen.gradient_checkpointing) == (
        memory.DEFAULT_MAX_BUDGET,
        None,
        "long",
    )


# ---------------------------------------------------------------- available memory


def write_meminfo(tmp_path, kib):
    path = tmp_path / "meminfo"
    path.write_text(f"MemTotal:       24683652 kB\nMemAvailable:   {kib} kB\nCached: 1 kB\n")
    return path


def test_available_reads_meminfo_and_a_cgroup_v2_limit(tmp_path):
    meminfo = write_meminfo(tmp_path, 20_000_000)
    cgroup = tmp_path / "cg"
    cgroup.mkdir()
    assert available_memory(meminfo, cgroup) == 20_000_000 * 1024  # no cgroup files
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "memory.current").write_text("1000\n")
    assert available_memory(meminfo, cgroup) == 20_000_000 * 1024  # "max": no limit
    (cgroup / "memory.max").write_text(f"{8 * 2**30}\n")
    (cgroup / "memory.current").write_text(f"{3 * 2**30}\n")
    (cgroup / "memory.stat").write_text(f"anon 5\ninactive_file {2**30}\nactive_file 7\n")
    assert available_memory(meminfo, cgroup) == 6 * 2**30  # limit - usage + reclaimable cache


def test_available_reads_a_cgroup_v1_limit(tmp_path):
    meminfo = write_meminfo(tmp_path, 20_000_000)
    v1 = tmp_path / "cg" / "memory"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    (v1 / "memory.usage_in_bytes").write_text("100\n")
    assert available_memory(meminfo, tmp_path / "cg") == 20_000_000 * 1024
    (v1 / "memory.limit_in_bytes").write_text(f"{4 * 2**30}\n")
    (v1 / "memory.usage_in_bytes").write_text(f"{3 * 2**30}\n")
    assert available_memory(meminfo, tmp_path / "cg") == 2**30
    tiny_meminfo = write_meminfo(tmp_path, 1000)
    assert available_memory(tiny_meminfo, tmp_path / "cg") == 1000 * 1024  # the smaller wins


def test_available_falls_back_without_proc(tmp_path):
    found = available_memory(tmp_path / "missing", tmp_path / "missing-cgroup")
    assert found is None or found > 0


def test_peak_is_this_programs_own_not_its_parents(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t 9000000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1 kB\n")
    assert process_peak_rss(status) == 123456 * 1024
    # started from this (large) test process, a small child reports its own peak, not ours
    child = "from tunelab.train.memory import process_peak_rss; print(process_peak_rss())"
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert int(out.stdout) < 200 * 2**20  # a torch-free python; ru_maxrss would say our size
