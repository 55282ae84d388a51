"""One generation path: the report's held-out scoring, the CLI's chat and the server's engine give
the same text for the same prompt and model (greedy), end-of-turn ids from the generation config
and stop strings included."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import write_jsonl
from tiny import build_tokenizer

from tunelab.data.render import render_prompt
from tunelab.data.validate import load_examples
from tunelab.eval.run import generate_answers, score_examples
from tunelab.models.load import load_base
from tunelab.serve import decode
from tunelab.serve.chat import stream_reply
from tunelab.serve.engine import Engine
from tunelab.serve.outputs import Sampling
from tunelab.serve.spec import ModelSpec

PROMPTS = [
    "What is the code for the red door?",
    "Hello, how can I help you today?",
    "The quick brown fox",
    "refund policy price shipping warranty",
]
MAX_TOKENS = 12


def chat(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def save_lively(path: Path, tiny_model_dir: Path, eos_ids: list[int] | None = None) -> Path:
    """The tiny Llama with larger random weights (greedy replies differ by prompt); ``eos_ids``:
    the generation config's end-of-turn ids."""
    from transformers import AutoConfig, LlamaForCausalLM

    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.initializer_range = 0.3
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    if eos_ids is not None:
        model.generation_config.eos_token_id = eos_ids
    model.save_pretrained(path)
    build_tokenizer().save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def lively_dir(tmp_path_factory, tiny_model_dir) -> Path:
    return save_lively(tmp_path_factory.mktemp("lively"), tiny_model_dir)


def greedy_tokens(model, tokenizer, messages: list[dict], n: int) -> list[int]:
    ids = torch.tensor([render_prompt(tokenizer, messages)])
    out = []
    with torch.no_grad():
        for _ in range(n):
            out.append(int(model(ids).logits[0, -1].argmax()))
            ids = torch.cat([ids, torch.tensor([[out[-1]]])], 1)
    return out


@pytest.fixture(scope="module")
def end_of_turn_case(lively_dir, tmp_path_factory, tiny_model_dir):
    """(model folder, prompt, first token): the same weights, whose generation config lists the
    prompt's second greedy token as an end-of-turn id (the tokenizer's eos is not it)."""
    model, tokenizer, _ = load_base(str(lively_dir))
    special = set(tokenizer.all_special_ids)
    for prompt in PROMPTS:
        first, second = greedy_tokens(model, tokenizer, chat(prompt), 2)
        if first != second and not {first, second} & special:
            eos = [tokenizer.eos_token_id, second]
            folder = save_lively(tmp_path_factory.mktemp("eot"), tiny_model_dir, eos)
            return folder, prompt, first
    pytest.fail("no prompt has two distinct ordinary greedy tokens")


@pytest.fixture
def engine():
    made = Engine()
    yield made
    made.close()


def scored_answers(model, tokenizer, prompts: list[str], tmp_path: Path) -> list[str]:
    """The held-out scoring's answers: rows with ``must_contain``, as a test file holds them."""
    rows = [{"messages": chat(p), "must_contain": "code"} for p in prompts]
    examples = load_examples(write_jsonl(tmp_path / "test.jsonl", rows), purpose="eval")
    result = score_examples(model, tokenizer, examples, max_new_tokens=MAX_TOKENS)
    return [row["answer"] for row in result["rows"]]


def cli_chat_reply(model, tokenizer, prompt: str) -> str:
    return "".join(stream_reply(model, tokenizer, chat(prompt), max_new_tokens=MAX_TOKENS))


def test_scoring_chat_and_server_give_the_same_greedy_text(lively_dir, engine, tmp_path):
    spec = ModelSpec(str(lively_dir))
    served = [
        engine.generate(spec, chat(p), max_tokens=MAX_TOKENS).choices[0].text for p in PROMPTS
    ]
    assert len(set(served)) == len(PROMPTS)  # replies depend on the prompt
    model, tokenizer, _ = load_base(str(lively_dir))
    assert scored_answers(model, tokenizer, PROMPTS, tmp_path) == served  # one batch, left-padded
    conversations = [chat(p) for p in PROMPTS]
    assert generate_answers(model, tokenizer, conversations, max_new_tokens=MAX_TOKENS) == served
    assert [cli_chat_reply(model, tokenizer, p) for p in PROMPTS] == served


def test_an_end_of_turn_id_from_the_generation_config_ends_every_path(
    end_of_turn_case, lively_dir, engine, tmp_path
):
    folder, prompt, first = end_of_turn_case
    model, tokenizer, _ = load_base(str(folder))
    assert tokenizer.eos_token_id != model.generation_config.eos_token_id[1]
    choice = engine.generate(ModelSpec(str(folder)), chat(prompt), max_tokens=MAX_TOKENS).choices[0]
    assert (choice.finish_reason, choice.completion_tokens) == ("stop", 2)
    assert choice.text == tokenizer.decode([first])
    assert scored_answers(model, tokenizer, [prompt], tmp_path) == [choice.text]
    assert cli_chat_reply(model, tokenizer, prompt) == choice.text
    # without that id in the generation config the same weights go on past it
    longer = engine.generate(ModelSpec(str(lively_dir)), chat(prompt), max_tokens=MAX_TOKENS)
    assert longer.choices[0].text.startswith(choice.text) and longer.choices[0].text != choice.text


def test_stop_strings_cut_direct_generation_as_they_cut_served_text(lively_dir, engine):
    spec = ModelSpec(str(lively_dir))
    full = engine.generate(spec, chat(PROMPTS[0]), max_tokens=16).choices[0].text
    k = next(i for i in range(3, len(full) - 2) if full.find(full[i : i + 2]) == i)
    stop = full[k : k + 2]
    served = engine.generate(spec, chat(PROMPTS[0]), max_tokens=16, stop=[stop]).choices[0]
    model, tokenizer, _ = load_base(str(lively_dir))
    prompt = render_prompt(tokenizer, chat(PROMPTS[0]))
    [direct] = decode.generate(model, tokenizer, [prompt], Sampling(16, stop=(stop,)))
    assert (direct.text, direct.finish_reason) == (served.text, "stop") == (full[:k], "stop")
    assert direct.completion_tokens == served.completion_tokens < 16


def test_closing_a_chat_stream_stops_generation(lively_dir, monkeypatch):
    from tunelab.serve.rows import Row

    pushed = []
    real_push = Row.push
    monkeypatch.setattr(Row, "push", lambda row, t: (pushed.append(t), real_push(row, t)))
    model, tokenizer, _ = load_base(str(lively_dir))
    replies = stream_reply(model, tokenizer, chat("hi"), max_new_tokens=200)
    next(replies)
    replies.close()
    assert len(pushed) < 200
    assert decode.end_of_turn_ids(model, tokenizer) == {tokenizer.eos_token_id}
