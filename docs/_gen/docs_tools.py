"""What the documentation generates, in one module: the build, the tests and the README use it.

Everything here reads the package, the test of its layout or a results file, so the pages
follow the code instead of copies of it:

* :func:`backend_rows` and :func:`readme_backend_table`: the backend table, from the
  saliency registry, the shipped verdicts and the ensemble-stability results;
  :func:`update_readme` rewrites the README's block between :data:`README_BEGIN` and
  :data:`README_END` (``tests/test_docs.py`` fails while that block is stale);
* :func:`public_modules`: every public module of ``mirnamap``, found by walking the
  package (no import), for the API reference;
* :func:`cli_markdown`: the command-line page, from ``mirnamap.cli.build_parser()``;
* :func:`layout_stages` and :func:`stages_svg`: the stage order that
  ``tests/test_layout.py`` enforces, as a picture;
* :func:`python_blocks` and :func:`run_page`: the Python blocks of a Markdown page, run
  in order in one namespace (what the tests do to every README and guide block);
* :func:`execute_notebook` and :func:`notebook_markdown`: the tutorial, executed and
  turned into a page with its pictures.

Run as a script::

    python docs/_gen/docs_tools.py readme        # rewrite the README's backend table
    python docs/_gen/docs_tools.py run-page PAGE --workdir DIR  # run a page's blocks
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import csv
import html
import io
import json
import os
import pkgutil
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
LAYOUT_TEST = ROOT / "tests" / "test_layout.py"
STABILITY = ROOT / "experiments" / "results" / "ensemble_stability.tsv"
BENCHMARK = ROOT / "experiments" / "results" / "benchmark" / "results.tsv"

README_BEGIN = (
    "<!-- backend-table:begin; generated from the registry and the verdicts by "
    "`python docs/_gen/docs_tools.py readme`, do not edit -->"
)
README_END = "<!-- backend-table:end -->"

#: Folders of the repository that a page's code may name by a relative path.
REPO_PATHS = ("data", "experiments", "benchmarks", "docs", "tests")


# ------------------------------------------------------------------------- backends


class BackendRow(NamedTuple):
    """What the docs say about one registered backend (registry + measured results)."""

    name: str
    family: str
    cost: str
    baseline: str
    reference: str
    stochastic: bool
    module: str
    summary: str
    level: str | None
    verdict: str | None
    numbers: dict[str, Any]
    stability: float | None
    stable_share: float | None


def _stability() -> dict[str, tuple[float, float]]:
    """Per backend (mean Spearman between members, share of hairpins above 0.5)."""
    if not STABILITY.exists():
        return {}
    with open(STABILITY, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {
            r["backend"]: (float(r["mean_spearman"]), float(r["share_above_0.5"])) for r in rows
        }


def _cost(info: Any) -> str:
    """Passes per map, with the option that sets them."""
    if info.cost_param is not None:
        return f"`{info.cost_param}` (default {info.cost_default})"
    return info.passes


def benchmark_seconds() -> dict[str, dict[str, float]]:
    """Per backend and task the wall time per map of the full benchmark (``results.tsv``)."""
    out: dict[str, dict[str, float]] = {}
    if not BENCHMARK.exists():
        return out
    with open(BENCHMARK, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            with contextlib.suppress(ValueError):
                out.setdefault(row["backend"], {})[row["task"]] = float(row["seconds"])
    return out


def backend_rows() -> list[BackendRow]:
    """One row per registered backend, sorted by name."""
    import inspect

    from mirnamap.report import load_verdicts
    from mirnamap.saliency import backend_info, get_backend, list_backends

    verdicts = load_verdicts()
    stability = _stability()
    rows = []
    for name in list_backends():
        info = backend_info(name)
        function = get_backend(name)
        doc = inspect.getdoc(function) or ""
        verdict = verdicts.get(name, {})
        stable = stability.get(name)
        rows.append(
            BackendRow(
                name=name,
                family=info.family,
                cost=_cost(info),
                baseline=info.baseline,
                reference=info.reference,
                stochastic=info.stochastic,
                module=function.__module__,
                summary=doc.split("\n\n")[0].replace("\n", " "),
                level=verdict.get("level"),
                verdict=verdict.get("verdict"),
                numbers=verdict,
                stability=None if stable is None else stable[0],
                stable_share=None if stable is None else stable[1],
            )
        )
    return rows


def _verdict_cell(row: BackendRow) -> str:
    if row.level is None:
        return "not benchmarked"
    return f"**{row.level}**: {row.verdict}"


def readme_backend_table(rows: list[BackendRow] | None = None) -> str:
    """The README's compact table: name, family, cost per map, benchmark verdict."""
    rows = backend_rows() if rows is None else rows
    lines = [
        "| backend | family | cost per map (passes) | benchmark verdict |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| `{row.name}` | {row.family} | {row.cost} | {_verdict_cell(row)} |")
    return "\n".join(lines)


def site_backend_table(rows: list[BackendRow] | None = None, link: str = "") -> str:
    """The site's full table: adds the baseline, the reference and the members' agreement."""
    rows = backend_rows() if rows is None else rows
    lines = [
        "| backend | family | passes per map | baseline | reference | verdict "
        "| stable across members |",
        "|---|---|---|---|---|---|---:|",
    ]
    for row in rows:
        name = f"[`{row.name}`]({link}{row.name}.md)" if link is not None else f"`{row.name}`"
        stable = "" if row.stability is None else f"{row.stability:.2f}"
        lines.append(
            f"| {name} | {row.family} | {row.cost} | {row.baseline} | {row.reference} "
            f"| {_verdict_cell(row)} | {stable} |"
        )
    return "\n".join(lines)


def readme_block(table: str | None = None) -> str:
    """The README's generated block, markers included."""
    table = readme_backend_table() if table is None else table
    return f"{README_BEGIN}\n{table}\n{README_END}"


def current_readme_block(text: str | None = None) -> str:
    """The block as it stands in the README (markers included)."""
    text = README.read_text(encoding="utf-8") if text is None else text
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{README}: no backend-table markers")
    return text[start : end + len(README_END)]


def update_readme() -> bool:
    """Rewrite the README's block; True if it changed."""
    text = README.read_text(encoding="utf-8")
    new = text.replace(current_readme_block(text), readme_block())
    if new != text:
        README.write_text(new, encoding="utf-8")
    return new != text


# ------------------------------------------------------------------------ reference


def public_modules(package: str = "mirnamap") -> list[str]:
    """Every public module of ``package`` (no part starts with ``_``), walked from disk."""
    top = ROOT / package

    def walk(folder: Path, prefix: str) -> Iterator[str]:
        for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            name = f"{prefix}.{info.name}"
            yield name
            if info.ispkg:
                yield from walk(folder / info.name, name)

    return [package, *walk(top, package)]


def is_package(module: str) -> bool:
    return (ROOT.joinpath(*module.split(".")) / "__init__.py").exists()


def reference_path(module: str) -> str:
    """``mirnamap.saliency`` -> ``reference/mirnamap/saliency/index.md``."""
    parts = module.split(".")
    if is_package(module):
        return "/".join(["reference", *parts, "index.md"])
    return "/".join(["reference", *parts]) + ".md"


# ----------------------------------------------------------------------------- cli


def cli_markdown() -> str:
    """The command-line page: every subcommand's help, as ``build_parser`` formats it."""
    from mirnamap.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: make it fixed
    try:
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        summaries = {a.dest: a.help for a in sub._choices_actions}
        out = [
            "# The command line",
            "",
            "Generated from `mirnamap.cli.build_parser()` when the site is built, so it is the",
            "help the installed command prints (`mirnamap COMMAND --help`). `-o/--output` is",
            "always a file and `--out` always a folder. Exit status: 2 for unusable input, an",
            "unwritable output or a second run on a streamed output (one line naming the",
            "file, never a traceback), 1 when no record could be processed, 0 otherwise",
            "([inputs and failures](inputs.md#unusable-input-and-the-exit-status)). Train and",
            "compare models on your own data: [your own data](own-data.md).",
            "",
            "| command | what it does |",
            "|---|---|",
        ]
        out += [f"| [`{n}`](#mirnamap-{n}) | {summaries.get(n, '')} |" for n in sub.choices]
        out += ["", "```text", parser.format_help().rstrip(), "```", ""]
        for name, command in sub.choices.items():
            out += [
                f"## mirnamap {name} {{ #mirnamap-{name} }}",
                "",
                "```text",
                command.format_help().rstrip(),
                "```",
                "",
            ]
        return "\n".join(out)
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def cli_commands() -> list[str]:
    from mirnamap.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


# -------------------------------------------------------------------------- stages


def layout_stages(path: Path = LAYOUT_TEST) -> list[list[str]]:
    """The ``STAGES`` list of ``tests/test_layout.py``, read without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        if any(isinstance(t, ast.Name) and t.id == "STAGES" for t in targets):
            stages = ast.literal_eval(value)
            return [sorted(stage) if not isinstance(stage, str) else [stage] for stage in stages]
    raise ValueError(f"{path}: no STAGES list")


def stages_svg(stages: list[list[str]]) -> str:
    """The stages as a column of boxes, earliest on top, an arrow between each two; a
    stage of many modules takes several lines of its box."""
    import textwrap

    width, line, gap, pad, chars = 640, 18, 22, 16, 64
    labels = [textwrap.wrap(", ".join(names), chars) or [""] for names in stages]
    boxes = [16 + line * len(lines) for lines in labels]
    height = pad * 2 + sum(boxes) + (len(stages) - 1) * gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="14" '
        'role="img" aria-label="The stages of mirnamap, earliest first">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#555'/>"
        "</marker></defs>",
    ]
    y = pad
    for k, (lines, box) in enumerate(zip(labels, boxes, strict=True)):
        shade = "#e8eef7" if k % 2 == 0 else "#f3f6fb"
        parts.append(
            f'<rect x="60" y="{y}" width="{width - 80}" height="{box}" rx="6" '
            f'fill="{shade}" stroke="#3f51b5" stroke-width="1.2"/>'
        )
        parts.append(
            f'<text x="36" y="{y + box / 2 + 5}" text-anchor="middle" fill="#555">{k + 1}</text>'
        )
        for j, text in enumerate(lines):
            parts.append(
                f'<text x="{width / 2 + 20}" y="{y + 8 + line * j + 14}" '
                f'text-anchor="middle">{html.escape(text)}</text>'
            )
        if k + 1 < len(stages):
            x = width / 2 + 20
            parts.append(
                f'<line x1="{x}" y1="{y + box}" x2="{x}" y2="{y + box + gap - 3}" '
                'stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>'
            )
        y += box + gap
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# -------------------------------------------------------------------- Python blocks


class Block(NamedTuple):
    """A fenced Python block of a Markdown page."""

    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None  # the reason given in a ``<!-- skip: reason -->`` comment before it


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
_SKIP = re.compile(r"<!--\s*skip(?::\s*(?P<reason>.*?))?\s*-->")


def python_blocks(text: str) -> list[Block]:
    """The ```` ```python ```` blocks of ``text``, in order (indented ones too)."""
    lines = text.splitlines()
    blocks, k, previous = [], 0, ""
    while k < len(lines):
        match = _FENCE.match(lines[k])
        if not match:
            if lines[k].strip():
                previous = lines[k]
            k += 1
            continue
        indent, fence = match["indent"], match["fence"]
        info = match["info"].strip().split()
        start = k
        body = []
        k += 1
        while k < len(lines) and not (
            lines[k].strip().startswith(fence) and lines[k].strip().strip(fence[0]) == ""
        ):
            line = lines[k]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            k += 1
        k += 1
        if info and info[0] in ("python", "py"):
            skip = _SKIP.search(previous)
            reason = None if skip is None else (skip["reason"] or "")
            blocks.append(Block(start + 1, "\n".join(body) + "\n", reason))
        previous = ""
    return blocks


@contextlib.contextmanager
def repository_paths(folder: Path) -> Iterator[Path]:
    """``folder`` with links to the repository's data folders, as the cwd."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in REPO_PATHS:
        link = folder / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(before)


def run_page(path: Path, namespace: dict[str, Any] | None = None) -> dict[int, str]:
    """Run the Python blocks of the page ``path`` in the cwd, in order, in one namespace.

    Blocks after a ``<!-- skip: reason -->`` comment are left out. An error names the page
    and the line of the block's fence. Returns what each block printed, by the line of
    its fence.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace = {"__name__": "__docs__"} if namespace is None else namespace
    printed = {}
    for block in python_blocks(Path(path).read_text(encoding="utf-8")):
        if block.skip is not None:
            continue
        buffer = io.StringIO()
        try:
            code = compile(block.code, f"{path}:{block.line}", "exec")
            with contextlib.redirect_stdout(buffer):
                exec(code, namespace)
        except BaseException as error:
            raise RuntimeError(f"{path}, block at line {block.line}: {error!r}") from error
        printed[block.line] = buffer.getvalue()
    return printed


def with_outputs(text: str, printed: dict[int, str]) -> str:
    """``text`` with what each Python block printed shown under it (as the site has it)."""
    printed = {int(line): value for line, value in printed.items()}
    starts = {b.line for b in python_blocks(text)}
    lines = text.splitlines()
    out: list[str] = []
    k = 0
    while k < len(lines):
        out.append(lines[k])
        if k + 1 in starts:
            match = _FENCE.match(lines[k])
            indent, fence, start = match["indent"], match["fence"], k + 1
            k += 1
            while k < len(lines) and not (
                lines[k].strip().startswith(fence) and not lines[k].strip().strip(fence[0])
            ):
                out.append(lines[k])
                k += 1
            if k < len(lines):
                out.append(lines[k])
            shown = printed.get(start, "")
            if shown.strip():
                out += ["", f"{indent}```text"]
                out += [f"{indent}{line}".rstrip() for line in shown.rstrip().splitlines()]
                out.append(f"{indent}```")
        k += 1
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------ notebook


def read_notebook(path: Path) -> Any:
    """The tutorial (a jupytext percent script, or an ``.ipynb``) as a notebook."""
    import jupytext

    return jupytext.read(path)


def execute_notebook(path: Path, cwd: Path, timeout: int = 900) -> Any:
    """Run the notebook ``path`` in a fresh kernel whose cwd is ``cwd``; the executed copy."""
    from nbclient import NotebookClient

    notebook = read_notebook(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}}
    )
    # The kernel inherits the environment: figures must go to the notebook (inline), not
    # to the Agg backend that tests and scripts set.
    before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client.execute()
    finally:
        if before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = before
    return notebook


#: TensorFlow's own log lines, which reach the kernel's stdout through Python logging.
_NOISE = re.compile(r"^(?:(?:WARNING|INFO|ERROR):(?:tensorflow|absl):|[IWE]\d{4} )")
_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL)


def notebook_markdown(notebook: Any, image_prefix: str) -> tuple[str, dict[str, bytes]]:
    """A page of the executed notebook: its text, code and outputs, and its images.

    Returns the Markdown and ``{file name: PNG bytes}``; the page names each image as
    ``image_prefix + file name``. Standard error (TensorFlow's start-up lines) is left out.
    """
    out: list[str] = []
    images: dict[str, bytes] = {}
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            out += [cell.source, ""]
            continue
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        out += ["```python", cell.source.rstrip(), "```", ""]
        for k, output in enumerate(cell.get("outputs", [])):
            kind = output.get("output_type")
            if kind == "stream" and output.get("name") == "stdout":
                text = "\n".join(
                    line for line in output["text"].splitlines() if not _NOISE.match(line)
                )
                if text.strip():
                    out += ["```text", text.rstrip(), "```", ""]
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                if "image/png" in data:
                    name = f"cell{number:02d}_{k}.png"
                    images[name] = base64.b64decode(data["image/png"])
                    out += [f"![output of cell {number}]({image_prefix}{name})", ""]
                elif "text/html" in data:
                    table = _STYLE.sub("", "".join(data["text/html"])).strip()
                    out += ['<div class="nb-output" markdown="0">', table, "</div>", ""]
                elif "text/plain" in data:
                    out += ["```text", "".join(data["text/plain"]).rstrip(), "```", ""]
            elif kind == "error":
                raise RuntimeError(f"the notebook failed in cell {number}: {output.get('ename')}")
    return "\n".join(out), images


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("readme", help="rewrite the README's backend table")
    run = sub.add_parser("run-page", help="run a page's Python blocks in a work folder")
    run.add_argument("page", type=Path)
    run.add_argument("--workdir", type=Path, required=True, help="cwd, with the repo's data")
    run.add_argument("--outputs", type=Path, help="write what each block printed (JSON)")
    sub.add_parser("stages", help="print the stages of tests/test_layout.py as JSON")
    args = parser.parse_args(argv)
    if args.command == "readme":
        changed = update_readme()
        print(f"{README}: {'updated' if changed else 'already current'}")
    elif args.command == "run-page":
        page = args.page.resolve()
        with repository_paths(args.workdir.resolve()):
            printed = run_page(page)
        if args.outputs:
            args.outputs.write_text(json.dumps(printed), encoding="utf-8")
    else:
        print(json.dumps(layout_stages()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
