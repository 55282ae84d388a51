"""The scrubber's measuring stick (bench/pii_corpus.py, bench/privacy_scrub.py): the corpus is
seeded, its labels are exact, its checksums hold where they should and fail where they should,
every PII type and script is there, and the scoring gives an oracle full marks and a no-op none."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import pii_corpus as pc  # noqa: E402
import privacy_scrub as ps  # noqa: E402


@pytest.fixture(scope="module")
def corpus() -> list[pc.Case]:
    return pc.make_corpus()


def test_same_seed_same_corpus(corpus):
    again = pc.make_corpus(300)  # case i does not depend on n either
    assert pc.to_jsonl(again) == pc.to_jsonl(corpus[:300])
    assert [c.planted for c in again] == [c.planted for c in corpus[:300]]
    assert [c.negatives for c in again] == [c.negatives for c in corpus[:300]]
    assert pc.to_jsonl(pc.make_corpus(300, seed=1)) != pc.to_jsonl(again)


def test_labels_are_exact_substrings(corpus):
    for case in corpus:
        for label in case.planted:
            value = ps.resolve(case.record, label.pointer)
            assert isinstance(value, str) and label.text in value, label
            assert label.parts and all(part in label.text for part in label.parts), label
        for neg in case.negatives:
            value = ps.resolve(case.record, neg.pointer)
            assert isinstance(value, str) and neg.text in value, neg


def test_checksums(corpus):
    planted = [label for case in corpus for label in case.planted]
    negatives = [neg for case in corpus for neg in case.negatives]
    assert all(pc.luhn_ok(x.text) for x in planted if x.type == "CREDIT_CARD")
    assert all(pc.iban_ok(x.text) for x in planted if x.type == "IBAN")
    assert all(pc.ssn_ok(x.text) for x in planted if x.type == "US_SSN")
    assert not any(pc.luhn_ok(x.text) for x in negatives if x.kind == "luhn_failing_16")
    digit_tracking = [x for x in negatives if x.kind == "tracking_number" and x.text[2:].isdigit()]
    assert digit_tracking and not any(pc.luhn_ok(x.text) for x in digit_tracking)
    assert not any(pc.iban_ok(x.text) for x in negatives if x.kind == "invalid_iban")
    assert pc.luhn_ok("4111 1111 1111 1111") and not pc.luhn_ok("4111 1111 1111 1112")
    assert pc.iban_ok("GB82 WEST 1234 5698 7654 32") and not pc.iban_ok(
        "GB83 WEST 1234 5698 7654 32"
    )
    assert pc.ssn_ok("123-45-6789") and not any(map(pc.ssn_ok, ["666-12-3456", "900-12-3456"]))


def test_size_and_shape(corpus):
    jsonl = pc.to_jsonl(corpus)
    assert jsonl.count("\n") == len(corpus) >= 2000
    assert 0.2 <= sum(c.pii_free for c in corpus) / len(corpus) <= 0.3
    roles = Counter(m["role"] for c in corpus for m in c.record["messages"])
    assert roles.keys() == {"system", "user", "assistant", "tool"}
    in_arguments = [x for c in corpus for x in c.planted if x.pointer.endswith("/arguments")]
    assert len(in_arguments) >= 100
    templates = {c.template for c in corpus}
    assert templates == {t.__name__ for t, _ in pc.PII_TEMPLATES + pc.CLEAN_TEMPLATES}


@pytest.mark.parametrize("kind", pc.PII_TYPES)
def test_every_type_is_planted(corpus, kind):
    labels = [x for c in corpus for x in c.planted if x.type == kind]
    assert len(labels) >= 100
    assert len({x.form for x in labels}) >= 3  # several formats, countries or scripts


@pytest.mark.parametrize("script", pc.SCRIPTS)
def test_every_script_is_named(corpus, script):
    names = [x for c in corpus for x in c.planted if x.type == "PERSON" and x.form == script]
    assert len(names) >= 100
    assert len({x.text for x in names}) >= 50
    if script != "latin":  # the name is written in its own script
        assert all(not re.search(r"[A-Za-z]", x.text) for x in names)


def test_negatives_of_every_kind(corpus):
    kinds = Counter(neg.kind for c in corpus for neg in c.negatives)
    wanted = {
        "order_id",
        "invoice_id",
        "version",
        "build_number",
        "price",
        "sku",
        "tracking_number",
    }
    wanted |= {"luhn_failing_16", "invalid_iban", "date", "word", "product", "code", "sentence"}
    assert wanted <= kinds.keys()
    assert min(kinds[k] for k in wanted) >= 20


def _oracle(case: pc.Case):
    """Replaces exactly the planted values: what a perfect scrubber would do."""

    def scrub(record: dict) -> tuple[dict, list]:
        for label in sorted(case.planted, key=lambda x: -len(x.text)):
            parent, key = label.pointer.rsplit("/", 1)
            node = ps.resolve(record, parent)
            key = int(key) if isinstance(node, list) else key
            node[key] = node[key].replace(label.text, f"<{label.type}_1>")
        return record, []

    return scrub


def test_scoring_gives_an_oracle_full_marks_and_a_no_op_none(corpus):
    cases = corpus[:600]
    perfect = ps.Score(lines_in=len(cases), lines_out=len(cases))
    for case in cases:
        after, findings = _oracle(case)(json.loads(json.dumps(case.record)))
        ps.score_case(case, after, findings, perfect)
    assert all(all(flags) for flags in perfect.found.values())
    assert all(all(flags) for flags in perfect.kept.values())
    assert all(perfect.pii_free) and all(perfect.json_intact) and all(perfect.structure)
    noop = ps.score(cases, lambda record: (record, []))
    assert not any(any(flags) for flags in noop.found.values())
    assert all(all(flags) for flags in noop.kept.values()) and all(noop.pii_free)
    assert noop.json_intact and all(noop.json_intact) and noop.lines_out == len(cases)


def test_scoring_counts_a_partly_scrubbed_value_as_missed():
    case = next(c for c in pc.make_corpus(200) if any(x.type == "ADDRESS" for x in c.planted))
    label = next(x for x in case.planted if x.type == "ADDRESS")
    street_only = pc.Case(case.record, [label], [], case.template)
    after, _ = _oracle(pc.Case(case.record, [], [], ""))(json.loads(json.dumps(case.record)))
    parent, key = label.pointer.rsplit("/", 1)
    node = ps.resolve(after, parent)
    key = int(key) if isinstance(node, list) else key
    node[key] = node[key].replace(label.parts[1], "<ADDRESS_1>")
    score = ps.Score()
    ps.score_case(street_only, after, [], score)
    assert score.found["ADDRESS"] == [False] and score.address_some == [True]


def test_prefilter_loses_no_finding(corpus):
    """The detectors the prefilter skips (no run of enough digits, no digit) find nothing."""
    from tunelab.data import privacy

    texts = {text for case in corpus[::3] for _, text in ps.strings(case.record) if text.strip()}
    assert len(texts) > 1000
    for text in texts:
        assert privacy._find(text) == privacy._find(text, prefilter=False), text
