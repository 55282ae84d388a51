"""Compare two models' answers on the same prompts: each answer scored, each prompt a win, tie or
loss for A, and the table a person reads to see what changed (``tunelab compare``, and the report
of every preference job: starting version vs result).

A prompt is a dict with ``messages`` (the conversation up to the answer) and what its scorer
checks: ``must_contain`` (a string or list), ``pattern`` (a regex), ``expected`` (the exact
answer), ``max_words``, or ``chosen`` / ``rejected`` (a preference pair's two answers).
``load_prompts`` reads them from a chat, prompt or preference JSONL file.

Scorers (higher is better; A wins a prompt when its score is higher):

- ``contains``: 1 when the answer holds every ``must_contain`` string (case-insensitive), else 0
- ``regex``: 1 when ``pattern`` matches anywhere in the answer (``re.search``), else 0
- ``exact``: 1 when the answer equals ``expected`` (whitespace collapsed), else 0
- ``length``: with ``max_words``: 1 when the answer has at most that many words, else 0;
  without: minus the number of words (the shorter answer wins)
- ``preference``: how much closer the answer is to ``chosen`` than to ``rejected`` (token F1 to
  chosen minus token F1 to rejected): the tuned model of a preference job should move towards
  the chosen answers of held-out pairs
- ``auto``: per prompt, the first of regex, contains, exact, length, preference its keys allow

For the 0/1 scorers the result also holds each model's pass rate (``rate_a``, ``rate_b``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from tunelab.errors import TunelabError
from tunelab.eval.metrics import contains_all, exact_match, normalize_text
from tunelab.eval.report import Section

SCORERS = ("auto", "contains", "regex", "length", "exact", "preference")
BINARY = {"contains", "regex", "exact"}
CHECK_KEYS = ("must_contain", "pattern", "expected", "max_words", "chosen", "rejected")
_AUTO_ORDER = (
    ("regex", "pattern"),
    ("contains", "must_contain"),
    ("exact", "expected"),
    ("length", "max_words"),
    ("preference", "chosen"),
)
_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def token_f1(answer: str, reference: str) -> float:
    """Unigram F1 between two texts (SQuAD's answer overlap), 0 when either is empty."""
    a, r = Counter(words(answer)), Counter(words(reference))
    common = sum((a & r).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(r.values())
    return 2 * precision * recall / (precision + recall)


def scorer_for(prompt: dict, scorer: str) -> str:
    """The scorer a prompt is scored with; an error names the line when its keys lack one."""
    if scorer == "auto":
        for name, key in _AUTO_ORDER:
            if prompt.get(key) is not None:
                return name
        scorer = "preference"  # says below what is missing
    needs = {
        "contains": "must_contain",
        "regex": "pattern",
        "exact": "expected",
        "preference": "chosen",
    }.get(scorer)
    if needs and prompt.get(needs) is None:
        line = prompt.get("line", "?")
        raise TunelabError(
            f"line {line}: the {scorer} scorer needs {needs!r} (give it in the prompt file or "
            "as an option)",
            code="missing_field",
            param=needs,
        )
    return scorer


def score(answer: str, prompt: dict, scorer: str) -> float:
    kind = scorer_for(prompt, scorer)
    if kind == "contains":
        return float(contains_all(answer, prompt["must_contain"]))
    if kind == "regex":
        try:
            return float(re.search(prompt["pattern"], answer) is not None)
        except re.error as err:
            raise TunelabError(
                f"line {prompt.get('line', '?')}: pattern {prompt['pattern']!r} is not a valid "
                f"regular expression ({err})",
                code="invalid_value",
                param="pattern",
            ) from None
    if kind == "exact":
        return float(exact_match(answer, prompt["expected"]))
    if kind == "length":
        n = len(words(answer))
        limit = prompt.get("max_words")
        return float(n <= limit) if limit is not None else -float(n)
    return token_f1(answer, prompt["chosen"]) - token_f1(answer, prompt.get("rejected") or "")


def compare_answers(
    prompts: list[dict], answers_a: list[str], answers_b: list[str], scorer: str = "auto"
) -> dict:
    """Each prompt's two answers scored; wins, ties and losses of A against B, and the rows."""
    if scorer not in SCORERS:
        raise TunelabError(
            f"unknown scorer {scorer!r}; use one of {', '.join(SCORERS)}",
            code="invalid_value",
            param="scorer",
        )
    if not len(prompts) == len(answers_a) == len(answers_b):
        raise ValueError("one answer of each model per prompt")
    rows, kinds = [], set()
    for i, (prompt, a, b) in enumerate(zip(prompts, answers_a, answers_b, strict=True)):
        kinds.add(scorer_for(prompt, scorer))
        score_a, score_b = score(a, prompt, scorer), score(b, prompt, scorer)
        outcome = "tie"
        if abs(score_a - score_b) > 1e-9:
            outcome = "win" if score_a > score_b else "loss"
        rows.append(
            {
                "line": prompt.get("line", i + 1),
                "prompt": last_user(prompt["messages"]),
                "a": a,
                "b": b,
                "score_a": round(score_a, 4),
                "score_b": round(score_b, 4),
                "outcome": outcome,
            }
        )
    outcomes = Counter(r["outcome"] for r in rows)
    result = {
        "scorer": scorer if scorer != "auto" else "+".join(sorted(kinds)) or "auto",
        "n": len(rows),
        "wins": outcomes["win"],
        "ties": outcomes["tie"],
        "losses": outcomes["loss"],
        "rows": rows,
    }
    if rows and all(_passes_or_fails(p, scorer) for p in prompts):
        result["rate_a"] = round(sum(r["score_a"] >= 1 for r in rows) / len(rows), 4)
        result["rate_b"] = round(sum(r["score_b"] >= 1 for r in rows) / len(rows), 4)
    return result


def _passes_or_fails(prompt: dict, scorer: str) -> bool:
    """Whether the prompt's score is 0/1 (a pass rate means something)."""
    kind = scorer_for(prompt, scorer)
    return kind in BINARY or (kind == "length" and prompt.get("max_words") is not None)


def last_user(messages: list[dict]) -> str:
    users = [m.get("content") or "" for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""


def _text(output) -> str | None:
    """A preference file's output: a list of assistant messages, one message, or a string."""
    if output is None or isinstance(output, str):
        return output
    if isinstance(output, dict):
        return output.get("content") or ""
    return "".join(m.get("content") or "" for m in output if isinstance(m, dict))


def prompt_from_row(row: dict, line: int) -> dict:
    """One line of a prompt file as a prompt: chat (``messages``; a final assistant turn is
    the ``expected`` answer only when the row says nothing else), preference (``input``,
    ``preferred_output``, ``non_preferred_output``) or ``{"prompt": "text"}``."""
    if not isinstance(row, dict):
        raise TunelabError(f"line {line}: not a JSON object", code="invalid_json", param="prompts")
    prompt = {"line": line, **{k: row[k] for k in CHECK_KEYS if k in row}}
    if "input" in row:
        messages = (row.get("input") or {}).get("messages")
        prompt.setdefault("chosen", _text(row.get("preferred_output")))
        prompt.setdefault("rejected", _text(row.get("non_preferred_output")))
    elif "messages" in row:
        messages = list(row["messages"])
        if messages and messages[-1].get("role") == "assistant":
            answer = messages.pop().get("content") or ""
            if not any(k in prompt for k in CHECK_KEYS):
                prompt["expected"] = answer
    elif isinstance(row.get("prompt"), str):
        messages = [{"role": "user", "content": row["prompt"]}]
    else:
        messages = None
    if not messages or not isinstance(messages, list):
        raise TunelabError(
            f"line {line}: no prompt (give messages, input.messages or prompt)",
            code="missing_field",
            param="messages",
        )
    prompt["messages"] = messages
    return {k: v for k, v in prompt.items() if v is not None}


def load_prompts(path: Path, **checks) -> list[dict]:
    """A JSONL prompt file's prompts; ``checks`` (e.g. ``pattern=...``) apply to every row that
    does not set its own."""
    prompts = []
    with open(path, encoding="utf-8") as fh:
        for line, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as err:
                raise TunelabError(
                    f"{path}:{line}: not valid JSON ({err})", code="invalid_json", param="prompts"
                ) from None
            prompt = prompt_from_row(row, line)
            for key, value in checks.items():
                if value is not None:
                    prompt.setdefault(key, value)
            prompts.append(prompt)
    if not prompts:
        raise TunelabError(f"{path}: no prompts", code="empty_file", param="prompts")
    return prompts


def describe_result(result: dict, name_a: str = "A", name_b: str = "B") -> str:
    line = (
        f"{name_a} vs {name_b} on {result['n']} prompts ({result['scorer']}): "
        f"{result['wins']} wins, {result['ties']} ties, {result['losses']} losses"
    )
    if "rate_a" in result:
        line += f"; pass rate {result['rate_a']:.0%} vs {result['rate_b']:.0%}"
    return line


def comparison_section(result: dict, name_a: str, name_b: str, limit: int = 20) -> Section:
    """The report's table: one row per prompt (the first ``limit``), the two answers and who
    won, below a line with the totals."""
    clip = lambda text: normalize_text(text)[:160]  # noqa: E731 - a table cell
    rows = [
        [
            r["line"],
            clip(r["prompt"]),
            clip(r["a"]),
            clip(r["b"]),
            {"win": name_a, "loss": name_b, "tie": "tie"}[r["outcome"]],
        ]
        for r in result["rows"][:limit]
    ]
    more = len(result["rows"]) - limit
    text = describe_result(result, name_a, name_b) + (f" (first {limit} shown)" if more > 0 else "")
    return Section(
        f"Comparison: {name_a} vs {name_b}",
        ["line", "prompt", name_a, name_b, "better"],
        rows,
        text,
    )
