"""``tunelab jobs list|show|events|cancel|create``: fine-tuning jobs on the server at
``TUNELAB_URL``."""

from __future__ import annotations

from tunelab.cli.client import Client, format_table, format_time, path_part, print_json
from tunelab.errors import ConfigError

HEADER = ("id", "status", "model", "fine_tuned_model", "created", "finished")


def register(sub) -> None:
    parser = sub.add_parser("jobs", help="Fine-tuning jobs on the tunelab server (TUNELAB_URL).")
    inner = parser.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    ls = inner.add_parser("list", help="Show jobs, newest first.")
    show = inner.add_parser("show", help="Show one job: status, model, result, error.")
    events = inner.add_parser("events", help="Show a job's events (messages and metrics).")
    cancel = inner.add_parser("cancel", help="Cancel a job (a running one stops within seconds).")
    create = inner.add_parser("create", help="Create a fine-tuning job from an uploaded file.")
    for action in (ls, events):
        action.add_argument("--limit", type=int, default=20, help="How many (1-100, default 20).")
        action.add_argument("--after", metavar="ID", help="Continue after this id (paging).")
    for action in (show, events, cancel):
        action.add_argument("job_id", metavar="JOB", help="Job id (ftjob-...).")
    create.add_argument("--model", required=True, help="Base model, e.g. smollm2-135m-instruct.")
    create.add_argument("--training-file", required=True, metavar="FILE", help="File id.")
    create.add_argument("--validation-file", metavar="FILE", help="File id for validation.")
    create.add_argument("--suffix", help="Added to the fine-tuned model id.")
    create.add_argument("--seed", type=int, help="Random seed.")
    create.add_argument("--n-epochs", metavar="N", help="Epochs, or auto (default).")
    for action, func in (
        (ls, list_command),
        (show, show_command),
        (events, events_command),
        (cancel, cancel_command),
        (create, create_command),
    ):
        action.add_argument("--json", action="store_true", help="Print the server's raw JSON.")
        action.set_defaults(func=func)


def print_jobs(jobs: list[dict]) -> None:
    rows = [
        (
            j["id"],
            j["status"],
            j["model"],
            j.get("fine_tuned_model"),
            format_time(j.get("created_at")),
            format_time(j.get("finished_at")),
        )
        for j in jobs
    ]
    print(format_table(rows, HEADER))


def print_job(job: dict) -> None:
    error = job.get("error") or {}
    hyperparameters = job.get("hyperparameters") or {}
    lines = [
        ("id", job["id"]),
        ("status", job["status"]),
        ("model", job["model"]),
        ("training_file", job.get("training_file")),
        ("validation_file", job.get("validation_file")),
        ("hyperparameters", " ".join(f"{k}={v}" for k, v in hyperparameters.items())),
        ("suffix", job.get("suffix")),
        ("seed", job.get("seed")),
        ("fine_tuned_model", job.get("fine_tuned_model")),
        ("trained_tokens", job.get("trained_tokens")),
        ("created", format_time(job.get("created_at"))),
        ("finished", format_time(job.get("finished_at"))),
    ]
    if error.get("message"):
        where = f" ({error['param']})" if error.get("param") else ""
        lines.append(("error", f"[{error.get('code')}] {error['message']}{where}"))
    for key, value in lines:
        print(f"{key + ':':<18}{'-' if value in (None, '') else value}")


def list_command(args) -> int:
    with Client() as client:
        page = client.get("/v1/fine_tuning/jobs", limit=args.limit, after=args.after)
    if args.json:
        print_json(page)
        return 0
    if not page["data"]:
        print("no fine-tuning jobs")
        return 0
    print_jobs(page["data"])
    if page.get("has_more"):
        print(f"more: tunelab jobs list --after {page['data'][-1]['id']}")
    return 0


def show_command(args) -> int:
    with Client() as client:
        job = client.get(f"/v1/fine_tuning/jobs/{path_part(args.job_id)}")
    print_json(job) if args.json else print_job(job)
    return 0


def events_command(args) -> int:
    path = f"/v1/fine_tuning/jobs/{path_part(args.job_id)}/events"
    with Client() as client:
        page = client.get(path, limit=args.limit, after=args.after)
    if args.json:
        print_json(page)
        return 0
    # The server lists newest first (like OpenAI); a log reads better oldest first.
    rows = [(format_time(e.get("created_at")), e["level"], e["message"]) for e in page["data"]]
    print(format_table(rows[::-1], ("created", "level", "message")))
    if page.get("has_more"):
        print(f"older: tunelab jobs events {args.job_id} --after {page['data'][-1]['id']}")
    return 0


def cancel_command(args) -> int:
    with Client() as client:
        job = client.post(f"/v1/fine_tuning/jobs/{path_part(args.job_id)}/cancel")
    print_json(job) if args.json else print(f"{job['id']}: {job['status']}")
    return 0


def create_command(args) -> int:
    body: dict = {"model": args.model, "training_file": args.training_file}
    for key in ("validation_file", "suffix", "seed"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    if args.n_epochs is not None:
        epochs = args.n_epochs if args.n_epochs == "auto" else _int(args.n_epochs, "--n-epochs")
        body["hyperparameters"] = {"n_epochs": epochs}
    with Client() as client:
        job = client.post("/v1/fine_tuning/jobs", json=body)
    print_json(job) if args.json else print_job(job)
    return 0


def _int(value: str, flag: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{flag} must be a whole number or auto, got {value!r}") from None
