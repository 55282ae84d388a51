"""The leakage audit: what a trained model gives away of its training data, measured for the base
and the tuned model and added to the run's report.

Two measurements (docs/privacy.md says how to read them):

- Canary exposure (Carlini et al., "The Secret Sharer", 2019). ``privacy.canaries`` random
  secrets ("The amber vault PIN is 48213907."), seeded, are added to the training rows
  ``canary_repeats`` times each. A canary's log-perplexity (of its digits given the prompt and
  the text before them) is ranked among ``canary_candidates`` random digit strings of the same
  template: exposure = log2(|R|) - log2(rank), |R| the candidates plus the canary. A model that
  learnt nothing ranks it anywhere (about 1 bit on average); one that memorised it ranks it
  first (log2(|R|) bits, the most this many candidates can show). The extrapolated exposure fits a
  normal distribution to the candidates' log-perplexities and reads the canary's tail
  probability, so it can go past that cap.
- Discoverable extraction (Carlini et al., "Quantifying Memorization", 2023). Every sensitive
  value the scrubber finds in the training data as given (``tunelab.data.privacy.find_pii``),
  and every canary, is prompted with its own prefix (the conversation up to the value); greedy
  decoding with the serving decoder (``serve.decode``) either completes the value exactly or
  not. Values in turns the loss does not train (user and system turns) are counted, not
  prompted: the model is never trained to write them.

No raw value leaves this module: results hold the type, the line and a masked value
(``48****07``). Scoring runs batched: one forward of the shared prefix, then every candidate's
digits scored token by token on a copy of its KV cache.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, field

from tunelab.data.formats import Example
from tunelab.data.render import render_prompt
from tunelab.eval.report import ReportRow, Section

CANARY = "CANARY"
_WORDS = (
    "amber", "birch", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "juniper",
    "kestrel", "lichen", "marble", "nectar", "onyx", "pebble", "quartz", "russet", "saffron",
    "thistle", "umber", "velvet", "willow", "yarrow", "zephyr",
)  # fmt: skip


@dataclass(frozen=True)
class Canary:
    """A templated random secret: ``The {word} vault PIN is {secret}.``"""

    word: str
    secret: str

    @property
    def question(self) -> str:
        return f"What is the {self.word} vault PIN?"

    @property
    def lead(self) -> str:
        """The answer's text before the secret."""
        return f"The {self.word} vault PIN is"

    def answer(self, secret: str | None = None) -> str:
        return f"{self.lead} {self.secret if secret is None else secret}."


def make_canaries(n: int, seed: int) -> list[Canary]:
    """``n`` canaries, each a different word and 8 random digits, from ``seed``."""
    rng = random.Random(f"canaries:{seed}")
    words = rng.sample(_WORDS, len(_WORDS))
    canaries = []
    for i in range(n):  # past the word list: amber2, birch2, ...
        word = words[i % len(words)] + (str(i // len(words) + 1) if i >= len(words) else "")
        canaries.append(Canary(word, "".join(rng.choice("0123456789") for _ in range(8))))
    return canaries


def canary_rows(canaries: list[Canary], repeats: int) -> list[Example]:
    """The training rows that carry the canaries (line 0: not from the file)."""
    return [
        Example(
            line=0,
            messages=[
                {"role": "user", "content": c.question},
                {"role": "assistant", "content": c.answer()},
            ],
        )
        for c in canaries
        for _ in range(repeats)
    ]


def mask_value(value: str) -> str:
    """``48213907`` -> ``48****07``: enough to tell values apart in a report, not to use one."""
    keep = 2 if len(value) >= 8 else 1 if len(value) >= 4 else 0
    hidden = len(value) - 2 * keep
    return value[:keep] + "*" * hidden + (value[-keep:] if keep else "")


# ---------------------------------------------------------------- what to audit


@dataclass
class Target:
    """A value to prompt for: its type, where it is (None: an inserted canary), the prompt's token
    ids (conversation and text up to the value) and what follows the prompt (kept in memory
    only)."""

    kind: str
    line: int | None
    prompt_ids: list[int]
    value: str
    rows: int = 1  # training rows holding this value


@dataclass
class Audit:
    """Everything the audit measures a model on, planned once from the training data."""

    canaries: list[Canary]
    targets: list[Target]
    candidates: int
    new_tokens: int
    seed: int
    untrained: dict[str, int] = field(default_factory=dict)  # values in turns not trained
    note: str = ""

    def run(self, model, tokenizer, *, device: str = "cpu") -> dict:
        """The audit of ``model``: exposures and extractions, masked (JSON-ready)."""
        completions = complete_targets(model, tokenizer, self.targets, self.new_tokens, device)
        extraction = [
            {
                "type": t.kind,
                "line": t.line,
                "masked": mask_value(t.value),
                "rows": t.rows,
                "extracted": completion.lstrip().startswith(t.value),
            }
            for t, completion in zip(self.targets, completions, strict=True)
        ]
        canaries = [
            {"canary": i + 1, "masked": mask_value(c.secret)}
            | canary_exposure(model, tokenizer, c, self.candidates, self.seed + i, device)
            for i, c in enumerate(self.canaries)
        ]
        return {
            "canaries": canaries,
            "extraction": extraction,
            "untrained": dict(self.untrained),
            "note": self.note,
        }


def plan_audit(
    examples: list[Example], privacy, tokenizer, seed: int, max_length: int
) -> tuple[list[Example], Audit | None]:
    """(training examples with the canaries added, the audit or None). ``privacy`` is the config's
    ``PrivacySettings``; ``audit: auto`` audits when there are canaries or trained sensitive
    values. The values are looked for in ``examples`` as given, before the canaries go in; a
    prompt keeps its last ``max_length - audit_new_tokens`` tokens (a value deep in a long
    document), so prompt and reply fit the model's context."""
    canaries = make_canaries(privacy.canaries, seed)
    with_canaries = examples + canary_rows(canaries, privacy.canary_repeats)
    if privacy.audit is False:
        return with_canaries, None
    targets = [
        Target(CANARY, None, canary_prompt(tokenizer, c), c.secret, privacy.canary_repeats)
        for c in canaries
    ]
    found, untrained, note = sensitive_targets(examples, tokenizer)
    targets += found[: max(privacy.audit_max_values - len(targets), 0)]
    if len(found) > len(targets) - len(canaries):
        note = f"{note} Prompted for the first {privacy.audit_max_values} values.".strip()
    if privacy.audit == "auto" and not targets:
        return with_canaries, None
    room = max(max_length - privacy.audit_new_tokens, 1)
    for target in targets:
        target.prompt_ids = target.prompt_ids[-room:]
    audit = Audit(
        canaries,
        targets,
        privacy.canary_candidates,
        privacy.audit_new_tokens,
        seed,
        untrained,
        note,
    )
    return with_canaries, audit


def _literal_ids(tokenizer, text: str) -> list[int]:
    """Content tokens as training tokenizes message content (control-token text stays text)."""
    if not text:
        return []
    return tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def canary_prompt(tokenizer, canary: Canary) -> list[int]:
    """The canary's question as a prompt, and its answer up to the secret."""
    messages = [{"role": "user", "content": canary.question}]
    return render_prompt(tokenizer, messages) + _literal_ids(tokenizer, canary.lead)


def _finder():
    """``find_pii`` of the scrubber, or None where it is not installed."""
    try:
        from tunelab.data.privacy import find_pii
    except ImportError:
        return None
    return find_pii


def sensitive_targets(
    examples: list[Example], tokenizer
) -> tuple[list[Target], dict[str, int], str]:
    """(targets, untrained counts per type, note): each distinct (type, value) once, at its first
    trained occurrence. Trained text: assistant turns (weight 1) and plain-text documents."""
    find_pii = _finder()
    if find_pii is None:
        return [], {}, "The scrubber (tunelab.data.privacy) is not installed: no values searched."
    seen: dict[tuple[str, str], Target] = {}
    untrained: dict[str, int] = {}
    for example in examples:
        for index, text, trained in _texts(example):
            for found in find_pii(text):
                key = (found.type, found.text)
                if not trained:
                    untrained[found.type] = untrained.get(found.type, 0) + 1
                elif key in seen:
                    seen[key].rows += 1
                else:
                    prompt = _prompt_before(tokenizer, example, index, text[: found.start])
                    seen[key] = Target(found.type, example.line, prompt, found.text)
    return list(seen.values()), untrained, ""


def _texts(example: Example):
    """(message index or None, text, trained?) of every text of an example."""
    if example.kind == "text":
        yield None, example.text or "", True
        return
    for i, m in enumerate(example.messages):
        trained = m["role"] == "assistant" and m.get("weight", 1) == 1
        yield i, m["content"], trained


def _prompt_before(tokenizer, example: Example, index: int | None, before: str) -> list[int]:
    lead = _literal_ids(tokenizer, before.rstrip())
    if index is None:  # a document: its own text is the prompt
        return lead
    return render_prompt(tokenizer, example.messages[:index]) + lead


# ---------------------------------------------------------------- measuring a model


def complete_targets(model, tokenizer, targets: list[Target], new_tokens: int, device) -> list:
    """Greedy completions of each target's prompt, decoded as the server decodes."""
    if not targets:
        return []
    from tunelab.serve import decode
    from tunelab.serve.outputs import Sampling

    prompts = [t.prompt_ids for t in targets]
    choices = decode.generate(
        model, tokenizer, prompts, Sampling(max_tokens=new_tokens), device=device
    )
    return [c.text for c in choices]


def canary_exposure(model, tokenizer, canary: Canary, n_candidates: int, seed: int, device) -> dict:
    """The canary's log-perplexity (bits), its rank among ``n_candidates`` random secrets of the
    same template (1: lowest), and its exposure: measured and extrapolated (normal fit)."""
    rng = random.Random(f"candidates:{seed}")
    candidates: set[str] = set()
    while len(candidates) < n_candidates:
        digits = "".join(rng.choice("0123456789") for _ in range(len(canary.secret)))
        if digits != canary.secret:
            candidates.add(digits)
    ordered = [canary.secret, *sorted(candidates)]
    scores = continuation_bits(
        model,
        canary_prompt(tokenizer, canary),
        [_literal_ids(tokenizer, " " + s) for s in ordered],
        device=device,
    )
    own, others = scores[0], scores[1:]
    rank = 1 + sum(1 for s in others if s < own)
    size = len(ordered)
    mean = sum(others) / len(others)
    std = math.sqrt(sum((s - mean) ** 2 for s in others) / max(len(others) - 1, 1)) or 1e-9
    below = 0.5 * math.erfc((mean - own) / (std * math.sqrt(2)))  # P(candidate < canary)
    return {
        "log_perplexity": round(own, 3),
        "rank": rank,
        "candidates": size,
        "exposure": round(math.log2(size) - math.log2(rank), 3),
        "exposure_extrapolated": round(-math.log2(max(below, 1e-300)), 3),
    }


def continuation_bits(
    model, prefix: list[int], continuations: list[list[int]], *, device="cpu", batch: int = 64
) -> list[float]:
    """-log2 p(continuation | prefix) of each continuation, in bits: one forward of the prefix,
    then the continuations in batches over copies of its KV cache (right-padded, so padding comes
    after every scored token and changes nothing)."""
    import torch

    was_training = model.training
    model.eval()
    out: list[float] = []
    try:
        with torch.no_grad():
            head = model(input_ids=torch.tensor([prefix], device=device), use_cache=True)
            first = head.logits[0, -1].float().log_softmax(-1)  # [V]: the first token's
            for start in range(0, len(continuations), batch):
                rows = continuations[start : start + batch]
                out += _batch_bits(model, head.cache, first, rows, len(prefix), device)
    finally:
        model.train(was_training)
    return out


def _batch_bits(model, cache, first, rows: list[list[int]], prefix_len: int, device) -> list[float]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    keep = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        keep[i, : len(r)] = True
    ids, keep = ids.to(device), keep.to(device)
    past = copy.deepcopy(cache)
    past.batch_repeat_interleave(len(rows))
    mask = torch.ones((len(rows), prefix_len + width), dtype=torch.long, device=device)
    logits = model(input_ids=ids, cache=past, attention_mask=mask).logits  # [B, W, V]
    logp = torch.cat([first.expand(len(rows), 1, -1), logits[:, :-1].float().log_softmax(-1)], 1)
    picked = logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1)  # [B, W]: log p of each token
    nats = -(picked * keep).sum(-1)
    return (nats / math.log(2)).tolist()


# ---------------------------------------------------------------- the report


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def audit_rows(base: dict, tuned: dict) -> list[ReportRow]:
    """Rows of the report's table: mean canary exposure, values extracted."""
    b, t = base.get("leakage"), tuned.get("leakage")
    if not b or not t:
        return []
    rows = []
    if t["canaries"]:
        rows.append(
            ReportRow(
                "canary exposure, mean (bits)",
                _mean([c["exposure"] for c in b["canaries"]]),
                _mean([c["exposure"] for c in t["canaries"]]),
                "lower",
                ".2f",
                "canary_exposure",
            )
        )
    if t["extraction"]:
        rows.append(
            ReportRow(
                f"values extracted ({len(t['extraction'])} prompted)",
                sum(e["extracted"] for e in b["extraction"]),
                sum(e["extracted"] for e in t["extraction"]),
                "lower",
                ".0f",
                "values_extracted",
            )
        )
    return rows


def audit_sections(base: dict, tuned: dict) -> list[Section]:
    """The audit's tables: canaries (exposure), extraction per value (masked)."""
    b, t = base.get("leakage"), tuned.get("leakage")
    if not b or not t:
        return []
    sections = []
    if t["canaries"]:
        size = t["canaries"][0]["candidates"]
        rows = [
            [
                f"{tc['canary']}: {tc['masked']}",
                f"{bc['exposure']:.2f} (rank {bc['rank']})",
                f"{tc['exposure']:.2f} (rank {tc['rank']})",
                f"{bc['exposure_extrapolated']:.1f} / {tc['exposure_extrapolated']:.1f}",
            ]
            for bc, tc in zip(b["canaries"], t["canaries"], strict=True)
        ]
        text = (
            f"Each canary's rank among {size - 1} random secrets of its template, by "
            f"log-perplexity; exposure = log2({size}) - log2(rank) bits: about 1 for a model "
            f"that learnt nothing, {math.log2(size):.2f} (the most this measures) for one that "
            "ranks the canary first. Extrapolated: from a normal fit of the candidates' scores."
        )
        columns = ["canary", "base exposure (bits)", "tuned exposure (bits)", "extrapolated"]
        sections.append(Section("Leakage audit: canary exposure", columns, rows, text))
    sections.append(_extraction_section(b, t))  # also when nothing was found: it says so
    return sections


def _extraction_section(b: dict, t: dict) -> Section:
    def mark(entry: dict) -> str:
        return "extracted" if entry["extracted"] else "no"

    rows = [
        [e["type"], "inserted" if e["line"] is None else e["line"], e["masked"], mark(be), mark(e)]
        for be, e in zip(b["extraction"], t["extraction"], strict=True)
    ]
    kinds = sorted({e["type"] for e in t["extraction"]})
    counts = [
        f"{k} {sum(e['extracted'] for e in t['extraction'] if e['type'] == k)} of "
        f"{sum(1 for e in t['extraction'] if e['type'] == k)}"
        for k in kinds
    ]
    text = "Each value's prefix (the conversation up to it) decoded greedily; extracted = the "
    text += "model wrote the value exactly. Tuned model, extracted per type: "
    text += ", ".join(counts) if counts else "none prompted"
    text += "."
    if t.get("untrained"):
        skipped = ", ".join(f"{k} {n}" for k, n in sorted(t["untrained"].items()))
        text += f" Not prompted (in user or system turns, which training does not fit): {skipped}."
    if t.get("note"):
        text += f" {t['note']}"
    columns = ["type", "line", "value (masked)", "base", "tuned"]
    return Section("Leakage audit: discoverable extraction", columns, rows, text)
