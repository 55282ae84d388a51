"""Browser tests: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``;
``playwright install`` cannot download here). One real server (uvicorn in a thread, the UI
mounted) and one job worker per test module; a fresh browser context per test."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_UI = Path(__file__).resolve().parents[2] / "docs" / "ui"

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
if not Path(CHROMIUM).exists():  # .ci/run installs it; locally: apt-get install chromium
    pytest.skip(f"{CHROMIUM} is missing", allow_module_level=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium with a fresh user-data dir (a persistent context is how Playwright takes one)."""
    with playwright_api.sync_playwright() as p:
        profile = tmp_path_factory.mktemp("chromium-profile")
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def server(module_home, tiny_model_dir, tmp_path_factory):
    """(base URL, database URL): the API with the UI mounted, and one worker thread."""
    from helpers import serve_app

    from tunelab.api.app import create_app
    from tunelab.jobs.worker import run_worker
    from tunelab.ui import mount

    mp = pytest.MonkeyPatch()
    mp.setenv("TUNELAB_HOME", str(module_home))
    url = f"sqlite:///{module_home / 'tunelab.db'}"
    app = mount(create_app(database_url=url, extra_bases={"tiny": str(tiny_model_dir)}))
    stop = threading.Event()
    kwargs = {"worker_id": "w-ui", "poll_s": 0.2, "stop_event": stop}
    worker = threading.Thread(target=run_worker, args=(url,), kwargs=kwargs, daemon=True)
    worker.start()
    try:
        with serve_app(app) as base:
            yield base, url
    finally:
        stop.set()
        worker.join(60)
        mp.undo()


@pytest.fixture(autouse=True)
def tunelab_home(module_home, monkeypatch):
    """One home for the whole module: the server and its worker outlive a test."""
    monkeypatch.setenv("TUNELAB_HOME", str(module_home))
    return module_home


@pytest.fixture
def shot():
    """``shot(page, name)``: a full-page screenshot in docs/ui/NAME.png (the README shows them)."""

    def take(page, name: str) -> None:
        DOCS_UI.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_UI / f"{name}.png"), full_page=True)

    return take
