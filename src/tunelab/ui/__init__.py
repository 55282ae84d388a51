"""The no-code web UI: server-rendered pages with a little JavaScript that call the same REST
API as the SDK (no private routes), honour the API key and escape every user text.

``mount(app)`` adds the pages (``/`` and ``/ui/...``) and the static files to an app made by
``tunelab.api.app.create_app``; the API package never imports this one.
"""

from __future__ import annotations

from fastapi import FastAPI

from tunelab.ui.pages import PUBLIC_PREFIX, STATIC_DIR, router

__all__ = ["PUBLIC_PREFIX", "mount"]


def mount(app: FastAPI) -> FastAPI:
    """Add the UI's pages and static files to ``app``; returns it."""
    from starlette.staticfiles import StaticFiles

    app.include_router(router)
    app.mount(f"{PUBLIC_PREFIX}static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    return app
