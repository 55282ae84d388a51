"""``tunelab models list|show|delete|gc|alias``: base models and the model registry.

The registry commands talk to the server at ``TUNELAB_URL`` when it is set (with
``TUNELAB_API_KEY``), else to the local store (``TUNELAB_DATABASE_URL`` or SQLite in the tunelab
home); both give the same objects, printed the same way. ``models list`` shows this machine's
base models first.
"""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.cli.client import format_table, format_time, print_json
from tunelab.cli.model_registry import call

VERSION_HEADER = ("id", "parent", "method", "key metric", "size", "created", "aliases")


def register(sub) -> None:
    parser = sub.add_parser("models", help="Base models and fine-tuned model versions.")
    inner = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    ls = inner.add_parser("list", help="Show base models, then fine-tuned versions.")
    ls.add_argument("dirs", nargs="*", type=Path, help="Local Hugging Face model folders to add.")
    show = inner.add_parser("show", help="Show one version (or alias): record and lineage.")
    show.add_argument("model", metavar="ID", help="Model id or alias.")
    delete = inner.add_parser("delete", help="Delete a version and its weights.")
    delete.add_argument("model", metavar="ID", help="Model id (ft:...).")
    delete.add_argument(
        "--force", action="store_true", help="Delete even if versions, aliases or jobs use it."
    )
    gc = inner.add_parser("gc", help="Remove run folders nothing uses any more.")
    gc.add_argument("--dry-run", action="store_true", help="Only show what would be removed.")
    for action, func in ((ls, list_command), (show, show_command), (delete, delete_command)):
        action.set_defaults(func=func)
    gc.set_defaults(func=gc_command)
    register_alias(inner)
    for action in (ls, show, delete, gc):
        action.add_argument("--json", action="store_true", help="Print machine-readable JSON.")


def register_alias(inner) -> None:
    parser = inner.add_parser("alias", help="Names that point at a version, with history.")
    actions = parser.add_subparsers(dest="alias_command", required=True, metavar="ACTION")
    set_ = actions.add_parser("set", help="Point NAME at a version (creating the alias).")
    set_.add_argument("name", metavar="NAME", help="Alias: letters, digits, '-', '_', '.'.")
    set_.add_argument("model", metavar="ID", help="Model id (or another alias).")
    set_.add_argument("--note", help="Why, kept in the alias's history.")
    set_.add_argument(
        "--force",
        action="store_true",
        help="Promote even a version whose forgetting is over its thresholds (recorded).",
    )
    rollback = actions.add_parser("rollback", help="Move NAME back to its previous target.")
    show = actions.add_parser("show", help="Show one alias and its history.")
    delete = actions.add_parser("delete", help="Remove an alias (its history stays).")
    ls = actions.add_parser("list", help="Show every alias with its history.")
    for action in (rollback, show, delete):
        action.add_argument("name", metavar="NAME", help="Alias name.")
    for action, func in (
        (set_, alias_set_command),
        (rollback, alias_rollback_command),
        (show, alias_show_command),
        (delete, alias_delete_command),
        (ls, alias_list_command),
    ):
        action.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
        action.set_defaults(func=func)


# ---------------------------------------------------------------- commands


def list_command(args) -> int:
    from tunelab.models.catalog import list_models

    infos = list_models(args.dirs)
    versions = call("versions")
    if args.json:
        print(json.dumps({"bases": [i.to_dict() for i in infos], "versions": versions}, indent=1))
        return 0
    print(f"{'name':<26} {'params':>8} {'context':>8} {'cached':>6}  location")
    for i in infos:
        params = f"{i.parameters / 1e6:.0f}M" if i.parameters else "?"
        print(
            f"{i.name:<26} {params:>8} {i.context_length or '?':>8} "
            f"{'yes' if i.cached else 'no':>6}  {i.location}"
        )
    print()
    if not versions:
        print("no fine-tuned versions yet")
        return 0
    print("fine-tuned versions (newest first):")
    print(format_table([_version_row(v) for v in versions], VERSION_HEADER))
    return 0


def show_command(args) -> int:
    model = call("get", args.model)
    print_json(model) if args.json else print_version(model)
    return 0


def delete_command(args) -> int:
    result = call("delete", args.model, args.force)
    if args.json:
        print_json(result)
        return 0
    removed = result.get("removed") or {"bytes": 0, "paths": []}
    print(f"deleted {result['id']}")
    print(f"removed {format_bytes(removed['bytes'])}: {', '.join(removed['paths']) or 'nothing'}")
    if result.get("aliases_removed"):
        print(f"aliases removed: {', '.join(result['aliases_removed'])}")
    return 0


def gc_command(args) -> int:
    result = call("gc", args.dry_run)
    if args.json:
        print_json(result)
        return 0
    verb = "would remove" if result["dry_run"] else "removed"
    for item in result["removed"]:
        print(f"{verb} {item['path']} ({format_bytes(item['bytes'])}, {item['reason']})")
    count = len(result["removed"])
    print(f"{verb} {count} run folder(s), {format_bytes(result['bytes'])}")
    return 0


def alias_set_command(args) -> int:
    return _print_alias(call("set_alias", args.name, args.model, args.note, args.force), args.json)


def alias_rollback_command(args) -> int:
    return _print_alias(call("rollback", args.name), args.json)


def alias_show_command(args) -> int:
    return _print_alias(call("alias", args.name), args.json, history=True)


def alias_delete_command(args) -> int:
    result = call("delete_alias", args.name)
    print_json(result) if args.json else print(f"deleted alias {result['name']}")
    return 0


def alias_list_command(args) -> int:
    found = call("aliases")
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("no aliases; make one with `tunelab models alias set NAME ID`")
    for alias in found:
        print_alias(alias, history=True)
    return 0


# ---------------------------------------------------------------- output


def _print_alias(alias: dict, as_json: bool, history: bool = False) -> int:
    print_json(alias) if as_json else print_alias(alias, history=history)
    return 0


def print_alias(alias: dict, history: bool = False) -> None:
    previous = f" (rollback: {alias['previous']})" if alias.get("previous") else ""
    print(f"{alias['name']} -> {alias['model']}{previous}")
    for event in alias.get("history", []) if history else []:
        was = f" (was {event['previous']})" if event.get("previous") else ""
        note = f"  # {event['note']}" if event.get("note") else ""
        forced = " [forced]" if event.get("forced") else ""
        target = event.get("model") or "-"
        when = format_time(event["created_at"])
        print(f"  {when}  {event['action']:<8} {target}{was}{forced}{note}")


def print_version(model: dict) -> None:
    data = model.get("training_file") or {}
    lines = [
        ("id", model["id"]),
        ("alias", model.get("alias")),
        ("base", model.get("base")),
        ("parent", model.get("parent")),
        ("method", " ".join(t for t in (model.get("method"), model.get("tuning")) if t)),
        ("kind", model.get("kind")),
        ("job", model.get("job_id")),
        ("training file", _data_text(data)),
        ("validation file", _data_text(model.get("validation_file") or {})),
        ("created", format_time(model.get("created"))),
        ("size", format_bytes(model["size_bytes"]) if model.get("size_bytes") else None),
        ("report", model.get("report")),
        ("aliases", ", ".join(model.get("aliases") or [])),
    ]
    for name, path in (model.get("artifacts") or {}).items():
        shown = ", ".join(path) if isinstance(path, list) else path
        lines.append((name.replace("_", " "), shown))
    for key, value in lines:
        if value not in (None, "", []) or key in ("base", "parent"):
            print(f"{key + ':':<17}{'-' if value in (None, '') else value}")
    if model.get("metrics"):
        rows = [
            (r["metric"], _num(r["base"]), _num(r["tuned"]), _num(r.get("change"), "+"))
            for r in model["metrics"]
        ]
        print()
        print(format_table(rows, ("metric", "base", "tuned", "change")))
    forgetting = (model.get("config") or {}).get("forgetting")
    if forgetting:  # what this version lost against its parent (the promotion gate reads it)
        print()
        print(forgetting_table(forgetting))
    if model.get("lineage"):
        print()
        print("lineage:")
        for depth, step in enumerate(model["lineage"]):
            print("  " + ("-> " if depth else "") + _lineage_text(step))


def _lineage_text(step: dict) -> str:
    if step["kind"] == "base":
        return f"{step['id']} (base)"
    tags = [step["kind"]] if step["kind"] != "model" else []
    tags += [t for t in (step.get("method"), step.get("tuning")) if t]
    tags += ["deleted"] if step.get("deleted") else []
    metrics = ", ".join(
        f"{r['metric']} {_num(r['base'])} -> {_num(r['tuned'])}"
        if r.get("base") is not None
        else f"{r['metric']} {_num(r['tuned'])}"
        for r in step.get("metrics", [])[:3]
    )
    tagged = f"{step['id']} [{', '.join(tags)}]" if tags else step["id"]
    return tagged + (f"  {metrics}" if metrics else "")


def _version_row(model: dict) -> tuple:
    size = format_bytes(model["size_bytes"]) if model.get("size_bytes") else None
    return (
        model["id"],
        model.get("parent"),
        " ".join(t for t in (model.get("method"), model.get("tuning")) if t),
        key_metric(model.get("metrics") or []),
        size,
        format_time(model.get("created")),
        ", ".join(model.get("aliases") or []),
    )


def key_metric(rows: list[dict]) -> str | None:
    """The first loss row (else the first row) as ``name base -> tuned``."""
    if not rows:
        return None
    row = next((r for r in rows if "loss" in str(r.get("metric"))), rows[0])
    return f"{row['metric']} {_num(row.get('base'))} -> {_num(row.get('tuned'))}"


def _data_text(data: dict) -> str | None:
    if not data:
        return None
    sha = f"sha256 {data['sha256'][:12]}..." if data.get("sha256") else None
    return " ".join(p for p in (data.get("id"), sha) if p)


def forgetting_table(forgetting: list[dict]) -> str:
    """``eval.forgetting``'s rows as a terminal table (``models show``, ``train``)."""
    rows = [
        (
            r["task"],
            r["metric"],
            _num(r["parent"]),
            _num(r["new"]),
            _num(r["change"], "+"),
            "OVER" if r["over"] else "ok",
        )
        for r in forgetting
    ]
    return format_table(rows, ("forgetting: task", "metric", "parent", "new", "change", ""))


def _num(value, sign: str = "") -> str:
    if isinstance(value, float):
        return f"{value:{sign}.4f}"
    return "-" if value is None else str(value)


def format_bytes(count: int | None) -> str:
    """``532 B``, ``1.2 MB``: decimal units, as disks are sold."""
    value, unit = float(count or 0), "B"
    for bigger in ("KB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
