"""Packed rows: padding-free, each example's loss and gradients as if it ran alone, and attention
per example without any dense [N, N] mask."""

from __future__ import annotations

import pytest
import torch
from helpers import mixed_items, tiny, toy_rows
from torch.overrides import TorchFunctionMode

from tunelab.data.batches import collate, eval_batches, pack
from tunelab.data.render import IGNORE, render_chat
from tunelab.eval.run import evaluate_loss
from tunelab.models.attention import PACKED, packed_attention
from tunelab.models.forward import causal_lm, trained_token_loss


def only_segment(batch: dict, index: int) -> dict:
    """The packed batch with every label outside segment ``index`` set to IGNORE."""
    start, end = batch["cu_seq_lens_q"][index : index + 2].tolist()
    labels = torch.full_like(batch["labels"], IGNORE)
    labels[:, start:end] = batch["labels"][:, start:end]
    return {**batch, "labels": labels}


def test_pack_layout(tiny_tokenizer):
    items = mixed_items(tiny_tokenizer)
    batch = pack(items)
    lengths = [len(r.input_ids) for r in items]
    n = sum(lengths)
    assert "attention_mask" not in batch
    assert batch["input_ids"].shape == batch["labels"].shape == batch["position_ids"].shape
    assert batch["input_ids"].shape == (1, n)
    cu = batch["cu_seq_lens_q"]
    assert cu.dtype == torch.int32 and cu.tolist() == [sum(lengths[:i]) for i in range(6)]
    assert batch["cu_seq_lens_k"] is cu and batch["max_length_q"] == max(lengths)
    for r, start, end in zip(items, cu[:-1].tolist(), cu[1:].tolist(), strict=True):
        assert batch["position_ids"][0, start:end].tolist() == list(range(end - start))
        assert batch["input_ids"][0, start:end].tolist() == r.input_ids
        assert batch["labels"][0, start] == IGNORE  # nothing predicts across a boundary
        assert batch["labels"][0, start + 1 : end].tolist() == r.labels[1:]


@pytest.mark.parametrize("lora", [False, True])
def test_each_example_loss_in_a_packed_row_equals_its_unpacked_loss(
    tiny_model_dir, tiny_tokenizer, lora
):
    model, _ = tiny(tiny_model_dir, lora)
    items = mixed_items(tiny_tokenizer)
    batch = pack(items)
    with torch.no_grad(), packed_attention(model):
        packed = [trained_token_loss(model, only_segment(batch, i)) for i in range(len(items))]
        whole = trained_token_loss(model, batch)
    with torch.no_grad():
        alone = [trained_token_loss(model, collate([r], pad_id=0)) for r in items]
    for (p_loss, p_n, p_right), (a_loss, a_n, a_right) in zip(packed, alone, strict=True):
        assert p_n == a_n > 0 and p_right == a_right
        assert torch.allclose(p_loss, a_loss, rtol=1e-5, atol=1e-5)
    assert whole[1] == sum(a[1] for a in alone)
    assert torch.allclose(whole[0], sum(a[0] for a in alone), rtol=1e-5)


@pytest.mark.parametrize("checkpointing", [False, True])
def test_packed_gradients_equal_the_sum_of_unpacked_gradients(
    tiny_model_dir, tiny_tokenizer, checkpointing
):
    model, _ = tiny(tiny_model_dir)
    model.train()
    if checkpointing:  # recomputes attention in backward: the switch must still hold there
        model.gradient_checkpointing_enable()
    items = mixed_items(tiny_tokenizer)
    for r in items:
        trained_token_loss(model, collate([r], pad_id=0))[0].backward()
    alone = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    with packed_attention(model):
        trained_token_loss(model, pack(items))[0].backward()
    for name, param in model.named_parameters():
        scale = float(alone[name].abs().max())  # float32 sums in another order: relative error
        assert torch.allclose(param.grad, alone[name], rtol=1e-4, atol=1e-6 * scale), name


class SquareTensors(TorchFunctionMode):
    """Records the shape of every tensor a torch function returns whose last two dims are n, n."""

    def __init__(self, n: int):
        super().__init__()
        self.n, self.seen = n, []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and out.dim() >= 2 and out.shape[-2:] == (self.n, self.n):
            self.seen.append((getattr(func, "__name__", str(func)), tuple(out.shape)))
        return out


def record_sdpa(monkeypatch) -> list[dict]:
    calls = []
    real = torch.nn.functional.scaled_dot_product_attention

    def spy(query, key, value, attn_mask=None, **kwargs):
        calls.append({"mask": attn_mask, "q": query.shape, "k": key.shape, **kwargs})
        return real(query, key, value, attn_mask=attn_mask, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    return calls


def test_packed_forward_builds_no_dense_mask(tiny_model_dir, tiny_tokenizer, monkeypatch):
    model, _ = tiny(tiny_model_dir)
    items = mixed_items(tiny_tokenizer)
    batch = pack(items)
    n, lengths = batch["input_ids"].shape[1], [len(r.input_ids) for r in items]
    calls = record_sdpa(monkeypatch)
    squares = SquareTensors(n)
    with torch.no_grad(), packed_attention(model), squares:
        trained_token_loss(model, batch)
    layers = causal_lm(model).config.num_hidden_layers
    assert len(calls) == layers * len(items)
    assert all(c["mask"] is None and c["is_causal"] for c in calls)
    assert [c["q"][2] for c in calls] == lengths * layers  # one call per example and layer
    assert all(n not in c["q"] and n not in c["k"] for c in calls)
    assert squares.seen == []


def test_square_tensor_detector_sees_the_dense_mask_of_sdpa(tiny_model_dir, tiny_tokenizer):
    # The control for the test above: transformers' sdpa path on the same packed row (packing
    # detected from position_ids) builds an [N, N] block-diagonal mask, and the detector sees it.
    model, _ = tiny(tiny_model_dir)
    batch = pack(mixed_items(tiny_tokenizer))
    squares = SquareTensors(batch["input_ids"].shape[1])
    with torch.no_grad(), squares:
        model.get_decoder()(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        )
    assert squares.seen


def test_packed_batch_outside_packed_attention_is_refused(tiny_model_dir, tiny_tokenizer):
    model, _ = tiny(tiny_model_dir)
    with pytest.raises(ValueError, match="packed_attention"):
        trained_token_loss(model, pack(mixed_items(tiny_tokenizer)))


@pytest.mark.parametrize("lora", [False, True])
def test_packed_attention_restores_the_implementation_and_generation(
    tiny_model_dir, tiny_tokenizer, lora
):
    model, _ = tiny(tiny_model_dir, lora)
    lm = causal_lm(model)
    prompt = torch.tensor([render_chat(tiny_tokenizer, toy_rows(1)[0]["messages"]).input_ids[:20]])

    def greedy():
        return model.generate(input_ids=prompt, max_new_tokens=8, do_sample=False)

    before = greedy()
    with torch.no_grad(), packed_attention(model):
        assert lm.config._attn_implementation == PACKED
        with packed_attention(model):  # nested: a no-op that leaves the outer switch alone
            pass
        assert lm.config._attn_implementation == PACKED
        trained_token_loss(model, pack(mixed_items(tiny_tokenizer)))
    assert lm.config._attn_implementation == "sdpa"
    assert torch.equal(greedy(), before)
    with pytest.raises(RuntimeError), packed_attention(model):
        raise RuntimeError("a failing step")
    assert lm.config._attn_implementation == "sdpa"


def old_evaluate_loss(model, items, pad_id, batch_size=8):
    """evaluate_loss as it was before packing: padded, length-sorted batches."""
    total, tokens, correct = 0.0, 0, 0
    with torch.no_grad():
        for idx in eval_batches([len(r.input_ids) for r in items], batch_size):
            loss, n, right = trained_token_loss(model, collate([items[i] for i in idx], pad_id))
            total, tokens, correct = total + float(loss), tokens + n, correct + right
    return total / tokens, correct / tokens, tokens


def test_evaluate_loss_packed_matches_the_padded_path(tiny_model_dir, tiny_tokenizer):
    model, tokenizer = tiny(tiny_model_dir)
    items = mixed_items(tiny_tokenizer, n=12)
    loss, acc, tokens = old_evaluate_loss(model, items, tokenizer.pad_token_id, batch_size=4)
    report = evaluate_loss(model, items, pad_id=tokenizer.pad_token_id, max_tokens=300)
    assert report["tokens"] == tokens
    assert report["loss"] == pytest.approx(loss, abs=1e-4)
    assert report["token_accuracy"] == pytest.approx(acc, abs=1e-4)
    padded = evaluate_loss(model, items, pad_id=tokenizer.pad_token_id, packed=False)
    assert padded["loss"] == pytest.approx(loss, abs=1e-4)
    assert causal_lm(model).config._attn_implementation == "sdpa"
