"""The generated pages of the site (run by mkdocs-gen-files at every build).

* ``reference/``: one ``::: module`` page per public module of ``mirnamap`` (walked from
  the package, not listed by hand) and its ``SUMMARY.md`` for mkdocs-literate-nav;
* ``guide/cli.md``: the command line, from ``mirnamap.cli.build_parser()``;
* ``backends/``: one page per registered saliency backend from one template, the
  registry, the shipped verdicts, the full benchmark and the ensemble-stability results;
* ``development/stages.svg``: the stage order of ``tests/test_layout.py``;
* ``tutorial.md``: ``docs/tutorial.py`` executed in a fresh kernel, with its pictures;
* ``getting-started/out/``: the pictures the worked example's own code writes;
* ``results/files/``: the result pictures that the results pages show.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mkdocs_gen_files

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docs_tools as tools
from backend_notes import NOTES

ROOT = tools.ROOT
DOCS = tools.DOCS


def write(path: str, text: str | bytes) -> None:
    mode = "wb" if isinstance(text, bytes) else "w"
    with mkdocs_gen_files.open(path, mode) as handle:
        handle.write(text)


# ------------------------------------------------------------------------ reference

nav = mkdocs_gen_files.Nav()
for module in tools.public_modules():
    page = tools.reference_path(module)
    parts = tuple(module.split("."))
    nav[parts] = page.removeprefix("reference/")
    write(page, f"# `{module}`\n\n::: {module}\n")
    mkdocs_gen_files.set_edit_path(page, Path("..") / Path(*parts).with_suffix(".py"))
write("reference/SUMMARY.md", "".join(nav.build_literate_nav()))

# ----------------------------------------------------------------------------- cli

write("guide/cli.md", tools.cli_markdown())

# ------------------------------------------------------------------------ backends

rows = tools.backend_rows()
seconds = tools.benchmark_seconds()
missing = sorted({r.name for r in rows} - set(NOTES))
if missing:
    raise SystemExit(f"docs/_gen/backend_notes.py has no notes for: {', '.join(missing)}")

index = [
    "# Saliency backends",
    "",
    "One page per backend of the registry (`mirnamap.saliency.list_backends()`), generated",
    "from the registry, the verdicts shipped with the package",
    "(`mirnamap/assets/backend_verdicts.json`, made from the ground-truth benchmark by",
    "`experiments/backend_verdicts.py`) and the agreement between the bundled ensemble's",
    "members (`experiments/results/ensemble_stability.tsv`). How to choose among them,",
    "and what to read each for: [choosing a method](../guide/saliency.md#choosing-a-method)",
    "(the default is `gradient_x_input`).",
    "",
    tools.site_backend_table(rows),
    "",
    '"Stable across members" is the mean Spearman correlation of the nucleotide scores',
    "between the five members of the bundled ensemble over every pair of members and 100",
    "human test hairpins ([results](../results/ensemble-stability.md)).",
    "",
    "Beside these image backends, `explain_hairpins` and the command line take `ism`,",
    "in-silico mutagenesis with refolding: [its page](../guide/ism.md).",
    "",
]
write("backends/index.md", "\n".join(index))
summary = ["* [Overview](index.md)"] + [f"* [{r.name}]({r.name}.md)" for r in rows]
write("backends/SUMMARY.md", "\n".join(summary) + "\n")

TASKS = ("motif", "structure", "interaction", "additive")


def _number(value: object) -> str:
    return "n/a" if value is None else f"{value:.2f}"


for row in rows:
    notes = NOTES[row.name]
    numbers = row.numbers
    flagged = set(numbers.get("sanity_flagged", ()))
    lines = [
        f"# `{row.name}`",
        "",
        f"*{row.summary}*",
        "",
        "| property | |",
        "|---|---|",
        f"| family | {row.family} |",
        f"| reference | {row.reference} |",
        f"| passes per map | {row.cost} |",
        f"| baseline | {row.baseline} |",
        f"| seed changes the map | {'yes' if row.stochastic else 'no'} |",
        f"| module | [`{row.module}`](../{tools.reference_path(row.module)}) |",
        "",
        "## What it computes",
        "",
        notes["computes"],
        "",
        "## Verdict",
        "",
    ]
    if row.level is None:
        lines += ["Not in the ground-truth benchmark's results.", ""]
    else:
        lines += [
            f"**{row.level}**: {row.verdict} (the rules: [the benchmark]"
            "(../results/benchmark.md#verdicts)).",
            "",
            "| task | nucleotide AUROC | adapted overlap | sanity (Spearman, trained vs "
            "randomised) | seconds per map |",
            "|---|---:|---:|---:|---:|",
        ]
        for task in TASKS:
            sanity = _number(numbers.get("sanity", {}).get(task))
            if task in flagged:
                sanity += " (flag)"
            spent = seconds.get(row.name, {}).get(task)
            lines.append(
                f"| {task} | {_number(numbers.get('auroc', {}).get(task))} "
                f"| {_number(numbers.get('overlap_adapted', {}).get(task))} | {sanity} "
                f"| {'' if spent is None else f'{spent / 100:.3f}'} |"
            )
        lines += [
            "",
            "From the full configuration of the benchmark (medians over the explained "
            "hairpins; `additive` has a signed truth, so its overlap is the sign check). "
            "Seconds per map: the wall time of the 100 maps on the shared 2-core CPU.",
            "",
        ]
    lines += ["## Stability across the ensemble's members", ""]
    if row.stability is None:
        lines += ["Not measured.", ""]
    else:
        lines += [
            f"Mean Spearman correlation between members: **{row.stability:.2f}**; share of "
            f"hairpins whose members agree above 0.5: {row.stable_share:.2f} "
            "([all backends](../results/ensemble-stability.md)).",
            "",
        ]
    lines += ["## When to use it", "", notes["use"], ""]
    if notes.get("options"):
        lines += ["## Options", "", notes["options"], ""]
    lines += [
        "## Call it",
        "",
        "```text",
        f"mirnamap explain hairpins.fa --method {row.name} --out explain/",
        "```",
        "",
        "```text",
        f'mirnamap.explain_hairpins("hairpins.fa", methods=["{row.name}"])',
        f'mirnamap.saliency.explain(model, images, "{row.name}", target=1)',
        "```",
        "",
    ]
    write(f"backends/{row.name}.md", "\n".join(lines))

# -------------------------------------------------------------------- architecture

write("development/stages.svg", tools.stages_svg(tools.layout_stages()))


# ---------------------------------------------------------- executed pages and figures


def _work_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="mirnamap_docs_"))
    for name in tools.REPO_PATHS:
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    return folder


# The worked example's pictures and printed tables are what its own blocks write, run
# apart like a user's session; the page is shown with each block's output under it.
work = _work_folder()
page = DOCS / "getting-started" / "worked-example.md"
printed = work / "printed.json"
subprocess.run(
    [
        sys.executable,
        str(Path(__file__).with_name("docs_tools.py")),
        "run-page",
        str(page),
        "--workdir",
        str(work),
        "--outputs",
        str(printed),
    ],
    check=True,
)
outputs = json.loads(printed.read_text(encoding="utf-8"))
write("getting-started/worked-example.md", tools.with_outputs(page.read_text("utf-8"), outputs))
for picture in sorted((work / "out").rglob("*.png")):
    write(f"getting-started/{picture.relative_to(work).as_posix()}", picture.read_bytes())
shutil.rmtree(work, ignore_errors=True)

# The tutorial, executed in a fresh kernel on the bundled data.
work = _work_folder()
source = DOCS / "tutorial.py"
notebook = tools.execute_notebook(source, work)
text, images = tools.notebook_markdown(notebook, "tutorial/")
download = (
    '!!! note "This page is a notebook"\n    Executed when the site is built (and by '
    "`tests/test_docs.py`). Download it as [a notebook](tutorial.ipynb) or "
    "[a jupytext script](tutorial.py).\n\n"
)
write("tutorial.md", re.sub(r"^(# .*\n)", lambda m: m[1] + "\n" + download, text, count=1))
for name, data in images.items():
    write(f"tutorial/{name}", data)
import jupytext  # noqa: E402

write("tutorial.ipynb", jupytext.writes(tools.read_notebook(source), fmt="ipynb"))
shutil.rmtree(work, ignore_errors=True)

# The result pictures that the results pages show (and only those).
_PICTURE = re.compile(r"\]\(files/((?:experiments|benchmarks)/results/[^)\s]+\.png)\)")
for page in sorted((DOCS / "results").glob("*.md")):
    for relative in _PICTURE.findall(page.read_text(encoding="utf-8")):
        write(f"results/files/{relative}", (ROOT / relative).read_bytes())
