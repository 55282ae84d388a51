"""The whole no-code journey in Chromium, on the tiny model: upload a dataset, read its report,
start a job, watch it finish with the chart drawn, chat with the result next to its base, give a
thumbs-down with a better answer, see it in Feedback, build a DPO dataset and start a DPO job
from it. Each page's screenshot goes to docs/ui/."""

from __future__ import annotations

import json
import re

from helpers import toy_rows
from playwright.sync_api import expect

JOB_TIMEOUT_MS = 240_000


def write_dataset(path):
    path.write_text("".join(json.dumps(r) + "\n" for r in toy_rows(24)), encoding="utf-8")
    return path


def test_the_no_code_journey(server, page, shot, tmp_path):
    base, _ = server
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="How it works")).to_be_visible()
    expect(page.locator("#n-jobs")).to_have_text("0")
    shot(page, "home")

    # Datasets: upload, then the report opens.
    page.get_by_role("link", name="Datasets").click()
    page.get_by_label("Choose a file, or drop it here").set_input_files(
        str(write_dataset(tmp_path / "doors.jsonl"))
    )
    page.wait_for_url(re.compile(r"/ui/datasets/file-"))
    expect(page.locator("#check-state")).to_have_text("Checked.", timeout=60_000)
    expect(page.locator("#verdict")).to_contain_text("Ready to train: 24 valid examples")
    expect(page.locator("#issues-none")).to_be_visible()
    expect(page.locator("#histogram svg rect.bar").first).to_be_attached()
    expect(page.locator("#preview mark.trained").first).to_contain_text("The code for the")
    expect(page.locator("#stats")).to_contain_text("Trained tokens")
    shot(page, "dataset")

    # New fine-tune: the form comes filled in from the dataset, auto explains itself.
    page.get_by_role("link", name="Fine-tune on this dataset").click()
    page.wait_for_url(re.compile(r"/ui/finetune\?"))
    expect(page.get_by_label("Start from model")).to_have_value("tiny")
    expect(page.locator("#a-batch_size")).to_contain_text("auto chooses 2", timeout=60_000)
    expect(page.locator("#estimate")).to_contain_text("Training should take about")
    page.get_by_label("Epochs").fill("2")
    page.get_by_label("Batch size").fill("4")
    page.get_by_label("Name suffix (optional)").fill("doors")
    expect(page.locator("#sdk-code")).to_contain_text('"n_epochs": 2')
    shot(page, "finetune")
    page.get_by_role("button", name="Start fine-tuning").click()

    # The job page: live chart, then the report.
    page.wait_for_url(re.compile(r"/ui/jobs/ftjob-"))
    expect(page.locator("body[data-done]")).to_be_attached(timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#job-state")).to_have_text("finished")
    expect(page.locator("#chart svg path.line.train")).to_be_attached()
    expect(page.locator("#chart svg path.line.valid")).to_be_attached()
    expect(page.locator("#report table").first).to_contain_text("validation loss")
    expect(page.locator("#stopping")).to_contain_text("Training ended")
    shot(page, "job")

    page.get_by_role("link", name="Jobs").first.click()
    expect(page.locator("#jobs tbody tr")).to_have_count(1)
    shot(page, "jobs")
    page.go_back()

    # Playground: the tuned version next to its base, streaming.
    page.get_by_role("link", name="Try it in the Playground").click()
    expect(page.get_by_label("Compare with")).to_have_value("tiny")
    page.get_by_label("Your message").fill("What is the code for the red door?")
    page.get_by_label("Longest reply (tokens)").fill("8")
    page.get_by_role("button", name="Send").click()
    down = page.get_by_role("button", name="Thumbs down")
    expect(down).to_have_count(2, timeout=60_000)
    shot(page, "playground")
    down.first.click()
    better = page.get_by_label("The better answer").first
    better.fill("The code for the red door is 4417.")
    page.get_by_role("button", name="Send the better answer").first.click()
    expect(page.get_by_text("Thanks: feedback saved.")).to_be_visible()

    # Feedback: it is listed; a DPO dataset and a DPO job come from it.
    page.get_by_role("link", name="Feedback").click()
    expect(page.locator("#feedback tbody tr")).to_have_count(1)
    expect(page.locator("#feedback tbody")).to_contain_text("The code for the red door is 4417.")
    page.get_by_label("Dataset kind").select_option("dpo")
    page.get_by_role("button", name="Build the dataset").click()
    expect(page.locator("#export-result")).to_contain_text("1 training row(s)")
    shot(page, "feedback")
    page.get_by_role("button", name="Start a DPO job").click()
    page.wait_for_url(re.compile(r"/ui/jobs/ftjob-"))
    expect(page.locator("#job-meta")).to_contain_text("dpo on ft:tiny:doors:")

    # Models: the version under its base, its metrics, promote it.
    page.get_by_role("link", name="Models").click()
    expect(page.locator("#lineage li li code").first).to_contain_text("ft:tiny:doors:")
    expect(page.locator("#compare tbody")).to_contain_text("validation loss")
    page.get_by_role("button", name="Promote").click()
    expect(page.locator("#aliases tbody")).to_contain_text("prod")
    shot(page, "models")


def test_pages_at_phone_width(server, page, shot):
    base, _ = server
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/ui/finetune?model=tiny", "/ui/playground", "/ui/jobs", "/ui/models"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways at phone width by {overflow}px"
    shot(page, "phone-models")
