"""The package's shape: imports only point forward, and private names stay private.

Every ``import`` in every module counts, those inside functions too (lazy imports are
imports all the same).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mirnamap

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mirnamap"

#: Each module's stage; a module may import only from stages at or before its own.
#: Base modules (rules, names, types, colour scale) come first; presentation (plot,
#: export, report) takes arrays, so the pipeline that drives it comes after it.
STAGES = [
    {"_typing", "errors", "geometry", "structure", "files", "colours", "workers"},
    {"fold", "datasets"},
    {"encode", "negatives", "augment"},
    {"model", "ensemble", "precision"},
    {
        "train",
        "train_data",
        "train_callbacks",
        "train_checkpoint",
        "gini",
        "evaluate",
        "metrics",
        "curves",
        "overlap",
        "flags",
    },
    {"members", "trained_ensemble", "member_splits", "member_checkpoints", "cards"},
    {"saliency", "mutagenesis"},
    {"project"},
    {"units"},
    {"motifs"},
    {"plot", "export", "report"},
    {"pipeline"},
    {"benchmark"},
    {"cli", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}
ROOTS = ["mirnamap", "tests", "experiments", "benchmarks"]


def _stage(module: str) -> str:
    """``mirnamap.saliency.gradient`` -> ``saliency`` (the top-level part)."""
    return module.split(".")[1]


def _python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported mirnamap module, names taken from it, line) for every import."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [
                (a.name, [], node.lineno) for a in node.names if a.name.startswith("mirnamap")
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mirnamap"):
            found.append((node.module, [a.name for a in node.names], node.lineno))
    return found


def test_every_module_has_a_stage():
    names = {_module_name(p) for p in _python_files("mirnamap")} - {"mirnamap"}
    stages = {_stage(name) for name in names}
    assert stages <= set(RANK), stages - set(RANK)


@pytest.mark.parametrize("path", _python_files("mirnamap"), ids=lambda p: p.name)
def test_imports_only_point_forward(path):
    name = _module_name(path)
    if name == "mirnamap":  # the package's lazy exports load any stage on demand
        return
    own = RANK[_stage(name)]
    backwards = [
        (module, line)
        for module, _, line in _imports(path)
        if module != "mirnamap" and RANK[_stage(module)] > own
    ]
    assert not backwards, f"{name} imports from later stages: {backwards}"


@pytest.mark.parametrize("folder", ROOTS)
def test_no_private_name_is_imported_from_another_module(folder):
    offences = []
    for path in _python_files(folder):
        here = _module_name(path)
        for module, names, line in _imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and module != here:
                offences.append(f"{path.relative_to(ROOT)}:{line} {module}: {private}")
    assert not offences, "\n".join(offences)


def _type_only_lines(path: Path) -> set[int]:
    """Lines of the imports under ``if TYPE_CHECKING:`` (names for annotations only)."""
    lines = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.body:
                lines.update(n.lineno for n in ast.walk(child) if hasattr(n, "lineno"))
    return lines


def _graph() -> dict[str, set[str]]:
    """Every mirnamap module -> the mirnamap modules it imports at run time (lazy imports
    inside functions too; ``if TYPE_CHECKING:`` imports, which name types for annotations
    and never run, are not edges). ``from mirnamap.x import y`` is an edge to
    ``mirnamap.x.y`` where that is a module."""
    names = {_module_name(p): p for p in _python_files("mirnamap")}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        type_only = _type_only_lines(path)
        for module, imported, line in _imports(path):
            if line in type_only:
                continue
            for item in imported:  # ``from mirnamap.pipeline import sources`` names a module
                if f"{module}.{item}" in names:
                    targets.add(f"{module}.{item}")
            if module in names:
                targets.add(module)
        graph[name] = targets - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles (strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back():
    # The package's __init__ re-exports its modules' names: it is left out, as every
    # module of the package importing a sibling goes through the sibling itself.
    graph = {
        name: {t for t in targets if t not in PACKAGES}
        for name, targets in _graph().items()
        if name not in PACKAGES
    }
    assert not _cycles(graph), _cycles(graph)


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


#: The subpackages: their __init__ re-exports the public names of their modules.
PACKAGES = {_module_name(p) for p in _python_files("mirnamap") if p.name == "__init__.py"}


@pytest.mark.parametrize("folder", ROOTS)
def test_no_private_module_of_another_package_is_imported(folder):
    """A package's private modules (``saliency._inputs``, ``plot._common``, ...) are its
    own: only its modules may import them (``mirnamap._typing`` is the whole package's)."""
    modules = {_module_name(p) for p in _python_files("mirnamap")}
    offences = []
    for path in _python_files(folder):
        here = _module_name(path)
        for module, names, line in _imports(path):
            targets = [module, *(f"{module}.{n}" for n in names if f"{module}.{n}" in modules)]
            for target in targets:
                parent, _, leaf = target.rpartition(".")
                inside = here == parent or here.startswith(parent + ".")
                if leaf.startswith("_") and not leaf.startswith("__") and not inside:
                    offences.append(f"{path.relative_to(ROOT)}:{line} {target}")
    assert not offences, "\n".join(offences)


def test_the_data_stages_do_not_load_tensorflow_or_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, mirnamap.pipeline, mirnamap.cli\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_package_lazily_exports_its_verbs():
    for name in mirnamap.__all__:
        assert getattr(mirnamap, name) is not None
    assert mirnamap.explain_hairpins.__module__ == "mirnamap.pipeline.explain"
    assert dir(mirnamap) == sorted(mirnamap.__all__)
    hidden = [n for n in dir(mirnamap) if n.startswith("_") and n != "__version__"]
    assert not hidden, hidden
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mirnamap.nope  # noqa: B018
