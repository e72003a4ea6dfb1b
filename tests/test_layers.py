"""The package's layering: imports only run down the layers the README documents.

Every ``import`` in ``vidclear/`` (module level or inside a function) is read
with :mod:`ast`. A module may import its own package, and any package of a
lower layer; packages that share a layer are peers and may not import each
other. The module import graph, lazy imports included, has no cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "vidclear"

# Lowest first; the README's "Architecture" section shows the same list.
LAYERS: list[set[str]] = [
    {"errors", "_version", "_opencv", "_numba_cache", "_arrays", "_sigint"},
    {"kernels", "metrics"},
    {"core"},
    {"config"},
    {"dehaze", "enhance", "hdr"},
    {"processors"},
    {"pipeline"},
    {"io"},
    {"session"},
    {"live", "batch"},
    {"cli", "__init__"},
    {"__main__"},
]
LAYER_OF = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


_ALL = {".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in ROOT.rglob("*.py")}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported vidclear module, at module level?) for every import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = set(map(id, tree.body))
    pkg = _module_name(path).split(".")
    if path.name != "__init__.py":
        pkg = pkg[:-1]
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
            # `from pkg import sub` depends on pkg.sub; `from mod import name` on mod.
            subs = [f"{base}.{a.name}" for a in node.names]
            names = [n for n in subs if n in _ALL] or [base]
        for name in names:
            if name == "vidclear" or name.startswith("vidclear."):
                found.append((name, id(node) in top))
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def test_every_package_has_a_layer():
    missing = {_package(m) for m in MODULES} - set(LAYER_OF)
    assert not missing, f"add {sorted(missing)} to LAYERS and to the README"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_layers(module):
    here = _package(module)
    bad = []
    for name, _ in _imports(MODULES[module]):
        there = _package(name)
        if there == here or name == "vidclear":
            if name == "vidclear" and here != "__init__":
                bad.append(f"{name} (the top-level package)")
            continue
        if LAYER_OF[there] >= LAYER_OF[here]:
            kind = "a peer" if LAYER_OF[there] == LAYER_OF[here] else "a higher layer"
            bad.append(f"{name} ({kind})")
    assert not bad, f"{module} imports {', '.join(bad)}"


def test_no_import_cycles():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for name, _ in _imports(path):  # lazy imports too: they are deferred, not absent
            if name in MODULES and name != module:
                graph[module].add(name)
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_imports_inside_functions():
    """Lazy imports count too: they run up the layers just the same."""
    path = ROOT / "core" / "frame.py"
    names = {n for n, _ in _imports(path)}
    assert "vidclear.core.convert" in names  # imported inside a method
    assert LAYER_OF[_package("vidclear.session")] > LAYER_OF[_package("vidclear.core.frame")]
