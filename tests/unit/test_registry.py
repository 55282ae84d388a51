"""The model registry in the library and the local CLI: lineage (base -> v1 -> v2, trained
through the job queue), a checkpoint as a job's base, aliases with rollback and history, refused
and forced deletes, garbage collection of run folders, local runs registered without a job.

Most versions here are run folders written by hand (tiny weights, a real run.json and report):
only the lineage test trains."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from helpers import new_job, running_worker, toy_rows, wait_terminal, write_run_files
from sqlalchemy import select

from tunelab.cli.main import main
from tunelab.errors import TunelabError
from tunelab.jobs import aliases, registry, requests, runner
from tunelab.models.catalog import DEFAULT_MODEL
from tunelab.settings import runs_dir
from tunelab.store.atomic import write_manifest
from tunelab.store.db import default_url, open_store
from tunelab.store.tables import AliasEvent, Checkpoint, File, Job, Model


@pytest.fixture
def store(tunelab_home):
    """The local store (SQLite in the test's home), as the CLI opens it."""
    opened = open_store(default_url())
    yield opened
    opened.dispose()


def make_run(run_dir: Path, base: str, *, steps=(), weights: bytes = b"\0" * 4096) -> Path:
    """A finished LoRA run folder: run.json, report.json, final/ and exported checkpoints."""
    for folder in [run_dir / "final", *(run_dir / f"exports/ckpt-step-{s:07d}" for s in steps)]:
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text("{}")
        (folder / "adapter_model.safetensors").write_bytes(weights)
        write_manifest(folder)
    for step in steps:
        (run_dir / f"checkpoints/step-{step:07d}").mkdir(parents=True)
    write_run_files(run_dir, base, "demo")
    return run_dir


def add_version(store, name: str, *, parent: str | None = None, steps=(), status="succeeded"):
    """A job (with checkpoints at ``steps``) and, if it succeeded, its registered version."""
    base = parent or DEFAULT_MODEL
    with store.session() as s:
        job = Job(model=base, training_file="file-x", status=status, method={"base": base})
        s.add(job)
        s.flush()
        run_dir = make_run(runs_dir() / job.id, DEFAULT_MODEL, steps=steps)
        job.run_dir, job.suffix = str(run_dir), name
    model_id = registry.fine_tuned_model_id(job)
    with store.session() as s:
        for step in steps:
            path_key = f"checkpoints/step-{step:07d}"
            ckpt_id = registry.checkpoint_model_id(model_id, step)
            s.add(Checkpoint(job_id=job.id, step=step, model_id=ckpt_id, path_key=path_key))
    if status == "succeeded":
        registry.register_model(
            store, model_id, job_id=job.id, base=DEFAULT_MODEL, run_dir=run_dir, parent=parent
        )
    return model_id, job


def error_of(call) -> TunelabError:
    with pytest.raises(TunelabError) as caught:
        call()
    return caught.value


# ---------------------------------------------------------------- lineage, trained


def test_lineage_base_v1_v2_trained_through_jobs_and_an_alias(
    sqlite_db, bases, monkeypatch, capsys
):
    url, store = sqlite_db
    first = new_job(store, bases, {"n_epochs": 1, "batch_size": 4}, toy_rows(24), suffix="v1")
    with running_worker(url):
        first = wait_terminal(store, first.id)
        assert first.status == "succeeded", first.error
        v1 = first.fine_tuned_model
        aliases.set_alias(store, "stable", v1)
        second = requests.create_fine_tuning_job(
            store,
            model="stable",
            training_file=first.training_file,
            hyperparameters={"n_epochs": 1, "batch_size": 8},
            suffix="v2",
        )
        assert second.model == "stable" and second.method["base"] == v1  # the concrete id
        second = wait_terminal(store, second.id)
    assert second.status == "succeeded", second.error
    v2 = second.fine_tuned_model
    assert v2 == f"ft:tiny:v2:{second.id}"  # the root base, not the alias, names it

    shown = registry.get_model(store, v2)
    assert shown["parent"] == v1 and shown["job_id"] == second.id
    assert (shown["method"], shown["tuning"]) == ("sft", "lora")
    with store.session(readonly=True) as s:
        upload_sha = s.scalar(select(File.sha256).where(File.id == first.training_file))
    assert shown["training_file"] == {"id": first.training_file, "sha256": upload_sha}
    assert shown["config"]["resolved"]["epochs"] == 1
    assert shown["report"] == f"runs/{second.id}/report.json"
    assert shown["artifacts"]["adapter"] == f"runs/{second.id}/final"
    assert shown["artifacts"]["merged_parent"] == f"runs/{second.id}/base"  # LoRA on LoRA
    assert shown["size_bytes"] > 0
    loss = next(r for r in shown["metrics"] if r["key"] == "validation_loss")
    assert loss["tuned"] < loss["base"] and loss["change"] < 0
    assert [step["id"] for step in shown["lineage"]] == ["tiny", v1, v2]

    monkeypatch.setenv("TUNELAB_DATABASE_URL", url)
    assert main(["models", "show", v2]) == 0
    out = capsys.readouterr().out
    chain = out[out.index("lineage:") :].splitlines()[1:]
    assert chain[0].strip() == "tiny (base)"
    assert re.match(rf"\s+-> {re.escape(v1)} \[sft, lora\]  validation loss \d\.\d+ -> ", chain[1])
    assert chain[2].strip().startswith(f"-> {v2} [sft, lora]  validation loss")
    assert re.search(r"parent:\s+" + re.escape(v1), out)


# ---------------------------------------------------------------- a checkpoint as the base


def save_adapter(folder: Path, model_dir: Path, seed: int) -> None:
    """A real LoRA adapter with random weights (different per seed) for the tiny model."""
    import torch
    from helpers import tiny

    torch.manual_seed(seed)
    model, _ = tiny(model_dir, lora=True)
    model.save_pretrained(str(folder), safe_serialization=True)
    write_manifest(folder)


def merged_state(model_dir: Path, adapter: Path) -> dict:
    from peft import PeftModel

    from tunelab.models.load import load_base

    model, _, _ = load_base(str(model_dir))
    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().state_dict()


def test_a_checkpoint_id_as_base_merges_that_checkpoint_not_final(store, tiny_model_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    model_id, job = add_version(store, "v1", steps=(3,))
    run_dir = Path(job.run_dir)
    record = json.loads((run_dir / "run.json").read_text())
    record["config"]["model"] = str(tiny_model_dir)
    (run_dir / "run.json").write_text(json.dumps(record))
    with store.session() as s:
        s.scalar(select(Model).where(Model.id == model_id)).base = str(tiny_model_dir)
    export = run_dir / "exports/ckpt-step-0000003"
    for folder, seed in ((run_dir / "final", 1), (export, 2)):
        for item in folder.iterdir():
            item.unlink()
        save_adapter(folder, tiny_model_dir, seed)

    checkpoint_id = registry.checkpoint_model_id(model_id, 3)
    child = requests.create_fine_tuning_job(
        store, model=checkpoint_id, training_file=_upload(store), hyperparameters={}
    )
    assert child.method["base"] == checkpoint_id
    (tmp_path / "child").mkdir()
    merged = runner.training_base(store, child, tmp_path / "child")
    assert merged == str(tmp_path / "child" / "base")
    weights = load_file(str(Path(merged) / "model.safetensors"))
    from_checkpoint = merged_state(tiny_model_dir, export)
    from_final = merged_state(tiny_model_dir, run_dir / "final")
    name = next(k for k in weights if k.endswith("q_proj.weight"))
    assert torch.equal(weights[name], from_checkpoint[name])
    assert not torch.equal(weights[name], from_final[name])  # the bug: final/ was merged


def _upload(store) -> str:
    from helpers import upload

    return upload(store, toy_rows(12)).id


# ---------------------------------------------------------------- aliases


def test_alias_set_rollback_and_history(store):
    v1, v2, v3 = (add_version(store, f"v{i}")[0] for i in (1, 2, 3))
    assert aliases.set_alias(store, "prod", v1)["previous"] is None
    aliases.set_alias(store, "prod", v2)
    assert aliases.set_alias(store, "prod", v2)["history"][0]["model"] == v2  # no-op: no new row
    state = aliases.set_alias(store, "prod", v3, note="better loss")
    assert (state["model"], state["previous"]) == (v3, v2)
    assert [(e["action"], e["model"], e["previous"]) for e in state["history"]] == [
        ("set", v3, v2),
        ("set", v2, v1),
        ("set", v1, None),
    ]
    assert state["history"][0]["note"] == "better loss" and state["history"][0]["forced"] is False

    assert aliases.rollback_alias(store, "prod")["model"] == v2
    back = aliases.rollback_alias(store, "prod")
    assert (back["model"], back["previous"]) == (v1, None)  # each rollback goes one set back
    error = error_of(lambda: aliases.rollback_alias(store, "prod"))
    assert error.code == "nothing_to_roll_back" and error.status_code == 409
    assert [e["action"] for e in aliases.get_alias(store, "prod")["history"]] == [
        "rollback",
        "rollback",
        "set",
        "set",
        "set",
    ]

    assert aliases.set_alias(store, "canary", "prod")["model"] == v1  # an alias as the target
    assert [a["name"] for a in aliases.list_aliases(store)] == ["canary", "prod"]
    assert aliases.delete_alias(store, "canary")["deleted"] is True
    assert error_of(lambda: aliases.get_alias(store, "canary")).code == "alias_not_found"
    with store.session(readonly=True) as s:  # the history is append-only: the rows stay
        assert len(s.scalars(select(AliasEvent).where(AliasEvent.alias == "canary")).all()) == 2
    missing = error_of(lambda: aliases.set_alias(store, "prod", "ft:x:y:ftjob-0"))
    assert missing.code == "model_not_found"


@pytest.mark.parametrize(
    "name",
    ["ft:tiny:x", "a:b", "has space", "", "-leading", ".hidden", "x" * 65, DEFAULT_MODEL, "a/b"],
)
def test_alias_names_are_checked(store, name):
    v1, _ = add_version(store, "v1")
    error = error_of(lambda: aliases.set_alias(store, name, v1))
    assert error.code == "invalid_alias" and error.param == "name"


def test_aliases_resolve_wherever_a_model_id_is_taken(store):
    v1, job = add_version(store, "v1", steps=(3,))
    aliases.set_alias(store, "prod", v1)
    assert registry.resolve_model_id(store, "prod") == registry.resolve_model_id(store, v1)
    shown = registry.get_model(store, "prod")
    assert shown["id"] == v1 and shown["alias"] == "prod" and shown["aliases"] == ["prod"]
    child = requests.create_fine_tuning_job(
        store, model="prod", training_file=_upload(store), suffix="kid"
    )
    assert child.model == "prod" and child.method["base"] == v1
    assert registry.fine_tuned_model_id(child) == f"ft:{DEFAULT_MODEL}:kid:{child.id}"

    aliases.set_alias(store, "snap", registry.checkpoint_model_id(v1, 3))  # a checkpoint
    assert registry.resolve_model_id(store, "snap")["adapter_dir"].name == "ckpt-step-0000003"
    assert registry.get_model(store, "snap")["step"] == 3
    aliases.set_alias(store, "stock", DEFAULT_MODEL)  # a built-in base
    assert registry.resolve_model_id(store, "stock")["base"] == DEFAULT_MODEL
    for unknown in ("nope", "ft:x:y:ftjob-0"):
        assert error_of(lambda u=unknown: registry.get_model(store, u)).code == "model_not_found"


# ---------------------------------------------------------------- delete and gc


def test_delete_refuses_while_in_use_and_force_removes_weights(store):
    v1, job = add_version(store, "v1", steps=(3,))
    v2, _ = add_version(store, "v2", parent=registry.checkpoint_model_id(v1, 3))
    aliases.set_alias(store, "prod", v1)
    error = error_of(lambda: registry.delete_model(store, v1))
    assert error.code == "model_in_use" and error.status_code == 409
    assert v2 in error.message and "prod" in error.message  # names the descendant and alias
    assert error_of(lambda: registry.delete_model(store, "prod")).code == "model_not_deletable"
    assert error_of(lambda: registry.delete_model(store, DEFAULT_MODEL)).code == (
        "model_not_deletable"
    )

    run_dir = Path(job.run_dir)
    result = registry.delete_model(store, v1, force=True)
    assert result["deleted"] is True and result["aliases_removed"] == ["prod"]
    assert sorted(result["removed"]["paths"]) == [
        f"runs/{job.id}/{name}" for name in ("checkpoints", "exports", "final")
    ]
    assert result["removed"]["bytes"] >= 2 * 4096
    assert sorted(p.name for p in run_dir.iterdir()) == ["report.json", "run.json"]  # history
    assert error_of(lambda: registry.get_model(store, v1)).code == "model_not_found"
    checkpoint = registry.checkpoint_model_id(v1, 3)
    assert error_of(lambda: registry.resolve_model_id(store, checkpoint)).code == "model_not_found"
    assert error_of(lambda: aliases.get_alias(store, "prod")).code == "alias_not_found"
    with store.session(readonly=True) as s:
        last = s.scalars(select(AliasEvent).order_by(AliasEvent.seq.desc())).first()
    assert (last.action, last.previous, last.note) == ("remove", v1, f"target {v1} deleted")
    lineage = registry.get_model(store, v2)["lineage"]  # v2 keeps its whole lineage
    assert [(s["id"], s["kind"], s["deleted"]) for s in lineage] == [
        (DEFAULT_MODEL, "base", False),
        (checkpoint, "checkpoint", True),
        (v2, "model", False),
    ]


def test_an_unfinished_job_keeps_its_base_from_deletion(store):
    v1, _ = add_version(store, "v1")
    child = requests.create_fine_tuning_job(store, model=v1, training_file=_upload(store))
    error = error_of(lambda: registry.delete_model(store, v1))
    assert error.code == "model_in_use" and child.id in error.message


def test_gc_removes_only_unreferenced_run_folders(store, tunelab_home):
    live, live_job = add_version(store, "live")
    gone, gone_job = add_version(store, "gone")
    registry.delete_model(store, gone)
    _, cancelled = add_version(store, "cancelled", status="cancelled")
    _, aliased = add_version(store, "aliased", steps=(3,), status="failed")
    aliases.set_alias(store, "snap", f"ft:{DEFAULT_MODEL}:aliased:{aliased.id}:ckpt-step-3")
    _, running = add_version(store, "running", status="running")
    orphan = make_run(runs_dir() / "ftjob-0123456789abcdef01234567", DEFAULT_MODEL)
    idle = make_run(runs_dir() / "local-idle", DEFAULT_MODEL)
    hour_ago = time.time() - 2 * 3600
    for path in (idle, idle / "run.json", idle / "final"):
        os.utime(path, (hour_ago, hour_ago))
    busy = make_run(runs_dir() / "local-busy", DEFAULT_MODEL)
    (runs_dir() / "notes").mkdir()  # not a run folder: never touched

    expected = {
        f"runs/{gone_job.id}": "model deleted",
        f"runs/{cancelled.id}": "job cancelled",
        f"runs/{orphan.name}": "no such job",
        "runs/local-idle": "unregistered run",
    }
    dry = registry.collect_garbage(store, dry_run=True)
    assert {r["path"]: r["reason"] for r in dry["removed"]} == expected
    assert dry["dry_run"] and dry["bytes"] == sum(r["bytes"] for r in dry["removed"]) > 0
    assert (runs_dir() / gone_job.id).is_dir()  # a dry run removes nothing

    done = registry.collect_garbage(store)
    assert {r["path"] for r in done["removed"]} == set(expected)
    left = {p.name for p in runs_dir().iterdir()}
    assert left == {live_job.id, aliased.id, running.id, busy.name, "notes"}
    assert registry.resolve_model_id(store, live)["adapter_dir"].is_dir()
    assert registry.collect_garbage(store)["removed"] == []


# ---------------------------------------------------------------- local runs


def test_register_run_gives_local_runs_an_id_and_a_parent(store, tmp_path):
    first = make_run(tmp_path / "a" / "demo-1", DEFAULT_MODEL)
    model_id = registry.register_run(store, first)
    assert model_id == f"ft:{DEFAULT_MODEL}:demo:run-demo-1"
    assert registry.register_run(store, first) == model_id  # again: the same version
    other = make_run(tmp_path / "b" / "demo-1", DEFAULT_MODEL)  # same folder name elsewhere
    other_id = registry.register_run(store, other)
    assert re.fullmatch(re.escape(model_id) + r"-[0-9a-f]{8}", other_id)

    child = make_run(tmp_path / "child run", str(first / "final"))  # trained on a's result
    child_id = registry.register_run(store, child)
    assert child_id == f"ft:{DEFAULT_MODEL}:demo:run-child-run"
    shown = registry.get_model(store, child_id)
    assert shown["parent"] == model_id and shown["job_id"] is None
    assert shown["training_file"] == {"id": None, "sha256": "ab" * 32}
    assert [s["id"] for s in shown["lineage"]] == [DEFAULT_MODEL, model_id, child_id]
    assert error_of(lambda: registry.register_run(store, tmp_path)).code == "model_not_found"


# ---------------------------------------------------------------- the CLI on the local store


def test_cli_models_commands_on_the_local_store(store, capsys):
    v1, job = add_version(store, "v1")
    v2, _ = add_version(store, "v2", parent=v1)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert DEFAULT_MODEL in out.splitlines()[1]  # the bases come first
    versions = out[out.index("fine-tuned versions") :].splitlines()
    assert versions[1].split()[:3] == ["id", "parent", "method"]
    assert versions[2].split()[:2] == [v2, v1] and versions[3].startswith(v1)
    assert "validation_loss" not in out and "validation loss 3.2500 -> 1.5000" in out

    assert main(["models", "alias", "set", "prod", v1]) == 0
    assert capsys.readouterr().out.strip() == f"prod -> {v1}"
    assert main(["models", "alias", "set", "prod", v2, "--note", "v2 wins"]) == 0
    assert capsys.readouterr().out.strip() == f"prod -> {v2} (rollback: {v1})"
    assert main(["models", "alias", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"prod -> {v2} (rollback: {v1})"
    assert re.match(
        rf"  \S+ \S+  set\s+{re.escape(v2)} \(was {re.escape(v1)}\)  # v2 wins", lines[1]
    )
    assert main(["models", "alias", "rollback", "prod"]) == 0
    assert capsys.readouterr().out.strip() == f"prod -> {v1}"
    assert main(["models", "show", "prod", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == v1

    assert main(["models", "delete", v1]) == 2
    err = capsys.readouterr().err
    assert "error [model_in_use]" in err and v2 in err and "prod" in err
    assert main(["models", "delete", v1, "--force"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"deleted {v1}" and f"runs/{job.id}/final" in out[1]
    assert out[2] == "aliases removed: prod"
    assert main(["models", "gc", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"would remove runs/{job.id} ({_size(job)}, model deleted)",
        f"would remove 1 run folder(s), {_size(job)}",
    ]
    assert main(["models", "gc"]) == 0 and not Path(job.run_dir).exists()


def _size(job) -> str:
    from tunelab.cli.models import format_bytes
    from tunelab.jobs.records import tree_size

    return format_bytes(tree_size(Path(job.run_dir)))


def test_a_database_from_before_the_registry_upgrades_in_place(tmp_path, monkeypatch):
    from sqlalchemy import text

    from tunelab.store import migrations
    from tunelab.store.db import Store, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with monkeypatch.context() as patched:  # the database as the release before made it
        patched.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
        assert migrations.migrate(engine) == ["m001_initial"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO models (id, base, created_at, deleted) "
                "VALUES ('ft:tiny:old:ftjob-1', 'tiny', 1767225600, 0)"
            )
        )
    assert migrations.migrate(engine) == ["m002_model_registry", "m003_feedback"]
    old = registry.get_model(Store(engine), "ft:tiny:old:ftjob-1")
    assert old["parent"] is None and old["metrics"] == [] and old["lineage"][0]["id"] == "tiny"
    aliases.set_alias(Store(engine), "legacy", "ft:tiny:old:ftjob-1")
    engine.dispose()


FORGOT = [  # eval.forgetting rows as a run's report.json holds them
    {
        "task": "v1: test",
        "metric": "accuracy",
        "parent": 0.95,
        "new": 0.6,
        "change": -0.35,
        "threshold": 0.1,
        "over": True,
    },
    {
        "task": "retention (general ability)",
        "metric": "loss",
        "parent": 3.5,
        "new": 3.52,
        "change": 0.02,
        "threshold": 0.25,
        "over": False,
    },
]


def test_the_promotion_gate_refuses_a_version_that_forgot_unless_forced(store, capsys):
    v1, _ = add_version(store, "v1")
    v2, job = add_version(store, "v2", parent=v1)
    report = Path(job.run_dir) / "report.json"
    report.write_text(json.dumps(json.loads(report.read_text()) | {"forgetting": FORGOT}))
    registry.register_model(
        store, v2, job_id=job.id, base=DEFAULT_MODEL, run_dir=Path(job.run_dir), parent=v1
    )  # registered again: the record now holds the forgetting table
    assert main(["models", "show", v2]) == 0
    shown = capsys.readouterr().out
    assert "forgetting: task" in shown and re.search(r"v1: test\s+accuracy.*-0\.3500\s+OVER", shown)
    aliases.set_alias(store, "production", v1)
    refused = error_of(lambda: aliases.set_alias(store, "production", v2))
    assert refused.code == "forgetting_gate" and refused.status_code == 409
    assert "v1: test: accuracy 95.0% -> 60.0% (down 35.0 points; threshold 10.0)" in refused.message
    assert "retention" not in refused.message  # only what is over
    assert aliases.get_alias(store, "production")["model"] == v1  # not moved
    assert main(["models", "alias", "set", "production", v2]) == 2
    assert "error [forgetting_gate]" in capsys.readouterr().err
    assert main(["models", "alias", "set", "production", v2, "--force", "--note", "hotfix"]) == 0
    event = aliases.get_alias(store, "production")["history"][0]
    assert (event["model"], event["forced"], event["note"]) == (v2, True, "hotfix")
    aliases.set_alias(store, "staging", v1)  # a version without a table passes
