"""``tunelab train CONFIG.yaml [--set key=value ...] [--resume RUN_DIR]``: the config's
``method`` (default sft) picks the recipe from the method table."""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.errors import ConfigError


def register(sub) -> None:
    parser = sub.add_parser(
        "train", help="Fine-tune a model from a YAML config (its method: sft by default)."
    )
    parser.add_argument(
        "config",
        nargs="?",
        type=Path,
        help="YAML config (see docs/config.md); optional when every key is given with --set.",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override a config key (repeatable), e.g. --set epochs=2 --set lora.r=8.",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="Continue a stopped run from its newest complete checkpoint.",
    )
    parser.add_argument(
        "--from",
        dest="parent",
        metavar="MODEL_OR_ALIAS",
        help="Update a registered version (id or alias) with the config's data: the same as "
        "--set model=MODEL_OR_ALIAS; replay and a pull to the parent are on by default, and "
        "forgetting is measured on every ancestor's data (docs/config.md#updates-and-forgetting).",
    )
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
    parser.set_defaults(func=train_command)


def train_command(args) -> int:
    from tunelab.cli.refs import register_local_run, training_base_ref
    from tunelab.eval.report import format_summary
    from tunelab.jobs import pii
    from tunelab.store.runs import has_record, read_run
    from tunelab.train.config import load_config, parse_set
    from tunelab.train.methods import get_method

    if args.resume is None and args.config is None and not args.overrides:
        raise ConfigError("give a CONFIG.yaml (or --set keys), or --resume RUN_DIR")
    summary = None
    if args.resume is not None:
        if not has_record(args.resume):
            raise ConfigError(f"{args.resume}: not a run folder (no run.json)", param="resume")
        config, name = None, read_run(args.resume).method
    else:
        overrides = parse_set(args.overrides) | ({"model": args.parent} if args.parent else {})
        config = load_config(args.config, overrides)
        name = config.method
        config = with_ancestors(config)  # an update: what its ancestors trained on
        # a registered version (or alias) as the base: its weights, a LoRA one merged once
        config = config.model_copy(update={"model": training_base_ref(config.model)})
        config, summary = pii.apply_to_config(config)  # privacy.pii, as a job's worker does
    run = get_method(name).run_function()
    report = run(config, resume=args.resume, progress=not args.no_progress)
    pii.keep_summary(report["run_dir"], summary)
    report["model_id"] = register_local_run(report["run_dir"], report)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(format_summary(report))
        if report.get("forgetting"):  # against the starting model: what the gate reads
            from tunelab.cli.models import forgetting_table

            print()
            print(forgetting_table(report["forgetting"]))
        if report["model_id"]:
            print(f"registered as {report['model_id']} (see: tunelab models show ID)")
    return 0


def with_ancestors(config):
    """A config whose model is a registered version (or alias): ``update.ancestors`` filled
    from the local registry (``jobs.ancestry``), unless the config lists them itself."""
    from tunelab.cli.refs import is_registered_ref, local_store

    settings = getattr(config, "update", None)
    if settings is None or settings.ancestors or not is_registered_ref(config.model):
        return config
    from tunelab.jobs import ancestry, registry

    with local_store() as store:
        found = ancestry.ancestors_of(store, registry.concrete_model_id(store, config.model))
    return config.model_copy(
        update={"update": settings.model_validate(settings.model_dump() | {"ancestors": found})}
    )
