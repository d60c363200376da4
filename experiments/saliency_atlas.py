"""Saliency atlas: what the bundled model looks at, on the deepMiRGene human test set.

Every registered saliency backend explains the bundled model (``load_default_model()``)
on the held-out human test split (Park et al. 2017: 86 pre-miRNAs, 742 pseudo-hairpins),
folded by ViennaRNA and drawn by :mod:`mirnamap.encode`. All maps explain the
**pre-miRNA logit** (target 1) for every record, so red always means "pushes towards
pre-miRNA" and true positives and true negatives can be compared on one scale.

Outputs (``--out``, default ``experiments/results/atlas/``, small PNGs committed):

* ``regions.tsv`` and ``region_bars.png``: share of each map's ``|saliency|`` that falls on
  the 5' tail, 5' arm, terminal loop, 3' arm, 3' tail, white background and gap bars
  (:func:`mirnamap.project.summarise_regions`), mean and standard error over true
  positives (TP) and true negatives (TN);
* ``average_maps.png``: mean signed map of TP and TN per backend, each map divided by its
  own largest ``|value|`` first so every hairpin counts equally; ``average_<method>.png``
  the same per backend with the mean images;
* ``example_backends.png`` / ``example_track.png``: one true positive across all backends;
* ``channels.tsv``: share of per-channel |gradient| and |gradient x input| on the R, G
  and B channels of the nucleotides' pixels, TP vs TN;
* ``atlas.json``: counts, settings, timings and versions.

Slow backends (SmoothGrad family, integrated gradients, occlusion, SHAP) run on a stated
stratified subsample (``--subsample``, default 200: all 86 positives of the test set plus
random negatives, seed 0); SHAP with ``--shap-samples`` samples and
``--shap-background`` training images as background. Each backend's maps come from one
:func:`mirnamap.pipeline.explain_hairpins` call (maps, nucleotide projections and region
shares); those explanations are cached in ``--cache`` (default ``out/atlas/``,
gitignored), keyed by the model file.

Usage: ``.venv/bin/python experiments/saliency_atlas.py [--subsample 200] [--out DIR]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "atlas"
CACHE = ROOT / "out" / "atlas"


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _test_set(workers: int | None, cache: Path):
    """Fold (cached) and encode the human test split; returns records and encoding."""
    from mirnamap.datasets import load_deepmirgene
    from mirnamap.encode import encode_folds
    from mirnamap.fold import fold, load_folds, save_folds

    records = load_deepmirgene("human")
    test = records.select([s == "test" for s in records.splits])
    import RNA

    folds_path = cache / f"human_test_folds_vienna{RNA.__version__}.tsv"
    if folds_path.is_file():
        folds = load_folds(folds_path)
    else:
        folds = fold(test.sequences, ids=test.ids, workers=workers, progress=True)
        save_folds(folds, folds_path)
    encoding = encode_folds(folds)
    return test, encoding


def _explain(model, model_key, method, encoding, rows, params, key_params, seed, cache):
    """``method``'s explanation of ``encoding``'s records ``rows`` (cached), and s/map."""
    from mirnamap.pipeline import explain_hairpins

    key = hashlib.sha256(
        json.dumps([model_key, method, rows.tolist(), key_params, seed], sort_keys=True).encode()
    ).hexdigest()[:12]
    path = cache / f"explanation_{method}_{key}.pkl.gz"
    if path.is_file():
        with gzip.open(path, "rb") as handle:
            return pickle.load(handle)
    # Test ids are unique (the labels are looked up by id), so these ids are these rows.
    explanation = explain_hairpins(
        encoding,
        method,
        model,
        target="pre-mirna",
        ids=[encoding.ids[i] for i in rows],
        params={method: params},
        seed=seed,
        progress=True,
    )
    per_map = explanation.seconds[method] / max(len(rows), 1)
    with gzip.open(path, "wb", compresslevel=1) as handle:  # images and layout shrink well
        pickle.dump((explanation, per_map), handle)
    return explanation, per_map


def _average_overview(results, methods, path):
    """Rows = backends, columns = TP / TN mean normalised signed maps (one shared scale)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from mirnamap.colours import DIVERGING
    from mirnamap.plot import NO_SCORE, save_figure

    cmap = colormaps[DIVERGING].with_extremes(bad=NO_SCORE)
    fig = Figure(figsize=(12, 0.8 + 1.45 * len(methods)), layout="constrained")
    axes = fig.subplots(len(methods), 2, squeeze=False)
    shown = None
    for row, method in enumerate(methods):
        r = results[method]
        for col, group in enumerate(("TP", "TN")):
            mean = r["mean_maps"][group]
            ax = axes[row, col]
            if mean is None:
                ax.axis("off")
                continue
            limit = max(np.abs(mean).max(), 1e-12)
            shown = ax.imshow(mean / limit, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
            ax.set_yticks([])
            ax.set_xticks([0, 25, 50, 75, 99] if row == len(methods) - 1 else [])
            ax.tick_params(labelsize=7)
            if row == 0:
                ax.set_title(f"{group} (n = {r['n'][group]})", fontsize=9)
            if col == 0:
                ax.set_ylabel(method, rotation=0, ha="right", va="center", fontsize=8)
    if shown is not None:
        bar = fig.colorbar(shown, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01)
        bar.set_label("mean of per-hairpin normalised maps, / max |.| per panel", fontsize=8)
    fig.suptitle(
        "Average saliency of the pre-miRNA logit, human test set: true positives vs true "
        "negatives (column 0 = next to the terminal loop)",
        fontsize=10,
    )
    save_figure(fig, path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--subsample",
        type=int,
        default=200,
        help="records for the slow backends: all positives + negatives",
    )
    parser.add_argument("--shap-samples", type=int, default=50)
    parser.add_argument("--shap-background", type=int, default=16)
    parser.add_argument("--methods", default="all", help="comma-separated, or 'all'")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help=f"output folder (default {RESULTS})"
    )
    parser.add_argument(
        "--cache", type=Path, default=CACHE, help=f"folds and explanations (default {CACHE})"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a .keras model or .zip ensemble (default: the earlier bundled single model)",
    )
    parser.add_argument(
        "--member", type=int, default=None, help="explain only this member of the ensemble"
    )
    args = parser.parse_args()
    out, cache = args.out, args.cache
    cache.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.model import DEFAULT_MODEL
    from mirnamap.pipeline import explain_hairpins, predict_hairpins, read_source
    from mirnamap.plot import (
        plot_average_maps,
        plot_backends,
        plot_region_bars,
        plot_sequence_track,
        save_figure,
    )
    from mirnamap.project import project, region_shares, summarise_regions
    from mirnamap.saliency import backend_info, list_backends
    from mirnamap.structure import REGIONS

    test, enc = _test_set(args.workers, cache)
    labels_by_id = dict(zip(test.ids, test.labels.tolist(), strict=True))
    labels = np.array([labels_by_id[i] for i in enc.ids])
    lengths = np.array([len(s) for s in enc.sequences])
    model_path = args.model or DEFAULT_MODEL
    model = resolve_ensemble(model_path, None if args.member is None else [args.member])
    model_key = f"{_fingerprint(model_path)}:{args.member}"
    probabilities = predict_hairpins(enc, model).probabilities[enc.index]
    predicted = (probabilities >= 0.5).astype(int)
    groups = {
        "TP": (labels == 1) & (predicted == 1),
        "TN": (labels == 0) & (predicted == 0),
        "FP": (labels == 0) & (predicted == 1),
        "FN": (labels == 1) & (predicted == 0),
    }
    print(
        f"test set: {len(test)} records, {len(enc)} drawn, {len(enc.failures)} not drawn; "
        + ", ".join(f"{g} {int(m.sum())}" for g, m in groups.items()),
        flush=True,
    )

    rng = np.random.default_rng(args.seed)
    positives = np.flatnonzero(labels == 1)
    negatives = np.flatnonzero(labels == 0)
    # Stratified: all positives (at most half the subsample), negatives for the rest.
    n_pos = min(len(positives), args.subsample // 2)
    n_neg = min(len(negatives), args.subsample - n_pos)
    subsample = np.sort(
        np.concatenate(
            [
                rng.choice(positives, n_pos, replace=False),
                rng.choice(negatives, n_neg, replace=False),
            ]
        )
    )
    everything = np.arange(len(enc))

    # SHAP background: random training images (folds 1-4) of both classes, seed 0.
    from mirnamap.datasets import load_deepmirgene

    records = load_deepmirgene("human")
    train_rows = np.flatnonzero([s.startswith("fold") and s != "fold5" for s in records.splits])
    pick = rng.choice(train_rows, args.shap_background, replace=False)
    background = read_source(
        {records.ids[i]: records.sequences[i] for i in pick}, workers=args.workers
    ).images

    methods = list_backends() if args.methods == "all" else args.methods.split(",")
    # Backends that need many passes per image run on the subsample: those with a cost
    # option (noisy samples, path steps, SHAP samples) and occlusion (one per patch).
    slow = {m for m in methods if backend_info(m).cost_param is not None or m == "occlusion"}
    results: dict[str, dict] = {}
    rows_out = []
    bar_values: dict[str, dict[str, np.ndarray]] = {}
    region_names = [*REGIONS, "background", "gap"]
    for method in methods:
        rows = subsample if method in slow else everything
        params = (
            {"n_samples": args.shap_samples, "background": background} if method == "shap" else {}
        )
        key_params = {k: v for k, v in params.items() if k != "background"}
        if method == "shap":
            key_params["background"] = hashlib.sha256(background.tobytes()).hexdigest()[:12]
        print(f"{method}: {len(rows)} maps", flush=True)
        explanation, per_map = _explain(
            model, model_key, method, enc, rows, params, key_params, args.seed, cache
        )
        maps = explanation.maps[method]
        shares = explanation.region_shares(method)
        # The same shares for a map of ones: each region's share of the canvas's pixels, the
        # share a map that looked everywhere equally would give (area control).
        pixel_shares = region_shares(
            project(np.ones(maps.shape), explanation.layout, lengths[rows]),
            explanation.structures,
        )
        signed_summary = summarise_regions(explanation.projections[method], explanation.structures)
        scale = np.abs(maps).reshape(len(rows), -1).max(axis=1)
        normalised = maps / np.where(scale == 0, 1, scale)[:, None, None]
        result = {
            "rows": rows,
            "seconds_per_map": per_map,
            "n": {},
            "mean_maps": {},
            "normalised": normalised,
            "explanation": explanation,
        }
        bar_values[method] = {}
        for group, mask in groups.items():
            member = mask[rows]
            result["n"][group] = int(member.sum())
            result["mean_maps"][group] = normalised[member].mean(axis=0) if member.any() else None
            if group in ("TP", "TN"):
                bar_values[method][group] = shares[member]
            for r, name in enumerate(region_names):
                values = shares[member, r]
                values = values[~np.isnan(values)]
                signed_mean = (
                    float(np.nanmean(signed_summary.means[member, r]))
                    if r < len(REGIONS) and member.any()
                    else float("nan")
                )
                rows_out.append(
                    [
                        method,
                        len(rows),
                        group,
                        int(member.sum()),
                        name,
                        float(values.mean()) if values.size else float("nan"),
                        float(values.std(ddof=1) / np.sqrt(values.size))
                        if values.size > 1
                        else float("nan"),
                        signed_mean,
                        float(pixel_shares[member, r].mean()) if member.any() else float("nan"),
                    ]
                )
        results[method] = result
        save_figure(
            plot_average_maps(
                normalised,
                {g: groups[g][rows] for g in ("TP", "TN")},
                images=enc.images[rows],
                method=f"{method} (pre-miRNA logit, normalised maps)",
            ),
            out / f"average_{method}.png",
            dpi=70,
        )
        print(f"  {per_map:.3f} s/map", flush=True)

    with open(out / "regions.tsv", "w", encoding="utf-8") as handle:
        handle.write(
            "method\tn_maps\tgroup\tn\tregion\tmean_share_abs\tsem_share_abs\tmean_signed_per_nt"
            "\tmean_share_pixels\n"
        )
        for row in rows_out:
            handle.write(
                "\t".join(f"{v:.5g}" if isinstance(v, float) else str(v) for v in row) + "\n"
            )
    save_figure(
        plot_region_bars(
            bar_values,
            region_names,
            heading="Share of |saliency| per region, human test set "
            "(pre-miRNA logit; mean and s.e.m.)",
        ),
        out / "region_bars.png",
        dpi=70,
    )
    _average_overview(results, methods, out / "average_maps.png")

    # One true positive with every backend: the most confident one in the subsample.
    tp_rows = [i for i in subsample if groups["TP"][i]]
    if tp_rows:
        k = max(tp_rows, key=lambda i: probabilities[i])
        maps_k = {}
        scores_k = {}
        for method in methods:
            position = int(np.flatnonzero(results[method]["rows"] == k)[0])
            explanation = results[method]["explanation"]
            maps_k[method] = explanation.maps[method][position]
            scores_k[method] = explanation.projections[method].scores[position]
        save_figure(
            plot_backends(
                enc.images[k], maps_k, record_id=enc.ids[k], probability=float(probabilities[k])
            ),
            out / "example_backends.png",
            dpi=60,
        )
        save_figure(
            plot_sequence_track(
                scores_k,
                enc.sequences[k],
                enc.structures[k],
                record_id=enc.ids[k],
                probability=float(probabilities[k]),
            ),
            out / "example_track.png",
            dpi=80,
        )

    # Which colour channel carries the attribution (as Glimpse showed per channel):
    # per-channel gradient x input, |.| summed over each hairpin's nucleotides.
    channel_rows = []
    for method in ("gradient", "gradient_x_input"):
        if method not in methods:
            continue
        per_channel = explain_hairpins(
            enc, method, model, target="pre-mirna", channels=True, progress=True
        ).channel_maps[method]
        channels = project(np.abs(per_channel), enc.layout, lengths).channels
        parts = np.array([np.nansum(c, axis=0) for c in channels])  # (N, 3)
        share = parts / np.where(parts.sum(1) == 0, np.nan, parts.sum(1))[:, None]
        for group in ("TP", "TN"):
            mean = np.nanmean(share[groups[group]], axis=0)
            channel_rows.append([method, group, int(groups[group].sum()), *mean.tolist()])
    with open(out / "channels.tsv", "w", encoding="utf-8") as handle:
        handle.write("method\tgroup\tn\tshare_R\tshare_G\tshare_B\n")
        for row in channel_rows:
            handle.write(
                "\t".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + "\n"
            )

    import platform

    import keras
    import RNA
    import tensorflow as tf

    summary = {
        "data": "deepMiRGene human, split 'test'",
        "records": len(test),
        "drawn": len(enc),
        "not_drawn": [[f.id, f.reason] for f in enc.failures],
        "groups": {g: int(m.sum()) for g, m in groups.items()},
        "target": "pre-miRNA logit (class 1) for every record",
        "model": str(Path(model_path).resolve().relative_to(ROOT)),
        "member": args.member,
        "model_sha256_12": model_key,
        "subsample": {
            "size": len(subsample),
            "positives": int(n_pos),
            "negatives": int(n_neg),
            "seed": args.seed,
            "methods": sorted(slow),
        },
        "shap": {
            "n_samples": args.shap_samples,
            "background_training_images": args.shap_background,
        },
        "seconds_per_map": {m: round(results[m]["seconds_per_map"], 4) for m in methods},
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "viennarna": RNA.__version__,
            "numpy": np.__version__,
        },
    }
    (out / "atlas.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary["groups"]), flush=True)
    print(f"{'method':<28}{'maps':>6}{'s/map':>8}  TP loop  TN loop  TP bg  TN bg")
    for method in methods:
        tp, tn = bar_values[method]["TP"], bar_values[method]["TN"]
        print(
            f"{method:<28}{len(results[method]['rows']):>6}"
            f"{results[method]['seconds_per_map']:>8.3f}"
            f"  {np.nanmean(tp[:, 2]):.3f}  {np.nanmean(tn[:, 2]):.3f}"
            f"  {np.nanmean(tp[:, 5]):.3f}  {np.nanmean(tn[:, 5]):.3f}"
        )


if __name__ == "__main__":
    sys.exit(main())
