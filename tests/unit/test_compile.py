"""Compiled decoder layers (``models.compile``): the same loss and gradients as eager layers,
with and without gradient checkpointing, on packed and padded batches; the eager layers back after
the block; and when ``compile: auto`` turns it on."""

from __future__ import annotations

import pytest
import torch
from helpers import mixed_items, tiny, toy_rows

from tunelab.data.batches import collate, pack
from tunelab.data.render import render_chat
from tunelab.models import compile as mc
from tunelab.models.attention import attention_for
from tunelab.models.compile import auto_compile, compiled_layers, decoder_layers
from tunelab.models.forward import causal_lm, trained_token_loss

needs_compiler = pytest.mark.skipif(
    not mc.compiler_available("cpu"), reason="inductor needs a C++ compiler on CPU"
)


def loss_and_grads(model, batch, compiled: bool):
    model.zero_grad(set_to_none=True)
    # fallback=False: a frame that does not compile fails the test instead of running eager
    with attention_for(model, batch), compiled_layers(model, compiled, fallback=False):
        loss_sum, n, _ = trained_token_loss(model, batch)
        (loss_sum / n).backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    return loss_sum.item(), grads


@needs_compiler
@pytest.mark.parametrize("checkpointing", [False, True])
def test_compiled_layers_give_the_eager_loss_and_gradients(
    tiny_model_dir, tiny_tokenizer, checkpointing
):
    model, _ = tiny(tiny_model_dir, lora=True)
    if checkpointing:
        causal_lm(model).gradient_checkpointing_enable()
    model.train()
    items = mixed_items(tiny_tokenizer)
    for batch in (pack(items), collate(items[:3], tiny_tokenizer.pad_token_id)):
        eager_loss, eager = loss_and_grads(model, batch, compiled=False)
        loss, grads = loss_and_grads(model, batch, compiled=True)
        assert loss == pytest.approx(eager_loss, rel=1e-5)
        assert grads.keys() == eager.keys() and len(grads) > 0
        for name, grad in grads.items():
            torch.testing.assert_close(grad, eager[name], rtol=1e-4, atol=1e-6, msg=name)


@needs_compiler
def test_compiled_layers_are_really_compiled_and_put_back(tiny_model_dir, tiny_tokenizer):
    from torch._dynamo.utils import counters

    model, _ = tiny(tiny_model_dir, lora=True)
    layers = decoder_layers(model)
    assert len(layers) >= 2
    batch = pack(mixed_items(tiny_tokenizer))
    captured = counters["stats"]["calls_captured"]
    with pytest.raises(RuntimeError, match="inside"):
        with attention_for(model, batch), compiled_layers(model, fallback=False):
            assert all("forward" in vars(layer) for layer in layers)
            trained_token_loss(model, batch)
            raise RuntimeError("inside")
    assert counters["stats"]["calls_captured"] > captured  # dynamo traced the layers
    assert not any("forward" in vars(layer) for layer in layers)  # eager again, even on error
    # generation after the block runs eager layers with the KV cache
    ids = torch.tensor([render_chat(tiny_tokenizer, toy_rows(1)[0]["messages"]).input_ids])
    out = causal_lm(model).generate(ids, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == ids.shape[1] + 3


def test_compiled_layers_disabled_changes_nothing(tiny_model_dir):
    model, _ = tiny(tiny_model_dir)
    with compiled_layers(model, enabled=False):
        assert not any("forward" in vars(layer) for layer in decoder_layers(model))


@pytest.mark.parametrize(
    ("parameters", "tokens", "dropout", "available", "expected"),
    [
        (135_000_000, 80_000, 0.0, True, True),
        (135_000_000, 29_999, 0.0, True, False),  # too short to pay for the compile
        (10_000_000, 80_000, 0.0, True, False),  # too small to gain
        (135_000_000, 80_000, 0.1, True, False),  # dropout: compiled RNG differs from eager
        (135_000_000, 80_000, 0.0, False, False),  # no C++ compiler
    ],
)
def test_auto_compile_rule(parameters, tokens, dropout, available, expected):
    assert auto_compile("cpu", parameters, tokens, dropout, available=available) is expected


def test_no_compiler_found_means_no_compile(monkeypatch):
    monkeypatch.setattr(mc.shutil, "which", lambda name: None)
    assert mc.compiler_available("cpu") is False
    assert mc.compiler_available("cuda") is False  # not measured here: opt in explicitly
