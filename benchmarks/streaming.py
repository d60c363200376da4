"""Peak memory of a streamed ``predict`` for 10^4 .. 10^6 records, and Dask throughput.

Usage::

    nice -n 10 python benchmarks/streaming.py rss 10000 100000 1000000
    nice -n 10 python benchmarks/streaming.py dask --records 2000
    python benchmarks/streaming.py table     # benchmarks/results/streaming.md

``rss N``: generates N random hairpins (a random 5' arm of 18-29 nt, a random loop of
4-11 nt, the exactly complementary 3' arm), runs ``predict_hairpins(..., out=...)`` in a
fresh process and samples the resident memory of that process and all its children
(psutil, every 0.2 s): the peak of the sum is the figure. N <= 10^4 is a FASTA file that
is folded (ViennaRNA); larger N is a folds TSV of the generated dot-brackets (no folding,
which would take hours on 2 cores), drawn, predicted and written in chunks. Every run
uses one member of the bundled ensemble (``members=[0]``) to bound the CPU time.

``dask``: the same FASTA predicted on a ``LocalCluster`` of 1 and of 2 worker processes
(one thread each): records per second and their ratio.

Results are appended as JSON lines to ``benchmarks/results/streaming.jsonl``; ``table``
prints them as a markdown table and writes ``benchmarks/results/streaming.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WORK = RESULTS / "streaming_work"
PAIR = str.maketrans("ACGU", "UGCA")
FOLD_LIMIT = 10_000  # larger inputs come as a folds TSV of generated structures


def generate(n: int, path: Path, seed: int = 0) -> Path:
    """Write ``n`` random hairpins as FASTA (``.fa``) or as a folds TSV (``.tsv``),
    100,000 at a time (the generator too holds bounded memory)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("ACGU"))
    with open(path, "w", encoding="utf-8") as handle:
        if path.suffix == ".tsv":
            handle.write("id\tsequence\tstructure\tmfe\tstatus\treason\n")
        for start in range(0, n, 100_000):
            rows = []
            for k in range(start, min(n, start + 100_000)):
                arm = "".join(letters[rng.integers(0, 4, int(rng.integers(18, 30)))])
                loop = "".join(letters[rng.integers(0, 4, int(rng.integers(4, 12)))])
                sequence = arm + loop + arm[::-1].translate(PAIR)
                if path.suffix == ".tsv":
                    structure = "(" * len(arm) + "." * len(loop) + ")" * len(arm)
                    rows.append(f"r{k}\t{sequence}\t{structure}\t\tok\t\n")
                else:
                    rows.append(f">r{k}\n{sequence}\n")
            handle.writelines(rows)
    return path


def tiny_model() -> Path:
    """A small untrained DeepMir-shaped CNN (filters 4, 4, 4; 8 dense units), saved once:
    the streaming machinery's memory does not depend on the model, its CPU time does."""
    from mirnamap.model import build_model, save_model

    path = WORK / "tiny.keras"
    if not path.is_file():
        save_model(build_model(filters=(4, 4, 4), dense_units=8, seed=0), path)
    return path


def _one_run(source: str, out: str, chunk_size: int, model: str) -> None:
    """The measured process: a streamed prediction (one member of the bundled ensemble)."""
    from mirnamap.pipeline import predict_hairpins

    summary = predict_hairpins(
        source,
        None if model == "bundled" else model,
        members=[0] if model == "bundled" else None,
        out=out,
        chunk_size=chunk_size,
        progress=False,
        workers=2,
    )
    print(json.dumps({"n_ok": summary.n_ok, "n_failed": summary.n_failed,
                      "seconds": summary.seconds}))  # fmt: skip


def measure_rss(n: int, chunk_size: int, model: str) -> dict:
    """Run one streamed prediction of ``n`` records in a child process; its tree's peak RSS."""
    import psutil

    WORK.mkdir(parents=True, exist_ok=True)
    source = WORK / (f"hairpins_{n}.fa" if n <= FOLD_LIMIT else f"hairpins_{n}.tsv")
    if not source.is_file():
        generate(n, source)
    out = WORK / f"predictions_{n}_{model}.tsv"
    model_arg = "bundled" if model == "bundled" else str(tiny_model())
    command = [sys.executable, __file__, "_run", str(source), str(out), str(chunk_size), model_arg]
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    root, peak, samples = psutil.Process(child.pid), 0, []
    while child.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree if p.is_running())
        except psutil.Error:
            rss = 0
        peak = max(peak, rss)
        samples.append(rss)
        time.sleep(0.2)
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise RuntimeError(f"run of {n} records failed ({child.returncode})")
    done = json.loads(output.strip().splitlines()[-1])
    return {
        "kind": "rss",
        "n": n,
        "model": "bundled member 0" if model == "bundled" else "tiny CNN (4,4,4)",
        "source": "FASTA, folded" if source.suffix == ".fa" else "folds TSV (generated)",
        "chunk_size": chunk_size,
        "peak_rss_mib": round(peak / 2**20, 1),
        "median_rss_mib": round(float(np.median(samples)) / 2**20, 1) if samples else None,
        "seconds": round(time.perf_counter() - began, 1),
        "records_per_s": round(n / done["seconds"], 1),
        "n_ok": done["n_ok"],
        "n_failed": done["n_failed"],
        "output_mib": round(out.stat().st_size / 2**20, 1),
        # The peak of each tenth of the run: a leak would climb from tenth to tenth.
        "peak_by_tenth_mib": [
            round(max(part) / 2**20) for part in np.array_split(samples, 10) if len(part)
        ],
    }


def measure_dask(n: int, chunk_size: int) -> list[dict]:
    """Records per second of a streamed prediction on 1 and on 2 local Dask workers."""
    from distributed import Client, LocalCluster

    from mirnamap.pipeline import predict_hairpins

    WORK.mkdir(parents=True, exist_ok=True)
    source = generate(n, WORK / f"dask_{n}.fa", seed=1)
    rows = []
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            # A warm-up chunk: workers import TensorFlow and load the model once.
            predict_hairpins(source, members=[0], chunk_size=chunk_size, executor=client,
                             out=WORK / "warm.tsv", progress=False)  # fmt: skip
            began = time.perf_counter()
            summary = predict_hairpins(source, members=[0], chunk_size=chunk_size,
                                       executor=client, out=WORK / f"dask_{workers}.tsv",
                                       progress=False)  # fmt: skip
            seconds = time.perf_counter() - began
        rows.append({"kind": "dask", "workers": workers, "n": n, "chunk_size": chunk_size,
                     "seconds": round(seconds, 1), "records_per_s": round(n / seconds, 1),
                     "n_ok": summary.n_ok})  # fmt: skip
    return rows


def _save(rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "streaming.jsonl", "a", encoding="utf-8") as handle:
        for row in rows:
            row |= {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "load_avg_1min": round(os.getloadavg()[0], 1)}  # fmt: skip
            handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


def table() -> str:
    rows = [json.loads(line) for line in (RESULTS / "streaming.jsonl").read_text().splitlines()]
    rss = {(r["model"], r["n"]): r for r in rows if r["kind"] == "rss"}  # latest of each
    lines = [
        "# Streaming predictions: peak memory and Dask throughput",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}; "
        "other engineers' jobs shared the 2 cores (load average in the table).",
        "",
        "`predict_hairpins(source, model, out=..., chunk_size=1000, workers=2)` in a fresh "
        "process (model: a small CNN of the DeepMir shape, or member 0 of the bundled "
        "ensemble, `members=[0]`); peak RSS is that of the process and all its children "
        "(psutil, sampled every 0.2 s). Random hairpins (random 5' arm, random loop, "
        "complementary 3' arm); 10^4 from "
        "FASTA with folding, larger N from a folds TSV of the generated dot-brackets.",
        "",
        "| model | records | source | peak RSS (MiB) | median RSS (MiB) | records/s | wall (s) | output (MiB) | load |",  # noqa: E501
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key in sorted(rss):
        r = rss[key]
        lines.append(
            f"| {r['model']} | {r['n']:,} | {r['source']} | {r['peak_rss_mib']} | "
            f"{r['median_rss_mib']} | "
            f"{r['records_per_s']} | {r['seconds']} | {r['output_mib']} | {r['load_avg_1min']} |"
        )
    dask = {r["workers"]: r for r in rows if r["kind"] == "dask"}
    tenths = [r for r in rss.values() if "peak_by_tenth_mib" in r]
    if tenths:
        lines += ["", "Peak RSS (MiB) in each tenth of a run (a leak would climb):", ""]
        for r in tenths:
            lines.append(f"- {r['model']}, {r['n']:,}: {r['peak_by_tenth_mib']}")
    if dask:
        lines += ["", "| Dask workers | records | records/s | wall (s) |", "|---:|---:|---:|---:|"]
        for w in sorted(dask):
            r = dask[w]
            lines.append(f"| {w} | {r['n']:,} | {r['records_per_s']} | {r['seconds']} |")
        if 1 in dask and 2 in dask:
            ratio = dask[2]["records_per_s"] / dask[1]["records_per_s"]
            lines.append(f"\n2 workers / 1 worker: {ratio:.2f}x (one run each).")
    text = "\n".join(lines) + "\n"
    (RESULTS / "streaming.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("rss")
    p.add_argument("n", type=int, nargs="+")
    p.add_argument("--chunk-size", type=int, default=1000)
    p.add_argument("--model", choices=("tiny", "bundled"), default="tiny")
    p = sub.add_parser("dask")
    p.add_argument("--records", type=int, default=2000)
    p.add_argument("--chunk-size", type=int, default=200)
    sub.add_parser("table")
    p = sub.add_parser("_run")
    p.add_argument("source")
    p.add_argument("out")
    p.add_argument("chunk_size", type=int)
    p.add_argument("model")
    args = parser.parse_args()
    if args.what == "_run":
        _one_run(args.source, args.out, args.chunk_size, args.model)
    elif args.what == "rss":
        for n in args.n:
            _save([measure_rss(n, args.chunk_size, args.model)])
    elif args.what == "dask":
        _save(measure_dask(args.records, args.chunk_size))
    else:
        print(table())


if __name__ == "__main__":
    main()
