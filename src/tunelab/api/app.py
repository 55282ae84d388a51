"""``create_app``: the FastAPI app that ``tunelab serve`` runs and the tests drive.

It opens the store, includes one router per resource, turns every error into OpenAI's envelope
(``{"error": {"message", "type", "param", "code"}}``) and wraps the app in the Host/Origin,
API-key and body-size guards. The API process never trains: it writes rows that the workers pick
up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import State

from tunelab import __version__
from tunelab.api import errors
from tunelab.api.deps import AuthMiddleware, BodyLimitMiddleware, check_id
from tunelab.api.origin import HostOriginMiddleware
from tunelab.api.routes import aliases, chat, datasets, feedback, files, health, jobs, models
from tunelab.api.uploads import MAX_CONCURRENT_UPLOADS, UPLOAD_READ_TIMEOUT_S, UploadSlots
from tunelab.jobs import registry
from tunelab.settings import CompletionRetention, completion_retention
from tunelab.store.db import Store, open_store

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
SPEC_FIELDS = ("base", "adapter_dir", "checkpoint", "full_dir")


class AppState(State):
    """``app.state`` whose ``engine`` is created on first use (the first chat request).

    Listing files or jobs must not load torch or a model; only chat needs the engine.
    """

    @property
    def engine(self) -> Any:
        engine = self._state.get("engine")
        if engine is not None:
            return engine
        with self._state["engine_lock"]:
            if self._state.get("engine") is None:
                from tunelab.serve.engine import Engine

                self._state["engine"] = Engine(device=self._state["device"])
                self._state["engine_created"] = True
            return self._state["engine"]

    def close_engine(self) -> None:
        """Stop the engine this app created (one passed to ``create_app`` is the caller's)."""
        if self._state.get("engine_created"):
            self._state["engine"].close()


def create_app(
    *,
    database_url: str | None = None,
    api_keys: list[str] | None = None,
    require_auth: bool = False,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    engine: Any = None,
    extra_bases: dict | None = None,
    device: str = "cpu",
    allowed_hosts: Iterable[str] | None = None,
    max_concurrent_uploads: int = MAX_CONCURRENT_UPLOADS,
    upload_read_timeout_s: float = UPLOAD_READ_TIMEOUT_S,
    retention: CompletionRetention | None = None,
) -> FastAPI:
    """The API app over the store at ``database_url`` (default: SQLite in the tunelab home).

    ``require_auth`` (and any non-empty ``api_keys``) makes every route except ``GET /health`` need
    ``Authorization: Bearer`` with one of ``api_keys``; ``require_auth`` without keys is an error.
    ``extra_bases`` adds base models to the catalog (``{name: folder}``; tests use a tiny one).
    ``engine`` is created on ``device`` at the first chat request if None.
    ``allowed_hosts``: ``Host`` names accepted besides loopback (``"*"``: any); see ``api.origin``
    (``allowed_hosts_for`` makes the list from the bind address and ``--allowed-host``).
    At most ``max_concurrent_uploads`` uploads run at once (more: 429), and one that sends nothing
    for ``upload_read_timeout_s`` seconds is a 408; see ``api.uploads``.
    ``retention``: which served chat completions are kept for feedback (default: from the
    environment, ``settings.completion_retention``).
    """
    keys = [k for k in api_keys or [] if k]
    if require_auth and not keys:
        raise ValueError("require_auth needs at least one API key")
    if max_upload_bytes < 1:
        raise ValueError("max_upload_bytes must be positive")
    if not upload_read_timeout_s > 0:
        raise ValueError("upload_read_timeout_s must be positive")
    upload_slots = UploadSlots(max_concurrent_uploads)
    retention = retention or completion_retention()
    store = open_store(database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.close_engine()
        store.dispose()

    app = FastAPI(
        title="tunelab",
        version=__version__,
        description="OpenAI-compatible local fine-tuning API.",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.state = AppState()
    app.state.store = store
    app.state.engine = engine
    app.state.engine_lock = threading.Lock()
    app.state.device = device
    app.state.extra_bases = dict(extra_bases or {})
    app.state.max_upload_bytes = max_upload_bytes
    app.state.upload_slots = upload_slots
    app.state.upload_read_timeout_s = upload_read_timeout_s
    app.state.resolve_model = make_resolver(store, app.state.extra_bases)
    app.state.completion_retention = retention
    for module in (health, files, jobs, models, aliases, chat, feedback, datasets):
        app.include_router(module.router)
    errors.install_error_handlers(app)  # OpenAI's error body for every route
    app.add_middleware(BodyLimitMiddleware, max_upload_bytes=max_upload_bytes)
    if require_auth or keys:
        app.add_middleware(AuthMiddleware, api_keys=keys)
    # added last: runs first, so a rebound name gets nothing, not even a 401 or /health
    app.add_middleware(HostOriginMiddleware, allowed_hosts=list(allowed_hosts or ()))
    return app


def make_resolver(store: Store, extra_bases: dict):
    """``resolve_model(id)`` for chat: the id looked up by the service, as the engine's spec."""

    def resolve_model(model_id: str):
        from tunelab.serve.spec import ModelSpec

        check_id(model_id, code="model_not_found", param="model", what="model")
        found = registry.resolve_model_id(store, model_id, extra_bases=extra_bases)
        return ModelSpec(**{key: found[key] for key in SPEC_FIELDS})

    return resolve_model
