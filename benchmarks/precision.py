"""Reduced precision per saliency backend: agreement with float32, and speed, in one run.

For every registered backend, on a trained model (default: the bundled one) and real
hairpins (default: 64 records of the deepMiRGene human test split, half pre-miRNAs), the
maps of each reduced precision are compared map by map with the float32 maps of the same
images (Spearman correlation over the 2,500 pixels, and relative L2 error
``||reduced - float32|| / ||float32||``), and the maps per second of every precision are
timed in the same run, interleaved (the machines are shared: only ratios from one run are
comparable). A precision is *offered* for a backend where the median Spearman is >= 0.99;
the script ends with the ``VALIDATED_PRECISIONS`` table for
``mirnamap/saliency/_precision.py``.

Precisions: float32 and bfloat16 everywhere (bfloat16 natively on a GPU of compute
capability >= 8.0 or a CPU with AVX512-BF16/AMX; elsewhere TensorFlow emulates it, slowly,
and the script says so), and float16 where TensorFlow sees a GPU.

    python benchmarks/precision.py                               # bundled model, human test
    python benchmarks/precision.py --model out/model.keras --images examples
    python benchmarks/precision.py --only gradient smoothgrad_guided_backprop --repeat 3
    python benchmarks/precision.py --first-layer-reduced        # also: first conv in bf16
    python benchmarks/precision.py --json out/precision.json

The human test split is folded once and cached by ``experiments/_common.py`` (about a
minute the first time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RULE = 0.99  # median per-map Spearman against float32 for a precision to be offered


def load_images(which: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``uint8 (M, 25, 100, 3)`` real hairpin images, their labels, and a description."""
    if which == "human":
        sys.path.insert(0, str(ROOT / "experiments"))
        from _common import encoded_deepmirgene

        data = encoded_deepmirgene("human")
        test = np.flatnonzero(data.splits == "test")
        images, labels = data.images[test], data.labels[test].astype(np.int64)
        what = "deepMiRGene human test split"
    else:
        from mirnamap.pipeline import read_source

        path = ROOT / "data" / "examples" / "hairpins.fa" if which == "examples" else Path(which)
        inputs = read_source(path)
        images = inputs.images
        if inputs.labels is not None:
            labels = np.asarray(inputs.labels)[inputs.index].astype(np.int64)
        else:  # the examples' ids say their class (human_pos_9, human_neg_871)
            ids = np.asarray(inputs.ids)[inputs.index]
            labels = np.array([1 if "_pos_" in i else 0 for i in ids], np.int64)
        what = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    rng = np.random.default_rng(seed)
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels != 1)
    half = min(n // 2, len(positives))
    chosen = np.concatenate(
        [
            rng.choice(positives, half, replace=False),
            rng.choice(negatives, min(n - half, len(negatives)), replace=False),
        ]
    )
    chosen.sort()
    return images[chosen], labels[chosen], f"{len(chosen)} images of {what} ({half} pre-miRNAs)"


def spearman(reduced: np.ndarray, reference: np.ndarray) -> float:
    """Spearman correlation of two maps; 1 for two equal constant maps, 0 for one."""
    from scipy.stats import spearmanr

    if np.ptp(reduced) == 0 or np.ptp(reference) == 0:
        return 1.0 if np.allclose(reduced, reference) else 0.0
    return float(spearmanr(reduced.ravel(), reference.ravel())[0])


def relative_l2(reduced: np.ndarray, reference: np.ndarray) -> float:
    norm = float(np.linalg.norm(reference))
    if norm == 0:
        return 0.0 if not reduced.any() else float("inf")
    return float(np.linalg.norm(reduced - reference)) / norm


def machine() -> str:
    import keras
    import tensorflow as tf

    from mirnamap.precision import CPU_BF16_FLAGS, cpu_flags

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    flags = [flag for flag in CPU_BF16_FLAGS if flag in cpu_flags()]
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(
            f"{details.get('device_name', device.name)} {details.get('compute_capability')}"
        )
    return (
        f"{cpu}, {os.cpu_count()} cores, bfloat16 flags: {', '.join(flags) or 'none'}; "
        f"GPU: {'; '.join(gpus) or 'none'}; TF {tf.__version__}, keras {keras.__version__}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help=".keras file (default: the bundled model)")
    parser.add_argument(
        "--images",
        default="human",
        help="'human' (test split), 'examples' (data/examples/hairpins.fa), or any file "
        "mirnamap reads (FASTA, folds TSV, .npz)",
    )
    parser.add_argument("--n", type=int, default=64, help="images (half pre-miRNAs)")
    parser.add_argument("--samples", type=int, default=50, help="SmoothGrad/IG/SHAP passes")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=1, help="timings of each; the best counts")
    parser.add_argument("--only", nargs="*", default=None, help="backends to run")
    parser.add_argument("--skip", nargs="*", default=[], help="backends to leave out")
    parser.add_argument(
        "--precisions",
        nargs="*",
        default=None,
        help="reduced precisions (default: bfloat16, and float16 where there is a GPU)",
    )
    parser.add_argument(
        "--first-layer-reduced",
        action="store_true",
        help="also rows with the first layer with weights in the reduced precision",
    )
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from mirnamap.model import DEFAULT_MODEL, load_model
    from mirnamap.precision import (
        PrecisionWarning,
        float32_layers,
        precision_model,
        unsupported_reason,
    )
    from mirnamap.saliency import cost_params, explain, list_backends

    warnings.filterwarnings("ignore", category=PrecisionWarning)  # what is measured here
    tf.get_logger().setLevel("ERROR")

    model_path = Path(args.model) if args.model else DEFAULT_MODEL
    model = load_model(model_path)
    images, _, described = load_images(args.images, args.n, args.seed)
    x = images.astype(np.float32)
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    reduced = args.precisions or (["bfloat16", "float16"] if has_gpu else ["bfloat16"])
    # Each variant: label -> (model to explain, precision argument of explain).
    variants: dict[str, tuple[keras.Model, str]] = {"float32": (model, "float32")}
    notes = []
    for precision in reduced:
        reason = unsupported_reason(precision)
        if reason is not None:
            notes.append(f"{precision}: {reason}; it runs emulated here, its speed means nothing")
        # The library's own copy (what explain(..., precision=...) runs), forced past the
        # hardware check so that agreement is measured on any machine.
        variants[precision] = (precision_model(model, precision), "float32")
        if args.first_layer_reduced:
            keep = float32_layers(model, first_layer=False)
            copy = precision_model(model, precision, keep_float32=keep)
            variants[f"{precision} (first layer reduced)"] = (copy, "float32")

    params = cost_params(args.samples)
    names = [n for n in (args.only or list_backends()) if n not in set(args.skip)]
    print(
        f"{model_path.name} on {described}; {args.samples} samples/steps; "
        f"batch {args.batch_size}; best of {args.repeat}"
    )
    print(machine())
    for note in notes:
        print(f"NOTE {note}")
    print()

    rows: list[dict[str, Any]] = []
    for name in names:

        def run(net: keras.Model, precision: str, images: np.ndarray, name: str = name) -> Any:
            return explain(
                net,
                images,
                name,
                target=1,
                batch_size=args.batch_size,
                seed=args.seed,
                progress=False,
                precision=precision,
                **params.get(name, {}),
            )

        maps: dict[str, np.ndarray] = {}
        best: dict[str, float] = {}
        for net, precision in variants.values():
            run(net, precision, x[:2])  # warm-up: copies, tracing
        for _ in range(args.repeat):
            for label, (net, precision) in variants.items():  # interleaved: the load drifts
                start = time.perf_counter()
                maps[label] = run(net, precision, x)
                seconds = time.perf_counter() - start
                best[label] = max(best.get(label, 0.0), len(x) / seconds)
        reference = maps["float32"]
        for label in variants:
            rho = np.array([spearman(a, b) for a, b in zip(maps[label], reference, strict=True)])
            error = np.array(
                [relative_l2(a, b) for a, b in zip(maps[label], reference, strict=True)]
            )
            rows.append(
                {
                    "backend": name,
                    "precision": label,
                    "median_spearman": float(np.median(rho)),
                    "min_spearman": float(rho.min()),
                    "median_relative_l2": float(np.median(error)),
                    "max_relative_l2": float(error.max()),
                    "maps_per_s": best[label],
                    "speedup": best[label] / best["float32"],
                    "offered": bool(np.median(rho) >= RULE),
                }
            )
        print(f"  measured {name}", flush=True)

    print(
        "\n| backend | precision | median Spearman | min Spearman | median rel. L2 "
        "| max rel. L2 | maps/s | x float32 | offered (median >= 0.99) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        reference_row = row["precision"] == "float32"
        print(
            f"| {row['backend']} | {row['precision']} | "
            + (
                "(reference) | | | | "
                if reference_row
                else f"{row['median_spearman']:.4f} | {row['min_spearman']:.4f} | "
                f"{row['median_relative_l2']:.4f} | {row['max_relative_l2']:.4f} | "
            )
            + f"{row['maps_per_s']:.2f} | {row['speedup']:.2f} | "
            + ("" if reference_row else ("yes" if row["offered"] else "no"))
            + " |"
        )

    table: dict[str, list[str]] = {}
    for row in rows:
        if row["precision"] in reduced and row["offered"]:
            table.setdefault(row["backend"], []).append(row["precision"])
    print("\n# for mirnamap/saliency/_precision.py (the library's default copies only):")
    print("VALIDATED_PRECISIONS: dict[str, tuple[str, ...]] = {")
    for backend, precisions in sorted(table.items()):
        print(f"    {backend!r}: {tuple(precisions)!r},")
    print("}")

    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "model": str(model_path),
            "images": described,
            "samples": args.samples,
            "batch_size": args.batch_size,
            "machine": machine(),
            "notes": notes,
        }
        path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
