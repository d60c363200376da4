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
    {"_typing", "structure", "files", "colours"},
    {"fold", "datasets"},
    {"encode"},
    {"model", "ensemble", "precision"},
    {"train", "evaluate"},
    {"saliency", "mutagenesis"},
    {"project"},
    {"units"},
    {"motifs"},
    {"plot", "export", "report"},
    {"pipeline", "stream"},
    {"benchmark"},
    {"cli"},
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
    assert mirnamap.explain_hairpins.__module__ == "mirnamap.pipeline"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mirnamap.nope  # noqa: B018
