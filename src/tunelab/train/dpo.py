"""Direct preference optimisation (DPO), Rafailov et al. 2023: the recipe of ``train.preference``
with DPO's rows, loss and metrics. The method table names ``run_dpo`` as method ``dpo``.

The loss of a pair (x, chosen y_w, rejected y_l), with log pi(y | x) summed over the answer's
trained tokens and pi_ref the starting model:

    r_w = beta * (log pi(y_w | x) - log pi_ref(y_w | x))     (the implicit reward)
    r_l = beta * (log pi(y_l | x) - log pi_ref(y_l | x))
    loss = -log sigmoid(r_w - r_l)                             (TRL's loss_type "sigmoid")

averaged over a step's pairs. At the start r_w = r_l = 0: loss log 2, margin 0, accuracy 0.

Validation: the loss, preference accuracy (share of pairs with r_w > r_l), the mean reward
margin r_w - r_l, the chosen answers' NLL per trained token, and the log-prob preference (share
of pairs whose chosen answer has the higher mean per-token log-prob: meaningful for the starting
model too, which has no reward yet). Early stopping watches the validation loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tunelab.data.preference import PreferenceExample, validate_preference_file
from tunelab.train.config import DPOConfig, beta_of
from tunelab.train.preference import Objective, render_output, run_preference


def dpo_losses(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, chosen reward, rejected reward), each [B], from summed log-probs, each [B]."""
    chosen_rewards = beta * (policy_chosen - ref_chosen)
    rejected_rewards = beta * (policy_rejected - ref_rejected)
    return -F.logsigmoid(chosen_rewards - rejected_rewards), chosen_rewards, rejected_rewards


def pair_units(tokenizer, examples: list[PreferenceExample], max_length: int):
    """Each pair as two rows, [prompt + chosen, prompt + rejected]; no labels."""
    units = [
        [render_output(tokenizer, e.with_output(text), max_length) for text in e.outputs()]
        for e in examples
    ]
    return units, []


def step_losses(policy, reference, labels, context, config):
    """policy [B, 2] and reference [B, 2] log-probs (chosen, rejected) -> losses [B]."""
    losses, chosen, rejected = dpo_losses(
        policy[:, 0], policy[:, 1], reference[:, 0], reference[:, 1], beta_of(config)
    )
    margin = (chosen - rejected).detach()
    return losses, {"reward_margin": margin, "reward_accuracy": (margin > 0).float()}


def evaluate_pairs(policy, reference, counts, labels, config) -> dict:
    """Validation metrics from the pairs' log-probs [n, 2] and trained-token counts [n, 2]."""
    losses, chosen, rejected = dpo_losses(
        policy[:, 0], policy[:, 1], reference[:, 0], reference[:, 1], beta_of(config)
    )
    per_token = policy / counts.clamp(min=1)
    return {
        "loss": round(float(losses.mean()), 6),
        "preference_accuracy": round(float((chosen > rejected).float().mean()), 4),
        "reward_margin": round(float((chosen - rejected).mean()), 6),
        "chosen_nll": round(float(-policy[:, 0].sum() / counts[:, 0].sum().clamp(min=1)), 6),
        "logp_preference": round(float((per_token[:, 0] > per_token[:, 1]).float().mean()), 4),
        "n": len(policy),
    }


METRICS = (  # (report label, key, better, format)
    ("validation DPO loss", "loss", "lower", ".4f"),
    ("preference accuracy (implicit reward)", "preference_accuracy", "higher", ".1%"),
    ("reward margin (chosen - rejected)", "reward_margin", "higher", ".3f"),
    ("chosen answers' NLL per token", "chosen_nll", "lower", ".3f"),
    ("log-prob preference (mean per token)", "logp_preference", "higher", ".1%"),
)

DPO = Objective(
    check_data=validate_preference_file,
    units=pair_units,
    trained_rows=2,
    losses=step_losses,
    evaluate=evaluate_pairs,
    metrics=METRICS,
)


def run_dpo(config: DPOConfig | None, **options) -> dict:
    """Train with DPO; returns the report (also written to the run folder). ``options``:
    ``resume`` (a run folder; ``config`` is then None), ``progress``, ``on_metrics``,
    ``on_checkpoint``, as ``train.sft.run_sft``'s."""
    return run_preference(config, DPO, **options)
