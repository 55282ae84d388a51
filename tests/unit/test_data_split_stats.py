"""split_examples (seeded, leak-free) and dataset_stats / format_histogram."""

from __future__ import annotations

import pytest

from tunelab.data import Example, dataset_stats, format_histogram, split_examples
from tunelab.data.formats import example_key
from tunelab.data.split import validation_size
from tunelab.data.stats import histogram, percentile


def make(i: int, answer: str | None = None) -> Example:
    messages = [
        {"role": "user", "content": f"question {i}"},
        {"role": "assistant", "content": answer or f"answer {i}", "weight": 1},
    ]
    return Example(line=i + 1, messages=messages)


def lines(examples: list[Example]) -> list[int]:
    return [e.line for e in examples]


def test_split_is_deterministic_per_seed():
    examples = [make(i) for i in range(100)]
    first = split_examples(examples, seed=1)
    again = split_examples(examples, seed=1)
    other = split_examples(examples, seed=2)
    assert [lines(part) for part in first] == [lines(part) for part in again]
    assert lines(first[1]) != lines(other[1])


def test_split_parts_cover_the_input_in_order():
    examples = [make(i) for i in range(100)]
    train, val = split_examples(examples, seed=0)
    assert sorted(lines(train) + lines(val)) == lines(examples)
    assert lines(train) == sorted(lines(train)) and lines(val) == sorted(lines(val))


@pytest.mark.parametrize(
    ("n", "kwargs", "n_val"),
    [
        (1000, {}, 100),  # fraction 0.1
        (30, {}, 5),  # round(0.1 * 30) = 3, raised to min_val
        (9, {}, 1),  # fewer than 2 * min_val: n // 5
        (4, {}, 1),  # max(1, 4 // 5)
        (2, {}, 1),  # train keeps the other one
        (1, {}, 0),  # nothing to spare
        (0, {}, 0),
        (10_000, {}, 200),  # capped at max_val
        (100, {"fraction": 0.0}, 0),
        (100, {"fraction": 0.5, "max_val": 1000}, 50),
    ],
)
def test_split_sizes(n, kwargs, n_val):
    train, val = split_examples([make(i) for i in range(n)], seed=3, **kwargs)
    assert len(val) == n_val
    assert len(train) == n - n_val
    assert train or n == 0


def test_validation_size_never_starves_train():
    for n in range(2, 60):
        assert 1 <= validation_size(n, fraction=0.9, min_val=50, max_val=100) <= n - 1


def test_duplicates_of_a_validation_example_leave_train():
    examples = [make(i % 20) for i in range(100)]  # each content 5 times
    for seed in range(10):
        train, val = split_examples(examples, seed=seed)
        val_keys = {example_key(e) for e in val}
        assert not val_keys & {example_key(e) for e in train}
        assert len(val_keys) == len(val)  # validation holds one copy of each
        assert len(train) == 5 * (20 - len(val))


def test_all_identical_examples_cannot_be_split():
    train, val = split_examples([make(0)] * 10, seed=0)
    assert (len(train), len(val)) == (10, 0)


@pytest.mark.parametrize(
    "kwargs", [{"fraction": 1.0}, {"fraction": -0.1}, {"min_val": 10, "max_val": 5}]
)
def test_split_rejects_bad_options(kwargs):
    with pytest.raises(ValueError):
        split_examples([make(0), make(1)], seed=0, **kwargs)


def test_stats_without_tokens():
    examples = [make(i) for i in range(4)] + [Example(line=9, messages=[], kind="text", text="t")]
    stats = dataset_stats(examples)
    assert stats["examples"] == 5 and stats["text_examples"] == 1
    assert stats["turns"] == {"user": 4, "assistant": 4}
    assert stats["messages_per_example"]["max"] == 2
    assert stats["duplicates"] == 0
    assert "tokens_total" not in stats and "estimated_train_seconds" not in stats


def test_duplicate_ratio_for_all_identical_rows():
    stats = dataset_stats([make(0)] * 10)
    assert stats["duplicates"] == 9
    assert stats["duplicate_ratio"] == pytest.approx(0.9)


def test_token_stats_histogram_and_estimate():
    counts = [(n, n // 2) for n in (10, 20, 30, 40, 50, 60, 70, 80, 90, 1000)]
    stats = dataset_stats(
        [make(i) for i in range(10)], token_counts=counts, tokens_per_second=100.0, epochs=3
    )
    assert stats["tokens_total"] == 1450
    assert stats["tokens_trained"] == sum(t for _, t in counts)
    per = stats["tokens_per_example"]
    assert (per["min"], per["max"], per["mean"], per["p50"]) == (10, 1000, 145.0, 55.0)
    assert per["p95"] == pytest.approx(590.5)
    assert sum(b["count"] for b in stats["histogram"]) == 10
    assert len(stats["histogram"]) <= 10
    assert stats["estimated_train_seconds"] == pytest.approx(1450 * 3 / 100)


@pytest.mark.parametrize(
    "values", [[5], [1, 2, 3], list(range(0, 1001, 7)), [3] * 50 + [4000], [0, 0, 1]]
)
def test_histogram_covers_every_value(values):
    bins = histogram(values)
    assert sum(b["count"] for b in bins) == len(values)
    assert bins[0]["lo"] == min(values) and bins[-1]["hi"] == max(values)
    assert len(bins) <= 10
    assert all(b["lo"] <= b["hi"] for b in bins)
    for value in values:
        assert sum(b["lo"] <= value <= b["hi"] for b in bins) == 1


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([7], 95) == 7


@pytest.mark.parametrize(
    "kwargs",
    [{"token_counts": [(1, 1)]}, {"token_counts": [(1, 1)] * 2, "tokens_per_second": 0}],
)
def test_stats_reject_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        dataset_stats([make(0), make(1)], **kwargs)


def test_format_histogram_draws_scaled_bars():
    text = format_histogram([{"lo": 1, "hi": 9, "count": 2}, {"lo": 10, "hi": 19, "count": 4}])
    assert text.splitlines() == ["  1-9 | " + "#" * 20 + " 2", "10-19 | " + "#" * 40 + " 4"]
    assert format_histogram([]) == "(no data)"


def test_generation_batches_bound_rows_and_padded_tokens():
    from tunelab.data.batches import generation_batches

    lengths = [30, 10, 900, 20, 40, 25]
    batches = generation_batches(lengths, max_rows=3, max_tokens=400, new_tokens=50)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert [2] in batches  # the long prompt goes alone, even over the budget
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * (max(lengths[i] for i in b) + 50) <= 400


def test_rows_of_similar_length_are_padded_and_mixed_ones_packed():
    from tunelab.data.batches import collate_or_pack
    from tunelab.data.render import Rendered

    def row(n: int) -> Rendered:
        return Rendered(list(range(1, n + 1)), list(range(1, n + 1)))

    similar = collate_or_pack([row(100), row(95), row(90)], pad_id=0)  # 300 padded for 285
    assert "attention_mask" in similar and similar["input_ids"].shape == (3, 100)
    mixed = collate_or_pack([row(400), row(20), row(30)], pad_id=0)  # 1200 padded for 450
    assert "cu_seq_lens_q" in mixed and mixed["input_ids"].shape == (1, 450)
