"""Kahneman-Tversky optimisation (KTO), Ethayarajh et al. 2024: the recipe of
``train.preference`` with KTO's rows, loss and metrics, as TRL's KTOTrainer computes them. The
method table names ``run_kto`` as method ``kto``.

Rows are (x, y, desirable or not); a preference pair is read as one desirable row (its chosen
answer) and one undesirable row (its rejected one). With log-probs summed over y's trained
tokens and pi_ref the starting model:

    r = log pi(y | x) - log pi_ref(y | x)
    z = max(0, mean over the step of log pi(y' | x) - log pi_ref(y' | x))   (KL estimate, no grad)
    loss = desirable_weight * (1 - sigmoid(beta * (r - z)))     for a desirable row
         = undesirable_weight * (1 - sigmoid(beta * (z - r)))   for an undesirable one

averaged over the step's rows. y' is a mismatched answer: row i's KL row is its prompt with the
answer of row (i + n/2) mod n (fixed when the data is read, so its reference log-prob is
computed once, with the others, before training).

Validation: the loss (with z over the validation set), label accuracy (desirable rows with
beta * r > beta * z, undesirable ones below it), the reward margin (mean beta * r of desirable
rows minus undesirable ones), the desirable answers' NLL per token, and the KL estimate.
"""

from __future__ import annotations

import torch

from tunelab.data.preference import PreferenceExample, validate_kto_file
from tunelab.train.config import KTOConfig, beta_of
from tunelab.train.logprobs import rows_logps
from tunelab.train.preference import Objective, render_output, run_preference


def kto_losses(
    policy: torch.Tensor,
    reference: torch.Tensor,
    desirable: torch.Tensor,
    kl: torch.Tensor | float,
    beta: float,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, reward), each [B], from summed log-probs [B], labels [B] (bool) and the KL
    estimate (a number, held fixed)."""
    logratio = policy - reference
    good = desirable_weight * (1 - torch.sigmoid(beta * (logratio - kl)))
    bad = undesirable_weight * (1 - torch.sigmoid(beta * (kl - logratio)))
    return torch.where(desirable, good, bad), beta * logratio


def kl_estimate(policy_kl: torch.Tensor, reference_kl: torch.Tensor) -> torch.Tensor:
    """KTO's reference point: the mean log-ratio of mismatched pairs, at least 0."""
    return (policy_kl - reference_kl).mean().clamp(min=0).detach()


def labelled_rows(examples: list[PreferenceExample]) -> list[tuple[list[dict], str, bool]]:
    """(prompt, answer, desirable) rows: a pair gives two."""
    rows = []
    for e in examples:
        if e.paired:
            rows += [(e.prompt, e.chosen, True), (e.prompt, e.rejected, False)]
        else:
            rows.append((e.prompt, e.completion, bool(e.label)))
    return rows


def kto_units(tokenizer, examples: list[PreferenceExample], max_length: int):
    """Each row as [prompt + answer, prompt + mismatched answer]; labels: desirable."""
    rows = labelled_rows(examples)
    shift = max(1, len(rows) // 2)  # half the set away: not the other answer of the same pair
    units = []
    for i, (prompt, answer, _) in enumerate(rows):
        other = rows[(i + shift) % len(rows)][1]
        messages = [[*prompt, {"role": "assistant", "content": text}] for text in (answer, other)]
        units.append([render_output(tokenizer, m, max_length) for m in messages])
    return units, [label for _, _, label in rows]


def step_kl(model, data, step: list[int], reference: dict, resolved: dict) -> dict:
    """The step's KL estimate from its rows' mismatched answers (no gradients)."""
    rows = [data.train[i][1] for i in step]
    policy, _ = rows_logps(model, rows, data.pad_id, resolved["device"], resolved["token_budget"])
    return {"kl": kl_estimate(policy, reference["train"][step, 1])}


def step_losses(policy, reference, labels, context, config):
    """policy [B, 1], reference [B, 2] (answer, mismatched) log-probs -> losses [B]."""
    losses, rewards = kto_losses(
        policy[:, 0],
        reference[:, 0],
        labels.to(policy.device),
        float(context["kl"]),
        beta_of(config),
        config.desirable_weight,
        config.undesirable_weight,
    )
    return losses, {"reward": rewards.detach()}


def evaluate_rows(policy, reference, counts, labels, config) -> dict:
    """Validation metrics from the rows' log-probs [n, 2] (answer, mismatched) and counts."""
    beta = beta_of(config)
    kl = kl_estimate(policy[:, 1], reference[:, 1])
    losses, rewards = kto_losses(
        policy[:, 0],
        reference[:, 0],
        labels,
        kl,
        beta,
        config.desirable_weight,
        config.undesirable_weight,
    )
    right = torch.where(labels, rewards > beta * kl, rewards < beta * kl)
    margin = None
    if labels.any() and (~labels).any():
        margin = round(float(rewards[labels].mean() - rewards[~labels].mean()), 6)
    good = policy[:, 0][labels]
    nll = float(-good.sum() / counts[:, 0][labels].sum().clamp(min=1)) if labels.any() else None
    return {
        "loss": round(float(losses.mean()), 6),
        "label_accuracy": round(float(right.float().mean()), 4),
        "reward_margin": margin,
        "chosen_nll": None if nll is None else round(nll, 6),
        "kl": round(float(kl), 6),
        "n": len(policy),
    }


METRICS = (  # (report label, key, better, format)
    ("validation KTO loss", "loss", "lower", ".4f"),
    ("label accuracy (implicit reward)", "label_accuracy", "higher", ".1%"),
    ("reward margin (desirable - undesirable)", "reward_margin", "higher", ".3f"),
    ("desirable answers' NLL per token", "chosen_nll", "lower", ".3f"),
)

KTO = Objective(
    check_data=validate_kto_file,
    units=kto_units,
    trained_rows=1,
    losses=step_losses,
    evaluate=evaluate_rows,
    metrics=METRICS,
    step_context=step_kl,
)


def run_kto(config: KTOConfig | None, **options) -> dict:
    """Train with KTO; returns the report (also written to the run folder). ``options``:
    ``resume`` (a run folder; ``config`` is then None), ``progress``, ``on_metrics``,
    ``on_checkpoint``, as ``train.sft.run_sft``'s."""
    return run_preference(config, KTO, **options)
