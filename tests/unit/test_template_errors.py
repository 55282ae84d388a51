"""A chat template that raises (here: one that demands strict user/assistant alternation, as many
models' templates do) is the model refusing the conversation: validation reports it on the row's
line, chat answers 400 naming ``messages``, and neither shows a server path."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient
from tiny import CHAT_TEMPLATE, build_tokenizer

from tunelab.api.app import create_app
from tunelab.data.render import render_chat, render_prompt, token_counter
from tunelab.data.validate import load_examples, validate_file
from tunelab.errors import ChatTemplateError, DataValidationError, hide_server_paths

ALTERNATION = "Conversation roles must alternate user/assistant/user/assistant/..."
STRICT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] != 'system' and loop.index0 > 0 "
    "and messages[loop.index0 - 1]['role'] == message['role'] %}"
    "{{ raise_exception('" + ALTERNATION + "') }}{% endif %}{% endfor %}" + CHAT_TEMPLATE
)
TWO_USERS = [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Hello?"}]
LEAKS = ("/tmp", "/work", "site-packages", "Traceback")


@pytest.fixture(scope="module")
def strict_tokenizer():
    tokenizer = build_tokenizer()
    tokenizer.chat_template = STRICT_TEMPLATE
    return tokenizer


@pytest.fixture(scope="module")
def strict_model_dir(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("strict") / "strict-llama"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "chat_template.jinja").write_text(STRICT_TEMPLATE)
    return folder


def test_rendering_raises_a_typed_error(strict_tokenizer):
    with pytest.raises(ChatTemplateError) as caught:
        render_prompt(strict_tokenizer, TWO_USERS)
    assert caught.value.code == "template_error" and caught.value.param == "messages"
    assert ALTERNATION in caught.value.message
    with pytest.raises(ChatTemplateError):
        render_chat(strict_tokenizer, [*TWO_USERS, {"role": "assistant", "content": "a"}])
    assert render_prompt(strict_tokenizer, TWO_USERS[:1])  # a valid conversation renders


def test_validation_names_the_line_the_template_refuses(strict_tokenizer, tmp_path):
    rows = [
        [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]
        for i in range(12)
    ]
    rows[2].insert(0, {"role": "user", "content": "first"})  # line 3: two user turns in a row
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"messages": m}) + "\n" for m in rows))
    report = validate_file(path, count_tokens=token_counter(strict_tokenizer), max_length=256)
    [issue] = report.errors
    assert (issue.code, issue.line, issue.pointer) == ("template_error", 3, "/messages")
    assert ALTERNATION in issue.message and str(tmp_path) not in issue.message
    assert len(report.examples) == 11  # the row that cannot be rendered is not trained on
    with pytest.raises(DataValidationError) as caught:
        load_examples(path, count_tokens=token_counter(strict_tokenizer), max_length=256)
    assert caught.value.code == "template_error" and caught.value.param == "line 3/messages"


def test_chat_with_a_refusing_template_is_a_400(strict_model_dir):
    app = create_app(extra_bases={"strict": strict_model_dir})
    client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    bad = client.post("/v1/chat/completions", json={"model": "strict", "messages": TWO_USERS})
    assert bad.status_code == 400, bad.text
    error = bad.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (
        "template_error",
        "messages",
        "invalid_request_error",
    )
    assert ALTERNATION in error["message"]
    assert not [leak for leak in LEAKS if leak in bad.text]
    good = {"model": "strict", "messages": TWO_USERS[:1], "max_tokens": 2}
    assert client.post("/v1/chat/completions", json=good).status_code == 200


def test_a_model_folder_without_a_template_does_not_show_its_path(tiny_model_dir, tmp_path):
    folder = tmp_path / "bare-llama"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "chat_template.jinja").unlink()
    client = TestClient(create_app(extra_bases={"bare": folder}), base_url="http://127.0.0.1")
    response = client.post(
        "/v1/chat/completions", json={"model": "bare", "messages": TWO_USERS[:1]}
    )
    assert 400 <= response.status_code < 500, response.text
    assert str(tmp_path) not in response.text and "/tmp" not in response.text
    assert "bare-llama" in json.loads(response.text)["error"]["message"]


@pytest.mark.parametrize(
    "message, shown",
    [
        ("/srv/models/tiny-llama: no chat template", "tiny-llama: no chat template"),
        ("checkpoint /home/u/runs/x/step-4/ is incomplete", "checkpoint step-4 is incomplete"),
        ("No model '../../x'.", "No model '../../x'."),
        ("Upload files as multipart/form-data.", "Upload files as multipart/form-data."),
        ("ft:tiny:x:ftjob-abc", "ft:tiny:x:ftjob-abc"),
        ("line 3 /messages/0/content: missing", "line 3 /messages/0/content: missing"),
        ("see https://example.com/docs/errors", "see https://example.com/docs/errors"),
        ("in /root/.tunelab/runs/ftjob-1/data/x.jsonl", "in x.jsonl"),
    ],
)
def test_hide_server_paths(message, shown):
    assert hide_server_paths(message) == shown
