"""The package's shape, read from the source with `ast` (imports inside functions count too).

- no import cycles inside orchestrator/;
- the layers: cli -> commands -> steps -> kube/images/chart -> run/settings -> errors/paths/shell/redact
  (`cli` holds the tasks' bodies: flags -> options -> one command in the run frame; only it imports
  several commands);
  a module imports its own layer or lower ones, never a higher one, and commands never import each other;
- no module is named like a standard-library module (`inspect.py`, `secrets.py` shadowed them once).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = "orchestrator"

# Lowest layer first. A module's layer is the longest prefix listed here. `settings.keys` is a fact
# that imports nothing (the secret key names), so the bottom layer may use it like `paths`.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "paths", "shell", "redact", "settings.keys"),
    ("run", "settings"),
    ("kube", "images", "chart"),
    ("steps",),
    ("commands",),
    ("cli",),
)


def module_files(root: Path = ROOT / PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, packages named by their __init__.py."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_modules(name: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """Every orchestrator module `name` imports anywhere in its file (top level, functions, TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # `from orchestrator.kube import helm` imports the module orchestrator.kube.helm
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import orchestrator.kube.api.x` -> the module part
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE) and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    known = module_files()
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def layer_of(name: str) -> int | None:
    """Index in LAYERS of the longest matching prefix; None for the root package and subpackage inits."""
    relative = name.removeprefix(PACKAGE).lstrip(".")
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if relative == prefix or relative.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_violations(graph: Mapping[str, set[str]]) -> Iterator[str]:
    for name, targets in sorted(graph.items()):
        own = layer_of(name)
        for target in sorted(targets):
            theirs = layer_of(target)
            if own is None or theirs is None:
                continue
            if theirs > own:
                yield f"{name} imports {target}, a higher layer"
            if name.startswith(f"{PACKAGE}.commands.") and target.startswith(f"{PACKAGE}.commands."):
                yield f"{name} imports {target}: commands never import each other (shared steps go to steps.py)"


# --- the checker itself is tested on a small tree, so a green result means something ---------------


def _tree(tmp_path: Path, files: Mapping[str, str]) -> dict[str, set[str]]:
    for relative, text in files.items():
        path = tmp_path / PACKAGE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    known = module_files(tmp_path / PACKAGE)
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "steps.py": "def f():\n    from orchestrator.commands import up\n",
            "commands/__init__.py": "",
            "commands/up.py": "from .. import steps\nfrom . import down\n",
            "commands/down.py": "import orchestrator.errors\n",
            "errors.py": "",
        },
    )
    assert graph["orchestrator.steps"] == {"orchestrator.commands.up"}
    assert graph["orchestrator.commands.up"] == {"orchestrator.steps", "orchestrator.commands.down"}
    assert graph["orchestrator.commands.down"] == {"orchestrator.errors"}
    assert cycles(graph) == [["orchestrator.commands.up", "orchestrator.steps"]]
    assert sorted(layer_violations(graph)) == [
        "orchestrator.commands.up imports orchestrator.commands.down: commands never import each other "
        "(shared steps go to steps.py)",
        "orchestrator.steps imports orchestrator.commands.up, a higher layer",
    ]


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name, path in module_files().items() if layer_of(name) is None and name != PACKAGE]
    assert unplaced == []


# --- the rules on the real package ----------------------------------------------------------------


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_imports_go_down_the_layers() -> None:
    assert list(layer_violations(import_graph())) == []


def test_no_module_is_named_like_a_standard_library_module() -> None:
    shadowing = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / PACKAGE).rglob("*")
        if (path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()))
        and path.stem in sys.stdlib_module_names
    )
    assert shadowing == []
