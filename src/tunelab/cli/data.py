"""``tunelab data check FILE``: the validation report and statistics, before any training;
``tunelab data scrub FILE -o OUT``: the same file with personal data and secrets replaced."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("data", help="Check and scrub training data.")
    inner = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    check = inner.add_parser("check", help="Validate a JSONL/CSV file and show its statistics.")
    check.add_argument("file", type=Path)
    check.add_argument(
        "--model",
        default=None,
        help="Count tokens with this model's tokenizer and chat template "
        "(default: the built-in model).",
    )
    check.add_argument("--purpose", choices=["train", "eval"], default="train")
    check.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="Flag examples longer than this many tokens (default: context).",
    )
    check.add_argument("--epochs", type=int, default=None, help="For the time estimate.")
    check.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
    check.set_defaults(func=check_command)
    scrub = inner.add_parser(
        "scrub", help="Find personal data and secrets in a JSONL/CSV file; write it redacted."
    )
    scrub.add_argument("file", type=Path)
    scrub.add_argument(
        "-o", "--output", type=Path, default=None, help="Write the scrubbed file here."
    )
    scrub.add_argument(
        "--policy",
        choices=["redact", "report", "block"],
        default="redact",
        help="redact: replace values with placeholders (default); report: copy unchanged; "
        "block: refuse (exit 2) when anything is found.",
    )
    scrub.add_argument(
        "--report", action="store_true", help="Only scan and print the report; write nothing."
    )
    scrub.add_argument("--json", action="store_true", help="Print the report as JSON.")
    scrub.set_defaults(func=scrub_command)


def check_command(args) -> int:
    from tunelab.jobs.datasets import check_preference, detect_kind
    from tunelab.train.plan import check_file

    train_data = args.purpose != "eval" and args.file.is_file()
    kind = detect_kind(args.file) if train_data else "supervised"
    if kind != "supervised":  # preference pairs (DPO) or labelled rows (KTO): their validator
        result = check_preference(args.file, kind, model=args.model, epochs=args.epochs)
        result |= {"kind": kind}
    else:
        result = check_file(
            args.file,
            model=args.model,
            purpose=args.purpose,
            max_length=args.max_length,
            epochs=args.epochs,
        )
    if args.json:
        print(json.dumps(result, indent=1))
        return 0 if result["ok"] else 2
    print(render_check(result))
    return 0 if result["ok"] else 2


def scrub_command(args) -> int:
    from tunelab.data.privacy import scan_file, scrub_file
    from tunelab.errors import ConfigError, TunelabError

    if not args.file.is_file():
        raise TunelabError(f"{args.file}: no such file", code="file_not_found", param="file")
    if args.report:
        report = scan_file(args.file, args.policy)
    elif args.output is None:
        raise ConfigError("give -o OUT to write the scrubbed file, or --report", param="output")
    else:
        report = scrub_file(args.file, args.output, args.policy)
    result = report.to_dict() | ({} if args.report else {"output": str(args.output)})
    print(json.dumps(result, indent=1) if args.json else render_privacy(result))
    return 0 if report.ok else 2


def render_privacy(report: dict, *, title: str | None = None, limit: int = 20) -> str:
    """Counts per type and the lines they are on; never the values."""
    found = sum(report["counts"].values())
    head = title if title is not None else f"{report['file']}:"
    lines = [
        f"{head} {found} value(s) of personal data or secrets in {report['records_with_pii']} of "
        f"{report['records_scanned']} records (policy {report['policy']})"
    ]
    for kind, count in report["counts"].items():
        at = report["lines"].get(kind, [])
        more = f" and {len(at) - limit} more" if len(at) > limit else ""
        word = "line" if len(at) == 1 else "lines"
        lines.append(f"  {kind}: {count} ({word} {', '.join(map(str, at[:limit]))}{more})")
    for issue in report.get("issues", [])[:limit]:
        where = f"line {issue['line']} {issue['pointer']}".rstrip()
        lines.append(f"  error: {where}: [{issue['code']}] {issue['message']}")
    if report.get("output"):
        lines.append(f"wrote {report['output']}")
    return "\n".join(lines)


def render_check(result: dict) -> str:
    from tunelab.data.stats import format_histogram

    lines = [
        f"{result['file']}: {result['format'] or 'unknown format'}, "
        f"{result['n_records']} records, {len(result['errors'])} error(s), "
        f"{len(result['warnings'])} warning(s)"
    ]
    for kind in ("errors", "warnings"):
        for issue in result[kind][:50]:
            where = f"line {issue['line']}" if issue["line"] else "file"
            pointer = f" {issue['pointer']}" if issue["pointer"] else ""
            lines.append(f"  {kind[:-1]}: {where}{pointer}: [{issue['code']}] {issue['message']}")
    stats = result.get("stats")
    if stats:
        lines += [
            "",
            f"examples: {stats['examples']}  duplicates: {stats['duplicates']} "
            f"({stats['duplicate_ratio']:.1%})",
        ]
        if result.get("kind") in ("dpo", "kto"):
            lines.append(
                f"{result['kind']} data: {stats['pairs']} preference pairs, "
                f"{stats['desirable']} desirable and {stats['undesirable']} undesirable rows"
            )
        if "tokens_per_example" in stats:
            t = stats["tokens_per_example"]
            lines += [
                f"tokens: {stats['tokens_total']} total, {stats['tokens_trained']} trained "
                f"on; per example min {t['min']}, mean {t['mean']:.0f}, p95 {t['p95']:.0f}, "
                f"max {t['max']}",
                "tokens per example:",
                format_histogram(stats["histogram"]),
            ]
        if "estimated_train_seconds" in stats:
            est = result["estimate"]
            over = ""
            if "units" in est:  # DPO / KTO
                rows = "pairs" if result.get("kind") == "dpo" else "rows"
                over = f" over {est['units']} {rows}, plus one reference pass,"
            lines.append(
                f"estimated training time: {stats['estimated_train_seconds'] / 60:.1f} "
                f"min ({est['epochs']} epochs{over} at ~{est['tokens_per_second']:.0f} "
                f"tokens/s, {est['device']})"
            )
    memory = result.get("estimate", {}).get("memory")
    if memory:
        shown = memory.get("summary") or f"does not fit: [{memory['code']}] {memory['error']}"
        lines.append(f"peak memory (estimated): {shown}")
    privacy = result.get("privacy")
    if privacy:
        lines += ["", render_privacy(privacy, title="privacy:")]
    return "\n".join(lines)
