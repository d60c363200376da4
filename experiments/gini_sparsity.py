"""Does a Gini bottleneck make the maps more right, and at what cost in accuracy (issue 15)?

Henderson, Clevert & Montanari (ICML 2021, arXiv:2105.04854; arXiv:2010.04535) penalise
``lam * sum_units (1 - Gini(|w|))`` on the output layer's weights, so that each output
reads a few hidden units. This experiment puts that penalty (``train(gini=lam)``) on the
DeepMir logits layer and measures:

1. ``human``: for each lam of ``--lams``, train on the deepMiRGene human fold1-4 with
   early stopping on fold5 (balanced class weights, as ``reproduce_deepmirgene.py``) and
   report test AUROC and MCC, the Gini index of the pre-miRNA logit's weights over the
   dense units, and how many dense units carry 90 % of its |w|. Models go to
   ``out/gini/human_lam<lam>.keras`` (gitignored) for the unit decomposition.
2. ``benchmark``: the ground-truth benchmark's motif and structure tasks in a reduced
   configuration, with every backend, for each lam of ``--bench-lams`` (the task models
   trained with and without the penalty): nucleotide AUROC, adapted overlap
   (``cos_adapted``) and the sanity check (cascading randomisation; lower is better),
   median [95 % bootstrap interval].

Results go to ``experiments/results/gini/`` after every model (``gini.json``, ``gini.md``,
``gini.png``), so a run cut short keeps every row it finished.

    nice -n 10 .venv/bin/python experiments/gini_sparsity.py > experiments/results/gini/log.txt
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, encoded_deepmirgene, train_on_masks, versions

RESULTS = Path(__file__).resolve().parent / "results" / "gini"
MODELS = ROOT / "out" / "gini"
#: Benchmark columns reported, and what they mean.
BENCH_METRICS = ("auroc", "cos_adapted", "sanity")


def bench_config():
    """The reduced benchmark: a DeepMir of the published layout with fewer filters."""
    from mirnamap.benchmark import small_config
    from mirnamap.saliency import cost_params

    return small_config(
        n_pairs=300,
        epochs=20,
        early_stopping=4,
        filters=(16, 24, 32),
        dense_units=64,
        n_explain=30,
        n_sanity=4,
        n_faithfulness=0,
        n_boot=500,
        workers=1,
        backend_params={**cost_params(8), **cost_params(16, ["integrated_gradients", "shap"])},
    )


def human_row(lam: float, epochs: int, patience: int, seed: int) -> dict:
    """Train one human model with ``gini=lam`` and measure it."""
    from mirnamap.evaluate import metrics
    from mirnamap.model import predict_proba, save_model
    from mirnamap.train import gini_index, mass_count

    data = encoded_deepmirgene("human")
    folds = [f"fold{k}" for k in range(1, 6)]
    fit, val = np.isin(data.splits, folds[:4]), data.splits == "fold5"
    test = data.splits == "test"
    start = time.time()
    result = train_on_masks(
        data, fit, val, epochs=epochs, early_stopping=patience, seed=seed, gini=lam
    )
    minutes = (time.time() - start) / 60
    model = result.model
    save_model(model, MODELS / f"human_lam{lam:g}.keras")
    m = metrics(data.labels[test], predict_proba(model, data.images[test]))
    kernel = model.get_layer("logits").get_weights()[0]  # (dense units, 2)
    dense = model.get_layer("dense").get_weights()[0]
    return {
        "lam": lam,
        "auroc": m["auroc"],
        "mcc": m["mcc"],
        "sensitivity": m["sensitivity"],
        "specificity": m["specificity"],
        "gini_pre_mirna": float(gini_index(kernel[:, 1])),
        "gini_negative": float(gini_index(kernel[:, 0])),
        "units_90_pre_mirna": int(mass_count(kernel[:, 1], 0.9)),
        "units_90_negative": int(mass_count(kernel[:, 0], 0.9)),
        "n_units": int(kernel.shape[0]),
        "gini_dense_median": float(np.median(gini_index(dense))),
        "epochs_run": len(result.history["loss"]),
        "best_epoch": int(np.argmin(result.history["val_loss"])) + 1,
        "seconds_per_epoch": float(np.mean(result.history["seconds"])),
        "minutes": minutes,
        "n_test": m["n"],
    }


def bench_rows(lam: float, tasks: list[str], seed: int = 0) -> list[dict]:
    """Run the reduced benchmark's tasks with task models trained at ``gini=lam``."""
    from mirnamap.benchmark import BenchmarkResult, run_task, write_results
    from mirnamap.saliency import list_backends

    # gini=0.0 trains exactly as None does, and records the Gini index in the history.
    config = replace(bench_config(), gini=lam, seed=seed)
    backends = tuple(list_backends())
    rows = []
    done = []
    for task in tasks:
        start = time.time()
        result = run_task(task, config, backends, log=lambda line: print(line, flush=True))
        done.append(result)
        history = result.history
        best = int(np.argmin(history["val_loss"])) if "val_loss" in history else -1
        summary = BenchmarkResult(replace(config, tasks=(task,)), (result,), backends).summary()
        for row in summary:
            rows.append(
                {
                    "lam": lam,
                    "seed": seed,
                    "task": task,
                    "backend": row["backend"],
                    "test_auroc": row["test_auroc"],
                    "model_ok": row["model_ok"],
                    "gini_pre_mirna": (
                        float(history["gini"][best]) if "gini" in history else float("nan")
                    ),
                    **{m: [float(v) for v in row[m]] for m in BENCH_METRICS},
                    "minutes": (time.time() - start) / 60,
                }
            )
    folder = RESULTS / (f"benchmark_lam{lam:g}" + (f"_seed{seed}" if seed else ""))
    write_results(
        BenchmarkResult(replace(config, tasks=tuple(tasks)), tuple(done), backends), folder
    )
    return rows


def units_row(lam: float, k: int = 3, method: str = "gradient") -> dict:
    """Decompose the human test pre-miRNAs' logits over the dense units (model ``lam``).

    Writes ``units_lam<lam>.png`` (the first test pre-miRNA's top ``k`` units as
    nucleotide tracks) and ``unit_regions_lam<lam>.png`` (unit x region heatmap).
    """
    from _common import sequences_of

    from mirnamap.encode import encode
    from mirnamap.model import load_model, predict_proba
    from mirnamap.plot import plot_unit_regions, plot_units, save_figure
    from mirnamap.units import REGION_COLUMNS, explain_units, unit_regions

    data = encoded_deepmirgene("human")
    chosen = np.flatnonzero((data.splits == "test") & (data.labels == 1))
    sequences = sequences_of("human")
    ids = [str(data.ids[i]) for i in chosen]
    structures = [str(data.structures[i]) for i in chosen]
    enc = encode([sequences[i] for i in ids], structures, ids=ids, strict=True)
    model = load_model(MODELS / f"human_lam{lam:g}.keras")
    lengths = np.array([len(s) for s in enc.sequences])
    result = explain_units(model, enc.images, enc.layout, lengths, k=k, method=method)
    magnitude = -np.sort(-np.abs(result.shares), axis=1)
    cumulative = np.cumsum(magnitude, axis=1) / magnitude.sum(axis=1, keepdims=True)
    units_90 = (cumulative < 0.9 - 1e-12).sum(axis=1) + 1
    top_share = magnitude[:, :k].sum(axis=1) / magnitude.sum(axis=1)
    table = unit_regions(result, enc.layout, lengths, enc.structures, ids=ids)
    # The picture: the test pre-miRNA called with the largest logit by the lam = 0 model
    # (the same hairpin for every lam).
    base = load_model(MODELS / "human_lam0.keras")
    first = int(np.argmax(predict_proba(base, enc.images)))
    p = predict_proba(model, enc.images[first : first + 1])
    fig = plot_units(
        result.units[first],
        result.top_shares[first],
        result.scores[first],
        enc.sequences[first],
        enc.structures[first],
        logit=float(result.logits[first]),
        bias=result.bias,
        record_id=f"{ids[first]} (lam={lam:g})",
        method=method,
        probability=float(p[0]),
        abs_total=float(np.abs(result.shares[first]).sum()),
    )
    save_figure(fig, RESULTS / f"units_lam{lam:g}.png")
    fig = plot_unit_regions(
        table.units,
        table.shares,
        REGION_COLUMNS,
        counts=table.counts,
        heading=f"human test pre-miRNAs, top-{k} units, {method} (lam={lam:g})",
        max_units=20,
    )
    save_figure(fig, RESULTS / f"unit_regions_lam{lam:g}.png")
    return {
        "lam": lam,
        "k": k,
        "method": method,
        "n_hairpins": len(ids),
        "units_90_per_hairpin_median": float(np.median(units_90)),
        "top_k_abs_share_median": float(np.median(top_share)),
        "distinct_top_units": len(table.units),
        "regions": [
            {
                "unit": int(u),
                "n": int(c),
                "mean_share": float(m),
                **{col: float(v) for col, v in zip(REGION_COLUMNS, row, strict=True)},
            }
            for u, c, m, row in zip(
                table.units[:10], table.counts, table.mean_share, table.shares, strict=False
            )
        ],
    }


def _cell(value: list[float], digits: int = 2) -> str:
    median, low, high = value
    if not np.isfinite(median):
        return "n/a"
    return f"{median:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def load_rows(stage: str) -> list[dict]:
    """The finished rows of ``stage`` ("human" or "benchmark"), from its own file.

    Each stage keeps its rows in ``gini_<stage>.json``, so the two stages can run as two
    processes without overwriting each other; ``gini.json`` is the composite.
    """
    own = RESULTS / f"gini_{stage}.json"
    rows = json.loads(own.read_text()) if own.is_file() else []
    composite = RESULTS / "gini.json"
    if stage == "human" and composite.is_file():
        # Rows an earlier version of this script wrote to the composite only.
        have = {r["lam"] for r in rows}
        rows += [
            r for r in json.loads(composite.read_text()).get(stage, []) if r["lam"] not in have
        ]
    return rows


def save_rows(stage: str, rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"gini_{stage}.json").write_text(json.dumps(rows, indent=1, default=float) + "\n")


def write(report: dict) -> None:
    """gini.json, gini.md and gini.png from what has finished so far (both stages' files)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        **report,
        "human": load_rows("human"),
        "benchmark": load_rows("benchmark"),
        "units": load_rows("units"),
    }
    (RESULTS / "gini.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    lines = [
        "# Gini bottleneck on the logits layer (issue 15)",
        "",
        f"Human: deepMiRGene fold1-4 train, fold5 early stopping, test split; "
        f"{report['human_protocol']}.",
        "",
        "| lam | test AUROC | test MCC | Gini (pre-miRNA logit) | units with 90 % of abs(w) "
        "(of 256) | Gini (negative logit) | epochs (best) | s/epoch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(report["human"], key=lambda r: r["lam"]):
        lines.append(
            f"| {r['lam']:g} | {r['auroc']:.4f} | {r['mcc']:.4f} | {r['gini_pre_mirna']:.3f} | "
            f"{r['units_90_pre_mirna']} | {r['gini_negative']:.3f} | "
            f"{r['epochs_run']} ({r['best_epoch']}) | {r['seconds_per_epoch']:.0f} |"
        )
    replicate = [r for r in report["benchmark"] if r.get("seed", 0) != 0]
    bench = [r for r in report["benchmark"] if r.get("seed", 0) == 0]
    if bench:
        lams = sorted({r["lam"] for r in bench})
        lines += [
            "",
            f"Benchmark (reduced: {report['bench_protocol']}); median [95 % CI] over the "
            "explained hairpins; sanity: lower is better.",
            "",
        ]
        header = ["task", "backend"]
        for m in BENCH_METRICS:
            header += [f"{m} lam={lam:g}" for lam in lams]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        keyed = {(r["task"], r["backend"], r["lam"]): r for r in bench}
        tasks = list(dict.fromkeys(r["task"] for r in bench))
        for task in tasks:
            for lam in lams:
                one = next((r for r in bench if r["task"] == task and r["lam"] == lam), None)
                if one is not None:
                    lines.append(
                        f"| {task} | (model, lam={lam:g}) | test AUROC {one['test_auroc']:.3f}, "
                        f"Gini {one['gini_pre_mirna']:.3f} |" + " |" * (len(header) - 3)
                    )
            backends = list(dict.fromkeys(r["backend"] for r in bench if r["task"] == task))
            for backend in backends:
                cells = [task, backend]
                for m in BENCH_METRICS:
                    for lam in lams:
                        r = keyed.get((task, backend, lam))
                        cells.append(_cell(r[m]) if r and r["model_ok"] else "n/a")
                lines.append("| " + " | ".join(cells) + " |")
    if replicate:
        lams = sorted({r["lam"] for r in replicate})
        lines += [
            "",
            "Seed replicates (other twins, split and weights; same configuration): nucleotide "
            "AUROC and cos_adapted, median [95 % CI].",
            "",
        ]
        header = ["task, seed", "backend"] + [
            f"{m} lam={lam:g}" for m in BENCH_METRICS[:2] for lam in lams
        ]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        keyed = {(r["task"], r["seed"], r["backend"], r["lam"]): r for r in replicate}
        for task, seed in dict.fromkeys((r["task"], r["seed"]) for r in replicate):
            where = f"{task}, seed {seed}"
            for lam in lams:
                one = next(
                    (r for r in replicate if (r["task"], r["seed"], r["lam"]) == (task, seed, lam)),
                    None,
                )
                if one is not None:
                    lines.append(
                        f"| {where} | (model, lam={lam:g}) | test AUROC {one['test_auroc']:.3f}, "
                        f"Gini {one['gini_pre_mirna']:.3f} |" + " |" * (len(header) - 3)
                    )
            if not any(r["model_ok"] for r in replicate if (r["task"], r["seed"]) == (task, seed)):
                continue
            names = [r["backend"] for r in replicate if (r["task"], r["seed"]) == (task, seed)]
            for backend in dict.fromkeys(names):
                cells = [where, backend]
                for m in BENCH_METRICS[:2]:
                    for lam in lams:
                        r = keyed.get((task, seed, backend, lam))
                        cells.append(_cell(r[m]) if r and r["model_ok"] else "n/a")
                lines.append("| " + " | ".join(cells) + " |")
    if report["units"]:
        lines += [
            "",
            "Unit decomposition of the human test pre-miRNAs' logit (`explain_units`): how "
            "many dense units carry 90 % of sum |w_j a_j| per hairpin, and the share of "
            "the top k.",
            "",
            "| lam | hairpins | units with 90 % of abs(share) (median) | top-k share of abs(share) "
            "(median) | distinct top-k units | most frequent top unit: region shares |",
            "|---|---|---|---|---|---|",
        ]
        for r in sorted(report["units"], key=lambda r: r["lam"]):
            first = r["regions"][0] if r["regions"] else {}
            where = ", ".join(
                f"{key} {value:.2f}"
                for key, value in first.items()
                if key not in ("unit", "n", "mean_share") and np.isfinite(value)
            )
            lines.append(
                f"| {r['lam']:g} | {r['n_hairpins']} | {r['units_90_per_hairpin_median']:.0f} | "
                f"{r['top_k_abs_share_median']:.2f} (k={r['k']}) | {r['distinct_top_units']} | "
                f"unit {first.get('unit')} (n={first.get('n')}): {where} |"
            )
    lines += ["", f"Versions: {report['versions']}", ""]
    (RESULTS / "gini.md").write_text("\n".join(lines) + "\n")
    plot(report)


def plot(report: dict) -> None:
    """Left: accuracy and sparsity against lam; right: benchmark AUROC per backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mirnamap.plot import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    human = sorted(report["human"], key=lambda r: r["lam"])
    if human:
        x = np.arange(len(human))
        ax = axes[0]
        ax.plot(x, [r["auroc"] for r in human], "o-", label="test AUROC")
        ax.plot(x, [r["mcc"] for r in human], "s-", label="test MCC")
        ax.plot(x, [r["gini_pre_mirna"] for r in human], "^-", label="Gini, pre-miRNA logit")
        ax.set_xticks(x, [f"{r['lam']:g}" for r in human])
        ax.set_xlabel("lam")
        ax.set_ylim(0, 1.02)
        ax2 = ax.twinx()
        ax2.bar(x, [r["units_90_pre_mirna"] for r in human], alpha=0.2, color="grey")
        ax2.set_ylabel("dense units carrying 90 % of |w| (bars)")
        ax.legend(loc="lower left", fontsize=8)
        ax.set_title("deepMiRGene human")
    bench = [r for r in report["benchmark"] if r["model_ok"] and r.get("seed", 0) == 0]
    ax = axes[1]
    if bench:
        lams = sorted({r["lam"] for r in bench})
        labels = list(dict.fromkeys(f"{r['task']}/{r['backend']}" for r in bench))
        y = np.arange(len(labels))
        for k, lam in enumerate(lams):
            rows = {f"{r['task']}/{r['backend']}": r for r in bench if r["lam"] == lam}
            med = [rows[lab]["auroc"][0] if lab in rows else np.nan for lab in labels]
            low = [rows[lab]["auroc"][1] if lab in rows else np.nan for lab in labels]
            high = [rows[lab]["auroc"][2] if lab in rows else np.nan for lab in labels]
            err = np.abs(np.array([np.subtract(med, low), np.subtract(high, med)]))
            ax.errorbar(med, y + 0.25 * (k - 0.5), xerr=err, fmt="o", ms=3, label=f"lam={lam:g}")
        ax.set_yticks(y, labels, fontsize=6)
        ax.axvline(0.5, color="grey", lw=0.5)
        ax.set_xlabel("nucleotide AUROC (median, 95 % CI)")
        ax.legend(fontsize=8)
        ax.set_title("benchmark, reduced")
    fig.tight_layout()
    save_figure(fig, RESULTS / "gini.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lams", type=float, nargs="*", default=[0.0, 1.0, 0.1, 10.0])
    parser.add_argument("--bench-lams", type=float, nargs="*", default=[0.0, 1.0])
    parser.add_argument("--tasks", nargs="*", default=["motif", "structure"])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench-first", action="store_true")
    parser.add_argument("--bench-seed", type=int, default=0, help="seed of the benchmark run")
    parser.add_argument(
        "--units", type=float, nargs="*", default=[], help="lams whose human model to decompose"
    )
    args = parser.parse_args(argv)
    report = {"human": load_rows("human"), "benchmark": load_rows("benchmark")}
    report["human_protocol"] = (
        f"at most {args.epochs} epochs, patience {args.patience}, seed {args.seed}, balanced "
        "class weights, Adam 1e-3, batch 128, penalty on the logits layer"
    )
    cfg = bench_config()
    report["bench_protocol"] = (
        f"{cfg.n_pairs} twin pairs per task, filters {cfg.filters}, {cfg.dense_units} dense "
        f"units, at most {cfg.epochs} epochs (patience {cfg.early_stopping}), "
        f"{cfg.n_explain} hairpins explained, sanity on {cfg.n_sanity}, 8 samples "
        "(16 for integrated gradients and SHAP)"
    )
    report["versions"] = versions()
    stages = ["benchmark", "human"] if args.bench_first else ["human", "benchmark"]
    for stage in stages:
        if stage == "human":
            for lam in args.lams:
                if any(r["lam"] == lam for r in report["human"]):
                    continue
                print(f"human lam={lam:g}", flush=True)
                row = human_row(lam, args.epochs, args.patience, args.seed)
                report["human"] = [*load_rows("human"), row]
                save_rows("human", report["human"])
                print(row, flush=True)
                write(report)
        else:
            for lam in args.bench_lams:
                seed = args.bench_seed
                if any(r["lam"] == lam and r.get("seed", 0) == seed for r in report["benchmark"]):
                    continue
                print(f"benchmark lam={lam:g} seed={seed}", flush=True)
                rows = bench_rows(lam, args.tasks, seed)
                report["benchmark"] = [*load_rows("benchmark"), *rows]
                save_rows("benchmark", report["benchmark"])
                write(report)
    for lam in args.units:
        print(f"units lam={lam:g}", flush=True)
        row = units_row(lam)
        save_rows("units", [*(r for r in load_rows("units") if r["lam"] != lam), row])
        write(report)
    write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
