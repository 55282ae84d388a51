"""Evaluate a model: validation loss, perplexity and token accuracy; greedy answers, decoded by the
serving path (``serve.decode``), scored against ``expected`` / ``must_contain``. Used by training
(base vs tuned) and by ``tunelab eval``."""

from __future__ import annotations

from pathlib import Path

import torch

from tunelab.data.batches import collate, collate_or_pack, eval_batches, eval_packs
from tunelab.data.render import Rendered, prompt_messages, render_example, render_prompt
from tunelab.data.validate import load_examples
from tunelab.eval.metrics import accuracy, perplexity, score_answer
from tunelab.models.attention import attention_for
from tunelab.models.forward import trained_token_loss
from tunelab.serve import decode
from tunelab.serve.outputs import Sampling


@torch.no_grad()
def evaluate_loss(
    model,
    items: list[Rendered],
    *,
    pad_id: int,
    batch_size: int = 8,
    device: str = "cpu",
    packed: bool = True,
    max_tokens: int = 2048,
) -> dict:
    """Mean loss over trained tokens, its perplexity, and next-token accuracy on them.

    Default: groups of up to ``max_tokens`` tokens, each padded or packed as training lays out
    its rows (``collate_or_pack``). ``packed=False``: padded batches of ``batch_size``. The numbers
    are the same either way (up to float rounding); ``max_tokens`` bounds one forward's memory.
    """
    was_training = model.training
    model.eval()
    lengths = [len(r.input_ids) for r in items]
    groups = eval_packs(lengths, max_tokens) if packed else eval_batches(lengths, batch_size)
    total, tokens, correct = 0.0, 0, 0
    for idx in groups:
        rows = [items[i] for i in idx]
        batch = collate_or_pack(rows, pad_id, device) if packed else collate(rows, pad_id, device)
        with attention_for(model, batch):
            loss, n, right = trained_token_loss(model, batch)
        total, tokens, correct = total + float(loss), tokens + n, correct + right
    model.train(was_training)
    mean = total / max(tokens, 1)
    return {
        "loss": round(mean, 4),
        "perplexity": round(perplexity(mean), 3),
        "token_accuracy": round(correct / max(tokens, 1), 4),
        "tokens": tokens,
    }


def generate_answers(
    model,
    tokenizer,
    conversations: list[list[dict]],
    *,
    max_new_tokens: int = 64,
    batch_size: int = 16,
    max_batch_tokens: int = 16384,
    device: str = "cpu",
) -> list[str]:
    """Greedy answers to each conversation's next assistant turn, decoded as the server decodes
    them (``serve.decode.generate``: end-of-turn ids, stop rules, batching), so a score measures
    the replies the model will serve."""
    prompts = [render_prompt(tokenizer, msgs) for msgs in conversations]
    choices = decode.generate(
        model,
        tokenizer,
        prompts,
        Sampling(max_tokens=max_new_tokens),
        max_batch=batch_size,
        max_batch_tokens=max_batch_tokens,
        device=device,
    )
    return [c.text for c in choices]


def score_examples(
    model, tokenizer, examples, *, max_new_tokens: int = 64, device: str = "cpu"
) -> dict:
    """Generate for examples carrying ``expected``/``must_contain`` and score them."""
    scored = [e for e in examples if "expected" in e.meta or "must_contain" in e.meta]
    conversations = [prompt_messages(e) for e in scored]
    answers = generate_answers(
        model, tokenizer, conversations, max_new_tokens=max_new_tokens, device=device
    )
    rows = []
    for example, answer in zip(scored, answers, strict=True):
        rows.append(
            {
                "line": example.line,
                "question": conversations_last_user(example),
                "answer": answer,
                "must_contain": example.meta.get("must_contain"),
                "expected": example.meta.get("expected"),
                "correct": score_answer(answer, example.meta),
            }
        )
    return {"accuracy": accuracy([r["correct"] for r in rows]), "n": len(rows), "rows": rows}


def conversations_last_user(example) -> str:
    users = [m["content"] for m in example.messages if m["role"] == "user"]
    return users[-1] if users else ""


def evaluate_file(
    model, tokenizer, path: Path, *, max_new_tokens: int = 64, device: str = "cpu"
) -> dict:
    """Everything ``tunelab eval`` reports for one data file."""
    examples = load_examples(path, purpose="eval")
    trained = [render_example(tokenizer, e) for e in examples]
    trained = [r for r in trained if r.n_trained > 0]
    result: dict = {"file": str(path), "examples": len(examples)}
    if trained:
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        result["loss"] = evaluate_loss(model, trained, pad_id=pad, device=device)
    generation = score_examples(
        model, tokenizer, examples, max_new_tokens=max_new_tokens, device=device
    )
    if generation["n"]:
        result["generation"] = generation
    return result
