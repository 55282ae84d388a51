"""Feedback: completions captured by chat (plain and stream), retention, ``/v1/feedback`` with
every bad input, idempotency, filters and paging, the DPO/KTO export (dedup, contradictions,
scrubbing) and ``tunelab feedback``. Store-level tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from helpers import serve_app
from postgres import BACKENDS, backend_url, pg_url  # noqa: F401
from sqlalchemy import update

from tunelab.api.app import create_app
from tunelab.api.routes.chat import sse_events
from tunelab.cli.main import build_parser, main
from tunelab.errors import ConfigError, TunelabError
from tunelab.jobs import completions, feedback
from tunelab.jobs.feedback_export import Example, drop_near_duplicates
from tunelab.serve.outputs import Delta
from tunelab.settings import CompletionRetention, completion_retention
from tunelab.store.db import open_store
from tunelab.store.tables import Feedback, ModelAlias

HELLO = [{"role": "user", "content": "Hello, how can I help you today?"}]
KEEP_ALL = CompletionRetention(True, None, None)


def seed(store, outputs, messages=HELLO, model="tiny", version=None, created=None, rid=None):
    """Store one served completion with a choice per output; returns the choice ids."""
    rid = rid or f"chatcmpl-{time.time_ns():x}"
    return completions.record_completion(
        store,
        KEEP_ALL,
        request_id=rid,
        created=created or int(time.time()),
        model=model,
        model_version=version or model,
        served={"weights": "base"},
        messages=messages,
        choices=[(text, "stop") for text in outputs],
        params={"temperature": 1.0},
    )


# ---------------------------------------------------------------- the store, both backends


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    opened = open_store(backend_url(request, tmp_path))
    yield opened
    opened.dispose()


def test_record_and_prune_by_count_and_age(store):
    old = seed(store, ["old"], created=int(time.time()) - 10 * 86400)
    ids = [seed(store, [f"a{i}", f"b{i}"])[1] for i in range(3)]
    assert ids[0].endswith("-1") and completions.get_completion(store, ids[0]).choice == 1
    assert completions.count_completions(store) == 7
    week = CompletionRetention(True, 7, None)
    assert completions.prune_completions(store, week) == 1
    with pytest.raises(TunelabError) as err:
        completions.get_completion(store, old[0])
    assert err.value.code == "completion_not_found"
    three = CompletionRetention(True, None, 3)
    completions.record_completion(
        store, three, request_id="chatcmpl-new", created=int(time.time()), model="m",
        model_version="m", served=None, messages=HELLO, choices=[("x", "stop")], params={},
    )  # fmt: skip
    assert completions.count_completions(store) == 3  # the newest three choices
    completions.get_completion(store, "chatcmpl-new")
    off = CompletionRetention(False)
    assert completions.record_completion(store, off, **_record_args()) == []
    assert completions.prune_completions(store, off) == 3
    assert completions.count_completions(store) == 0


def _record_args() -> dict:
    return dict(
        request_id="chatcmpl-off", created=1, model="m", model_version="m", served=None,
        messages=HELLO, choices=[("x", "stop")], params={},
    )  # fmt: skip


def test_feedback_filters_paging_and_idempotency(store):
    a, b = seed(store, ["four", "five"], model="prod", version="ft:tiny:x:run-1")
    [c] = seed(store, ["hi"], model="tiny", messages=[{"role": "user", "content": "hi?"}])
    up, _ = feedback.create_feedback(store, completion_id=a, rating="up", tags=["math"])
    down, _ = feedback.create_feedback(store, completion_id=c, rating="down", correction="hey")
    pair, _ = feedback.create_feedback(store, comparison={"preferred": a, "rejected": b})
    assert (up.kind, down.kind, pair.kind) == ("rating", "correction", "comparison")

    def ids(**where) -> list[str]:
        page = feedback.list_feedback(store, feedback.FeedbackFilter(**where), limit=100)
        return [row.id for row in page.data]

    assert ids() == [pair.id, down.id, up.id]
    assert ids(model="prod") == ids(model="ft:tiny:x:run-1") == [pair.id, up.id]
    assert ids(rating="down") == [down.id] and ids(kind="comparison") == [pair.id]
    assert ids(tag="math") == [up.id] and ids(tag="none") == []
    with store.session() as s:
        s.execute(update(Feedback).where(Feedback.id == up.id).values(created_at=1000))
    assert ids(since=2000) == [pair.id, down.id] and ids(until=2000) == [up.id]
    first = feedback.list_feedback(store, limit=2)
    assert first.has_more and len(first.data) == 2
    rest = feedback.list_feedback(store, after=first.data[-1].id, limit=2)
    assert [r.id for r in rest.data] == [up.id] and not rest.has_more

    row, replayed = feedback.create_feedback(
        store, completion_id=b, rating="up", idempotency_key="k1"
    )
    again, replayed_again = feedback.create_feedback(
        store, completion_id=b, rating="up", idempotency_key="k1"
    )
    assert (again.id, replayed, replayed_again) == (row.id, False, True)
    with pytest.raises(TunelabError) as err:
        feedback.create_feedback(store, completion_id=b, rating="down", idempotency_key="k1")
    assert err.value.code == "idempotency_conflict" and err.value.status_code == 409
    assert len(ids()) == 4


def test_a_racing_retry_with_the_same_key_gets_the_first_row(store, monkeypatch):
    [a] = seed(store, ["four"])
    first, _ = feedback.create_feedback(store, completion_id=a, rating="up", idempotency_key="r")
    replay = feedback._replay
    calls = []

    def late(*args):  # the other request's row lands between the check and the insert
        calls.append(args)
        return None if len(calls) == 1 else replay(*args)

    monkeypatch.setattr(feedback, "_replay", late)
    again, replayed = feedback.create_feedback(
        store, completion_id=a, rating="up", idempotency_key="r"
    )
    assert (again.id, replayed, len(calls)) == (first.id, True, 2)
    assert len(feedback.list_feedback(store).data) == 1


# ---------------------------------------------------------------- the HTTP API


@pytest.fixture
def app(tmp_path):
    return create_app(database_url=f"sqlite:///{tmp_path / 'api.db'}", retention=KEEP_ALL)


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def post(client, body, **headers):
    return client.post("/v1/feedback", json=body, headers=headers)


@pytest.fixture
def served(app):
    """Two choices of one prompt, one of another prompt, and one with choice 0's output."""
    store = app.state.store
    a, b = seed(store, ["It is four.", "It is five."])
    [other] = seed(store, ["Hi!"], messages=[{"role": "user", "content": "Say hi."}])
    [same] = seed(store, ["It is four. "])
    return SimpleNamespace(a=a, b=b, other=other, same=same)


NF, CP, CR = "completion_not_found", "comparison.preferred", "comparison.rejected"
MISSING, BAD_VALUE = "missing_required_parameter", "invalid_value"
UP, FIX = {"completion_id": "A", "rating": "up"}, {"completion_id": "A", "rating": "down"}
BAD = [
    ({"completion_id": "chatcmpl-nope", "rating": "up"}, 404, "completion_id", NF),
    ({"completion_id": "chatcmpl-\x00", "rating": "up"}, 404, "completion_id", NF),
    ({"comparison": {"preferred": "chatcmpl-nope", "rejected": "B"}}, 404, CP, NF),
    ({"comparison": {"preferred": "A", "rejected": "chatcmpl-nope"}}, 404, CR, NF),
    ({"comparison": {"preferred": "A", "rejected": "A"}}, 400, CR, "identical_completions"),
    ({"comparison": {"preferred": "A", "rejected": "OTHER"}}, 400, CR, "different_prompts"),
    ({"comparison": {"preferred": "A", "rejected": "SAME"}}, 400, CR, "identical_outputs"),
    ({"comparison": {"preferred": "A"}}, 400, CR, MISSING),
    (UP | {"rating": "sideways"}, 400, "rating", BAD_VALUE),
    ({"completion_id": "A"}, 400, "rating", MISSING),
    (FIX | {"correction": " \n "}, 400, "correction", "empty_correction"),
    (FIX | {"correction": ""}, 400, "correction", "empty_correction"),
    (FIX | {"correction": " It is four.\n"}, 400, "correction", "correction_unchanged"),
    (UP | {"comparison": {"preferred": "A", "rejected": "B"}}, 400, "comparison",
     "conflicting_feedback"),
    ({"comment": "no target"}, 400, "completion_id", MISSING),
    (UP | {"tags": [" "]}, 400, "tags[0]", BAD_VALUE),
    (UP | {"tags": ["x"] * 17}, 400, "tags", BAD_VALUE),
    (UP | {"comment": "a\x00b"}, 400, "comment", BAD_VALUE),
    (UP | {"stars": 5}, 400, "stars", "unknown_parameter"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "param", "code"), BAD)
def test_bad_feedback_is_refused_naming_the_field(client, served, body, status, param, code):
    names = {"A": served.a, "B": served.b, "OTHER": served.other, "SAME": served.same}
    text = json.dumps(body)
    for name, value in names.items():
        text = text.replace(f'"{name}"', json.dumps(value))
    response = post(client, json.loads(text))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert client.get("/v1/feedback").json()["data"] == []


def test_feedback_objects_round_trip_and_delete(client, served):
    body = {"completion_id": served.a, "rating": "down", "correction": "Four.", "tags": ["m"]}
    made = post(client, body).json()
    assert made["object"] == "feedback" and made["kind"] == "correction"
    assert made["completion"] == {"id": served.a, "model": "tiny", "model_version": "tiny",
                                  "output": "It is four."}  # fmt: skip
    assert made["messages"] == HELLO and made["tags"] == ["m"] and made["preferred"] is None
    pair = post(client, {"comparison": {"preferred": served.b, "rejected": served.a}}).json()
    assert pair["preferred"]["output"] == "It is five." and pair["rejected"]["id"] == served.a
    assert client.get(f"/v1/feedback/{made['id']}").json() == made
    page = client.get("/v1/feedback", params={"limit": 1}).json()
    assert page["has_more"] and page["first_id"] == pair["id"]
    after = client.get("/v1/feedback", params={"after": page["last_id"]}).json()
    assert [f["id"] for f in after["data"]] == [made["id"]] and not after["has_more"]
    for params, code in (({"after": "feedback-x"}, "invalid_cursor"), ({"rating": "meh"},
                         "invalid_value"), ({"kind": "vote"}, "invalid_value")):  # fmt: skip
        assert client.get("/v1/feedback", params=params).json()["error"]["code"] == code
    assert client.delete(f"/v1/feedback/{made['id']}").json()["deleted"] is True
    missing = client.get(f"/v1/feedback/{made['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "feedback_not_found"


def test_idempotency_key_replays_and_conflicts(client, served):
    body = {"completion_id": served.a, "rating": "up"}
    first = post(client, body, **{"Idempotency-Key": "retry-1"})
    again = post(client, body, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert (
        again.headers["Idempotent-Replayed"] == "true"
        and "Idempotent-Replayed" not in first.headers
    )
    other = post(client, body | {"rating": "down"}, **{"Idempotency-Key": "retry-1"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert other.json()["error"]["param"] == "Idempotency-Key"
    post(client, body)  # no key: a second, separate feedback
    assert len(client.get("/v1/feedback").json()["data"]) == 2


def test_feedback_routes_need_the_api_key(tmp_path):
    app = create_app(database_url=f"sqlite:///{tmp_path / 'k.db'}", api_keys=["k-1"])
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for method, path in (("GET", "/v1/feedback"), ("POST", "/v1/feedback"),
                             ("GET", "/v1/feedback/feedback-x"), ("POST", "/v1/feedback/export"),
                             ("DELETE", "/v1/feedback/feedback-x")):  # fmt: skip
            assert client.request(method, path, json={}).status_code == 401
        ok = client.get("/v1/feedback", headers={"Authorization": "Bearer k-1"})
        assert ok.status_code == 200


@pytest.fixture(params=BACKENDS)
def any_url(request, tmp_path):
    return backend_url(request, tmp_path)


def test_odd_ids_are_4xx_on_both_backends(any_url):
    """A NUL would be a driver error on PostgreSQL, hence a 500, if it reached a query."""
    app = create_app(database_url=any_url, retention=KEEP_ALL)
    odd = ["%00", "file-%00", "..%2F..%2Fetc", "ft:../../x", "x" * 300]
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for value in odd:
            for method, path in (("GET", f"/v1/feedback/{value}"),
                                 ("DELETE", f"/v1/feedback/{value}"),
                                 ("GET", f"/v1/feedback?after={value}"),
                                 ("GET", f"/v1/feedback?model={value}")):  # fmt: skip
                status = client.request(method, path).status_code
                assert status in (200, 400, 404), (method, path, status)
        for value in ("\x00", "a\x00b", "x" * 300):
            for body in ({"completion_id": value, "rating": "up"},
                         {"comparison": {"preferred": value, "rejected": "y"}}):  # fmt: skip
                assert post(client, body).status_code in (400, 404)
    app.state.store.dispose()


# ---------------------------------------------------------------- capture in chat


class FakeEngine:
    """Answers every choice with ``reply`` (or ends it ``cancelled``, as a disconnect does)."""

    def __init__(self, reply="Fine, thanks.", reason="stop"):
        self.reply, self.reason = reply, reason

    def stream(self, spec, messages, *, n=1, on_event=None, **sampling):
        for index in range(n):
            on_event(Delta(index, f"{self.reply} #{index}"))
            on_event(Delta(index, "", self.reason, completion_tokens=3))
        return SimpleNamespace(n=n, prompt_tokens=7, close=lambda: None)

    def close(self):
        pass


@pytest.fixture
def fake_app(tmp_path):
    app = create_app(database_url=f"sqlite:///{tmp_path / 'chat.db'}", retention=KEEP_ALL)
    app.state.engine = FakeEngine()
    specs = {"ft:tiny:x:run-1": {"base": "tiny", "adapter_dir": "/x/final"}, "tiny": {"base": "t"}}
    app.state.resolve_model = lambda model_id: specs[model_id]
    with app.state.store.session() as s:
        s.add(ModelAlias(name="prod", model_id="ft:tiny:x:run-1"))
    return app


def chat(client, **body):
    return client.post("/v1/chat/completions", json={"messages": HELLO, "max_tokens": 5} | body)


def test_an_alias_is_stored_with_its_version_and_every_choice(fake_app):
    with TestClient(fake_app, base_url="http://127.0.0.1") as client:
        reply = chat(client, model="prod", n=2, temperature=0.5, seed=3, stop=["\n"]).json()
    store = fake_app.state.store
    zero = completions.get_completion(store, reply["id"])
    one = completions.get_completion(store, f"{reply['id']}-1")
    assert (zero.model, zero.model_version, zero.served) == (
        "prod",
        "ft:tiny:x:run-1",
        {"weights": "lora"},
    )
    assert one.output == reply["choices"][1]["message"]["content"] == "Fine, thanks. #1"
    assert (
        zero.messages == HELLO
        and zero.finish_reason == "stop"
        and zero.created_at == reply["created"]
    )
    assert zero.params == {"max_tokens": 5, "temperature": 0.5, "top_p": 1.0, "stop": ["\n"],
                           "n": 2, "seed": 3, "stream": False}  # fmt: skip
    assert zero.usage == {"prompt_tokens": 7, "completion_tokens": 6}


def test_no_capture_when_off_disconnected_or_failing(fake_app, monkeypatch, caplog):
    store = fake_app.state.store
    with TestClient(fake_app, base_url="http://127.0.0.1") as client:
        fake_app.state.completion_retention = CompletionRetention(False)
        assert chat(client, model="tiny").status_code == 200
        fake_app.state.completion_retention = KEEP_ALL
        fake_app.state.engine = FakeEngine(reason="cancelled")  # the client went away
        assert chat(client, model="tiny").json()["error"]["code"] == "client_disconnected"
        assert completions.count_completions(store) == 0
        fake_app.state.engine = FakeEngine()

        def broken(*args, **kwargs):
            raise RuntimeError("secret user text")

        monkeypatch.setattr("tunelab.api.routes.chat.record_completion", broken)
        with caplog.at_level(logging.WARNING):
            reply = chat(client, model="tiny")
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
    assert "could not store completion" in caplog.text and "secret user text" not in caplog.text


def test_a_stream_stores_once_finished_and_not_when_cut_off():
    stored = []

    async def on_done(choices, totals):
        stored.append((choices, totals.completion_tokens))

    def stream_events():
        queue = asyncio.Queue()
        for item in (Delta(0, "Hel"), Delta(0, "lo"), Delta(0, "", "stop", completion_tokens=2)):
            queue.put_nowait(item)
        return SimpleNamespace(n=1, prompt_tokens=4, close=lambda: None), queue

    meta = {"id": "chatcmpl-s", "created": 1, "model": "tiny"}

    async def cut_off() -> None:
        events = sse_events(*stream_events(), meta, False, on_done=on_done)
        await events.__anext__(), await events.__anext__()  # role, "Hel": the client leaves
        await events.aclose()

    async def whole() -> list[str]:
        return [c async for c in sse_events(*stream_events(), meta, False, on_done=on_done)]

    asyncio.run(cut_off())
    assert stored == []
    chunks = asyncio.run(whole())
    assert stored == [([("Hello", "stop")], 2)] and chunks[-1] == "data: [DONE]\n\n"


def test_real_model_completions_are_captured_plain_and_streamed(tiny_model_dir, tmp_path):
    app = create_app(
        database_url=f"sqlite:///{tmp_path / 'real.db'}",
        extra_bases={"tiny": str(tiny_model_dir)},
        retention=KEEP_ALL,
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        plain = chat(client, model="tiny", seed=1).json()
        body = {"model": "tiny", "messages": HELLO, "max_tokens": 5, "stream": True, "seed": 2}
        with client.stream("POST", "/v1/chat/completions", json=body) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data: {")]
        chunks = [json.loads(line.removeprefix("data: ")) for line in lines]
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        made = post(client, {"completion_id": chunks[0]["id"], "rating": "up"})
    store = app.state.store
    assert (
        completions.get_completion(store, plain["id"]).output
        == plain["choices"][0]["message"]["content"]
    )
    streamed = completions.get_completion(store, chunks[0]["id"])
    assert streamed.output == text and streamed.params["stream"] is True
    assert streamed.served == {"weights": "base"} and made.status_code == 200


def test_retention_settings_from_env_and_serve_flags(monkeypatch):
    assert completion_retention() == CompletionRetention(True, 30, 100_000)
    monkeypatch.setenv("TUNELAB_STORE_COMPLETIONS", "off")
    monkeypatch.setenv("TUNELAB_COMPLETIONS_MAX_AGE_DAYS", "0")
    assert completion_retention() == CompletionRetention(False, None, 100_000)
    args = build_parser().parse_args(
        ["serve", "--store-completions", "on", "--completions-max-count", "50"]
    )
    flags = (args.store_completions, args.completions_max_age_days, args.completions_max_count)
    assert completion_retention(*flags) == CompletionRetention(True, None, 50)
    monkeypatch.setenv("TUNELAB_COMPLETIONS_MAX_COUNT", "lots")
    with pytest.raises(ConfigError, match="TUNELAB_COMPLETIONS_MAX_COUNT"):
        completion_retention()


# ---------------------------------------------------------------- export


def give(store, outputs, messages=HELLO, **kinds):
    """Seed a prompt's outputs and give feedback: ``pair=(i, j)``, ``rate=(i, "up")``,
    ``fix=(i, text)``."""
    ids = seed(store, outputs, messages=messages)
    if "pair" in kinds:
        i, j = kinds["pair"]
        feedback.create_feedback(store, comparison={"preferred": ids[i], "rejected": ids[j]})
    if "rate" in kinds:
        feedback.create_feedback(
            store, completion_id=ids[kinds["rate"][0]], rating=kinds["rate"][1]
        )
    if "fix" in kinds:
        i, text = kinds["fix"]
        feedback.create_feedback(store, completion_id=ids[i], rating="down", correction=text)
    return ids


LONG = "The store opens at nine in the morning and closes at five in the evening on weekdays"


def mixed_feedback(store) -> None:
    ask = [{"role": "user", "content": "When does the store open?"}]
    give(store, [LONG + ".", "Never."], messages=ask, pair=(0, 1))
    give(store, ["never.  ", LONG.upper() + "."], messages=ask, pair=(1, 0))  # exact duplicate
    give(store, [LONG + " only.", "Never."], messages=ask, pair=(0, 1))  # near duplicate
    give(store, ["Red.", "Blue."], messages=[{"role": "user", "content": "Colour?"}], pair=(0, 1))
    give(store, ["Blue.", "Red."], messages=[{"role": "user", "content": "Colour?"}], pair=(0, 1))
    give(store, ["Write to me."], fix=(0, "Write to jane.doe@example.com."))
    give(store, ["Good answer."], rate=(0, "up"))
    give(store, ["Bad answer."], rate=(0, "down"))


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_dpo_export_dedups_drops_contradictions_and_scrubs(store, tmp_path):
    mixed_feedback(store)
    out = tmp_path / "dpo.jsonl"
    summary = feedback.export_feedback(store, out, kind="dpo")
    rows = read_jsonl(out)
    assert (summary["rows"], len(rows)) == (2, 2)
    assert (summary["duplicates"], summary["near_duplicates"], summary["contradictions"]) == (
        1,
        1,
        1,
    )
    assert summary["ratings_not_used"] == 2 and summary["pii"]["counts"] == {"EMAIL": 1}
    for row in rows:
        assert set(row) == {"input", "preferred_output", "non_preferred_output"}
        assert row["input"]["messages"][-1]["role"] == "user"
        for side in ("preferred_output", "non_preferred_output"):
            [message] = row[side]
            assert message["role"] == "assistant" and message["content"].strip()
    assert rows[0]["preferred_output"][0]["content"] == LONG + "."
    assert rows[1]["preferred_output"][0]["content"] == "Write to <EMAIL_1>."
    assert rows[1]["non_preferred_output"][0]["content"] == "Write to me."
    from tunelab.data.preference import validate_preference_file

    report = validate_preference_file(out, min_examples=1)
    assert report.ok and len(report.examples) == 2, report.issues


def test_kto_export_labels_pairs_and_ratings(store, tmp_path):
    mixed_feedback(store)
    give(store, ["Maybe."], messages=[{"role": "user", "content": "Rain?"}], rate=(0, "up"))
    give(store, ["Maybe."], messages=[{"role": "user", "content": "Rain?"}], rate=(0, "down"))
    out = tmp_path / "kto.jsonl"
    summary = feedback.export_feedback(store, out, kind="kto", policy="report")
    rows = read_jsonl(out)
    labels = {(r["output"][0]["content"], r["label"]) for r in rows}
    assert labels == {
        (LONG + ".", True),
        ("Never.", False),
        ("Good answer.", True),
        ("Bad answer.", False),
        ("Write to jane.doe@example.com.", True),
        ("Write to me.", False),
    }
    assert all(set(r) == {"input", "output", "label"} for r in rows)
    assert (summary["desirable"], summary["undesirable"]) == (3, 3)
    assert summary["contradictions"] == 2  # red/blue both ways, and "Maybe." up and down
    assert summary["pii"]["counts"] == {"EMAIL": 1}  # report: counted, kept
    from tunelab.data.preference import validate_kto_file

    report = validate_kto_file(out, min_examples=1)
    assert report.ok and len(report.examples) == 6, report.issues


def test_block_policy_refuses_without_values_and_writes_nothing(store, tmp_path):
    give(store, ["Mail me."], fix=(0, "Mail jane.doe@example.com."))
    out = tmp_path / "blocked.jsonl"
    with pytest.raises(TunelabError) as err:
        feedback.export_feedback(store, out, policy="block")
    assert err.value.code == "pii_found" and "EMAIL" in err.value.message
    assert "jane" not in err.value.message and not out.exists()


def test_near_duplicate_threshold():
    words = [f"w{i}" for i in range(19)]

    def ex(*extra):
        return Example([{"role": "user", "content": "q"}], " ".join(words + list(extra)), "no")

    # 22 tokens (q, 19 words + 1 extra, "no"): one token differs -> 21/23 = 0.91, two -> 0.83
    kept, dropped = drop_near_duplicates([ex("a"), ex("b"), ex("c", "d")])
    assert dropped == 1 and [e.chosen.split()[-1] for e in kept] == ["a", "d"]


def test_export_route_makes_an_uploaded_file(client, app):
    give(app.state.store, ["Write to me.", "No."], pair=(1, 0), fix=(0, "Mail a@example.com"))
    made = client.post("/v1/feedback/export", json={"kind": "dpo"}).json()
    assert made["object"] == "file" and made["purpose"] == "fine-tune"
    assert made["export"]["rows"] == 2 and made["filename"] == "feedback-dpo.jsonl"
    content = client.get(f"/v1/files/{made['id']}/content").text
    rows = [json.loads(line) for line in content.splitlines()]
    assert rows[1]["preferred_output"][0]["content"] == "Mail <EMAIL_1>"
    bad = client.post("/v1/feedback/export", json={"kind": "sft"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "kind"


# ---------------------------------------------------------------- the CLI


def test_cli_list_show_export_delete_locally_and_against_a_server(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TUNELAB_DATABASE_URL", url)
    local = open_store(url)
    give(local, ["Four.", "Five."], pair=(0, 1))
    give(local, ["Hi."], messages=[{"role": "user", "content": "hi"}], rate=(0, "up"))
    local.dispose()
    assert main(["feedback", "list"]) == 0
    listed = capsys.readouterr().out
    assert "comparison" in listed and "rating" in listed and "up" in listed
    assert main(["feedback", "list", "--kind", "rating", "--json"]) == 0
    [item] = json.loads(capsys.readouterr().out)["data"]
    assert main(["feedback", "show", item["id"]]) == 0
    assert "rating up" in capsys.readouterr().out
    out = tmp_path / "out.jsonl"
    assert main(["feedback", "export", "-o", str(out), "--kind", "kto"]) == 0
    assert "wrote 3 kto row(s)" in capsys.readouterr().out and len(read_jsonl(out)) == 3

    app = create_app(database_url=url, retention=KEEP_ALL)
    with serve_app(app) as server:
        monkeypatch.setenv("TUNELAB_URL", server)
        assert main(["feedback", "list"]) == 0
        assert capsys.readouterr().out == listed  # the same output either way
        remote = tmp_path / "remote.jsonl"
        assert main(["feedback", "export", "-o", str(remote), "--kind", "kto"]) == 0
        assert "uploaded as file-" in capsys.readouterr().out
        assert remote.read_text() == out.read_text()
        assert main(["feedback", "show", "feedback-missing"]) == 2
        assert "feedback_not_found" in capsys.readouterr().err
        assert main(["feedback", "delete", item["id"]]) == 0
        assert capsys.readouterr().out == f"deleted {item['id']}\n"
    monkeypatch.delenv("TUNELAB_URL")
    assert main(["feedback", "list", "--json"]) == 0
    assert [f["kind"] for f in json.loads(capsys.readouterr().out)["data"]] == ["comparison"]
    assert main(["feedback", "prune-completions"]) == 0  # all are recent: none goes
    assert capsys.readouterr().out == "deleted 0 completion(s)\n"
    assert main(["feedback", "prune-completions", "--all"]) == 0
    assert capsys.readouterr().out == "deleted 3 completion(s)\n"
    assert main(["feedback", "export", "-o", str(out), "--json"]) == 0  # feedback kept its copy
    assert json.loads(capsys.readouterr().out)["rows"] == 1
