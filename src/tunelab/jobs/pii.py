"""A job's PII policy, applied by the worker to the job's files before training.

``off``: no scan. ``report``: scan, record counts per type and line numbers. ``redact``: the job
trains on a scrubbed copy of each file (typed placeholders, the same value -> the same
placeholder within the file; the upload itself is untouched). ``block``: the job fails with
``pii_found``, naming the file, types and lines. What was found (never the values) is written to
the run's ``data/privacy.json``, shown as a job event and recorded with the model version.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tunelab.errors import TunelabError
from tunelab.settings import runs_dir
from tunelab.store.atomic import atomic_path, write_json_atomic
from tunelab.store.tables import Job

SUMMARY = "privacy.json"  # in the run's data/ folder
MAX_LINES_SHOWN = 10
log = logging.getLogger("tunelab.privacy")


def job_pii_policy(job: Job) -> str:
    """The policy the job was created with; jobs recorded before policies existed: off."""
    return (job.method or {}).get("pii_policy", "off")


def apply_pii_policy(job: Job, files: dict[str, Path | None]) -> tuple[dict | None, str]:
    """(error or None, one-line summary) after scanning (and for ``redact`` scrubbing, in place:
    the run's links to the uploads are replaced, the uploads keep their bytes) the job's linked
    data files. Done once: a summary already written means the files are as it says."""
    present = {role: path for role, path in files.items() if path is not None}
    if not present:
        return None, ""
    folder = next(iter(present.values())).parent
    error, text = apply_policy(job_pii_policy(job), present, present, folder / SUMMARY)
    if error:
        error["message"] = error["message"].format(name=getattr(job, error["param"]))
    return error, text


def apply_policy(
    policy: str, files: dict[str, Path], targets: dict[str, Path], summary_path: Path
) -> tuple[dict | None, str]:
    """The one policy step of jobs and local runs: scan ``files`` (role -> path); for
    ``redact`` write each scrubbed file to ``targets[role]`` (which may be the file itself).
    Returns (error or None, one-line summary); the summary (never values) is kept at
    ``summary_path`` so a resume does not scan again. An error's message holds ``{name}`` for
    the caller to fill with the file's name."""
    if policy == "off" or not files:
        return None, ""
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    else:
        summary = {"policy": policy, "files": scan_files(files, policy, targets)}
        if policy != "block":  # a blocked run has nothing to resume
            write_json_atomic(summary_path, summary)
    found = {role: r for role, r in summary["files"].items() if r["counts"]}
    if policy == "block" and found:
        role, report = next(iter(found.items()))
        return {
            "code": "pii_found",
            "message": f"The {role} {{name}} holds personal data ({describe(report)}); "
            "the privacy policy is block. Scrub it (tunelab data scrub) or choose "
            "privacy.pii redact.",
            "param": role,
        }, ""
    text = "; ".join(f"{role}: {describe(r) or 'no PII'}" for role, r in summary["files"].items())
    return None, f"privacy scan ({policy}): {text}"


def scan_files(files: dict[str, Path], policy: str, targets: dict[str, Path]) -> dict[str, dict]:
    from tunelab.data.privacy import scan_file, scrub_file

    reports = {}
    for role, path in files.items():
        if policy == "redact":
            with atomic_path(targets[role]) as tmp:  # replaces a link; its target keeps its bytes
                report = scrub_file(path, tmp, policy="redact")
        else:
            report = scan_file(path, policy="report")
        reports[role] = report.to_dict()
    return reports


def apply_to_config(config) -> tuple[object, dict | None]:
    """``privacy.pii`` of a local run (``tunelab train``), before it starts: the same step as a
    job's. Returns (config, summary or None). ``redact``'s config has its training and
    validation files replaced by scrubbed copies under ``output_dir/scrubbed/`` (the user's
    files are never written); ``block`` raises ``pii_found`` naming the file, types and lines."""
    import hashlib

    policy = getattr(getattr(config, "privacy", None), "pii", "off")  # a method without it
    roles = ("train_file", "validation_file")
    files = {role: Path(path) for role in roles if (path := getattr(config, role, None))}
    if policy == "off" or not files:
        return config, None
    digest = hashlib.sha256(policy.encode())
    for role, path in files.items():
        digest.update(f"{role}:{path.name}:".encode() + hashlib.sha256(path.read_bytes()).digest())
    root = Path(config.output_dir) if config.output_dir else runs_dir()
    folder = root / "scrubbed" / digest.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    targets = {role: folder / f"{role}-{path.name}" for role, path in files.items()}
    error, text = apply_policy(policy, files, targets, folder / SUMMARY)
    if error:
        raise TunelabError(
            error["message"].format(name=files[error["param"]]),
            code=error["code"],
            param=error["param"],
        )
    log.info("%s", text)
    summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    if policy == "redact":
        config = config.model_copy(update={role: str(path) for role, path in targets.items()})
    return config, summary


def keep_summary(run_dir: Path, summary: dict | None) -> None:
    """A local run's summary where a job's is (``data/privacy.json``), for the registry."""
    if summary is not None:
        (Path(run_dir) / "data").mkdir(exist_ok=True)
        write_json_atomic(Path(run_dir) / "data" / SUMMARY, summary)


def describe(report: dict) -> str:
    """``EMAIL 3 (lines 2, 5, 9), PERSON 1 (line 4)``: types, counts and lines, never values."""
    parts = []
    for kind, count in sorted(report["counts"].items()):
        lines = report.get("lines", {}).get(kind, [])
        shown = ", ".join(str(n) for n in lines[:MAX_LINES_SHOWN])
        more = f" and {len(lines) - MAX_LINES_SHOWN} more" if len(lines) > MAX_LINES_SHOWN else ""
        word = "line" if len(lines) == 1 else "lines"
        parts.append(f"{kind} {count} ({word} {shown}{more})" if lines else f"{kind} {count}")
    return ", ".join(parts)


def read_summary(run_dir: Path) -> dict | None:
    """The run's privacy summary (policy, per-file counts and lines), if a job wrote one."""
    path = Path(run_dir) / "data" / SUMMARY
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def scan_upload(store, file_id: str) -> dict:
    """The privacy report of an uploaded file (``policy`` report: counts per type, lines)."""
    import os
    import tempfile

    from tunelab.data.privacy import scan_file
    from tunelab.jobs.files import file_content_path, get_file, upload_suffix

    row = get_file(store, file_id)
    source = file_content_path(store, file_id)
    with tempfile.TemporaryDirectory(prefix=".scan-") as folder:
        named = Path(folder) / f"upload{upload_suffix(row.filename)}"  # the reader goes by suffix
        try:
            os.link(source, named)
        except OSError:
            named.symlink_to(source)
        return scan_file(named, policy="report").to_dict()
