"""``tunelab eval MODEL --data FILE``: loss, perplexity, token accuracy and answer accuracy."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("eval", help="Evaluate a base model or a run on a data file.")
    parser.add_argument(
        "model",
        help="A base model name, a local model folder, a run folder, or a version id, "
        "checkpoint id or alias of the local registry.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="JSONL/CSV; rows with `expected` or `must_contain` are answered greedily and scored.",
    )
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
    parser.set_defaults(func=eval_command)


def eval_command(args) -> int:
    from tunelab.cli.refs import load_model_ref
    from tunelab.eval.run import evaluate_file

    model, tokenizer = load_model_ref(args.model)
    result = evaluate_file(model, tokenizer, args.data, max_new_tokens=args.max_new_tokens)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{result['file']}: {result['examples']} examples")
    if "loss" in result:
        loss = result["loss"]
        print(
            f"loss {loss['loss']:.4f}  perplexity {loss['perplexity']:.2f}  "
            f"token accuracy {loss['token_accuracy']:.1%}  ({loss['tokens']} tokens)"
        )
    if "generation" in result:
        gen = result["generation"]
        print(f"answer accuracy {gen['accuracy']:.1%} ({gen['n']} scored questions)")
        for row in gen["rows"]:
            mark = "ok  " if row["correct"] else "MISS"
            print(
                f"  {mark} line {row['line']}: {row['question'][:60]!r} -> {row['answer'][:70]!r}"
            )
    return 0
