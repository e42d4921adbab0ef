"""The kind an artifact gets when nobody says: inferred from its path."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from mlv.model.manifest import Kind

_MODEL_SUFFIXES = {
    ".pkl",
    ".pickle",
    ".joblib",
    ".pt",
    ".pth",
    ".onnx",
    ".h5",
    ".keras",
    ".safetensors",
    ".ckpt",
    ".bin",
    ".model",
    ".pb",
    ".tflite",
    ".gguf",
}
_ENV_NAMES = re.compile(
    r"^(uv\.lock|poetry\.lock|pdm\.lock|Pipfile\.lock|environment\.ya?ml|conda-lock\.yml|"
    r"requirements.*\.txt)$"
)


def default_kind(relpath: str) -> Kind:
    """A sensible default kind from the path: model files, feature tables, metrics, lockfiles."""
    pure = PurePosixPath(relpath)
    parts = {p.lower() for p in pure.parts}
    if pure.suffix.lower() in _MODEL_SUFFIXES or parts & {"model", "models"}:
        return "model"
    if any("feature" in p for p in parts):
        return "features"
    if parts & {"metrics"} or pure.stem.lower() in {"metrics", "scores"}:
        return "metrics"
    if _ENV_NAMES.match(pure.name):
        return "env"
    return "data"
