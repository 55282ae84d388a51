"""Shared fixtures: an isolated TUNELAB_HOME, the tiny model folder, toy chat data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from helpers import toy_rows, write_jsonl  # noqa: E402
from tiny import build_model_dir, build_tokenizer  # noqa: E402


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


@pytest.fixture
def sqlite_db(tmp_path):
    """``(url, store)`` of a fresh SQLite database (the slowest tests run on SQLite only)."""
    from tunelab.store.db import open_store

    url = f"sqlite:///{tmp_path / 'tunelab.db'}"
    store = open_store(url)
    yield url, store
    store.dispose()


@pytest.fixture
def bases(tiny_model_dir) -> dict:
    """``extra_bases`` naming the tiny model ``tiny``."""
    return {"tiny": str(tiny_model_dir)}


@pytest.fixture
def toy_data(tmp_path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", toy_rows())
