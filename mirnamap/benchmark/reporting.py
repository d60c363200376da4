"""Reporting benchmark results: the markdown table, TSV files, ``config.json`` and plots.

:func:`format_table` gives the median [95% CI] table; :func:`write_results` writes it with
the per-hairpin metrics, sanity and deletion curves, the configuration and one PNG per
task of metrics, sanity cascades and deletion curves (through
:func:`mirnamap.plot.save_figure`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mirnamap.benchmark.config import MAP_METRICS, METRICS
from mirnamap.files import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mirnamap.benchmark.running import BenchmarkResult

__all__ = ["format_table", "write_results"]


def _cell(value: tuple[float, float, float], digits: int = 2) -> str:
    median, low, high = value
    if np.isnan(median):
        return "n/a"
    return f"{median:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def format_table(result: BenchmarkResult) -> str:
    """The results as a markdown table: one row per task and backend, median [95% CI]."""
    header = ["task", "backend", *METRICS, "s/map"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result.summary():
        if not row["model_ok"]:
            cells = [
                f"withheld: model test AUROC {row['test_auroc']:.3f} < {result.config.min_auroc}"
            ] + [""] * (len(METRICS))
        else:
            cells = [
                _cell(row[m]) + (" (flag)" if m == "sanity" and row["flag_sanity"] else "")
                for m in METRICS
            ]
            n = len(result.tasks[[t.task for t in result.tasks].index(row["task"])].ids)
            seconds = row["seconds"]
            cells.append("-" if np.isnan(seconds) else f"{seconds / max(1, n):.3f}")
        lines.append("| " + " | ".join([row["task"], row["backend"], *cells]) + " |")
    return "\n".join(lines)


def write_results(result: BenchmarkResult, folder: str | Path) -> list[Path]:
    """Write the table (``results.tsv``, ``results.md``), per-hairpin metrics, sanity and
    deletion curves (TSV), the configuration (``config.json``) and plots (PNG).

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    rows = result.summary()
    path = folder / "results.tsv"
    with atomic_write(path) as handle:
        columns = ["task", "backend", "test_auroc", "model_ok", "flag_sanity", "seconds"]
        handle.write(
            "\t".join(columns + [f"{m}_{p}" for m in METRICS for p in ("median", "low", "high")])
            + "\n"
        )
        for row in rows:
            values = [
                str(row[c]) if not isinstance(row[c], float) else f"{row[c]:.4f}" for c in columns
            ]
            values += [f"{v:.4f}" for m in METRICS for v in row[m]]
            handle.write("\t".join(values) + "\n")
    written.append(path)
    path = folder / "results.md"
    tasks_line = "; ".join(
        f"{t.task}: {t.data['n']} hairpins, test AUROC {t.test_auroc:.3f}"
        + (f", {len(t.ids)} explained" if t.model_ok else " (below the bar: withheld)")
        for t in result.tasks
    )
    with atomic_write(path) as handle:
        handle.write(f"{tasks_line}\n\n{format_table(result)}\n")
    written.append(path)
    path = folder / "per_sequence.tsv"
    with atomic_write(path) as handle:
        handle.write("\t".join(["task", "backend", "id", *MAP_METRICS]) + "\n")
        for task in result.tasks:
            for backend, values in task.per_sequence.items():
                for i, record in enumerate(task.ids):
                    handle.write(
                        "\t".join(
                            [
                                task.task,
                                backend,
                                record,
                                *(f"{values[m][i]:.4f}" for m in MAP_METRICS),
                            ]
                        )
                        + "\n"
                    )
    written.append(path)
    path = folder / "sanity.tsv"
    with atomic_write(path) as handle:
        handle.write("task\tbackend\tstep\tlayer\tmedian_spearman\n")
        for task in result.tasks:
            for backend, sanity in task.sanity.items():
                for s, layer in enumerate(sanity.layers):
                    handle.write(
                        f"{task.task}\t{backend}\t{s}\t{layer}\t"
                        f"{np.nanmedian(sanity.correlations[s]):.4f}\n"
                    )
    written.append(path)
    path = folder / "deletion.tsv"
    with atomic_write(path) as handle:
        handle.write("task\tbackend\torder\tk\tmean_probability\n")
        for task in result.tasks:
            for backend, d in task.deletion.items():
                for order, curves in (("salient", d.salient), ("random", d.random)):
                    for s, k in enumerate(d.steps):
                        handle.write(
                            f"{task.task}\t{backend}\t{order}\t{k}\t"
                            f"{np.nanmean(curves[:, s]):.4f}\n"
                        )
    written.append(path)
    path = folder / "config.json"
    config = result.config.to_dict()
    config["backends_run"] = list(result.backends)
    config["tasks_run"] = [
        {
            **t.data,
            "test_auroc": t.test_auroc,
            "model_ok": t.model_ok,
            "epochs_trained": len(t.history.get("loss", [])),
        }
        for t in result.tasks
    ]
    with atomic_write(path) as handle:
        handle.write(json.dumps(config, indent=1, default=str) + "\n")
    written.append(path)
    written += _plot(result, rows, folder)
    return written


def _save(fig: Figure, path: Path) -> Path:
    """Lay out ``fig``, write it at 90 dpi and release it; returns ``path``."""
    from mirnamap.plot import save_figure

    fig.tight_layout()
    return save_figure(fig, path, dpi=90)[0]


def _plot(result: BenchmarkResult, rows: list[dict], folder: Path) -> list[Path]:
    """One PNG of metrics per task, one of sanity cascades, one of deletion curves."""
    # Figures without pyplot (as in mirnamap.plot): no global state, nothing to close.
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    tab20 = colormaps["tab20"]
    written = []
    shown = ("auroc", "auprc", "top_k", "mass", "pointing", "cos_raw", "cos_adapted", "distractor")
    for task in result.tasks:
        if not task.model_ok:
            continue
        task_rows = [r for r in rows if r["task"] == task.task]
        names = [r["backend"] for r in task_rows]
        fig = Figure(figsize=(16, 7))
        axes = fig.subplots(2, 4, sharey=True)
        for ax, metric in zip(axes.ravel(), shown, strict=True):
            med = np.array([r[metric][0] for r in task_rows])
            err = np.array(
                [[r[metric][0] - r[metric][1], r[metric][2] - r[metric][0]] for r in task_rows]
            ).T
            ax.barh(
                np.arange(len(names)), np.nan_to_num(med), xerr=np.nan_to_num(err), color="#4477aa"
            )
            ax.set_yticks(np.arange(len(names)), names, fontsize=8)
            ax.set_title(metric)
            ax.set_xlim(0, 1)
            ax.invert_yaxis()
        fig.suptitle(
            f"{task.task}: median and 95% bootstrap interval over {len(task.ids)} hairpins "
            f"(model test AUROC {task.test_auroc:.3f})"
        )
        written.append(_save(fig, folder / f"metrics_{task.task}.png"))
        if task.sanity:
            fig = Figure(figsize=(9, 5))
            ax = fig.subplots()
            colours = tab20(np.linspace(0, 1, max(2, len(task.sanity))))
            for colour, (backend, s) in zip(colours, task.sanity.items(), strict=False):
                ax.plot(
                    np.arange(len(s.layers)),
                    np.nanmedian(s.correlations, axis=1),
                    marker="o",
                    label=backend,
                    color=colour,
                )
            layers = next(iter(task.sanity.values())).layers
            ax.set_xticks(np.arange(len(layers)), [f"+{n}" for n in layers], rotation=45)
            ax.axhline(result.config.sanity_threshold, color="grey", ls="--", lw=1)
            ax.set_ylabel("median Spearman |map| vs trained")
            ax.set_title(f"{task.task}: cascading randomisation from the top")
            ax.legend(fontsize=7, ncol=2)
            written.append(_save(fig, folder / f"sanity_{task.task}.png"))
        if task.deletion:
            fig = Figure(figsize=(9, 5))
            ax = fig.subplots()
            colours = tab20(np.linspace(0, 1, max(2, len(task.deletion))))
            for colour, (backend, d) in zip(colours, task.deletion.items(), strict=False):
                ax.plot(
                    d.steps, np.nanmean(d.salient, axis=0), marker="o", label=backend, color=colour
                )
            first = next(iter(task.deletion.values()))
            random = np.nanmean(np.stack([d.random for d in task.deletion.values()]), axis=(0, 1))
            ax.plot(first.steps, random, color="black", ls="--", lw=2, label="random (all)")
            ax.set_xlabel("nucleotides mutated")
            ax.set_ylabel("mean P(explained class)")
            ax.set_title(f"{task.task}: deletion curves (refolded, redrawn)")
            ax.legend(fontsize=7, ncol=2)
            written.append(_save(fig, folder / f"deletion_{task.task}.png"))
    return written
