"""The Models page and the forgetting gate in Chromium: a version whose update forgot shows its
verdict before promotion, is refused with the task and the drop, and "Promote anyway" moves the
alias and marks it forced; the fine-tune form offers full tuning and puts it in the code."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import registered_version
from playwright.sync_api import expect

from tunelab.jobs import registry
from tunelab.store.db import open_store

FORGOT = {"task": "gate-one: test", "metric": "accuracy", "parent": 0.9, "new": 0.5}
FORGOT |= {"change": -0.4, "threshold": 0.1, "over": True}
KEPT = {"task": "retention (general ability)", "metric": "loss", "parent": 3.5, "new": 3.52}
KEPT |= {"change": 0.02, "threshold": 0.25, "over": False}


def test_the_gate_verdict_refusal_and_promote_anyway(server, page, shot, tiny_model_dir):
    base, url = server
    store = open_store(url)
    try:
        v1, _ = registered_version(store, tiny_model_dir, "gate-one")
        v2, job = registered_version(store, tiny_model_dir, "gate-two", parent=v1)
        report = Path(job.run_dir) / "report.json"
        forgetting = {"forgetting": [FORGOT, KEPT]}
        report.write_text(json.dumps(json.loads(report.read_text()) | forgetting))
        registry.register_model(
            store, v2, job_id=job.id, base=str(tiny_model_dir), run_dir=Path(job.run_dir), parent=v1
        )
    finally:
        store.dispose()

    page.goto(base + "/ui/models")
    row = page.locator("#versions tbody tr", has_text=v2)
    expect(row).to_contain_text("forgot: 1 over")
    row.get_by_text("forgot: 1 over").click()  # the table opens
    expect(row.locator("table tr.bad")).to_contain_text("accuracy 90.0% → 50.0%")
    page.get_by_label("Alias name").fill("gate-prod")
    page.get_by_label("Version", exact=True).select_option(v2)
    expect(page.locator("#p-verdict")).to_contain_text("Over the threshold: gate-one: test")
    page.get_by_role("button", name="Promote", exact=True).click()
    expect(page.locator("#gate")).to_be_visible()
    expect(page.locator("#gate-message")).to_contain_text("The forgetting gate refused")
    expect(page.locator("#gate-message")).to_contain_text("accuracy 90.0% -> 50.0%")
    expect(page.locator("#aliases tbody")).not_to_contain_text("gate-prod")
    page.locator("#promote-form").scroll_into_view_if_needed()
    shot(page, "models-gate")
    page.get_by_role("button", name="Promote anyway").click()
    alias_row = page.locator("#aliases tbody tr", has_text="gate-prod")
    expect(alias_row).to_contain_text(v2)
    expect(alias_row).to_contain_text("forced past the gate")
    expect(page.locator("#gate")).to_be_hidden()

    page.get_by_label("Version", exact=True).select_option(v1)
    expect(page.locator("#p-verdict")).to_contain_text("No forgetting table")


def test_the_form_offers_full_tuning_and_writes_it_into_the_code(server, page):
    base, _ = server
    page.goto(base + "/ui/finetune")
    expect(page.locator("#yaml-code")).to_contain_text("tuning: lora")
    expect(page.locator("#sdk-code")).not_to_contain_text('"tuning"')
    page.get_by_label("Full fine-tuning").check()
    expect(page.locator("#yaml-code")).to_contain_text("tuning: full")
    expect(page.locator("#sdk-code")).to_contain_text('extra_body={"tuning":"full"')
