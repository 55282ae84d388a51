"""``tunelab compare A B --prompts FILE``: two models' greedy answers to the same prompts, scored,
as a win/tie/loss table and the answers side by side (``eval.compare``)."""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.eval.compare import SCORERS


def register(sub) -> None:
    parser = sub.add_parser(
        "compare", help="Answer the same prompts with two models and show who does better."
    )
    for name in ("a", "b"):
        parser.add_argument(
            name,
            metavar=name.upper(),
            help="A base model name, model folder, run folder, or a version id, checkpoint id "
            "or alias of the local registry.",
        )
    parser.add_argument(
        "--prompts",
        type=Path,
        required=True,
        help="JSONL: chat rows (messages), preference rows (input, preferred_output, "
        "non_preferred_output) or {prompt}; optional per-row must_contain, pattern, expected, "
        "max_words.",
    )
    parser.add_argument(
        "--scorer",
        choices=SCORERS,
        default="auto",
        help="How an answer is scored (default auto: by each row's keys); see docs/cli.md.",
    )
    parser.add_argument("--contains", help="For every row without must_contain: this text.")
    parser.add_argument("--pattern", help="For every row without pattern: this regex.")
    parser.add_argument("--max-words", type=int, help="For every row without max_words.")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--show", type=int, default=20, help="Answers printed (default 20).")
    parser.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
    parser.set_defaults(func=compare_command)


def compare_command(args) -> int:
    from tunelab.eval.compare import compare_answers, load_prompts

    prompts = load_prompts(
        args.prompts, must_contain=args.contains, pattern=args.pattern, max_words=args.max_words
    )
    answers = [answers_of(ref, prompts, args.max_new_tokens) for ref in (args.a, args.b)]
    result = compare_answers(prompts, *answers, scorer=args.scorer)
    result |= {"a": args.a, "b": args.b}
    print(json.dumps(result, indent=1) if args.json else render(result, args.show))
    return 0


def answers_of(ref: str, prompts: list[dict], max_new_tokens: int) -> list[str]:
    import gc

    from tunelab.cli.refs import load_model_ref
    from tunelab.eval.run import generate_answers

    model, tokenizer = load_model_ref(ref)
    answers = generate_answers(
        model, tokenizer, [p["messages"] for p in prompts], max_new_tokens=max_new_tokens
    )
    del model
    gc.collect()  # one model in memory at a time
    return answers


def render(result: dict, show: int) -> str:
    from tunelab.eval.compare import describe_result

    a, b = result["a"], result["b"]
    lines = [
        describe_result(result, "A", "B"),
        f"  A = {a}",
        f"  B = {b}",
        "",
        f"{'':>6}  {'wins':>5}  {'ties':>5}  {'losses':>6}",
        f"{'A':>6}  {result['wins']:>5}  {result['ties']:>5}  {result['losses']:>6}",
        f"{'B':>6}  {result['losses']:>5}  {result['ties']:>5}  {result['wins']:>6}",
    ]
    if "rate_a" in result:
        lines.append(f"pass rate: A {result['rate_a']:.0%}, B {result['rate_b']:.0%}")
    for row in result["rows"][:show]:
        better = {"win": "A better", "loss": "B better", "tie": "tie"}[row["outcome"]]
        lines += [
            "",
            f"line {row['line']} ({better}; scores {row['score_a']:g} / {row['score_b']:g}): "
            f"{row['prompt'][:100]!r}",
            f"  A: {row['a'][:200]!r}",
            f"  B: {row['b'][:200]!r}",
        ]
    if len(result["rows"]) > show:
        lines.append(f"\n({len(result['rows']) - show} more; --show N or --json for all)")
    return "\n".join(lines)
