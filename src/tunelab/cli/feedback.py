"""``tunelab feedback list|show|export|delete``: users' feedback on served completions.

Like ``tunelab models``, the commands talk to the server at ``TUNELAB_URL`` when it is set
(with ``TUNELAB_API_KEY``), else to the local store (``TUNELAB_DATABASE_URL`` or SQLite in the
tunelab home), through the same library functions, and print the same. Against a server,
``export`` also leaves the file on the server as an uploaded dataset and prints its id.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from tunelab.cli.client import Client, format_table, format_time, path_part, print_json
from tunelab.errors import TunelabError

HEADER = ("id", "kind", "rating", "model", "created", "tags")


def register(sub) -> None:
    parser = sub.add_parser("feedback", help="Users' ratings, corrections and comparisons.")
    inner = parser.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")
    ls = inner.add_parser("list", help="Show feedback, newest first.")
    ls.add_argument("--model", help="Only feedback on this model id (as asked or concrete).")
    ls.add_argument("--rating", choices=("up", "down"), help="Only this rating.")
    ls.add_argument("--kind", choices=("rating", "correction", "comparison"), help="Only this.")
    ls.add_argument("--tag", help="Only feedback with this tag.")
    ls.add_argument("--limit", type=int, default=20, help="At most this many (1-100; 20).")
    ls.add_argument("--after", metavar="ID", help="The page after this feedback id.")
    show = inner.add_parser("show", help="Show one feedback with its prompt and outputs.")
    show.add_argument("feedback_id", metavar="ID", help="Feedback id (feedback-...).")
    export = inner.add_parser("export", help="Write the feedback as a DPO or KTO file.")
    export.add_argument("-o", "--output", type=Path, required=True, help="The JSONL to write.")
    export.add_argument("--kind", choices=("dpo", "kto"), default="dpo", help="Default dpo.")
    export.add_argument(
        "--policy",
        choices=("off", "report", "redact", "block"),
        default="redact",
        help="PII policy for the exported text (default redact).",
    )
    export.add_argument("--model", help="Only feedback on this model id.")
    delete = inner.add_parser("delete", help="Delete one feedback.")
    delete.add_argument("feedback_id", metavar="ID", help="Feedback id (feedback-...).")
    prune = inner.add_parser(
        "prune-completions",
        help="Delete stored chat completions now (local store): those the retention setting "
        "would delete, or all of them. Feedback keeps its own copy.",
    )
    prune.add_argument("--all", action="store_true", help="Delete every stored completion.")
    for action in (ls, export):
        action.add_argument("--since", type=timestamp, help="Given at or after (unix s or date).")
        action.add_argument("--until", type=timestamp, help="Given before (unix s or date).")
    for action, func in (
        (ls, list_command),
        (show, show_command),
        (export, export_command),
        (delete, delete_command),
        (prune, prune_command),
    ):
        action.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
        action.set_defaults(func=func)


def timestamp(text: str) -> int:
    """Unix seconds, or a local date / date and time (``2025-01-31``, ``2025-01-31T12:00``)."""
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except ValueError:
        raise ValueError(f"not unix seconds or an ISO date: {text!r}") from None


class RemoteFeedback:
    """The feedback on the server at ``TUNELAB_URL``."""

    def __init__(self):
        self.client = Client()

    def list(self, **filters) -> dict:
        return self.client.get("/v1/feedback", **filters)

    def get(self, feedback_id: str) -> dict:
        return self.client.get(f"/v1/feedback/{path_part(feedback_id)}")

    def delete(self, feedback_id: str) -> dict:
        return self.client.delete(f"/v1/feedback/{path_part(feedback_id)}")

    def export(self, out: Path, **options) -> dict:
        body = {k: v for k, v in options.items() if v is not None}
        result = self.client.post("/v1/feedback/export", json=body)
        response = self.client.http.get(f"/v1/files/{path_part(result['id'])}/content")
        if not response.is_success:
            raise TunelabError(f"cannot download {result['id']}", code="download_failed")
        from tunelab.store.atomic import write_bytes_atomic

        write_bytes_atomic(out, response.content)
        return result["export"] | {"file_id": result["id"]}

    def close(self) -> None:
        self.client.close()


class LocalFeedback:
    """The feedback in the local store, through the functions the server calls."""

    def __init__(self):
        from tunelab.cli.refs import open_local_store
        from tunelab.jobs import feedback

        self.feedback = feedback
        self.store = open_local_store()

    def list(self, *, after=None, limit=20, **filters) -> dict:
        where = self.feedback.FeedbackFilter(**filters)
        page = self.feedback.list_feedback(self.store, where, after=after, limit=limit)
        data = [self.feedback.feedback_object(row) for row in page.data]
        ends = {"first_id": data[0]["id"], "last_id": data[-1]["id"]} if data else {}
        return (
            {"object": "list", "data": data, "has_more": page.has_more}
            | {
                "first_id": None,
                "last_id": None,
            }
            | ends
        )

    def get(self, feedback_id: str) -> dict:
        return self.feedback.feedback_object(self.feedback.get_feedback(self.store, feedback_id))

    def delete(self, feedback_id: str) -> dict:
        return self.feedback.delete_feedback(self.store, feedback_id)

    def export(self, out: Path, **options) -> dict:
        return self.feedback.export_feedback(self.store, out, **options)

    def close(self) -> None:
        self.store.dispose()


def call(method: str, *args, **kwargs):
    found = RemoteFeedback() if os.environ.get("TUNELAB_URL") else LocalFeedback()
    try:
        return getattr(found, method)(*args, **kwargs)
    finally:
        found.close()


def list_command(args) -> int:
    filters = {k: getattr(args, k) for k in ("model", "rating", "kind", "tag", "since", "until")}
    page = call("list", after=args.after, limit=args.limit, **filters)
    if args.json:
        print_json(page)
    elif not page["data"]:
        print("no feedback yet")
    else:
        print(format_table([_row(f) for f in page["data"]], HEADER))
        if page["has_more"]:
            print(f"more: --after {page['data'][-1]['id']}")
    return 0


def _row(item: dict) -> tuple:
    if item["kind"] == "comparison":
        models = {item["preferred"]["model_version"], item["rejected"]["model_version"]}
        model = " vs ".join(sorted(models))
    else:
        model = item["completion"]["model_version"]
    created = format_time(item["created_at"])
    return item["id"], item["kind"], item["rating"], model, created, ",".join(item["tags"])


def show_command(args) -> int:
    item = call("get", args.feedback_id)
    if args.json:
        print_json(item)
        return 0
    print(f"{item['id']}  {item['kind']}  {format_time(item['created_at'])}")
    for message in item["messages"]:
        print(f"  [{message['role']}] {message['content']}")
    if item["kind"] == "comparison":
        for side in ("preferred", "rejected"):
            part = item[side]
            print(f"{side} {part['id']} ({part['model_version']}):\n  {part['output']}")
    else:
        part = item["completion"]
        print(f"rating {item['rating']} on {part['id']} ({part['model_version']}):")
        print(f"  {part['output']}")
        if item["correction"] is not None:
            print(f"correction:\n  {item['correction']}")
    for key in ("comment", "tags"):
        if item[key]:
            print(f"{key}: {item[key] if key == 'comment' else ', '.join(item[key])}")
    return 0


def export_command(args) -> int:
    options = {"kind": args.kind, "policy": args.policy, "model": args.model}
    summary = call("export", args.output, **options, since=args.since, until=args.until)
    if args.json:
        print_json(summary)
        return 0
    print(f"wrote {summary['rows']} {summary['kind']} row(s) to {args.output}")
    if summary["kind"] == "kto":
        print(f"  desirable {summary['desirable']}, undesirable {summary['undesirable']}")
    print(
        f"dropped: {summary['duplicates']} duplicate(s), {summary['near_duplicates']} near "
        f"duplicate(s), {summary['contradictions']} contradiction(s)"
    )
    if summary["ratings_not_used"]:
        print(
            f"  {summary['ratings_not_used']} rating(s) not used (DPO needs pairs; try --kind kto)"
        )
    counts = summary["pii"]["counts"]
    found = ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
    print(f"personal data ({summary['policy']}): {found}")
    if summary.get("file_id"):
        print(f"uploaded as {summary['file_id']}")
    return 0


def delete_command(args) -> int:
    result = call("delete", args.feedback_id)
    print_json(result) if args.json else print(f"deleted {result['id']}")
    return 0


def prune_command(args) -> int:
    from tunelab.cli.refs import open_local_store
    from tunelab.jobs.completions import prune_completions
    from tunelab.settings import CompletionRetention, completion_retention

    retention = CompletionRetention(enabled=False) if args.all else completion_retention()
    store = open_local_store()
    try:
        removed = prune_completions(store, retention)
    finally:
        store.dispose()
    print_json({"deleted": removed}) if args.json else print(f"deleted {removed} completion(s)")
    return 0
