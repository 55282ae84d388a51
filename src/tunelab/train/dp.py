"""DP-SGD for LoRA SFT (``privacy.dp``), with Opacus: the SFT recipe's training loop when the run
asks for differential privacy; everything before and after it is ``train.sft``'s.

What differs from ``sft.train_loop``, and why
- Per-example gradients: Opacus' hooks (``grad_sample_mode="hooks"``) on the only modules that
  train, PEFT's ``lora_A`` / ``lora_B`` ``nn.Linear`` layers, attached to the model where it
  already is (on its device: moving a model after Opacus wrapped it is the known way to train
  nothing while looking fine). One example per batch row: padded batches, never packed.
- Each example's loss is the mean over its trained tokens; its gradient is clipped to
  ``max_grad_norm``, the clipped gradients summed, Gaussian noise of std
  ``noise_multiplier * max_grad_norm`` added once per step, divided by the expected batch size.
- Poisson sampling: each step takes every example independently with probability
  ``sample_rate = batch_size / n`` (a step may hold none: it is noise only). A step's examples go
  in padded micro-batches of at most ``token_budget`` tokens; Opacus clips each micro-batch and
  noises the sum at the step's end (``signal_skip_step``), so the step is the same either way.
- The noise multiplier is computed before training from the target epsilon, delta, sample rate
  and planned steps (``opacus.accountants.utils.get_noise_multiplier``); the accountant (RDP or
  PRV) gives the epsilon spent after every step: metrics' ``epsilon``, the progress bar, the log
  at evaluations and the report's "Differential privacy" section.
- The sampling and noise of step k come from generators seeded by (``dp_seed``, k): a secret
  random seed (``secrets``) unless ``privacy.dp.seed`` is set, kept in the checkpoints' trainer
  state, so a killed run resumes exactly (its accountant restarts at the checkpoint's step).
- No compiled layers and no gradient checkpointing: the hooks must see each layer's forward once.

The guarantee covers one training row (an example, or one window of a long text), not one user.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
import warnings
from collections.abc import Callable

import torch

from tunelab.data.batches import collate
from tunelab.data.render import IGNORE
from tunelab.eval.report import Section
from tunelab.models.compile import training_pass
from tunelab.models.forward import causal_lm
from tunelab.train import checkpoint as ckpt
from tunelab.train import faults
from tunelab.train.runstate import start_or_resume
from tunelab.train.setup import autocast_for, make_optimizer

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- before training


# RDP orders: Opacus' defaults and some larger ones, which small noise multipliers need for a
# tight bound (Opacus warns "Optimal order is the largest alpha" otherwise)
RDP_ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [80, 96, 128, 192, 256]


def auto_delta(n: int) -> float:
    """1 / n^1.1: below 1 / n, as delta must be (else releasing one example would satisfy it)."""
    return 1.0 / max(n, 2) ** 1.1


def resolve_privacy(config, resolved: dict, n_train: int) -> dict:
    """The DP values every run computes the same way (saved in run.json with the other resolved
    values): delta, sample rate and the noise multiplier reaching the target epsilon."""
    from opacus.accountants.utils import get_noise_multiplier

    settings = config.privacy.dp
    delta = auto_delta(n_train) if settings.delta == "auto" else settings.delta
    rate = min(1.0, resolved["batch_size"] / max(n_train, 1))
    sigma = get_noise_multiplier(
        target_epsilon=settings.epsilon,
        target_delta=delta,
        sample_rate=rate,
        steps=resolved["total_steps"],
        accountant=settings.accountant,
        **({"alphas": RDP_ORDERS} if settings.accountant == "rdp" else {}),
    )
    return {"dp_delta": delta, "sample_rate": rate, "noise_multiplier": round(float(sigma), 6)}


def epsilon_meter(accountant: str, sigma: float, rate: float, delta: float) -> Callable:
    """``spent(steps)``: the epsilon spent after that many steps. RDP composes by addition, so
    one step's RDP curve is computed once and scaled (milliseconds a step instead of 0.2 s); the
    PRV accountant is asked afresh each time (~0.15 s)."""
    if accountant == "rdp":
        from opacus.accountants.analysis import rdp

        one = rdp.compute_rdp(q=rate, noise_multiplier=sigma, steps=1, orders=RDP_ORDERS)

        def spent(steps: int) -> float:
            if not steps:
                return 0.0
            with warnings.catch_warnings():  # "optimal order is the largest alpha": still a bound
                warnings.simplefilter("ignore", UserWarning)
                eps, _ = rdp.get_privacy_spent(orders=RDP_ORDERS, rdp=one * steps, delta=delta)
            return float(eps)

        return spent
    from opacus.accountants import create_accountant

    prv = create_accountant(accountant)

    def spent(steps: int) -> float:
        if not steps:
            return 0.0
        prv.history = [(sigma, rate, steps)]
        return float(prv.get_epsilon(delta))

    return spent


def plan_config(config):
    """The config the memory plan sees: no compiled layers, no gradient checkpointing (the
    hooks must see each layer's forward once)."""
    return config.model_copy(update={"compile": False, "gradient_checkpointing": False})


# ---------------------------------------------------------------- one step


def example_losses(model, batch: dict) -> torch.Tensor:
    """Each row's mean loss over its trained tokens, [B]: the unit each gradient is clipped as.

    batch: a padded batch (``data.batches.collate``), input_ids / labels / attention_mask [B, T].
    """
    lm = causal_lm(model)
    hidden = lm.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).last_hidden_state  # [B, T, H]
    targets = batch["labels"][:, 1:]  # [B, T-1]
    keep = targets != IGNORE
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep]).float()  # [N, V]
    token_loss = torch.nn.functional.cross_entropy(logits, targets[keep], reduction="none")
    rows = keep.nonzero()[:, 0]  # [N]: the row of each trained token
    summed = torch.zeros(len(targets), device=token_loss.device).index_add(0, rows, token_loss)
    return summed / keep.sum(1).clamp(min=1)


def padded_groups(order: list[int], lengths: list[int], max_tokens: int) -> list[list[int]]:
    """``order`` by length, in padded groups of at most ``max_tokens`` (rows x longest)."""
    groups: list[list[int]] = []
    for i in sorted(order, key=lambda i: lengths[i]):
        if groups and (len(groups[-1]) + 1) * lengths[i] <= max_tokens:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _generator(seed: int, step: int, salt: int, device: str = "cpu") -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed((seed * 1_000_003 + step * 7 + salt) % 2**63)
    return gen


def poisson_sample(n: int, rate: float, seed: int, step: int) -> list[int]:
    """Step ``step``'s examples: each of ``n`` independently with probability ``rate``."""
    draws = torch.rand(n, generator=_generator(seed, step, 1))
    return torch.nonzero(draws < rate).flatten().tolist()


def private_step(model, optimizer, items, picked, *, pad, device, budget, autocast, gc) -> float:
    """One DP-SGD step on the examples ``picked``; returns the sum of their losses."""
    if not picked:  # an empty Poisson batch still takes its noisy step
        for p in optimizer.params:
            p.grad_sample = torch.zeros((0, *p.shape), device=p.device, dtype=p.dtype)
        optimizer.step()
        return 0.0
    lengths = [len(items[i].input_ids) for i in picked]
    groups = padded_groups(list(range(len(picked))), lengths, budget)
    total = 0.0
    for k, group in enumerate(groups):
        batch = collate([items[picked[i]] for i in group], pad, device)
        with training_pass(model, batch, compiled=False, recompute=False if gc else None):
            with autocast:
                losses = example_losses(model, batch)
            with warnings.catch_warnings():  # the first LoRA layer's input needs no gradient
                warnings.filterwarnings("ignore", "Full backward hook is firing")
                losses.sum().backward()  # hooks: per-example gradients of each example's loss
        total += float(losses.detach().sum())
        last = k == len(groups) - 1
        if not last:
            optimizer.signal_skip_step(True)  # clip and keep; noise once, at the step's end
        optimizer.step()
        if not last:
            optimizer.zero_grad(set_to_none=True)
    return total


# ---------------------------------------------------------------- the loop


def train_loop(
    model,
    tokenizer,
    data,
    config,
    resolved: dict,
    run_dir,
    progress: bool,
    on_metrics=None,
    on_checkpoint=None,
) -> dict:
    """``sft.train_loop`` with DP-SGD; the outcome adds ``privacy`` (the report's section)."""
    from opacus.grad_sample.utils import prepare_module
    from opacus.optimizers import DPOptimizer
    from tqdm.auto import tqdm

    from tunelab.train.sft import TrainingError, evaluate_and_checkpoint

    settings = config.privacy.dp
    device, pad = resolved["device"], tokenizer.pad_token_id
    sigma, rate, delta = (resolved[k] for k in ("noise_multiplier", "sample_rate", "dp_delta"))
    _, optimizer, scheduler = make_optimizer(model, config, resolved)
    state, metrics = start_or_resume(
        run_dir,
        model,
        optimizer,
        scheduler,
        device,
        on_metrics,
        dp_seed=settings.seed if settings.seed is not None else secrets.randbits(62),
    )
    hooks = prepare_module(
        model, "hooks", wrap_model=False, batch_first=True, loss_reduction="sum", strict=True
    )
    private = DPOptimizer(
        optimizer,
        noise_multiplier=sigma,
        max_grad_norm=settings.max_grad_norm,
        expected_batch_size=resolved["batch_size"],
        loss_reduction="mean",
    )
    spent = epsilon_meter(settings.accountant, sigma, rate, delta)
    log.info(
        "differential privacy: target epsilon %g, delta %.3g, noise multiplier %.4f, sample "
        "rate %.4f, %d steps, %s accountant",
        settings.epsilon,
        delta,
        sigma,
        rate,
        resolved["total_steps"],
        settings.accountant,
    )
    lengths = [len(r.input_ids) for r in data.train]
    targets = [sum(1 for x in r.labels[1:] if x != IGNORE) for r in data.train]
    total, every = resolved["total_steps"], resolved["eval_every"]
    autocast = autocast_for(resolved)
    bar = tqdm(
        total=total, initial=state["step"], disable=not progress, unit="step", dynamic_ncols=True
    )
    epsilon = spent(state["step"])
    stop_reason = "completed"
    model.train()
    try:
        while state["step"] < total and stop_reason == "completed":
            started = time.perf_counter()
            picked = poisson_sample(len(data.train), rate, state["dp_seed"], state["step"])
            private.generator = _generator(state["dp_seed"], state["step"], 2, device)
            loss_sum = private_step(
                model,
                private,
                data.train,
                picked,
                pad=pad,
                device=device,
                budget=resolved["token_budget"],
                autocast=autocast,
                gc=resolved["gradient_checkpointing"],
            )
            loss_value = loss_sum / max(len(picked), 1)
            if not math.isfinite(loss_value):
                raise TrainingError(
                    f"loss became {loss_value} at step {state['step'] + 1}; lower the "
                    "learning_rate or check the data",
                    code="nan_loss",
                )
            scheduler.step()
            private.zero_grad(set_to_none=True)
            n_tokens = sum(targets[i] for i in picked)
            seen = sum(lengths[i] for i in picked)
            state["step"] += 1
            epsilon = spent(state["step"])
            state["epoch"] = state["step"] // max(resolved["steps_per_epoch"], 1)
            state["trained_tokens"] += n_tokens
            tps = seen / (time.perf_counter() - started)
            metrics.write(
                {
                    "step": state["step"],
                    "epoch": state["epoch"],
                    "train_loss": round(loss_value, 4),
                    "learning_rate": scheduler.get_last_lr()[0],
                    "examples": len(picked),
                    "epsilon": round(epsilon, 4),
                    "tokens_per_second": round(tps, 1),
                    "tokens": seen,
                    "trained_tokens": n_tokens,
                }
            )
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}", eps=f"{epsilon:.2f}", tok_s=f"{tps:.0f}")
            faults.maybe_fail("step", state["step"])
            if state["step"] % every == 0 or state["step"] == total:
                stop_reason = evaluate_and_checkpoint(
                    model, private, scheduler, data, config, resolved, run_dir, state, metrics
                )
                log.info(
                    "step %d: epsilon spent %.3f of %g", state["step"], epsilon, settings.epsilon
                )
                if on_checkpoint is not None:
                    on_checkpoint(ckpt.checkpoint_dir(run_dir, state["step"]))
    finally:
        bar.close()
        hooks.cleanup()  # evaluation and saving see the plain PEFT model again
    if config.max_steps and state["step"] >= config.max_steps and stop_reason == "completed":
        stop_reason = "max_steps"
    privacy = {
        "target_epsilon": settings.epsilon,
        "spent_epsilon": round(epsilon, 4),
        "delta": delta,
        "noise_multiplier": sigma,
        "max_grad_norm": settings.max_grad_norm,
        "sample_rate": rate,
        "expected_batch_size": resolved["batch_size"],
        "steps": state["step"],
        "accountant": settings.accountant,
        "training_rows": len(data.train),
    }
    log.info(
        "differential privacy: spent epsilon %.3f of %g (delta %.3g)",
        epsilon,
        settings.epsilon,
        delta,
    )
    return {"stop_reason": stop_reason, **state, "privacy": privacy}


# ---------------------------------------------------------------- the report


def privacy_section(privacy: dict) -> Section:
    """The report's "Differential privacy" table."""
    rows = [
        ["target epsilon", f"{privacy['target_epsilon']:g}"],
        ["spent epsilon", f"{privacy['spent_epsilon']:.3f}"],
        ["delta", f"{privacy['delta']:.3g}"],
        ["noise multiplier", f"{privacy['noise_multiplier']:.4f}"],
        ["max_grad_norm (per example)", f"{privacy['max_grad_norm']:g}"],
        ["sample rate (Poisson)", f"{privacy['sample_rate']:.4f}"],
        ["expected batch size", privacy["expected_batch_size"]],
        ["steps", privacy["steps"]],
        ["accountant", privacy["accountant"]],
    ]
    text = (
        f"DP-SGD (Opacus): ({privacy['spent_epsilon']:.2f}, {privacy['delta']:.2g})-differential "
        f"privacy for each of the {privacy['training_rows']} training rows: adding or removing "
        "one row (an example, or one window of a long text) changes what training could "
        "produce by at most this much. It does not cover a person whose data is in many rows."
    )
    return Section("Differential privacy", ["setting", "value"], rows, text)
