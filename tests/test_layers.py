"""The dependency direction of STYLE.md: cli -> core -> {model, storage, adapters} -> errors, with
the renderers (mlv/render) beside core: output of model data, usable by cli and core alike.

Inside core, capability folders are ordered (docs/architecture.md): a folder imports only the
folders before it in ``CORE_FOLDERS`` and the shared modules of core; the shared modules import
no folder. Across the whole package there is no import circle, and no private name (``_x``) is
imported from another module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
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

# The capability folders of mlv/core, lowest first: each may import those before it.
CORE_FOLDERS = (
    "objects",
    "workspace",
    "tables",
    "env",
    "declare",
    "remote",
    "restore",
    "pipeline",
    "record",
    "store",
    "history",
    "hooks",
    "dvc",
)
# The modules of mlv/core that every folder shares; they import no folder.
CORE_SHARED = ("project", "progress", "parallel", "installation", "code")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> Iterator[tuple[str, str | None]]:
    """(module, name) for every import of the file, lazy and type-only ones included; a
    relative import is resolved against the file's package."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                yield base, alias.name


def imports(path: Path) -> set[str]:
    """The modules (and, for ``from mlv import x``, the submodules) the file imports."""
    found = set()
    for module, name in _imported(path):
        found.add(f"{module}.{name}" if module == "mlv" and name else module)
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Module -> the mlv modules it imports (a ``from package import module`` names the module)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for base, name in _imported(path):
            if not base.startswith("mlv"):
                continue
            full = f"{base}.{name}" if name else base
            found = _resolve(full if full in modules else base, modules)
            if found is not None and found != module:
                targets.add(found)
        graph[module] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
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


def _core_unit(module: str) -> str | None:
    """The folder (or shared module) of core that ``module`` belongs to."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["mlv", "core"] else None


def test_core_is_folders_and_the_shared_modules() -> None:
    core = PACKAGE / "core"
    folders = {p.name for p in core.iterdir() if p.is_dir() and p.name != "__pycache__"}
    shared = {p.stem for p in core.glob("*.py") if p.stem != "__init__"}
    assert folders == set(CORE_FOLDERS)
    assert shared == set(CORE_SHARED)
    for folder in folders:
        assert (core / folder / "__init__.py").is_file(), folder


def test_core_folders_import_only_folders_below_them() -> None:
    rank = {name: i for i, name in enumerate(CORE_FOLDERS)}
    upward = []
    for module, targets in import_graph().items():
        unit = _core_unit(module)
        if unit is None:
            continue
        for target in targets:
            other = _core_unit(target)
            if other is None or other == unit:
                continue
            if unit in CORE_SHARED and other in rank:
                upward.append(f"{module} -> {target} (shared modules import no folder)")
            elif unit in rank and other in rank and rank[other] > rank[unit]:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_no_import_circles() -> None:
    assert circles(import_graph()) == []


def test_circles_are_found() -> None:
    """The detector itself: a circle through three modules, and none in a chain."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_private_name_crosses_a_module() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for module, name in _imported(path):
            if (
                module.startswith("mlv")
                and name
                and name.startswith("_")
                and not name.startswith("__")
            ):
                wrong.append(f"{path.relative_to(PACKAGE)}: {module}.{name}")
    assert wrong == []
