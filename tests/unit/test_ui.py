"""The web UI's server side (TestClient): every page renders with its security headers, every
form field has a label and a help, user text in a URL is escaped, static files are served, the
dataset routes check and preview an upload, and the UI uses only the public REST API."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import app_routes, post_file, toy_rows

from tunelab.api.app import create_app
from tunelab.ui import mount
from tunelab.ui.pages import NAV, STATIC_DIR

PAGES = [path for _, _, path in NAV] + ["/ui/datasets/file-abc", "/ui/jobs/ftjob-abc"]
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def client(tmp_path, tiny_model_dir):
    app = create_app(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        extra_bases={"tiny": str(tiny_model_dir)},
    )
    with TestClient(mount(app), base_url="http://127.0.0.1") as client:
        yield client


class Fields(HTMLParser):
    """Form controls, their labels and ids, and every script and style source of a page."""

    def __init__(self):
        super().__init__()
        self.controls, self.labels, self.ids, self.scripts, self.inline = [], set(), set(), [], []
        self.wrapped = 0  # controls inside a <label>
        self._in_label = 0
        self._script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "label":
            self._in_label += 1
            if "for" in a:
                self.labels.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            if self._in_label:
                self.wrapped += 1
            else:
                self.controls.append(a)
        if tag == "script":
            self._script = a.get("type") != "application/json"
            if a.get("src"):
                self.scripts.append(a["src"])
        if any(name.startswith("on") for name in a) or "style" in a:
            self.inline.append((tag, a))

    def handle_endtag(self, tag):
        if tag == "label":
            self._in_label -= 1
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._script and data.strip():
            self.inline.append(("script", data))


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_labels_and_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    page = Fields()
    page.feed(response.text)
    for control in page.controls:
        assert control.get("id") in page.labels, f"{path}: {control} has no <label for>"
        described = control.get("aria-describedby", "").split()
        assert all(d in page.ids for d in described), f"{path}: {control} names a missing help"
    assert not page.inline, f"{path}: inline script, handler or style: {page.inline[:2]}"
    assert page.scripts and all(s.startswith("/ui/static/") for s in page.scripts)
    assert 'aria-current="page"' in response.text or path.startswith("/ui/datasets/") is False


def test_every_form_field_of_the_new_fine_tune_page_has_a_help(client):
    html = client.get("/ui/finetune").text
    page = Fields()
    page.feed(html)
    helps = set(re.findall(r'<p class="help" id="([^"]+)"', html))
    for control in page.controls:
        assert set(control.get("aria-describedby", "").split()) & helps, control


def test_ids_in_page_urls_are_escaped(client):
    response = client.get("/ui/jobs/" + SCRIPT.replace("/", "%2F"))
    assert response.status_code in (200, 404)
    assert SCRIPT not in response.text
    response = client.get('/ui/datasets/x"><img src=x onerror=alert(1)>')
    assert response.status_code == 200
    assert "<img" not in response.text and "&#34;&gt;&lt;img" in response.text


def test_static_files_are_served_and_scripts_never_write_html(client):
    for name in ("app.js", "chart.js", "app.css", "playground.js"):
        assert client.get(f"/ui/static/{name}").status_code == 200
    assert client.get("/ui/static/../pages.py").status_code == 404
    for script in STATIC_DIR.glob("*.js"):
        text = script.read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", text), (
            script
        )
        assert "eval(" not in text and "new Function" not in text, script


def test_scripts_call_only_public_api_routes(client):
    """No back door: every path a script fetches is a documented /v1 route of the app."""
    routes = {path for _, path in app_routes(client.app) if path.startswith("/v1/")}
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in routes]
    called = set()
    for script in STATIC_DIR.glob("*.js"):
        for literal in re.findall(r'api\(\s*[`"](/v1/[^`"?]*)', script.read_text()):
            called.add(re.sub(r"\$\{[^}]+\}", "X", literal))
    assert len(called) > 12
    for path in called:
        assert any(p.match(path) for p in patterns), f"{path} is not an API route"
    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    for route in ("/v1/datasets/{file_id}", "/v1/datasets/{file_id}/preview"):
        assert route in doc


def test_the_dataset_check_reports_lines_pii_stats_and_the_estimate(client):
    rows = toy_rows(14)
    rows[3]["messages"][2]["role"] = "bot"
    rows[5]["messages"][1]["content"] = "Mail me at jane.doe@example.com please"
    rows[6]["messages"][1]["content"] = SCRIPT
    import json

    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    file = post_file(client, data, name=f"{SCRIPT}.jsonl")
    check = client.get(f"/v1/datasets/{file['id']}", params={"model": "tiny"}).json()
    assert check["object"] == "dataset.check" and check["kind"] == "supervised"
    assert not check["ok"] and check["errors"][0]["line"] == 4
    assert check["errors"][0]["code"] == "unrecognized_role"
    assert check["privacy"]["counts"]["EMAIL"] == 1 and check["privacy"]["lines"]["EMAIL"] == [6]
    assert check["stats"]["tokens_trained"] > 0 and check["stats"]["histogram"]
    assert check["estimate"]["epochs"] >= 1 and check["auto"]["batch_size"]["value"] == 2
    assert "/" not in json.dumps(check["file"]).strip('"').replace("</script>", "")
    assert str(Path.home()) not in json.dumps(check) and "artifacts" not in json.dumps(check)

    preview = client.get(f"/v1/datasets/{file['id']}/preview", params={"model": "tiny"}).json()
    first = preview["examples"][0]["segments"]
    assert [s["trained"] for s in first].count(True) == 1
    trained = next(s["text"] for s in first if s["trained"])
    assert trained.startswith("The code for the red door is 4417.")


def test_the_dataset_check_of_preference_data(client):
    import json

    row = {
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "preferred_output": [{"role": "assistant", "content": "Hello!"}],
        "non_preferred_output": [{"role": "assistant", "content": "go away"}],
    }
    file = post_file(client, (json.dumps(row) + "\n").encode() * 3, name="prefs.jsonl")
    check = client.get(f"/v1/datasets/{file['id']}", params={"model": "tiny"}).json()
    assert check["kind"] == "dpo" and check["stats"]["pairs"] == 3
    assert {e["code"] for e in check["errors"]} == {"too_few_examples"}
    estimate = check["estimate"]  # both answers trained each epoch, the reference once
    assert estimate["units"] == 3 and check["stats"]["tokens_total"] == estimate["tokens_total"]
    assert estimate["epoch_tokens"] == estimate["tokens_total"] > 0
    assert estimate["estimated_train_seconds"] == pytest.approx(
        estimate["seconds_per_epoch"] * estimate["epochs"] + estimate["reference_seconds"], abs=0.2
    )
    kto_rows = [
        {
            "prompt": [{"role": "user", "content": "hi"}],
            "completion": [{"role": "assistant", "content": text}],
            "label": text == "Hello!",
        }
        for text in ("Hello!", "no")
    ]
    body = "".join(json.dumps(r) + "\n" for r in kto_rows).encode()
    kto = client.get(
        f"/v1/datasets/{post_file(client, body, name='k.jsonl')['id']}", params={"model": "tiny"}
    ).json()
    assert kto["kind"] == "kto" and kto["estimate"]["units"] == 2
    # a KTO row trains its answer; its mismatched answer is a forward pass only
    total = kto["estimate"]["tokens_total"]
    assert total / 2 < kto["estimate"]["epoch_tokens"] < total
    preview = client.get(f"/v1/datasets/{file['id']}/preview", params={"model": "tiny"}).json()
    chosen = preview["examples"][0]["chosen"]
    assert next(s["text"] for s in chosen if s["trained"]).startswith("Hello!")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/datasets/file-nope", 404, "file_not_found"),
        ("/v1/datasets/file-nope/preview", 404, "file_not_found"),
        ("/v1/fine_tuning/jobs/ftjob-nope/report", 404, "job_not_found"),
    ],
)
def test_dataset_and_report_routes_errors(client, path, status, code):
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_bad_kind_and_unknown_model_are_400_and_404(client):
    file = post_file(client)
    response = client.get(f"/v1/datasets/{file['id']}", params={"kind": "rlhf"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "kind"
    response = client.get(f"/v1/datasets/{file['id']}", params={"model": "ft:nope:x:y"})
    assert response.status_code == 404
