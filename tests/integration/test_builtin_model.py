"""The real built-in model: load it from its PyPI package, train a few steps, generate.

Slower than the unit tests (the first load dequantizes the GGUF once); shares one cache folder
across the session so the conversion runs once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tunelab.models.catalog import BUILTINS, package_dir

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "support"


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    return tmp_path_factory.mktemp("builtin-home")


@pytest.fixture
def home(shared_home, monkeypatch):
    monkeypatch.setenv("TUNELAB_HOME", str(shared_home))
    return shared_home


def test_builtin_package_is_installed():
    spec = BUILTINS["smollm2-135m-instruct"]
    assert (package_dir(spec.package) / spec.gguf_file).exists()


def test_load_converts_once_then_loads_fast(home):
    from tunelab.models.load import load_base

    model, tokenizer, model_dir = load_base("smollm2-135m-instruct")
    assert (model_dir / "model.safetensors").exists() and (model_dir / "tokenizer.json").exists()
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert "quantization_config" not in json.loads((model_dir / "config.json").read_text())
    started = time.perf_counter()
    load_base("smollm2-135m-instruct")
    assert time.perf_counter() - started < 5  # about a second; generous for a loaded CI machine
    assert tokenizer.eos_token == "<|im_end|>"


def test_few_steps_then_generate(home, tmp_path):
    from tunelab.models.load import load_tuned
    from tunelab.serve.chat import stream_reply
    from tunelab.train.config import load_config
    from tunelab.train.sft import run_sft

    rows = (EXAMPLES / "train.jsonl").read_text().splitlines()[:40]
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(rows) + "\n")
    config = load_config(
        None,
        {
            "train_file": str(data),
            "output_dir": str(tmp_path / "run"),
            "max_steps": 2,
            "batch_size": 4,
            "samples": 1,
            "max_new_tokens": 8,
            "forgetting": {"retention": False},  # the next test checks the retention set
        },
    )
    report = run_sft(config, progress=False)
    assert report["steps"] == 2
    assert report["tuned"]["validation"]["loss"] < report["base"]["validation"]["loss"]
    model, tokenizer = load_tuned(Path(report["run_dir"]))
    reply = "".join(
        stream_reply(model, tokenizer, [{"role": "user", "content": "Hi!"}], max_new_tokens=12)
    )
    assert reply.strip()


def test_the_base_model_passes_every_retention_question(home):
    """The retention set's premise: the built-in base answers all of it, so a drop is forgetting."""
    from tunelab.eval.retention import QUESTIONS, retention_questions
    from tunelab.eval.run import score_examples
    from tunelab.models.load import load_base

    model, tokenizer, _ = load_base("smollm2-135m-instruct")
    result = score_examples(model, tokenizer, retention_questions(), max_new_tokens=40)
    missed = [r["question"] for r in result["rows"] if not r["correct"]]
    assert result["n"] == len(QUESTIONS) >= 40 and not missed, missed
