"""The feedback demo: users' corrections of a served model become DPO training data, and the
tuned model takes up the trait they asked for without losing the facts.

    make demo-feedback        # or: .venv/bin/python examples/feedback/demo.py

1. The support model of ``make demo`` (the newest local version of ``support-demo``; trained
   first when there is none).
2. ``tunelab serve`` (the OpenAI-compatible API and one worker) on a free local port.
3. Simulated users ask it the support questions of ``examples/support/train.jsonl`` through
   ``POST /v1/chat/completions``. Every answer gets a correction (``POST /v1/feedback``): the same
   answer ending with one fixed sentence offering more help; every fourth question is asked
   twice at temperature 0.9 and the answer the user prefers is posted as a comparison when only
   one of the two has the trait.
4. ``POST /v1/feedback/export`` turns the feedback into a preference dataset (OpenAI's
   preference JSONL, deduplicated, PII-scrubbed) and uploads it; a DPO job trains on it
   (``method: {type: dpo}``) from the support model.
5. On the held-out questions of ``examples/support/test.jsonl`` (never asked in step 3), the
   share of answers ending with the sentence, and the fact accuracy (``must_contain``), for
   the support model and the DPO result.

Targets (issue 10): trait under 20% before and over 70% after; fact accuracy down at most 5
points.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared import SUPPORT, TUNELAB, log, read_jsonl, support_model  # noqa: E402

HELP = "Is there anything else I can help you with?"
TRAIT = re.compile(re.escape(HELP) + r"\s*$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [*TUNELAB, "serve", "--port", str(port), "--workers", "1", "--device", "cpu"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise SystemExit("tunelab serve exited at start")
        time.sleep(0.5)
    server.terminate()
    raise SystemExit("tunelab serve did not answer /health")


class Api:
    def __init__(self, port: int):
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)

    def post(self, path: str, body: dict, **kw) -> dict:
        response = self.http.post(path, json=body, **kw)
        if response.status_code >= 400:
            raise SystemExit(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def get(self, path: str) -> dict:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()

    def answer(self, model: str, messages: list[dict], **sampling) -> dict:
        body = {"model": model, "messages": messages, "max_tokens": 64, **sampling}
        return self.post("/v1/chat/completions", body)


def prompt_of(row: dict) -> list[dict]:
    """A training or test row's conversation up to its question."""
    messages = row["messages"]
    return messages[:-1] if messages[-1]["role"] == "assistant" else messages


def with_trait(text: str) -> str:
    return text if TRAIT.search(text) else f"{text.rstrip()} {HELP}"


def play_users(api: Api, model: str, rows: list[dict], seed: int) -> dict:
    """Ask each question, correct each answer; a few comparisons of two sampled answers."""
    rng = random.Random(seed)
    counts = {"completions": 0, "corrections": 0, "comparisons": 0}

    def one(i: int, row: dict) -> None:
        messages = prompt_of(row)
        done = api.answer(model, messages, temperature=0)
        counts["completions"] += 1
        text = done["choices"][0]["message"]["content"]
        if not TRAIT.search(text):
            api.post(
                "/v1/feedback",
                {"completion_id": done["id"], "rating": "down", "correction": with_trait(text)},
                headers={"Idempotency-Key": f"demo-correction-{i}"},
            )
            counts["corrections"] += 1
        if i % 4 == 0:  # two sampled answers; the user prefers the one with the trait
            pair = [api.answer(model, messages, temperature=0.9, seed=rng.randrange(10**6))]
            pair.append(api.answer(model, messages, temperature=0.9, seed=rng.randrange(10**6)))
            counts["completions"] += 2
            has = [bool(TRAIT.search(p["choices"][0]["message"]["content"])) for p in pair]
            if has[0] != has[1]:
                preferred, rejected = (pair[0], pair[1]) if has[0] else (pair[1], pair[0])
                body = {"comparison": {"preferred": preferred["id"], "rejected": rejected["id"]}}
                api.post("/v1/feedback", body)
                counts["comparisons"] += 1

    with ThreadPoolExecutor(max_workers=4) as pool:  # the engine batches concurrent requests
        for future in [pool.submit(one, i, row) for i, row in enumerate(rows)]:
            future.result()
    return counts


def measure(api: Api, model: str, tests: list[dict]) -> dict:
    """Trait rate and fact accuracy on held-out questions, answered greedily via the API."""

    def one(row: dict) -> tuple[bool, bool]:
        text = api.answer(model, prompt_of(row), temperature=0)["choices"][0]["message"]["content"]
        needles = row["must_contain"]
        needles = [needles] if isinstance(needles, str) else needles
        return bool(TRAIT.search(text)), all(n.lower() in text.lower() for n in needles)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, tests))
    return {
        "trait": sum(t for t, _ in results) / len(results),
        "facts": sum(f for _, f in results) / len(results),
        "n": len(results),
    }


def wait_for_job(api: Api, job_id: str) -> dict:
    last = None
    while True:
        job = api.get(f"/v1/fine_tuning/jobs/{job_id}")
        events = api.get(f"/v1/fine_tuning/jobs/{job_id}/events?limit=1")["data"]
        if events and events[0]["message"] != last:
            last = events[0]["message"]
            log(f"  {last}")
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="The model to start from (default: the support demo's).")
    parser.add_argument("--questions", type=int, default=240, help="Questions users ask.")
    parser.add_argument("--epochs", default="2", help="The DPO job's n_epochs (or auto).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.time()
    model = args.model or support_model()
    log(f"starting model: {model}")
    rows = read_jsonl(SUPPORT / "train.jsonl")
    random.Random(args.seed).shuffle(rows)
    tests = read_jsonl(SUPPORT / "test.jsonl")
    port = free_port()
    server = start_server(port)
    try:
        api = Api(port)
        log(f"users ask {args.questions} questions and correct the answers")
        counts = play_users(api, model, rows[: args.questions], args.seed)
        log(", ".join(f"{v} {k}" for k, v in counts.items()))
        exported = api.post("/v1/feedback/export", {"kind": "dpo", "policy": "redact"})
        file_id = exported.get("id") or exported["file"]["id"]
        log(f"exported feedback as preference data: {json.dumps(exported)[:300]}")
        hp = {"n_epochs": args.epochs if args.epochs == "auto" else int(args.epochs)}
        job = api.post(
            "/v1/fine_tuning/jobs",
            {
                "model": model,
                "training_file": file_id,
                "suffix": "feedback-demo",
                "seed": args.seed,
                "method": {"type": "dpo", "dpo": {"hyperparameters": hp}},
            },
        )
        log(f"DPO job {job['id']} started")
        job = wait_for_job(api, job["id"])
        if job["status"] != "succeeded":
            raise SystemExit(f"the DPO job {job['status']}: {job.get('error')}")
        tuned = job["fine_tuned_model"]
        log(f"DPO result: {tuned}; measuring on {len(tests)} held-out questions")
        before, after = measure(api, model, tests), measure(api, tuned, tests)
    finally:
        server.terminate()
        server.wait(60)
    drop = (before["facts"] - after["facts"]) * 100
    print()
    print(
        f"{'held-out questions (' + str(before['n']) + ', never asked by users)':<50} start    DPO"
    )
    for name, key in (
        ("answers ending with the help sentence", "trait"),
        ("fact accuracy", "facts"),
    ):
        print(f"{name:<50} {before[key]:5.0%} {after[key]:6.0%}")
    met = before["trait"] < 0.2 and after["trait"] > 0.7 and drop <= 5
    print(
        f"targets: trait under 20% -> over 70%, facts down at most 5 points (down {drop:.1f}): "
        + ("met" if met else "NOT met")
    )
    print(f"wall time {time.time() - started:.0f} s")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
