"""Files: ``POST /v1/files`` (multipart, streamed to disk), list, retrieve, delete, content.

The upload is parsed as it arrives, never spooled whole: the body is pulled chunk by chunk into
``files.create_file``, which writes under a server-generated key and stops at the size cap
(the temp file removed). The client's filename is display metadata only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from tunelab.api.deps import RequestTooLarge, check_id, get_store, list_object
from tunelab.api.uploads import chunk_puller
from tunelab.errors import TunelabError
from tunelab.jobs import files, shapes
from tunelab.jobs.cascade import delete_file_cascade
from tunelab.jobs.pii import scan_upload
from tunelab.jobs.queue import Page
from tunelab.store.db import Store

router = APIRouter(prefix="/v1/files")
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 16


def _file_id(file_id: str) -> str:
    return check_id(file_id, code="file_not_found", param="file_id", what="such file")


@router.post("")
async def create_file(request: Request) -> dict:
    """Upload a file (multipart fields ``file`` and ``purpose=fine-tune``)."""
    state = request.app.state
    with state.upload_slots.take():  # before the thread: over the cap, a 429 at once
        pull = chunk_puller(request.stream(), state.upload_read_timeout_s)
        reader = MultipartReader(request.headers.get("content-type", ""), pull)
        row = await run_in_threadpool(
            receive_upload, get_store(request), reader, state.max_upload_bytes
        )
    return shapes.file_to_openai(row)


@router.get("")
def list_files(
    request: Request,
    purpose: str | None = None,
    after: str | None = None,
    limit: int = Query(files.MAX_FILE_LIST, ge=1, le=files.MAX_FILE_LIST),
    order: Literal["asc", "desc"] = "desc",
) -> dict:
    """Uploaded files, newest first (``order=asc``: oldest first)."""
    if after is not None:
        after = check_id(after, code="invalid_cursor", param="after", what="file to list after")
    if purpose is not None and purpose not in files.FILE_PURPOSES:
        return list_object(Page([], False), shapes.file_to_openai)  # no file has it
    store = get_store(request)
    page = files.list_files(store, purpose=purpose, after=after, limit=limit, order=order)
    return list_object(page, shapes.file_to_openai)


@router.get("/{file_id}")
def retrieve_file(request: Request, file_id: str) -> dict:
    """One file's metadata."""
    return shapes.file_to_openai(files.get_file(get_store(request), _file_id(file_id)))


@router.delete("/{file_id}")
def delete_file(request: Request, file_id: str, cascade: bool = False) -> dict:
    """Delete a file's record and its stored bytes; ``?cascade=true``: and every job, version
    and run folder derived from it (``jobs.cascade``)."""
    if cascade:
        return delete_file_cascade(get_store(request), _file_id(file_id))
    row = files.delete_file(get_store(request), _file_id(file_id))
    return {"id": row.id, "object": "file", "deleted": True}


@router.get("/{file_id}/privacy")
def file_privacy(request: Request, file_id: str) -> dict:
    """tunelab's: PII found in the file, counts per type and line numbers (never the values)."""
    report = scan_upload(get_store(request), _file_id(file_id))
    return {"id": file_id, "object": "file.privacy", **report}


@router.get("/{file_id}/content")
def file_content(request: Request, file_id: str) -> FileResponse:
    """The file's bytes as uploaded (``application/octet-stream``)."""
    path = files.file_content_path(get_store(request), _file_id(file_id))
    return FileResponse(path, media_type="application/octet-stream")


def receive_upload(store: Store, reader: MultipartReader, max_bytes: int):
    """Runs in a worker thread: parse up to the file, stream it into the store, read the rest.

    ``purpose`` normally comes before the file (the openai SDK and curl examples send it first);
    if it comes after, the file is stored first and removed again when the purpose is wrong.
    """
    reader.read_until_file()
    early = reader.fields.get("purpose")
    try:
        row = files.create_file(
            store, reader.file_chunks(), reader.filename, early or "fine-tune", max_bytes
        )
    except TunelabError as exc:
        if exc.code == "file_too_large":
            raise RequestTooLarge(exc.message, code=exc.code, param="file") from None
        raise
    try:
        reader.read_rest()
        purpose = reader.fields.get("purpose")
        if purpose is None:
            raise TunelabError(
                "Missing required parameter: 'purpose'.",
                code="missing_required_parameter",
                param="purpose",
            )
        if purpose != row.purpose:
            raise TunelabError(
                f"purpose must be one of {', '.join(files.FILE_PURPOSES)}, not {purpose!r}.",
                code="invalid_purpose",
                param="purpose",
            )
    except BaseException:
        files.delete_file(store, row.id)
        raise
    return row


class MultipartReader:
    """A ``multipart/form-data`` body parsed as it is pulled: small text fields and one ``file``.

    Only the file part may be large; its bytes are handed out by ``file_chunks`` as they arrive.
    Header size and count are capped by the parser, text fields here.
    """

    def __init__(self, content_type: str, pull: Callable[[], bytes | None]):
        kind, params = parse_options_header(content_type)
        if kind != b"multipart/form-data" or not params.get(b"boundary"):
            raise TunelabError(
                "Upload files as multipart/form-data with fields 'file' and 'purpose'.",
                code="invalid_content_type",
                param="file",
            )
        self._pull = pull
        callbacks = {
            name: getattr(self, f"_{name}")
            for name in ("on_part_begin", "on_part_data", "on_part_end", "on_header_field")
            + ("on_header_value", "on_header_end", "on_headers_finished", "on_end")
        }
        self._parser = MultipartParser(params[b"boundary"], callbacks)
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self._pending: list[bytes] = []  # file bytes parsed, not yet handed out
        self._in_file = self._file_done = self._ended = self._eof = False
        self._headers: dict[bytes, bytes] = {}
        self._header = [b"", b""]
        self._name = ""
        self._value = bytearray()

    def read_until_file(self) -> None:
        while not (self._in_file or self._file_done or self._eof):
            self._feed()
        if self.filename is None:
            raise TunelabError(
                "Missing required parameter: 'file'.",
                code="missing_required_parameter",
                param="file",
            )

    def file_chunks(self) -> Iterator[bytes]:
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self._file_done:
                return
            self._feed()

    def read_rest(self) -> None:
        while not self._eof:
            self._feed()

    def _feed(self) -> None:
        chunk = self._pull()
        if chunk is None:
            self._eof = True
            if not self._ended:
                raise _bad("The multipart body ended before its closing boundary.")
            return
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise _bad(f"Malformed multipart body: {exc}") from None

    # python-multipart callbacks
    def _on_part_begin(self) -> None:
        self._headers, self._value = {}, bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header[0].lower()] = self._header[1]
        self._header = [b"", b""]

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = _decode(options.get(b"name", b""))
        if self._name == "file":
            if self.filename is not None:
                raise _bad("Send exactly one 'file' part.")
            self.filename = _decode(options.get(b"filename", b""))
            self._in_file = True
        elif b"filename" in options:
            raise _bad(f"Unexpected file field {self._name[:64]!r}; send the file as 'file'.")
        elif len(self.fields) >= MAX_FIELDS:
            raise _bad(f"Too many form fields (at most {MAX_FIELDS}).")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise _bad(f"Form field {self._name[:64]!r} is longer than {MAX_FIELD_BYTES} bytes.")

    def _on_part_end(self) -> None:
        if self._in_file:
            self._in_file, self._file_done = False, True
        else:
            self.fields[self._name] = _decode(bytes(self._value))

    def _on_end(self) -> None:
        self._ended = True


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _bad(message: str) -> TunelabError:
    return TunelabError(message, code="invalid_multipart", param="file")
