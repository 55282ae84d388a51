"""Options that ``tunelab serve`` and ``tunelab worker`` share: the database, the device, and
where secrets come from.

A database URL may carry a password and an API key is a password: anything on a command line is
readable by every user of the machine (``/proc/*/cmdline``, ``ps``). Both therefore also come from
the environment (``TUNELAB_DATABASE_URL``, ``TUNELAB_API_KEYS``) or from a file only their owner
can read (``--database-url-file``, ``--api-key-file``); given as arguments they still work but
draw a warning. Child processes get them through the environment, never their arguments.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from tunelab.errors import TunelabError

log = logging.getLogger(__name__)
DATABASE_URL_ENV = "TUNELAB_DATABASE_URL"
API_KEYS_ENV = "TUNELAB_API_KEYS"


def add_database_options(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--database-url",
        metavar="URL",
        help="sqlite:///PATH or postgresql://... (default: $TUNELAB_DATABASE_URL, else SQLite "
        "in the tunelab home). A password here is visible in the process list: prefer the "
        "variable or --database-url-file.",
    )
    group.add_argument(
        "--database-url-file",
        metavar="PATH",
        type=Path,
        help="Read the database URL from this file (first line; keep it mode 0600).",
    )


def add_device_option(parser, what: str) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda", "mps"),
        help=f"Device {what} (default auto: cuda, then mps, then cpu).",
    )


def database_url_from(args) -> str:
    """The URL from ``--database-url-file``, ``--database-url``, ``$TUNELAB_DATABASE_URL`` or the
    default SQLite file, in that order."""
    from tunelab.store.db import default_url

    if args.database_url_file is not None:
        url = read_secret_file(args.database_url_file, "--database-url-file").splitlines()[0]
    elif args.database_url:
        url = args.database_url
        if _has_password(url):
            log.warning(
                "warning: the password in --database-url is visible to every user of this "
                "machine in the process list; use %s or --database-url-file instead",
                DATABASE_URL_ENV,
            )
    else:
        url = os.environ.get(DATABASE_URL_ENV) or default_url()
    return url.strip()


def api_keys_from(args) -> list[str]:
    """``--api-key`` values, ``--api-key-file`` lines and ``$TUNELAB_API_KEYS`` (comma-separated),
    blanks dropped."""
    keys = list(getattr(args, "api_keys", None) or [])
    if keys:
        log.warning(
            "warning: --api-key is visible to every user of this machine in the process list; "
            "use %s or --api-key-file instead",
            API_KEYS_ENV,
        )
    key_file = getattr(args, "api_key_file", None)
    if key_file is not None:
        keys += read_secret_file(key_file, "--api-key-file").splitlines()
    keys += os.environ.get(API_KEYS_ENV, "").split(",")
    return [k.strip() for k in keys if k.strip()]


def read_secret_file(path: Path, option: str) -> str:
    """The text of a secrets file; a warning when others may read it, an error when unreadable."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise TunelabError(
            f"{option} {path}: {reason}", code="invalid_secret_file", param=option
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("warning: %s %s is readable by others; chmod 600 it", option, path)
    if not text.strip():
        raise TunelabError(f"{option} {path} is empty", code="invalid_secret_file", param=option)
    return text.strip()


def resolve_device(choice: str) -> str:
    if choice != "auto":
        return choice
    from tunelab.train.setup import pick_device  # only here: the CLI imports without torch

    return pick_device(choice)


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return bool(make_url(url).password)
    except Exception:  # not a URL SQLAlchemy understands: open_store will say so
        return False
