"""The docs are a contract: every CLI command, option and config key is documented."""

from __future__ import annotations

import argparse
from pathlib import Path

from tunelab.cli.main import build_parser
from tunelab.train.config import reference_markdown
from tunelab.train.methods import BUILTIN_METHODS

ROOT = Path(__file__).resolve().parents[2]


def commands(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from commands(sub, f"{prefix}{name} ")


def test_every_cli_command_and_option_is_documented():
    doc = (ROOT / "docs" / "cli.md").read_text()
    for name, parser in commands(build_parser()):
        assert f"tunelab {name}" in doc, f"`tunelab {name}` is not in docs/cli.md"
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in doc, f"{flag} of `tunelab {name}` is not in docs/cli.md"


def test_config_reference_is_current():
    assert (ROOT / "docs" / "config.md").read_text() == reference_markdown(), "run `make docs`"


def test_every_key_of_every_method_is_documented():
    doc = (ROOT / "docs" / "config.md").read_text()
    for method in BUILTIN_METHODS:
        assert f"## `method: {method.name}`" in doc, f"method {method.name} is not in config.md"
        for name, field in method.config.model_fields.items():
            assert f"| `{name}` |" in doc, f"{method.name}: {name} is not in docs/config.md"
            assert field.description, f"{method.name}: {name} has no description"


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_architecture_page_matches_the_code():
    """Every module the layer table names exists, every package is in the table, and the
    method table's fields are the ``Method`` dataclass' fields."""
    import dataclasses
    import re

    from tunelab.train.methods import Method

    doc = (ROOT / "docs" / "architecture.md").read_text()
    src = ROOT / "src" / "tunelab"
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", doc, flags=re.M))
    packages = {p.name for p in src.iterdir() if (p / "__init__.py").exists()}
    assert packages <= set(rows), f"packages missing from the layer table: {packages - set(rows)}"
    for package in packages:
        for name in re.findall(r"`(\w+)(?:\.py)?`", rows[package]):
            assert (src / package / f"{name}.py").exists() or (src / package / name).is_dir(), (
                f"architecture.md names {package}/{name}, which does not exist"
            )
    fields = {f.name for f in dataclasses.fields(Method)}
    assert fields <= set(rows), f"Method fields missing from the method table: {fields - set(rows)}"
