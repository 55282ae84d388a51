"""``tunelab compare``: scorers, prompt files of every shape, the win/tie/loss table."""

from __future__ import annotations

import json

import pytest
from helpers import toy_rows, write_jsonl

from tunelab.cli.main import main
from tunelab.errors import TunelabError
from tunelab.eval.compare import (
    compare_answers,
    comparison_section,
    load_prompts,
    score,
    token_f1,
)

HELP = "Is there anything else I can help you with?"


def chat(question: str, **checks) -> dict:
    return {"messages": [{"role": "user", "content": question}], **checks}


def test_each_scorer_scores_what_it_says():
    p = chat("q", must_contain=["refund", "30 days"], pattern=r"help you with\?$")
    assert score("Refund within 30 DAYS.", p, "contains") == 1
    assert score("Refund soon.", p, "contains") == 0
    assert score(f"Done. {HELP}", p, "regex") == 1
    assert score(f"{HELP} Done.", p, "regex") == 0
    assert score("  The  answer ", chat("q", expected="The answer"), "exact") == 1
    assert score("the answer", chat("q", expected="The answer"), "exact") == 0
    assert score("one two three", chat("q", max_words=3), "length") == 1
    assert score("one two three four", chat("q", max_words=3), "length") == 0
    assert score("one two", chat("q"), "length") == -2  # no limit: shorter wins
    pair = chat("q", chosen="ship it today", rejected="wait a week")
    assert score("ship today", pair, "preference") > 0 > score("wait one week", pair, "preference")
    assert token_f1("a b c", "a b c") == 1 and token_f1("", "a") == 0


def test_auto_picks_by_row_and_a_row_without_a_check_names_its_line():
    prompts = [chat("a", pattern="x"), chat("b", must_contain="y"), chat("c", expected="z")]
    result = compare_answers(prompts, ["x", "y", "no"], ["no", "no", "z"], "auto")
    assert [r["outcome"] for r in result["rows"]] == ["win", "win", "loss"]
    assert (result["wins"], result["ties"], result["losses"]) == (2, 0, 1)
    assert result["scorer"] == "contains+exact+regex"
    assert result["rate_a"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["rate_b"] == pytest.approx(1 / 3, abs=1e-4)
    with pytest.raises(TunelabError) as err:
        compare_answers([{**chat("q"), "line": 7}], ["a"], ["b"], "regex")
    assert "line 7" in err.value.message and err.value.param == "pattern"
    with pytest.raises(TunelabError, match="not a valid regular expression"):
        compare_answers([chat("q", pattern="(")], ["a"], ["b"], "regex")
    with pytest.raises(TunelabError, match="unknown scorer"):
        compare_answers([chat("q")], ["a"], ["b"], "vibes")
    ties = compare_answers([chat("q", max_words=2)] * 2, ["a b", "a b c"], ["a", "a b c d"])
    assert (ties["wins"], ties["ties"]) == (0, 2) and ties["rate_a"] == 0.5


def test_prompt_files_of_every_shape(tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
        {
            "input": {"messages": [{"role": "user", "content": "pick"}]},
            "preferred_output": [{"role": "assistant", "content": "good"}],
            "non_preferred_output": [{"role": "assistant", "content": "bad"}],
        },
        {"prompt": "plain", "must_contain": "x"},
        chat("with a pattern", pattern="!$"),
    ]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    prompts = load_prompts(path, pattern=r"\?$")
    assert prompts[0]["expected"] == "yo" and prompts[0]["messages"][-1]["role"] == "user"
    assert (prompts[1]["chosen"], prompts[1]["rejected"]) == ("good", "bad")
    assert prompts[2]["messages"] == [{"role": "user", "content": "plain"}]
    assert prompts[3]["pattern"] == "!$" and prompts[0]["pattern"] == r"\?$"  # rows keep theirs
    assert [p["line"] for p in prompts] == [1, 2, 3, 4]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"nothing": 1}\n')
    with pytest.raises(TunelabError, match="line 2: no prompt"):
        load_prompts(bad)
    bad.write_text('{"prompt": "ok"}\n{oops\n')
    with pytest.raises(TunelabError, match=r"bad.jsonl:2: not valid JSON"):
        load_prompts(bad)


def test_the_report_section_names_the_better_model_per_prompt():
    prompts = [chat("q1", pattern="!"), chat("q2", pattern="!")]
    result = compare_answers(prompts, ["yes!", "no"], ["no", "no"])
    section = comparison_section(result, "start", "tuned")
    assert section.columns[-1] == "better"
    assert [row[-1] for row in section.rows] == ["start", "tie"]
    assert "1 wins, 1 ties, 0 losses" in section.text


def test_compare_through_the_cli(tiny_model_dir, tmp_path, capsys):
    rows = [{"messages": r["messages"][:2], "must_contain": "code"} for r in toy_rows(3)]
    path = write_jsonl(tmp_path / "prompts.jsonl", rows)
    args = ["compare", str(tiny_model_dir), str(tiny_model_dir), "--prompts", str(path)]
    assert main([*args, "--max-new-tokens", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # the same model answers greedily the same: every prompt a tie
    assert result["n"] == 3 and result["ties"] == 3 and result["scorer"] == "contains"
    assert [r["a"] for r in result["rows"]] == [r["b"] for r in result["rows"]]
    assert main([*args, "--max-new-tokens", "3", "--scorer", "length", "--show", "1"]) == 0
    out = capsys.readouterr().out
    assert "0 wins, 3 ties, 0 losses" in out and "(2 more;" in out
    assert main([*args, "--scorer", "regex"]) == 2
    assert "needs 'pattern'" in capsys.readouterr().err
