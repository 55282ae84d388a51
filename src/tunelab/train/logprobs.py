"""Log-probs of answers, for the preference methods: each row's sum over its trained tokens
(only those positions go through the output head, as ``models.forward.trained_token_loss`` does
for SFT), and the reference's (the starting model's), computed once per run before training
and kept in the run folder (``reference_logps.safetensors``) so a resume reads the same numbers.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from tunelab.data.batches import collate_or_pack, eval_packs
from tunelab.data.render import IGNORE, Rendered
from tunelab.models.attention import attention_for
from tunelab.models.forward import SEGMENT_KEYS, causal_lm, is_packed
from tunelab.store.atomic import atomic_path

log = logging.getLogger(__name__)
REFERENCE_LOGPS = "reference_logps.safetensors"  # in the run folder, written before training


def predicted(row: Rendered) -> int:
    """Trained tokens a forward pass predicts (a row's first token has no position before it)."""
    return sum(1 for x in row.labels[1:] if x != IGNORE)


def sequence_logps(model, batch: dict, n_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed log-prob of each row's trained tokens [R], their count [R]) for a padded batch
    [R, T] or a packed one ([1, N] with ``cu_seq_lens_q``, which must run inside
    ``models.attention.attention_for``). Only trained positions go through the output head."""
    lm = causal_lm(model)
    if is_packed(batch):
        inputs = {k: batch[k] for k in SEGMENT_KEYS}
    else:
        inputs = {"attention_mask": batch["attention_mask"]}
    hidden = lm.get_decoder()(
        input_ids=batch["input_ids"], use_cache=False, **inputs
    ).last_hidden_state  # [B, T, H]
    targets = batch["labels"][:, 1:]  # [B, T-1]: token t+1 is predicted at t
    keep = targets != IGNORE
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep]).float()  # [N, V]
    token_logps = -F.cross_entropy(logits, targets[keep], reduction="none")  # [N]
    where = keep.nonzero()  # [N, 2]: (row, position)
    if is_packed(batch):  # position t predicts t+1, never a segment's first token (pack)
        rows = torch.searchsorted(batch["cu_seq_lens_q"][1:].long(), where[:, 1], right=True)
    else:
        rows = where[:, 0]
    sums = torch.zeros(n_rows, device=token_logps.device).index_add(0, rows, token_logps)
    return sums, torch.bincount(rows, minlength=n_rows)


@torch.no_grad()
def rows_logps(model, rows: list[Rendered], pad_id: int, device: str, budget: int):
    """(summed log-probs [len(rows)], trained-token counts) of ``rows`` in packs of at most
    ``budget`` tokens, in the rows' order; no gradients, the model's mode left as it is."""
    sums = torch.zeros(len(rows))
    counts = torch.zeros(len(rows), dtype=torch.long)
    for idx in eval_packs([len(r.input_ids) for r in rows], budget):
        batch = collate_or_pack([rows[i] for i in idx], pad_id, device)
        with attention_for(model, batch):
            s, n = sequence_logps(model, batch, len(idx))
        sums[idx], counts[idx] = s.float().cpu(), n.cpu()
    return sums, counts


def units_logps(model, units: list[list[Rendered]], pad_id: int, resolved: dict):
    """(log-probs [n, rows], counts [n, rows]) of every row of every unit, in eval mode."""
    was_training = model.training
    model.eval()
    flat = [r for rows in units for r in rows]
    sums, counts = rows_logps(model, flat, pad_id, resolved["device"], resolved["token_budget"])
    model.train(was_training)
    width = len(units[0])
    return sums.view(-1, width), counts.view(-1, width)


def starting_model(model):
    """The model as training found it, for the block: LoRA's adapters disabled (PEFT's
    ``disable_adapter``: the same weights, no second copy); a fully tuned model before its
    first step is that already."""
    return model.disable_adapter() if hasattr(model, "disable_adapter") else nullcontext()


def reference_logps(model, data, resolved: dict, run_dir: Path) -> dict:
    """The starting model's log-probs of every training and validation row, computed once per
    run (before the first step, so full tuning needs no frozen copy either) and kept in the run
    folder: a resume reads them back."""
    path = Path(run_dir) / REFERENCE_LOGPS
    if path.exists():
        saved = load_file(str(path))
        if saved["train"].shape[0] == len(data.train) and saved["val"].shape[0] == len(data.val):
            return saved
        log.warning("%s does not match the data; computing it again", path.name)
    started = time.perf_counter()
    with starting_model(model):
        saved = {
            "train": units_logps(model, data.train, data.pad_id, resolved)[0],
            "val": units_logps(model, data.val, data.pad_id, resolved)[0],
        }
    with atomic_path(path) as tmp:
        save_file(saved, str(tmp))
    log.info(
        "reference log-probs: %d units in %.1f s",
        len(data.train) + len(data.val),
        time.perf_counter() - started,
    )
    return saved
