"""The loss forward pass shared by training and evaluation.

Only positions whose next token is trained go through the output head: on SmolLM2 the 49k-word head
is a fifth of the compute, and most tokens of a chat (system prompt, questions) are not trained.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def causal_lm(model):
    """The transformers model under a PEFT wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def trained_token_loss(model, batch: dict) -> tuple[torch.Tensor, int, int]:
    """(summed cross-entropy, number of trained tokens, number predicted right) for a batch.

    batch: input_ids, attention_mask, labels, each [B, T]; labels are -100 where not trained.
    """
    lm = causal_lm(model)
    hidden = lm.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state  # [B, T, H]
    targets = batch["labels"][:, 1:]  # [B, T-1]: token t+1 is predicted at t
    keep = targets != -100
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep]).float()  # [N, V]
    picked = targets[keep]  # [N]
    loss = F.cross_entropy(logits, picked, reduction="sum")
    correct = int((logits.argmax(-1) == picked).sum())
    return loss, int(keep.sum()), correct
