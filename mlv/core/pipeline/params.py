"""Reading params and metrics files (JSON, YAML or TOML, by extension) into flat key -> value maps.

Nested tables flatten to dotted keys (``train.lr``), so a param or a metric is always named by one
string, whichever format holds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlv.errors import UsageError
from mlv.model.declarations import parse_toml
from mlv.model.stages import ParamSpec


def load_structured(path: Path, display: str) -> dict[str, Any]:
    """Parse a JSON, YAML or TOML file into a mapping; bad content is a clear UsageError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{display} does not exist", "create it, or fix the stage") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = parse_toml(text, display)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except UsageError:
        raise  # parse_toml's own message and hint, not wrapped in a second "cannot be parsed"
    except (ValueError, ImportError) as exc:
        raise UsageError(
            f"{display} cannot be parsed: {exc}",
            "params and metrics files are JSON, YAML (.yaml) or TOML (.toml)",
        ) from None
    except Exception as exc:  # yaml.YAMLError and friends
        raise UsageError(f"{display} cannot be parsed: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{display} must hold a mapping of names to values")
    return data


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def param_values(root: Path, specs: tuple[ParamSpec, ...]) -> dict[str, Any]:
    """``{"file:key": value}`` for every declared param (every key of a file given alone)."""
    values: dict[str, Any] = {}
    for spec in specs:
        flat = flatten(load_structured(root / spec.file, spec.file))
        keys = spec.keys or tuple(flat)
        for key in keys:
            if key not in flat:
                raise UsageError(
                    f"param {key!r} is not in {spec.file}",
                    f"keys there: {', '.join(sorted(flat)) or '(none)'}",
                )
            values[f"{spec.file}:{key}"] = flat[key]
    return values


def metric_values(root: Path, files: tuple[str, ...]) -> dict[str, Any]:
    """``{"file:metric": value}`` for every value in the stage's metrics files."""
    values: dict[str, Any] = {}
    for name in files:
        for key, value in flatten(load_structured(root / name, name)).items():
            values[f"{name}:{key}"] = value
    return values
