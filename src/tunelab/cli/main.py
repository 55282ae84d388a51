"""Entry point: ``tunelab <command>``. Imports without torch; each command loads what it needs."""

from __future__ import annotations

import argparse
import logging
import sys

from tunelab import __version__
from tunelab.cli import (
    chat,
    compare,
    data,
    evaluate,
    feedback,
    files,
    jobs,
    models,
    serve,
    train,
    worker,
)
from tunelab.errors import DataValidationError, TunelabError

GROUPS = (data, train, models, evaluate, compare, chat, serve, worker, jobs, files, feedback)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunelab", description="Local-first fine-tuning of language models."
    )
    parser.add_argument("--version", action="version", version=f"tunelab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="Show debug logging.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def quiet_libraries() -> None:
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*requires_grad=True to a scalar.*")
    for name in ("transformers", "peft", "matplotlib", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    quiet_libraries()
    try:
        return args.func(args) or 0
    except DataValidationError as e:
        for issue in e.issues:
            print(
                f"error: {issue}" if issue.severity == "error" else f"warning: {issue}",
                file=sys.stderr,
            )
        return 2
    except TunelabError as e:
        print(f"error [{e.code}]: {e.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
