"""The cost of an ensemble: explain time per map with K members against one model, one run.

The same images (hairpins of the bundled example file, repeated to ``--images``) are
explained through :func:`mirnamap.explain_hairpins` by one member and by the whole
ensemble, interleaved ``--rounds`` times (so a change in machine load shows in both); the
median of each is taken. Prints seconds per map and the ratio; K members cost about K
times one model, since each member's maps are computed separately. Also times
:func:`mirnamap.predict_hairpins`.

    python benchmarks/ensemble.py [--model mirnamap/assets/deepmir_ensemble.zip]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="an ensemble (default: the bundled one)")
    parser.add_argument("--images", type=int, default=64, help="hairpins explained per run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each")
    parser.add_argument(
        "--methods", default="gradient,grad_cam,smoothgrad_guided_backprop", help="backends"
    )
    args = parser.parse_args()

    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.pipeline import explain_hairpins, predict_hairpins, read_source

    ensemble = resolve_ensemble(args.model)
    one = ensemble.select([0])
    base = read_source(ROOT / "data" / "examples" / "hairpins.fa", workers=1).encoding
    sequences = {f"r{k}": base.sequences[k % len(base)] for k in range(args.images)}
    encoding = read_source(sequences, workers=1)  # read once, explained many times
    pick = encoding.ids
    print(f"{len(ensemble)} members; {len(pick)} hairpins; methods {args.methods}")
    rows = []
    for method in args.methods.split(","):
        times: dict[str, list[float]] = {"one model": [], f"{len(ensemble)} members": []}
        for model in (one, ensemble):  # tracing every member's functions, not timed
            explain_hairpins(encoding, method, model, progress=False)
        for _ in range(args.rounds):
            for label, model in zip(times, (one, ensemble), strict=True):
                result = explain_hairpins(encoding, method, model, progress=False)
                times[label].append(result.seconds[method] / len(pick))
        single, many = (statistics.median(v) for v in times.values())
        rows.append((method, single, many, many / single))
    predict_hairpins(encoding, ensemble)  # tracing, not timed
    start = time.perf_counter()
    predict_hairpins(encoding, one)
    single_predict = time.perf_counter() - start
    start = time.perf_counter()
    predict_hairpins(encoding, ensemble)
    many_predict = time.perf_counter() - start
    print(f"\n| method | s/map, one model | s/map, {len(ensemble)} members | ratio |")
    print("|---|---:|---:|---:|")
    for method, single, many, ratio in rows:
        print(f"| {method} | {single:.4f} | {many:.4f} | {ratio:.2f} |")
    print(
        f"| predict (s/record) | {single_predict / len(pick):.5f} | "
        f"{many_predict / len(pick):.5f} | {many_predict / single_predict:.2f} |"
    )


if __name__ == "__main__":
    main()
