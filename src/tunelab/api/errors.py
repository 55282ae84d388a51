"""API errors in OpenAI's shape: ``{"error": {message, type, param, code}}`` for every route.

400 bad input (validation errors name the field as ``param``), 401 the auth codes, 404 codes that
end in ``not_found``, a ``status_code`` a ``TunelabError`` carries (409, 413, 429...), 500 for
anything unexpected, logged, never a stack trace or a server path in the body.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunelab.errors import TunelabError, hide_server_paths

log = logging.getLogger(__name__)
AUTH_CODES = {"invalid_api_key", "missing_api_key", "unauthorized"}


def error_body(message: str, code: str | None, param: str | None = None) -> dict:
    """The inner object of OpenAI's error envelope ``{"error": ...}``."""
    kind = "server_error" if code == "server_error" else "invalid_request_error"
    return {"message": message, "type": kind, "param": param, "code": code}


def error_response(
    status: int, message: str, *, code: str | None, param: str | None = None
) -> JSONResponse:
    """An error answered before a route runs (middleware): 401 asks for a bearer key, and a 401
    or 413 closes the connection rather than drain a body it will not read."""
    body = error_body(message, "server_error" if status >= 500 else code, param)
    body["code"] = code
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status in (401, 413):
        headers["Connection"] = "close"
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def error_status(error: TunelabError) -> int:
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return status
    if error.code in AUTH_CODES:
        return 401
    if error.code.endswith("not_found"):
        return 404
    return 400


def field_path(loc: tuple) -> str | None:
    """``("body", "messages", 0, "content")`` -> ``"messages[0].content"``."""
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or None


VALIDATION_CODES = {
    "missing": "missing_required_parameter",
    "extra_forbidden": "unknown_parameter",
    "json_invalid": "invalid_json",
}


async def handle_tunelab_error(request: Request, exc: TunelabError) -> JSONResponse:
    message = hide_server_paths(exc.message)
    if message != exc.message:  # e.g. a model folder named by a loader: the log keeps it
        log.info("%s on %s: %s", exc.code, request.url.path, exc.message)
    body = error_body(message, exc.code, exc.param)
    headers = getattr(exc, "headers", None)  # e.g. Retry-After on a 429
    return JSONResponse({"error": body}, status_code=error_status(exc), headers=headers)


async def handle_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": ()}
    param = field_path(tuple(first.get("loc", ())))
    if first.get("type") == "json_invalid":
        param = None
    message = f"{param}: {first['msg']}" if param else first["msg"]
    code = VALIDATION_CODES.get(first.get("type"), "invalid_value")
    return JSONResponse({"error": error_body(message, code, param)}, status_code=400)


async def handle_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
    body = error_body(hide_server_paths(str(exc.detail)), code)
    return JSONResponse({"error": body}, status_code=exc.status_code, headers=exc.headers)


async def handle_server_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    body = error_body("The server had an error while processing your request.", "server_error")
    return JSONResponse({"error": body}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": {message, type, param, code}}``: 400 bad input, 404 unknown
    model, 401 auth codes; validation errors name the field as ``param``; never a stack trace."""
    app.add_exception_handler(TunelabError, handle_tunelab_error)
    app.add_exception_handler(RequestValidationError, handle_request_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_server_error)


async def handle_request_validation_error(request: Request, exc: RequestValidationError):
    """Query and path parameters named as OpenAI does (``limit``, not ``query.limit``), body
    fields by their path in the body (``messages[0].content``)."""
    plain = ("query", "path", "header", "cookie")
    errors = [
        {**e, "loc": e["loc"][1:] if e.get("loc") and e["loc"][0] in plain else e.get("loc", ())}
        for e in exc.errors()
    ]
    return await handle_validation_error(request, RequestValidationError(errors))
