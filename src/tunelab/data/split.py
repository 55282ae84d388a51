"""Split examples into train and validation sets, seeded and without leaking duplicates.

The split is made over distinct contents (``formats.example_key``), not rows: every copy of a
validation example is kept out of train, so validation loss measures unseen data. Validation
holds one copy of each of its contents; train keeps its own repeats (they were warned about).
"""

from __future__ import annotations

import random

from tunelab.data.formats import Example, example_key


def validation_size(n_distinct: int, *, fraction: float, min_val: int, max_val: int) -> int:
    """How many distinct contents go to validation.

    ``round(n * fraction)`` clamped to ``[min_val, max_val]``; when there are fewer than
    ``2 * min_val`` contents that would starve train, so it is ``max(1, n // 5)`` instead. Train
    always keeps at least one content, so a single content gives no validation set.
    """
    if fraction <= 0 or n_distinct < 2:
        return 0
    if n_distinct < 2 * min_val:
        size = max(1, n_distinct // 5)
    else:
        size = min(max(round(n_distinct * fraction), min_val), max_val)
    return min(size, n_distinct - 1)


def split_examples(
    examples: list[Example],
    *,
    seed: int,
    fraction: float = 0.1,
    min_val: int = 5,
    max_val: int = 200,
) -> tuple[list[Example], list[Example]]:
    """Return ``(train, val)``, both in the input's order; the same seed gives the same split.

    Sizes follow ``validation_size``. Raises ``ValueError`` for a fraction outside [0, 1) or
    ``min_val > max_val``.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), not {fraction}")
    if min_val > max_val:
        raise ValueError(f"min_val ({min_val}) is larger than max_val ({max_val})")
    keys = [example_key(example) for example in examples]
    distinct = list(dict.fromkeys(keys))
    size = validation_size(len(distinct), fraction=fraction, min_val=min_val, max_val=max_val)
    val_keys = set(random.Random(seed).sample(distinct, size))
    train: list[Example] = []
    val: list[Example] = []
    taken: set[str] = set()
    for key, example in zip(keys, examples, strict=True):
        if key not in val_keys:
            train.append(example)
        elif key not in taken:
            taken.add(key)
            val.append(example)
    return train, val
