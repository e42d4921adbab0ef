"""The dependency direction of STYLE.md: cli -> core -> {model, storage, adapters} -> errors, with
the renderers (mlv/render) beside core: output of model data, usable by cli and core alike."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlv

PACKAGE = Path(mlv.__file__).parent

# What each layer may import of mlv (besides itself), and nothing of click or rich.
ALLOWED = {
    "core": {"model", "storage", "adapters", "render", "errors", "faults"},
    "render": {"model", "errors"},
    "model": {"errors"},
    "storage": {"model", "errors", "faults"},
    "adapters": {"model", "storage", "errors", "faults"},
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mlv":  # from mlv import faults
                found.update(f"mlv.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_what_is_below_it(layer: str) -> None:
    wrong = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in imports(path):
            top = name.split(".")[0]
            below = name.split(".")[1] if top == "mlv" and "." in name else None
            if top in ("click", "rich") or (below and below not in ALLOWED[layer] | {layer}):
                wrong.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert wrong == []
