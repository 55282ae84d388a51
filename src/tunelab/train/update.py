"""Incremental updates: training a fine-tuned version further without forgetting what it knew.

When a run starts from a registered version (``tunelab train --from``, or a job whose ``model`` is
a fine-tuned id), its config's ``update.ancestors`` lists the data of that version and of those
above it (``jobs.ancestry``). Two things then keep the new model close to its parent:

- **Replay**: a share of each epoch's mix is drawn from the ancestors' training rows (their
  training split only: their validation rows are what forgetting is measured on, so they are
  never trained). ``update.replay: auto`` takes ``min(0.5, n_old / (n_old + n_new))``: as many
  old rows as new ones when the old data is at least as large. Every epoch replays a different
  share: the old rows (at most ``POOL_EPOCHS`` epochs' worth, drawn seeded) are taken in turn
  in a seeded order, so an update sees all of a small parent's data, and a large parent's
  broadly, at the cost of a half-and-half mix. All of it is seeded and exact on resume.
  Replay adds to what the new data gets, it takes nothing from it: auto epochs are those the
  new rows would get alone at their share of each batch (``sft.resolve_auto``'s ``n_new``),
  and their cross-entropy weighs ``update.new_weight`` (auto ``1 / (1 - share)``), so that in
  a step's mean over all its tokens they count as their own mean. On the launch demo this took
  the held-out new facts from 70% to 80% with 92% of the old ones kept (weight 1: 97%).
- **A penalty** towards the parent, added to every step's loss:
  - ``kl``: the KL divergence from the parent's next-token distribution to the new model's, on
    the trained positions of the replayed rows (so the old rows keep the parent's whole
    distribution while the new rows learn what it did not know; on every row when nothing is
    replayed). With LoRA the parent is the
    same weights with the adapter off, so it costs one more forward pass without gradients,
    and no second copy of the model.
  - ``l2``: the squared distance of the weights from the parent's, ``sum ||W - W_parent||^2``;
    with LoRA that is ``||scale * B @ A||^2``, computed as ``scale^2 * trace((B^T B)(A A^T))``
    on r x r matrices, almost free.
  ``update.penalty: auto`` is ``kl`` for LoRA updates (it constrains what the model says, not
  how its weights look) and ``l2`` for full fine-tuning (a second full copy for KL would double
  the memory); ``none`` turns it off.
"""

from __future__ import annotations

import random
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from tunelab.data.render import IGNORE
from tunelab.data.split import split_examples
from tunelab.data.validate import load_examples
from tunelab.eval.forgetting import Task, ancestor_tasks, retention_task
from tunelab.models.catalog import BUILTINS
from tunelab.models.forward import causal_lm, trained_token_loss

MAX_AUTO_REPLAY = 0.5
AUTO_WEIGHT = {
    "kl": 1.0,
    "l2": 1e-3,
}  # kl 1.0: retention loss +0.11 on the launch demo (0.1: +0.26, over its 0.25)
POOL_EPOCHS = 10  # old rows kept for replay: this many epochs' worth (auto epochs are <= 10)


def plan_update(config, train_examples: list, seed: int) -> tuple[list, dict]:
    """The training examples with the ancestors' rows for replay added (after them), and what
    was decided: ``replay_fraction``, ``n_replayed`` (old examples in each epoch) and
    ``replay_pool`` (the old examples added, replayed in turn, ``epoch_rows``)."""
    settings = config.update
    ancestors = [a.model_dump() for a in settings.ancestors]
    pool = ancestor_training_rows(ancestors) if ancestors else []
    fraction = settings.replay
    if fraction == "auto":
        fraction = auto_replay_fraction(len(pool), len(train_examples))
    per_epoch = replay_count(len(pool), len(train_examples), fraction)
    # DP-SGD samples each step from all the rows (Poisson, what its accounting assumes), so
    # the mix holds its replay share only when the pool is one epoch's worth: no rotation
    kept = draw(pool, per_epoch if private(config) else POOL_EPOCHS * per_epoch, seed)
    planned = {"replay_fraction": fraction, "n_replayed": per_epoch, "replay_pool": len(kept)}
    return train_examples + kept, planned


def epoch_rows(n_rows: int, groups: list[list[int]], per_epoch: int, seed: int, epoch: int):
    """The row indices an epoch trains: every row before the replayed ones, and the rows of
    ``per_epoch`` of the replayed examples (``groups``: each one's row indices, at the end).
    The examples are taken in turn in a seeded order, epoch after epoch, so none is replayed
    twice before every one was replayed once."""
    if not groups or per_epoch <= 0:
        return list(range(n_rows if not groups else groups[0][0]))
    order = list(range(len(groups)))
    random.Random(seed).shuffle(order)
    start = epoch * per_epoch
    picked = sorted(order[(start + k) % len(order)] for k in range(min(per_epoch, len(order))))
    return list(range(groups[0][0])) + [i for g in picked for i in groups[g]]


def private(config) -> bool:
    """DP-SGD asked for (a method without privacy keys never is)."""
    return getattr(config, "privacy", None) is not None and config.privacy.dp is not None


def forgetting_tasks(config) -> list[Task]:
    """What the run measures forgetting on: each ancestor's validation rows and test questions,
    and the retention set."""
    tasks = [t for a in config.update.ancestors for t in ancestor_tasks(a.model_dump())]
    retention = config.forgetting.retention
    if retention == "auto":
        retention = bool(config.update.ancestors) or config.model in BUILTINS
    return tasks + ([retention_task()] if retention else [])


def resolve_update(config, planned: dict) -> dict:
    """The update's resolved values (saved in run.json): replay and the penalty; nothing for a
    run that is not an update and asks for no penalty."""
    if not config.update.ancestors and config.update.penalty in ("auto", "none"):
        return {}
    penalty = config.update.penalty
    if penalty == "auto":  # DP-SGD's loop has no parent term (config refuses one asked for)
        penalty = (
            "none"
            if not config.update.ancestors or private(config)
            else "kl"
            if config.tuning == "lora"
            else "l2"
        )
    weight = config.update.penalty_weight
    if weight == "auto":
        weight = AUTO_WEIGHT.get(penalty, 0.0)
    new_weight = config.update.new_weight
    if new_weight == "auto":
        fraction = planned.get("replay_fraction") or 0.0
        replayed = planned.get("n_replayed") and not private(config)
        new_weight = round(1 / (1 - fraction), 4) if replayed and fraction < 1 else 1.0
    return planned | {"penalty": penalty, "penalty_weight": weight, "new_weight": new_weight}


class Penalty:
    """The pull towards the parent inside a training step: ``mixed_loss`` takes a micro-batch's
    KL term (kl), ``step`` adds the weights' term once per step (l2)."""

    def __init__(self, model, kind: str, weight: float, lora: bool):
        self.kind, self.weight, self.lora = kind, weight, lora
        self.parent = None
        if kind == "l2" and not lora:  # full fine-tuning: the starting weights, kept once
            self.parent = {
                n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
            }

    @classmethod
    def for_run(cls, model, resolved: dict, tuning: str):
        kind = resolved.get("penalty", "none")
        if kind == "none" or not resolved.get("penalty_weight"):
            return None
        return cls(model, kind, float(resolved["penalty_weight"]), tuning == "lora")

    def step(self, model) -> float:
        """The l2 term, its gradient added (call before the optimizer step); 0 for kl."""
        if self.kind != "l2":
            return 0.0
        distance = lora_l2(model) if self.lora else full_l2(model, self.parent)
        term = self.weight * distance
        term.backward()
        return float(term.detach())


def mixed_loss(model, batch: dict, replayed=None, penalty=None, new_weight: float = 1.0):
    """A micro-batch's (summed cross-entropy, the new rows' extra cross-entropy, the weighted
    summed KL), the last two None when they do not apply; the objective is their sum.

    ``replayed``: which of its rows (segments, when packed) are the ancestors' rows (None: no
    replay). ``new_weight``: what the new rows' cross-entropy counts for against a replayed
    row's; auto, ``1 / (1 - replay share)``, gives them, in a step's mean over all its trained
    tokens, the weight of their own mean, as if the step held them alone (the old rows then
    add their term at their share). A kl ``penalty`` is taken on the replayed rows only (every
    row when none is replayed), so the new rows learn what the parent did not know while the
    old ones keep the parent's whole next-token distribution."""
    kl = penalty is not None and penalty.kind == "kl" and (replayed is None or any(replayed))
    weighted = replayed is not None and new_weight != 1.0 and not all(replayed)
    if not (kl or weighted):
        return trained_token_loss(model, batch)[0], None, None
    loss, _, _, logits = trained_token_loss(model, batch, keep_logits=True)
    keep = batch["labels"][:, 1:] != IGNORE
    chosen = None
    if replayed is not None:
        chosen = torch.tensor(replayed, device=keep.device)[position_rows(batch, keep)]
    extra = None
    if weighted:
        picked = batch["labels"][:, 1:][keep]
        new = F.cross_entropy(logits[~chosen], picked[~chosen], reduction="sum")
        extra = (new_weight - 1.0) * new
    if not kl:
        return loss, extra, None
    if chosen is not None:
        logits, keep = logits[chosen], keep.clone()
        keep[keep.clone()] = chosen
    return loss, extra, penalty.weight * kl_to_parent(logits, parent_logits(model, batch, keep))


def auto_replay_fraction(n_old: int, n_new: int) -> float:
    """The share of the mix replayed from the ancestors when ``update.replay`` is auto."""
    if n_old <= 0 or n_new <= 0:
        return 0.0
    return round(min(MAX_AUTO_REPLAY, n_old / (n_old + n_new)), 4)


def ancestor_training_rows(ancestors: list[dict]) -> list:
    """Every ancestor's training rows, oldest ancestor first: its ``train_file`` minus the
    validation split it held out (when it had no ``validation_file``), so that the rows
    forgetting is measured on are never replayed."""
    pool = []
    for ancestor in ancestors:
        if not ancestor.get("train_file"):
            continue
        rows = load_examples(ancestor["train_file"])
        if not ancestor.get("validation_file"):
            rows, _ = split_examples(
                rows,
                seed=ancestor.get("seed", 42),
                fraction=ancestor.get("validation_fraction", 0.1),
            )
        pool.extend(rows)
    return pool


def replay_count(n_pool: int, n_new: int, fraction: float) -> int:
    """Old examples in a mix whose share ``fraction`` is replayed: ``fraction / (1 - fraction)
    x n_new``, at most the pool."""
    if fraction <= 0 or n_pool <= 0:
        return 0
    return min(n_pool, round(fraction / (1 - fraction) * n_new))


def replay_rows(pool: list, n_new: int, fraction: float, seed: int) -> list:
    """``fraction`` of the mix from ``pool``: ``replay_count`` rows drawn with ``seed``."""
    return draw(pool, replay_count(len(pool), n_new, fraction), seed)


def draw(pool: list, wanted: int, seed: int) -> list:
    """``wanted`` rows of ``pool`` (all of it when it is smaller), seeded, in the pool's order."""
    if wanted <= 0:
        return []
    if wanted >= len(pool):
        return list(pool)
    picked = sorted(random.Random(seed).sample(range(len(pool)), wanted))
    return [pool[i] for i in picked]


def lora_l2(model) -> torch.Tensor:
    """``sum ||scale * B @ A||_F^2`` over the LoRA layers: the squared distance of the merged
    weights from the parent's, on r x r matrices."""
    total = None
    for module in model.modules():
        if not (hasattr(module, "lora_A") and hasattr(module, "lora_B")):
            continue
        for name in module.lora_A:
            a = module.lora_A[name].weight  # [r, in]
            b = module.lora_B[name].weight  # [out, r]
            scale = module.scaling[name]
            term = scale**2 * torch.trace((b.T @ b) @ (a @ a.T))
            total = term if total is None else total + term
    if total is None:
        raise ValueError("update.penalty l2 on LoRA needs a model with LoRA layers")
    return total


def full_l2(model, parent: dict[str, torch.Tensor]) -> torch.Tensor:
    """``sum ||W - W_parent||^2`` over the trainable weights (full fine-tuning)."""
    terms = [(p - parent[n]).pow(2).sum() for n, p in model.named_parameters() if p.requires_grad]
    return torch.stack(terms).sum()


def parent_logits(model, batch: dict, keep: torch.Tensor, context=nullcontext) -> torch.Tensor:
    """The parent's logits at the trained positions: the adapter off, no gradients."""
    lm = causal_lm(model)
    with torch.no_grad(), model.disable_adapter(), context():
        inputs = {k: v for k, v in batch.items() if k not in ("input_ids", "labels")}
        hidden = lm.get_decoder()(
            input_ids=batch["input_ids"], use_cache=False, **inputs
        ).last_hidden_state
        return lm.get_output_embeddings()(hidden[:, :-1][keep]).float()


def position_rows(batch: dict, keep: torch.Tensor) -> torch.Tensor:
    """The row (padded batch) or segment (packed row) of each trained position, [N]."""
    if "cu_seq_lens_q" in batch:  # one packed row: segments end at cu_seq_lens[1:]
        positions = torch.nonzero(keep[0]).flatten()
        return torch.searchsorted(
            batch["cu_seq_lens_q"][1:].to(positions.device), positions, right=True
        )
    rows = torch.arange(keep.shape[0], device=keep.device).unsqueeze(1).expand_as(keep)
    return rows[keep]


def kl_to_parent(logits: torch.Tensor, parent: torch.Tensor) -> torch.Tensor:
    """Summed KL(parent || new) over positions, [N, V] logits each: 0 when they agree."""
    return F.kl_div(
        F.log_softmax(logits, dim=-1),
        F.log_softmax(parent, dim=-1),
        log_target=True,
        reduction="sum",
    )
