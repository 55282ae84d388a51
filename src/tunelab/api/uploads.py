"""Limits that keep slow uploads from starving the other routes.

An upload is parsed and written in a worker thread (the multipart parser and the file writes are
blocking), and that thread waits while the client sends. Without limits a few dozen clients that
trickle bytes hold every thread of the pool, and ``/health``, listings and chat (all of which need
a thread too) stop answering. Two limits bound that:

- ``UploadSlots``: at most ``max_concurrent_uploads`` uploads hold a thread; one more is answered
  ``429 too_many_uploads`` at once, before a thread is taken or its body read. Refusing rather than
  queueing keeps a waiting client from holding a connection with nothing to show for it, and the
  openai SDK retries a 429 by itself.
- ``chunk_puller``'s read timeout: a client that sends nothing for ``upload_read_timeout_s`` gets
  ``408 upload_timeout``; its temp file is removed as for any failed upload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

import anyio
from anyio import from_thread
from starlette.requests import ClientDisconnect

from tunelab.errors import TunelabError

MAX_CONCURRENT_UPLOADS = 8  # of the 40 threads in anyio's default pool
UPLOAD_READ_TIMEOUT_S = 30.0


class UploadLimitError(TunelabError):
    """A ``TunelabError`` with its own HTTP status; the body is unread, so close the connection."""

    def __init__(self, message: str, *, code: str, status_code: int, headers: dict | None = None):
        super().__init__(message, code=code, param="file")
        self.status_code = status_code
        self.headers = {"Connection": "close", **(headers or {})}


class UploadSlots:
    """A count of uploads in progress. Only touched from the event loop, so no lock: the route
    takes a slot before it hands the upload to a thread."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError("max_concurrent_uploads must be at least 1")
        self.limit = limit
        self.active = 0

    @contextmanager
    def take(self) -> Iterator[None]:
        if self.active >= self.limit:
            message = f"{self.limit} uploads are already in progress; retry in a moment."
            raise UploadLimitError(
                message, code="too_many_uploads", status_code=429, headers={"Retry-After": "1"}
            )
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1


def chunk_puller(stream: AsyncIterator[bytes], timeout_s: float) -> Callable[[], bytes | None]:
    """A blocking ``next chunk or None`` over the request stream, for use from a worker thread;
    ``upload_timeout`` (408) when no chunk comes within ``timeout_s``."""

    async def next_chunk() -> bytes | None:
        try:
            with anyio.fail_after(timeout_s):
                return await stream.__anext__()
        except StopAsyncIteration:
            return None
        except TimeoutError:
            message = f"No upload data arrived for {timeout_s:g} seconds."
            raise UploadLimitError(message, code="upload_timeout", status_code=408) from None
        except ClientDisconnect:
            message = "The client disconnected during the upload."
            raise TunelabError(message, code="client_disconnected", param="file") from None

    return lambda: from_thread.run(next_chunk)
