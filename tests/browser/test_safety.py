"""User text is always text (a ``<script>`` in data, chat and file names runs nowhere), every
control has an accessible name and the keyboard reaches it, and the API key is asked for,
kept out of URLs and sent as a header."""

from __future__ import annotations

import json

import pytest
from helpers import serve_app, toy_rows
from playwright.sync_api import expect

PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
PAGES = [
    "/",
    "/ui/datasets",
    "/ui/finetune?model=tiny",
    "/ui/jobs",
    "/ui/models",
    "/ui/playground",
    "/ui/feedback",
]


def test_script_in_data_chat_and_filenames_stays_text(server, page, tmp_path):
    base, _ = server
    rows = toy_rows(12)
    rows[0]["messages"][1]["content"] = PAYLOAD
    rows[1]["messages"][2]["role"] = PAYLOAD  # an error whose message quotes it
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    page.goto(base + "/ui/datasets")
    page.get_by_label("Choose a file, or drop it here").set_input_files(
        {"name": f"{PAYLOAD}.jsonl", "mimeType": "application/jsonl", "buffer": path.read_bytes()}
    )
    page.wait_for_url("**/ui/datasets/file-*")
    expect(page.locator("#check-state")).to_have_text("Checked.", timeout=60_000)
    expect(page.locator("#page-title")).to_contain_text("<script>window.__xss=1</script>")
    expect(page.locator("#issues tbody")).to_contain_text("unrecognized_role")
    expect(page.locator("#preview")).to_contain_text("<img src=x")
    page.goto(base + "/ui/datasets")
    expect(page.locator("#files tbody")).to_contain_text("<script>")

    page.goto(base + "/ui/playground")
    page.get_by_label("Chat with").select_option("tiny")
    page.get_by_label("System prompt (optional)").fill(PAYLOAD)
    page.get_by_label("Your message").fill(PAYLOAD)
    page.get_by_label("Longest reply (tokens)").fill("4")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("button", name="Thumbs up")).to_have_count(1, timeout=60_000)
    expect(page.locator("#col-left .msg.user")).to_contain_text(PAYLOAD)
    page.get_by_role("button", name="Write the better answer").click()
    page.get_by_label("The better answer").fill(PAYLOAD)
    page.get_by_role("button", name="Send the better answer").click()
    expect(page.get_by_text("Thanks: feedback saved.")).to_be_visible()
    page.goto(base + "/ui/feedback")
    expect(page.locator("#feedback tbody")).to_contain_text(PAYLOAD)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#feedback img, #feedback script").count() == 0


@pytest.mark.parametrize("path", PAGES)
def test_every_control_has_an_accessible_name(server, page, path):
    base, _ = server
    page.goto(base + path)
    page.wait_for_load_state("networkidle")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
          .filter((el) => !el.closest('[hidden]') && el.type !== 'hidden')
          .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                         && !el.textContent.trim())
          .map((el) => el.outerHTML.slice(0, 120))"""
    )
    assert not unnamed, f"{path}: controls without an accessible name: {unnamed}"
    for label in page.locator("main label[for]").all():
        if label.is_visible():
            name = label.inner_text().strip()
            expect(page.get_by_label(name, exact=True).first).to_be_attached()


def test_the_keyboard_reaches_every_field_of_the_fine_tune_form(server, page):
    base, _ = server
    page.goto(base + "/ui/finetune?model=tiny")
    page.wait_for_load_state("networkidle")
    wanted = set(
        page.evaluate(
            """() => [...document.querySelectorAll('#job-form input, #job-form select')]
              .filter((el) => !el.disabled && !el.closest('[hidden]') && el.type !== 'radio')
              .map((el) => el.id)"""
        )
    )
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
        if wanted <= reached:
            break
    assert wanted <= reached, f"not reachable with Tab: {wanted - reached}"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"


def test_the_api_key_is_asked_for_and_never_put_in_a_url(page, tiny_model_dir, tmp_path):
    from tunelab.api.app import create_app
    from tunelab.ui import mount

    key = "sk-local-test-key-123"
    app = create_app(
        database_url=f"sqlite:///{tmp_path / 'keys.db'}",
        api_keys=[key],
        extra_bases={"tiny": str(tiny_model_dir)},
    )
    requests = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("authorization"))))
    with serve_app(mount(app)) as base:
        page.goto(base + "/ui/jobs")
        dialog = page.get_by_role("dialog", name="Enter the API key")
        expect(dialog).to_be_visible()
        page.get_by_label("API key", exact=True).fill("wrong-key")
        page.get_by_role("button", name="Use this key").click()
        expect(dialog).to_contain_text("That key was refused")
        page.get_by_label("API key", exact=True).fill(key)
        page.get_by_role("button", name="Use this key").click()
        expect(page.locator("#jobs-empty")).to_be_visible()
        page.goto(base + "/ui/models")  # the same tab keeps the key
        expect(page.locator("#lineage")).to_contain_text("tiny")
    assert not any(key in url for url, _ in requests)
    api_calls = [auth for url, auth in requests if "/v1/" in url]
    assert api_calls and f"Bearer {key}" in api_calls
    assert page.evaluate("sessionStorage.getItem('tunelab.apiKey')") == key
    assert page.evaluate("localStorage.length") == 0 and "sk-local" not in page.evaluate(
        "document.cookie"
    )
