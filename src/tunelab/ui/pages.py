"""The UI's pages: HTML shells rendered on the server (navigation, headings, forms with their
labels and helps) that hold no user data; each page's script fills them from the REST API.

Every page is the same for every user, so a page needs no API key and leaks nothing; the data
comes from ``/v1/...`` with the key the user typed. Jinja2 escapes every value it inserts, and
a Content-Security-Policy allows only this server's own scripts and styles, so even text that
slipped into markup could not run.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tunelab import __version__
from tunelab.api.deps import check_id
from tunelab.ui.texts import FIXES, field_help

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PUBLIC_PREFIX = "/ui/"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NAV = [  # (page, title, path)
    ("home", "Start", "/"),
    ("datasets", "Datasets", "/ui/datasets"),
    ("finetune", "New fine-tune", "/ui/finetune"),
    ("jobs", "Jobs", "/ui/jobs"),
    ("models", "Models", "/ui/models"),
    ("playground", "Playground", "/ui/playground"),
    ("feedback", "Feedback", "/ui/feedback"),
]
PAGES = {  # page -> (title, one-line lede)
    "home": ("tunelab", "Fine-tune a language model on your own examples, no code needed."),
    "datasets": ("Datasets", "Upload training data and read what tunelab found in it."),
    "dataset": ("Dataset report", "What tunelab found in this file, before any training."),
    "finetune": ("New fine-tune", "Choose a model and a dataset; every setting explains itself."),
    "jobs": ("Jobs", "Every fine-tuning job, newest first."),
    "job": ("Job", "Follow a fine-tuning job as it runs, and read its report."),
    "models": ("Models", "Every version, where it came from, how it scored, and its aliases."),
    "playground": ("Playground", "Chat with any version; compare two side by side."),
    "feedback": ("Feedback", "What users said about answers, and training data made from it."),
}

router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_page(page: str, item_id: str = "", **values) -> HTMLResponse:
    """One page: ``templates/<page>.html`` inside ``base.html``; ``item_id`` is the file or job
    the page shows (escaped into a data attribute, read by the page's script)."""
    title, lede = PAGES[page]
    current = {"dataset": "datasets", "job": "jobs"}.get(page, page)
    html = templates.get_template(f"{page}.html").render(
        page=page,
        title=title,
        lede=lede,
        nav=NAV,
        current=current,
        item_id=item_id,
        version=__version__,
        help=field_help(),
        **values,
    )
    return HTMLResponse(html, headers=HEADERS)


@router.get("/")
def home() -> HTMLResponse:
    return render_page("home")


@router.get("/ui/datasets")
def datasets_page() -> HTMLResponse:
    return render_page("datasets")


@router.get("/ui/datasets/{file_id}")
def dataset_page(file_id: str) -> HTMLResponse:
    item = check_id(file_id, code="file_not_found", param="file_id", what="such file")
    return render_page("dataset", item, fixes=FIXES)


@router.get("/ui/finetune")
def finetune_page() -> HTMLResponse:
    return render_page("finetune")


@router.get("/ui/jobs")
def jobs_page() -> HTMLResponse:
    return render_page("jobs")


@router.get("/ui/jobs/{job_id}")
def job_page(job_id: str) -> HTMLResponse:
    item = check_id(job_id, code="job_not_found", param="job_id", what="fine-tuning job")
    return render_page("job", item)


@router.get("/ui/models")
def models_page() -> HTMLResponse:
    return render_page("models")


@router.get("/ui/playground")
def playground_page() -> HTMLResponse:
    return render_page("playground")


@router.get("/ui/feedback")
def feedback_page() -> HTMLResponse:
    return render_page("feedback")
