"""Shared fixtures: an isolated TUNELAB_HOME, the tiny model folder, toy chat data."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from tiny import build_model_dir, build_tokenizer  # noqa: E402

SYSTEM = "You are a helpful assistant."
FACTS = [("red door", "4417"), ("blue door", "9021"), ("green gate", "3308"), ("side door", "7165")]


@pytest.fixture(autouse=True)
def tunelab_home(tmp_path, monkeypatch):
    """Every test gets its own home: nothing leaks into ~/.tunelab."""
    home = tmp_path / "home"
    monkeypatch.setenv("TUNELAB_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_model_dir(tmp_path_factory.mktemp("tiny") / "tiny-llama")


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tokenizer()


def toy_rows(n: int = 40) -> list[dict]:
    """A learnable task: the code of each door, asked in a few ways."""
    asks = ["What is the code for the {}?", "code for the {}?", "Tell me the {} code."]
    rows = []
    for i in range(n):
        place, code = FACTS[i % len(FACTS)]
        question = asks[(i // len(FACTS)) % len(asks)].format(place)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": f"{question} (ticket {i})"},
                    {"role": "assistant", "content": f"The code for the {place} is {code}."},
                ]
            }
        )
    return rows


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def toy_data(tmp_path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", toy_rows())
