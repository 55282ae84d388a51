"""``tunelab files list|show|upload|delete``: uploaded files on the server at ``TUNELAB_URL``."""

from __future__ import annotations

from pathlib import Path

from tunelab.cli.client import Client, format_table, format_time, path_part, print_json
from tunelab.errors import TunelabError

HEADER = ("id", "bytes", "created", "purpose", "filename")


def register(sub) -> None:
    parser = sub.add_parser("files", help="Uploaded files on the tunelab server (TUNELAB_URL).")
    inner = parser.add_subparsers(dest="files_command", required=True, metavar="ACTION")
    ls = inner.add_parser("list", help="Show uploaded files, newest first.")
    ls.set_defaults(func=list_command)
    show = inner.add_parser("show", help="Show one file's metadata.")
    show.add_argument("file_id", metavar="FILE", help="File id (file-...).")
    show.set_defaults(func=show_command)
    upload = inner.add_parser("upload", help="Upload a JSONL training file.")
    upload.add_argument("path", type=Path, metavar="PATH", help="The file to upload.")
    upload.add_argument(
        "--purpose", default="fine-tune", help="File purpose (default and only: fine-tune)."
    )
    upload.set_defaults(func=upload_command)
    delete = inner.add_parser("delete", help="Delete a file and its stored bytes.")
    delete.add_argument("file_id", metavar="FILE", help="File id (file-...).")
    delete.add_argument(
        "--cascade",
        action="store_true",
        help="Also delete every job that trained on it, the versions they made and their "
        "descendants, and their run folders.",
    )
    delete.set_defaults(func=delete_command)
    for action in (ls, show, upload, delete):
        action.add_argument("--json", action="store_true", help="Print the server's raw JSON.")


def print_files(files: list[dict]) -> None:
    rows = [
        (f["id"], f["bytes"], format_time(f.get("created_at")), f["purpose"], f["filename"])
        for f in files
    ]
    print(format_table(rows, HEADER))


def list_command(args) -> int:
    with Client() as client:
        page = client.get("/v1/files")
    if args.json:
        print_json(page)
    elif not page["data"]:
        print("no files; upload one with `tunelab files upload PATH`")
    else:
        print_files(page["data"])
    return 0


def show_command(args) -> int:
    with Client() as client:
        file = client.get(f"/v1/files/{path_part(args.file_id)}")
    print_json(file) if args.json else print_files([file])
    return 0


def upload_command(args) -> int:
    if not args.path.is_file():
        raise TunelabError(f"{args.path}: no such file", code="file_not_found", param="path")
    with Client() as client:
        file = client.upload(args.path, args.purpose)
    print_json(file) if args.json else print_files([file])
    return 0


def delete_command(args) -> int:
    query = "?cascade=true" if args.cascade else ""
    with Client() as client:
        result = client.delete(f"/v1/files/{path_part(args.file_id)}{query}")
    if args.json:
        print_json(result)
        return 0
    print(f"deleted {result['id']}")
    for kind in ("jobs", "models"):
        for item in result.get(kind, []):
            print(f"deleted {item}")
    removed = result.get("removed")
    if removed:
        print(f"removed {removed['bytes']} bytes: {', '.join(removed['paths']) or 'nothing'}")
    return 0
