"""The documentation runs: README and guide examples, the tutorial, the generated parts.

Every ```` ```python ```` block of the README and of the hand-written pages under
``docs/`` runs, page by page in one namespace and in order, in a temporary folder that
links the repository's data (as a user in a checkout would run them). A block after a
``<!-- skip: reason -->`` comment is left out; the reason is required. The tutorial
notebook executes in a fresh kernel. The README's backend table must be the one
generated from the registry (``python docs/_gen/docs_tools.py readme`` rewrites it).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _load_tools():
    spec = importlib.util.spec_from_file_location("docs_tools", DOCS / "_gen" / "docs_tools.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docs_tools", module)
    spec.loader.exec_module(module)
    return module


tools = _load_tools()

#: The pages whose Python blocks are examples to run: the README and every hand-written
#: Markdown page (the generated ones are made from the code, not typed).
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_page_with_examples_is_collected():
    with_code = [p for p in PAGES if tools.python_blocks(p.read_text(encoding="utf-8"))]
    names = {_name(p) for p in with_code}
    assert "README.md" in names
    assert {"docs/guide/inputs.md", "docs/getting-started/quickstart.md"} <= names


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if tools.python_blocks(p.read_text(encoding="utf-8"))],
    ids=_name,
)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    with tools.repository_paths(tmp_path):
        tools.run_page(page)


def test_skipped_blocks_say_why_and_are_rare():
    skipped = []
    for page in PAGES:
        for block in tools.python_blocks(page.read_text(encoding="utf-8")):
            if block.skip is not None:
                assert block.skip.strip(), f"{_name(page)}:{block.line}: skip without a reason"
                skipped.append((page, block))
    total = sum(len(tools.python_blocks(p.read_text(encoding="utf-8"))) for p in PAGES)
    assert len(skipped) <= max(3, total // 10), [f"{_name(p)}:{b.line}" for p, b in skipped]


def test_the_block_parser_finds_indented_and_skipped_blocks():
    text = (
        "a\n\n```python\nx = 1\n```\n\n- item\n\n    ```python\n    y = x + 1\n    ```\n\n"
        "<!-- skip: needs a cluster -->\n```python\nraise SystemExit\n```\n\n```bash\nls\n```\n"
    )
    blocks = tools.python_blocks(text)
    assert [b.code for b in blocks] == ["x = 1\n", "y = x + 1\n", "raise SystemExit\n"]
    assert [b.skip for b in blocks] == [None, None, "needs a cluster"]
    assert [b.line for b in blocks] == [3, 9, 14]
    shown = tools.with_outputs(text, {3: "1\n", 9: "2\n"})
    assert "```text\n1\n```" in shown and "    ```text\n    2\n    ```" in shown


@pytest.mark.slow
def test_the_tutorial_notebook_runs(tmp_path: Path) -> None:
    with tools.repository_paths(tmp_path):
        notebook = tools.execute_notebook(DOCS / "tutorial.py", tmp_path)
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    text, images = tools.notebook_markdown(notebook, "tutorial/")
    assert text.startswith("# Tutorial")
    assert len(images) >= 3  # the figures came out


# ------------------------------------------------------------------------- the README


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines (at most 250)"


def test_the_readme_keeps_the_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run    # set-up" in text and "make test   # set-up" in text
    assert "10.1101/840579" in text and "MIT" in text


def test_the_readme_backend_table_is_generated():
    current = tools.current_readme_block()
    assert current == tools.readme_block(), (
        "README.md's backend table is stale: run `python docs/_gen/docs_tools.py readme`"
    )


def test_the_backend_table_has_every_backend_with_its_cost_and_verdict():
    from mirnamap.report import load_verdicts
    from mirnamap.saliency import backend_info, list_backends

    rows = tools.backend_rows()
    assert [r.name for r in rows] == list_backends()
    verdicts = load_verdicts()
    for row in rows:
        info = backend_info(row.name)
        assert row.family == info.family
        if info.cost_param is not None:
            assert row.cost == f"`{info.cost_param}` (default {info.cost_default})"
        assert row.level == verdicts[row.name]["level"]
    table = tools.readme_backend_table(rows)
    assert len(table.splitlines()) == len(rows) + 2


# ------------------------------------------------------------------- generated pages


def test_every_backend_has_its_words():
    sys.path.insert(0, str(DOCS / "_gen"))
    try:
        from backend_notes import NOTES
    finally:
        sys.path.remove(str(DOCS / "_gen"))
    from mirnamap.saliency import list_backends

    missing = set(list_backends()) - set(NOTES)
    assert not missing, f"docs/_gen/backend_notes.py has no entry for {sorted(missing)}"
    for name, notes in NOTES.items():
        assert notes["computes"] and notes["use"], name


def test_the_reference_covers_every_public_module():
    modules = tools.public_modules()
    on_disk = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "mirnamap").rglob("*.py")
    }
    public = {m for m in on_disk if not any(part.startswith("_") for part in m.split("."))}
    assert set(modules) == public | {"mirnamap"}
    assert "mirnamap.saliency.gradient" in modules
    assert tools.reference_path("mirnamap.saliency") == "reference/mirnamap/saliency/index.md"
    assert tools.reference_path("mirnamap.fold") == "reference/mirnamap/fold.md"


def test_the_cli_page_shows_every_subcommand():
    page = tools.cli_markdown()
    commands = tools.cli_commands()
    assert {"fold", "encode", "predict", "explain", "train", "benchmark"} <= set(commands)
    for name in commands:
        assert f"## mirnamap {name} " in page
        assert f"usage: mirnamap {name}" in page


def test_the_architecture_picture_follows_the_layout_test():
    stages = tools.layout_stages()
    assert any("cli" in stage for stage in stages)
    assert any("fold" in stage for stage in stages)
    svg = tools.stages_svg(stages)
    assert svg.count("<rect") == len(stages)
    # A long stage wraps over several lines of its box: read the lines back in order.
    text = " ".join(re.findall(r'text-anchor="middle">([^<]*)</text>', svg))
    for stage in stages:
        assert ", ".join(stage) in text


#: The hand-written pages of the site (a results file may be included by any of them: the
#: method guide of the saliency page is one).
SITE_PAGES = sorted(DOCS.rglob("*.md"))

#: Results files that are not results: the model card that ``TrainedEnsemble.save`` writes
#: beside each ensemble of ``experiments/finetune.py`` (one per arm and seed; the tables of
#: ``finetune.md``, on the site, come from the same runs, and one card is shown as an
#: example).
NOT_ON_THE_SITE = ("experiments/results/finetune/seed*/*.md",)


def test_results_pages_include_files_that_exist():
    import re

    found = 0
    for page in SITE_PAGES:
        for path in re.findall(r'--8<-- "([^"]+)"', page.read_text(encoding="utf-8")):
            assert (ROOT / path).is_file(), f"{_name(page)} includes a missing {path}"
            found += 1
    assert found >= 10


def test_every_results_file_is_on_the_site():
    included = "".join(p.read_text(encoding="utf-8") for p in SITE_PAGES)
    files = [
        *(ROOT / "experiments" / "results").rglob("*.md"),
        *(ROOT / "benchmarks" / "results").rglob("*.md"),
    ]
    kept_off = {f for pattern in NOT_ON_THE_SITE for f in ROOT.glob(pattern)}
    assert kept_off, f"{NOT_ON_THE_SITE} match no file: drop the rule"
    missing = [
        _name(f) for f in files if f not in kept_off and f'--8<-- "{_name(f)}"' not in included
    ]
    assert not missing, f"results files no page includes: {missing}"
