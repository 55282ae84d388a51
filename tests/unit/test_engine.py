"""The serving engine on a tiny Llama: adapters switched per request, checkpoints, LRU, batching,
stop strings, finish reasons, seeds, cancellation and the context limit."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import torch
from helpers import toy_rows, write_jsonl
from tiny import build_model_dir, build_tokenizer

from tunelab.data.render import render_prompt
from tunelab.errors import CheckpointError, TunelabError
from tunelab.serve.engine import Engine
from tunelab.serve.outputs import find_stop, safe_length
from tunelab.serve.rows import Row
from tunelab.serve.spec import ModelSpec, strip_adapter_name
from tunelab.train.config import load_config
from tunelab.train.sft import run_sft

PROMPTS = [
    "What is the code for the red door?",
    "Hello, how can I help you today?",
    "The quick brown fox",
    "refund policy price shipping warranty",
]


def chat(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """The tiny Llama with larger random weights, so greedy replies differ from prompt to prompt
    (with the default init every prompt gets the same repeated token)."""
    from transformers import AutoConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("lively")
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.initializer_range = 0.3
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    build_tokenizer().save_pretrained(path)
    return path


def train_lora(base_dir: Path, root: Path, seed: int) -> dict:
    data = write_jsonl(root / f"train{seed}.jsonl", toy_rows(24))
    values = {
        "model": str(base_dir),
        "train_file": str(data),
        "output_dir": str(root / f"run{seed}"),
        "method": "lora",
        "lora": {"r": 4, "alpha": 16},
        "learning_rate": 0.05,
        "batch_size": 2,
        "max_steps": 4,
        "eval_every": 2,
        "keep_checkpoints": 2,
        "early_stopping_patience": 0,
        "samples": 0,
        "seed": seed,
    }
    return run_sft(load_config(None, values), progress=False)


@pytest.fixture(scope="module")
def runs(base_dir, tmp_path_factory) -> list[dict]:
    root = tmp_path_factory.mktemp("runs")
    return [train_lora(base_dir, root, seed) for seed in (1, 2)]


@pytest.fixture
def make_engine():
    made = []

    def make(**kwargs) -> Engine:
        made.append(Engine(**kwargs))
        return made[-1]

    yield make
    for engine in made:
        engine.close()


def replies(engine: Engine, spec: ModelSpec, max_tokens: int = 12) -> list[str]:
    return [engine.generate(spec, chat(p), max_tokens=max_tokens).choices[0].text for p in PROMPTS]


def test_adapters_switch_per_request_on_one_loaded_base(base_dir, runs, make_engine):
    base = ModelSpec(str(base_dir))
    a, b = (ModelSpec(str(base_dir), adapter_dir=Path(r["run_dir"]) / "final") for r in runs)
    fresh = {spec: replies(make_engine(), spec) for spec in (base, a, b)}
    assert fresh[base] != fresh[a] and fresh[a] != fresh[b] and fresh[base] != fresh[b]
    assert len(set(fresh[base])) == len(PROMPTS)  # replies depend on the prompt

    engine = make_engine()
    for spec in (base, a, b, a, base, b, a, base):
        assert replies(engine, spec) == fresh[spec]
    assert engine.loads == 1  # the base once, both adapters on it
    assert engine.adapter_loads == 2


def test_checkpoint_spec_serves_that_checkpoints_weights(base_dir, runs, make_engine):
    report = runs[0]
    run = Path(report["run_dir"])
    checkpoints = sorted((run / "checkpoints").glob("step-*"))
    assert [c.name for c in checkpoints] == ["step-0000002", "step-0000004"]
    engine = make_engine()
    final = replies(engine, ModelSpec(str(base_dir), adapter_dir=run / "final"))
    for folder in checkpoints:
        got = replies(engine, ModelSpec(str(base_dir), checkpoint=folder))
        if int(folder.name.split("-")[1]) == report["best_step"]:
            assert got == final  # the result is the best step's weights
        else:
            assert got != final


def test_checkpoint_of_a_running_job_and_an_altered_one(base_dir, runs, tmp_path, make_engine):
    run = Path(runs[0]["run_dir"])
    copy = tmp_path / "running"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "final")  # mid-run: no final adapter yet, LoRA settings from run.json
    engine = make_engine()
    original = replies(
        engine, ModelSpec(str(base_dir), checkpoint=run / "checkpoints/step-0000002")
    )
    spec = ModelSpec(str(base_dir), checkpoint=copy / "checkpoints/step-0000002")
    assert replies(engine, spec) == original

    altered = copy / "checkpoints/step-0000004"
    weights = altered / "trainable.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(CheckpointError):
        engine.generate(ModelSpec(str(base_dir), checkpoint=altered), chat("hi"), max_tokens=2)
    with pytest.raises(CheckpointError):
        missing = ModelSpec(str(base_dir), checkpoint=copy / "checkpoints/step-0000009")
        engine.generate(missing, chat("hi"), max_tokens=2)
    assert engine.active_slots == 0


def test_full_finetune_checkpoint_and_result_are_their_own_models(base_dir, tmp_path, make_engine):
    data = write_jsonl(tmp_path / "train.jsonl", toy_rows(12))
    values = {"model": str(base_dir), "train_file": str(data), "output_dir": str(tmp_path / "run")}
    values |= {"method": "full", "learning_rate": 0.01, "max_steps": 2, "eval_every": 2}
    run = Path(run_sft(load_config(None, values | {"samples": 0}), progress=False)["run_dir"])
    engine = make_engine()
    final = replies(engine, ModelSpec(str(base_dir), full_dir=run / "final"))
    step = ModelSpec(str(base_dir), checkpoint=run / "checkpoints/step-0000002")
    assert replies(engine, step) == final != replies(engine, ModelSpec(str(base_dir)))
    assert engine.loads == 3 and engine.adapter_loads == 0


def test_lru_evicts_the_least_recently_used_model(base_dir, tiny_model_dir, tmp_path, make_engine):
    other = build_model_dir(tmp_path / "other", seed=1)
    x, y = ModelSpec(str(base_dir)), ModelSpec(str(tiny_model_dir))
    full = ModelSpec(str(base_dir), full_dir=other)  # a fully fine-tuned model: its own entry
    engine = make_engine(max_loaded=2)
    for spec in (x, y, x, full):
        engine.count_prompt_tokens(spec, chat("hi"))
    assert engine.loads == 3
    assert engine.loaded() == [("base", str(base_dir)), ("full", str(other))]
    engine.count_prompt_tokens(y, chat("hi"))
    assert engine.loads == 4
    assert engine.loaded() == [("full", str(other)), ("base", str(tiny_model_dir))]
    assert replies(engine, full) == replies(make_engine(), ModelSpec(str(other)))


def test_greedy_is_deterministic_and_concurrent_requests_are_batched(base_dir, make_engine):
    spec = ModelSpec(str(base_dir))
    engine = make_engine()
    sequential = replies(engine, spec)
    assert replies(engine, spec) == sequential
    engine.batch_window_s = 0.3  # wide enough for all threads on a busy machine
    before = engine.batches_run
    results: list[str | None] = [None] * len(PROMPTS)
    barrier = threading.Barrier(len(PROMPTS))

    def ask(i: int) -> None:
        barrier.wait()
        results[i] = engine.generate(spec, chat(PROMPTS[i]), max_tokens=12).choices[0].text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(PROMPTS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == sequential  # left padding changes nothing
    assert engine.batches_run - before < len(PROMPTS)


def test_stop_strings_cut_the_text_and_end_generation(base_dir, make_engine):
    spec = ModelSpec(str(base_dir))
    engine = make_engine()
    full = engine.generate(spec, chat(PROMPTS[0]), max_tokens=16).choices[0].text
    k = next(
        i
        for i in range(3, len(full) - 2)
        if "\ufffd" not in full[i : i + 2] and full.find(full[i : i + 2]) == i
    )
    stop = full[k : k + 2]
    choice = engine.generate(spec, chat(PROMPTS[0]), max_tokens=16, stop=["@@@", stop])
    assert (choice.choices[0].text, choice.choices[0].finish_reason) == (full[:k], "stop")
    assert choice.choices[0].completion_tokens < 16
    deltas = list(engine.stream(spec, chat(PROMPTS[0]), max_tokens=16, stop=[stop]))
    assert "".join(d.text for d in deltas) == full[:k]
    assert [d.finish_reason for d in deltas][-1] == "stop"


def test_finish_reason_length_and_end_of_turn(base_dir, make_engine):
    spec = ModelSpec(str(base_dir))
    engine = make_engine()
    choice = engine.generate(spec, chat(PROMPTS[1]), max_tokens=3).choices[0]
    assert (choice.finish_reason, choice.completion_tokens) == ("length", 3)

    entry = engine._entry(spec)  # make the model's second greedy token the end-of-turn token
    ids = torch.tensor([render_prompt(entry.tokenizer, chat(PROMPTS[1]))])
    with torch.no_grad():
        first = int(entry.model(ids).logits[0, -1].argmax())
        second = int(
            entry.model(torch.cat([ids, torch.tensor([[first]])], 1)).logits[0, -1].argmax()
        )
    assert first != second
    entry.eos_ids = frozenset({second})
    choice = engine.generate(spec, chat(PROMPTS[1]), max_tokens=10).choices[0]
    assert choice.finish_reason == "stop" and choice.completion_tokens == 2
    assert choice.text == entry.tokenizer.decode([first])


def test_seed_makes_sampling_reproducible(base_dir, make_engine):
    spec = ModelSpec(str(base_dir))
    engine = make_engine()

    def sample(seed: int) -> list[str]:
        out = engine.generate(spec, chat("hi"), max_tokens=10, temperature=1.0, n=2, seed=seed)
        return [c.text for c in out.choices]

    first = sample(7)
    assert sample(7) == first
    assert sample(8) != first
    assert first[0] != first[1]


def test_closing_a_stream_stops_generation_and_frees_the_slot(base_dir, make_engine, monkeypatch):
    pushed = []
    real_push = Row.push
    monkeypatch.setattr(Row, "push", lambda row, t: (pushed.append(t), real_push(row, t)))
    spec = ModelSpec(str(base_dir))
    engine = make_engine()
    stream = engine.stream(spec, chat("hi"), max_tokens=200)
    iterator = iter(stream)
    next(iterator)
    assert engine.active_slots == 1
    iterator.close()
    deadline = time.monotonic() + 5
    while engine.active_slots and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.active_slots == 0
    assert engine.generate(spec, chat("hi"), max_tokens=2).choices[0].finish_reason == "length"
    assert len(pushed) < 100  # 2 for the last request; the closed one stopped early


def test_closing_a_queued_request_frees_it_before_it_runs(base_dir, make_engine):
    engine = make_engine(batch_window_s=0.3)
    spec = ModelSpec(str(base_dir))
    engine.count_prompt_tokens(spec, chat("hi"))  # loaded
    stream = engine.stream(spec, chat("hi"), max_tokens=50, n=3)
    assert engine.active_slots == 3
    stream.close()
    assert engine.active_slots == 0
    time.sleep(0.5)
    assert engine.batches_run == 0


def test_context_limit(base_dir, make_engine):
    spec = ModelSpec(str(base_dir))
    engine = make_engine()
    n = engine.count_prompt_tokens(spec, chat(PROMPTS[0]))
    assert engine.context_length(spec) == 256
    engine.check_limits(spec, n, 256 - n)
    with pytest.raises(TunelabError) as error:
        engine.check_limits(spec, n, 257 - n)
    assert (error.value.code, error.value.param) == ("context_length_exceeded", "messages")
    assert "maximum context length is 256 tokens" in error.value.message
    with pytest.raises(TunelabError):
        engine.stream(spec, chat(PROMPTS[0]), max_tokens=256)
    assert engine.active_slots == 0
    fill = engine.generate(spec, chat(PROMPTS[0]), default_max_tokens=20).choices[0]
    assert fill.completion_tokens <= 20
    rest = engine.generate(spec, chat(PROMPTS[0])).choices[0]  # None: the rest of the context
    assert rest.finish_reason == "stop" or rest.completion_tokens == 256 - n


@pytest.mark.parametrize(
    "text, stops, cut, safe",
    [
        ("hello world", ("wor",), 6, 11),
        ("hello wo", ("world",), None, 6),
        ("hello", (), None, 5),
        ("abc\ufffd", (), None, 3),
        ("xa", ("ab",), None, 1),
        ("xab", ("abc", "bd"), None, 1),
        ("ab\ufffd", ("\ufffdz",), None, 2),
    ],
)
def test_stop_search_and_held_back_text(text, stops, cut, safe):
    assert find_stop(text, stops) == cut
    assert safe_length(text, stops) == safe


def test_strip_adapter_name():
    name = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight"
    assert (
        strip_adapter_name(name) == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    )
    assert strip_adapter_name("x.lora_embedding_A.default") == "x.lora_embedding_A"


def test_batches_are_bounded_by_padded_tokens_so_a_long_prompt_runs_alone():
    from types import SimpleNamespace

    from tunelab.serve.outputs import Sampling

    engine = Engine(max_batch=16, max_batch_tokens=1000)
    try:

        def request(prompt_len: int, max_tokens: int = 50, n: int = 1):
            sampling = Sampling(max_tokens=max_tokens, n=n)
            return SimpleNamespace(prompt_ids=[1] * prompt_len, sampling=sampling, group="g")

        short = [request(40) for _ in range(6)]  # 6 x (40 + 50) = 540 padded tokens
        long = request(900)  # alone: 900 + 50 tokens
        engine._queue = [short[0], long, *short[1:]]
        first = engine._take_batch()
        assert first == short  # the long prompt would make 7 x 950 padded tokens
        assert engine._take_batch() == [long]  # the oldest request always runs, even over
        engine._queue = [request(50, n=4), request(50, n=4), request(50, n=4)]
        assert len(engine._take_batch()) == 2  # 12 rows x 100 tokens > 1000; 8 x 100 fits
    finally:
        engine._queue = []  # stand-ins, not requests to cancel
        engine.close()
