"""A job's PII policy, applied by the worker to the job's files before training.

``off``: no scan. ``report``: scan, record counts per type and line numbers. ``redact``: the job
trains on a scrubbed copy of each file (typed placeholders, the same value -> the same
placeholder within the file; the upload itself is untouched). ``block``: the job fails with
``pii_found``, naming the file, types and lines. What was found (never the values) is written to
the run's ``data/privacy.json``, shown as a job event and recorded with the model version.
"""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.store.atomic import atomic_path, write_json_atomic
from tunelab.store.tables import Job

SUMMARY = "privacy.json"  # in the run's data/ folder
MAX_LINES_SHOWN = 10


def job_pii_policy(job: Job) -> str:
    """The policy the job was created with; jobs recorded before policies existed: off."""
    return (job.method or {}).get("pii_policy", "off")


def apply_pii_policy(job: Job, files: dict[str, Path | None]) -> tuple[dict | None, str]:
    """(error or None, one-line summary) after scanning (and for ``redact`` scrubbing) the job's
    linked data files. Done once: a summary already written means the files are as it says."""
    policy = job_pii_policy(job)
    present = {role: path for role, path in files.items() if path is not None}
    if policy == "off" or not present:
        return None, ""
    summary_path = next(iter(present.values())).parent / SUMMARY
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    else:
        summary = {"policy": policy, "files": scan_files(present, policy)}
        if policy != "block":  # a blocked job has nothing to resume
            write_json_atomic(summary_path, summary)
    found = {role: r for role, r in summary["files"].items() if r["counts"]}
    if policy == "block" and found:
        role, report = next(iter(found.items()))
        return {
            "code": "pii_found",
            "message": f"The {role} {getattr(job, role)} holds personal data ({describe(report)}); "
            "the job's privacy policy is block. Scrub it (tunelab data scrub) or choose "
            "privacy.pii redact.",
            "param": role,
        }, ""
    text = "; ".join(f"{role}: {describe(r) or 'no PII'}" for role, r in summary["files"].items())
    return None, f"privacy scan ({policy}): {text}"


def scan_files(files: dict[str, Path], policy: str) -> dict[str, dict]:
    from tunelab.data.privacy import scan_file, scrub_file

    reports = {}
    for role, path in files.items():
        if policy == "redact":
            with atomic_path(path) as tmp:  # replaces the link; the upload keeps its bytes
                report = scrub_file(path, tmp, policy="redact")
        else:
            report = scan_file(path, policy="report")
        reports[role] = report.to_dict()
    return reports


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
