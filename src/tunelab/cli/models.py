"""``tunelab models list``: the base models tunelab can fine-tune."""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.models.catalog import list_models


def register(sub) -> None:
    parser = sub.add_parser("models", help="List base models.")
    inner = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    ls = inner.add_parser("list", help="Show each base: name, parameters, context, location.")
    ls.add_argument("dirs", nargs="*", type=Path, help="Local Hugging Face model folders to add.")
    ls.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
    ls.set_defaults(func=list_command)


def list_command(args) -> int:
    infos = list_models(args.dirs)
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=1))
        return 0
    print(f"{'name':<26} {'params':>8} {'context':>8} {'cached':>6}  location")
    for i in infos:
        params = f"{i.parameters / 1e6:.0f}M" if i.parameters else "?"
        print(
            f"{i.name:<26} {params:>8} {i.context_length or '?':>8} "
            f"{'yes' if i.cached else 'no':>6}  {i.location}"
        )
    return 0
