"""The new-user and hostile-input campaign: every command against bad input and bad
output conditions, as a user would run it. Rerun before a release.

Each case runs ``python -m mirnamap ...`` in a fresh process and records its exit status,
whether a Python traceback reached the terminal, and whether every input record is
accounted for (a row with a result or a reason in the output). The campaign passes when
there are 0 tracebacks, 0 records lost and 0 earlier outputs emptied or corrupted.

    python benchmarks/campaign.py            # the table on stdout and in
                                             # benchmarks/results/campaign.md
    python benchmarks/campaign.py -k fasta   # only the cases whose name holds "fasta"

Cases that need a tmpfs (a full disk, a read-only folder) run where ``mount`` works
(as root) and are listed as skipped elsewhere.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "campaign.md"
LET7 = "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA"
PAIR = {"A": "U", "U": "A", "G": "C", "C": "G"}
#: What an earlier run left in an output that a failed run must not touch.
EARLIER = "id\tprobability\nan\tearlier run\n"


@dataclass
class Case:
    name: str
    #: Builds the inputs in the work folder and returns (argv, records in, what to count).
    make: Callable[[Path], tuple[list[str], int, str]]
    needs_mount: bool = False


def _hairpins(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        arm = "".join(rng.choice(list("ACGU"), int(rng.integers(18, 30))))
        loop = "".join(rng.choice(list("ACGU"), int(rng.integers(4, 12))))
        out.append((f"h{k}", arm + loop + "".join(PAIR[c] for c in reversed(arm))))
    return out


def _fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f">{i}\n{s}\n" for i, s in records), encoding="utf-8")
    return path


def _fuzz(n: int, seed: int = 1) -> list[tuple[str, str]]:
    """Random, junk, empty, unicode and duplicate ids and sequences."""
    rng = np.random.default_rng(seed)
    alphabet = [*"ACGUTacgutNXYZ-*. ", "é", "∆", "\t"]
    records = []
    for k in range(n):
        kind = k % 6
        if kind == 0:
            seq = "".join(rng.choice(list("ACGU"), int(rng.integers(40, 120))))
        elif kind == 1:
            seq = "".join(rng.choice(alphabet, int(rng.integers(1, 60))))
        elif kind == 2:
            seq = ""
        else:
            seq = "".join(rng.choice(list("ACGUT"), int(rng.integers(1, 200))))
        ident = ["r", "dup", "ñame", "x" * 300, "a b c", "r"][kind] + (
            "" if kind in (1, 5) else str(k)
        )
        records.append((ident, seq))
    return records


def _model(work: Path, classes: int = 2) -> Path:
    """A tiny model file (the published architecture, few filters)."""
    path = work / f"tiny{classes}.keras"
    if not path.exists():
        code = (
            "from mirnamap.model import build_model, save_model\n"
            f"model = build_model(filters=(4, 4, 4), dense_units=8, seed=0, n_classes={classes})\n"
            f"save_model(model, {str(path)!r})\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return path


def _cases() -> list[Case]:
    cases: list[Case] = []

    def add(name, make, needs_mount=False):
        cases.append(Case(name, make, needs_mount))

    def predict(work, fasta, n, *extra):
        out = work / "p.tsv"
        return (
            ["predict", str(fasta), "--model", str(_model(work)), "-o", str(out), *extra],
            n,
            f"tsv:{out}",
        )

    def explain(work, fasta, n, *extra):
        out = work / "e"
        argv = ["explain", str(fasta), "--model", str(_model(work)), "--method", "gradient",
                "--no-pictures", "--out", str(out), *extra]  # fmt: skip
        return argv, n, f"explain:{out}"

    def fold(work, fasta, n, *extra):
        out = work / "f.tsv"
        return ["fold", str(fasta), "-o", str(out), *extra], n, f"tsv:{out}"

    good = _hairpins(30)
    # ---- FASTA input
    add("fasta: empty file", lambda w: predict(w, _empty(w / "e.fa"), 0))
    add(
        "fasta: leading blank line",
        lambda w: predict(w, _write(w / "b.fa", "\n\n" + _text(good)), 30),
    )
    add("fasta: no '>'", lambda w: predict(w, _write(w / "n.fa", "ACGU\n"), 0))
    add(
        "fasta: latin-1 bytes",
        lambda w: predict(w, _bytes(w / "l.fa", b">caf\xe9\nGGGAAACCC\n"), 0),
    )
    add(
        "fasta: damaged gzip",
        lambda w: predict(w, _bytes(w / "d.fa.gz", gzip.compress(_text(good).encode())[:60]), 0),
    )
    add(
        "fasta: gzip",
        lambda w: predict(w, _bytes(w / "g.fa.gz", gzip.compress(_text(good).encode())), 30),
    )
    add("fasta: headers only", lambda w: predict(w, _write(w / "h.fa", ">a\n>b\n"), 2))
    add("fasta: duplicate ids", lambda w: predict(w, _fasta(w / "dup.fa", good[:5] + good[:5]), 10))
    add(
        "fasta: unicode and long ids",
        lambda w: predict(w, _fasta(w / "u.fa", [("ñ∆é", LET7), ("x" * 400, LET7)]), 2),
    )
    add(
        "fasta: lower-case DNA",
        lambda w: predict(w, _fasta(w / "dna.fa", [("a", LET7.lower().replace("u", "t"))]), 1),
    )
    add(
        "fasta: 20,000-nt record",
        lambda w: predict(w, _fasta(w / "long.fa", [("long", "ACGU" * 5000), *good[:2]]), 3),
    )
    add(
        "fasta: 300-nt record (wider than the image)",
        lambda w: predict(w, _fasta(w / "wide.fa", [("wide", good[0][1] * 5)]), 1),
    )
    add(
        "fasta: 5,000-record fuzz",
        lambda w: predict(w, _fasta(w / "fuzz.fa", _fuzz(5000)), 5000, "--workers", "2"),
    )
    add(
        "fasta: 5,000-record fuzz, explained",
        lambda w: explain(w, _fasta(w / "fuzz.fa", _fuzz(600)), 600),
    )
    add(
        "fasta: 20,000 tiny records",
        lambda w: fold(
            w,
            _fasta(w / "tiny.fa", [(f"t{k}", "GGGAAACCC"[: 1 + k % 9]) for k in range(20000)]),
            20000,
        ),
    )
    add("fold: the fuzz", lambda w: fold(w, _fasta(w / "fuzz.fa", _fuzz(2000)), 2000))
    # ---- folds tables and archives
    add(
        "folds: missing column",
        lambda w: predict(w, _write(w / "f.tsv", "id\tsequence\nx\tGGGAAACCC\n"), 0),
    )
    add(
        "folds: unbalanced row",
        lambda w: predict(
            w,
            _write(
                w / "f.tsv",
                "id\tsequence\tstructure\nx\tGGGAAACCC\t((...))).\ny\tGGGGAAACCCC\t((((...))))\n",
            ),
            2,
        ),
    )
    add("npz: truncated", lambda w: predict(w, _bytes(w / "t.npz", b"PK\x03\x04garbage"), 0))
    add("npz: unexpected arrays", lambda w: predict(w, _npz(w / "u.npz", other=np.zeros(3)), 0))
    add(
        "npz: labelled images",
        lambda w: predict(
            w,
            _npz(
                w / "l.npz",
                images=np.zeros((4, 25, 100, 3), np.uint8),
                labels=np.array([0, 1, 0, 1]),
            ),
            4,
        ),
    )
    # ---- models and options
    add(
        "model: missing file",
        lambda w: (
            [
                "predict",
                str(_fasta(w / "a.fa", good)),
                "--model",
                str(w / "none.keras"),
                "-o",
                str(w / "p.tsv"),
            ],
            0,
            "none",
        ),
    )
    add(
        "model: not a model",
        lambda w: (
            [
                "predict",
                str(_fasta(w / "a.fa", good)),
                "--model",
                str(_write(w / "bad.keras", "x")),
                "-o",
                str(w / "p.tsv"),
            ],
            0,
            "none",
        ),
    )
    add(
        "model: 3 classes",
        lambda w: (
            [
                "predict",
                str(_fasta(w / "a.fa", good)),
                "--model",
                str(_model(w, 3)),
                "-o",
                str(w / "p.tsv"),
            ],
            0,
            "none",
        ),
    )
    add("explain: --ids ''", lambda w: explain(w, _fasta(w / "a.fa", good), 0, "--ids", ""))
    add(
        "explain: --ids missing",
        lambda w: explain(w, _fasta(w / "a.fa", good), 0, "--ids", "h1,nope"),
    )
    add(
        "explain: an image archive",
        lambda w: explain(w, _npz(w / "l.npz", images=np.zeros((2, 25, 100, 3), np.uint8)), 0),
    )
    add(
        "motifs: no motif found",
        lambda w: (
            [
                "motifs",
                str(_fasta(w / "a.fa", good[:3])),
                "--model",
                str(_model(w)),
                "--method",
                "gradient",
                "--out",
                str(w / "m"),
            ],
            3,
            "none",
        ),
    )
    add(
        "dask: no scheduler",
        lambda w: predict(w, _fasta(w / "a.fa", good), 0, "--scheduler", "tcp://127.0.0.1:9"),
    )
    # ---- outputs
    add(
        "output: under a file",
        lambda w: (
            [
                "predict",
                str(_fasta(w / "a.fa", good)),
                "--model",
                str(_model(w)),
                "-o",
                str(_write(w / "file", "x") / "p.tsv"),
            ],
            0,
            "none",
        ),
    )
    add(
        "output: full disk (tmpfs 4 kB)",
        lambda w: predict(
            w,
            _fasta(w / "a.fa", _hairpins(300)),
            0,
            "-o",
            str(_mount(w / "disk", "size=4k") / "p.tsv"),
        ),
        True,
    )
    add(
        "output: full disk, streamed",
        lambda w: predict(
            w,
            _fasta(w / "a.fa", _hairpins(300)),
            0,
            "-o",
            str(_mount(w / "disk", "size=4k") / "p.tsv"),
            "--chunk-size",
            "50",
        ),
        True,
    )
    add(
        "output: read-only folder",
        lambda w: predict(
            w, _fasta(w / "a.fa", good), 0, "-o", str(_mount(w / "ro", "ro,size=64k") / "p.tsv")
        ),
        True,
    )

    def earlier(work, *extra):
        out = _write(work / "p.tsv", EARLIER)
        argv, n, _ = predict(work, _fasta(work / "a.fa", good), 0, *extra)
        return argv, n, f"kept:{out}"

    add(
        "output: a failed start keeps the earlier output",
        lambda w: earlier(w, "--scheduler", "tcp://127.0.0.1:9", "--chunk-size", "5"),
    )
    add(
        "output: a failed model keeps the earlier output",
        lambda w: earlier(w, "--model", str(w / "none.keras")),
    )
    return cases


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _empty(path: Path) -> Path:
    return _bytes(path, b"")


def _text(records) -> str:
    return "".join(f">{i}\n{s}\n" for i, s in records)


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


_MOUNTS: list[Path] = []


def _mount(folder: Path, options: str) -> Path:
    folder.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    _MOUNTS.append(folder)
    return folder


def _accounted(what: str, n_in: int) -> str:
    """ "all N", "none expected", or what was lost."""
    kind, _, target = what.partition(":")
    if kind == "kept":  # an earlier output that a failed run must leave as it was
        path = Path(target)
        kept = path.is_file() and path.read_text(encoding="utf-8") == EARLIER
        return "earlier output kept" if kept else "earlier output emptied or changed"
    if kind == "none" or n_in == 0:
        return "-"
    path = Path(target)
    if kind == "tsv":
        if not path.is_file():
            return "no output"
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return f"all {n_in}" if len(rows) == n_in else f"{len(rows)} of {n_in}"
    counted = 0
    for table in ("summary.tsv", "failed.tsv"):
        if (path / table).is_file():
            with open(path / table, encoding="utf-8", newline="") as handle:
                counted += sum(1 for _ in csv.DictReader(handle, delimiter="\t"))
    return f"all {n_in}" if counted == n_in else f"{counted} of {n_in}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only the cases whose name holds this")
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    args = parser.parse_args(argv)
    can_mount = os.geteuid() == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows = []
    for case in _cases():
        if args.k not in case.name:
            continue
        with tempfile.TemporaryDirectory(prefix="campaign-") as folder:
            work = Path(folder)
            if case.needs_mount and not can_mount:
                rows.append((case.name, "-", "skipped (needs root for a tmpfs)", "-", "-", "-"))
                continue
            try:
                command, n_in, what = case.make(work)
                began = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "mirnamap", *command], capture_output=True,
                    text=True, env=env, timeout=1800, check=False,
                )  # fmt: skip
                seconds = time.perf_counter() - began
                traceback = "Traceback" in done.stderr
                errors = [line for line in done.stderr.splitlines() if "error:" in line]
                said = (
                    errors[0][:90]
                    if errors
                    else (done.stdout.strip().splitlines() or [""])[-1][:90]
                )
                rows.append((case.name, str(done.returncode), "yes" if traceback else "no",
                             _accounted(what, n_in), f"{seconds:.0f}", said))  # fmt: skip
            finally:
                while _MOUNTS:
                    subprocess.run(["umount", "-l", str(_MOUNTS.pop())], check=False)
        print(" | ".join(rows[-1]), flush=True)
    tracebacks = sum(r[2] == "yes" for r in rows)
    lost = sum(" of " in r[3] or r[3] == "no output" for r in rows)
    emptied = sum("emptied" in r[3] for r in rows)
    table = [
        "| case | status | traceback | records accounted | s | what it said |",
        "|---|---|---|---|---|---|",
        *(f"| {' | '.join(c.replace('|', '/') for c in r)} |" for r in rows),
    ]
    summary = (
        f"{len(rows)} cases: {tracebacks} tracebacks, {lost} with records lost, "
        f"{emptied} earlier outputs emptied or changed."
    )
    print("\n".join(table) + "\n\n" + summary)
    if not args.no_save and not args.k:
        RESULTS.write_text(
            "# The new-user campaign (`benchmarks/campaign.py`)\n\n"
            "Every command against bad input and bad output conditions, each in a fresh "
            "process. Status 2: unusable input or an output that cannot be written; 1: no "
            "record could be processed; 0: results (failed records listed with reasons).\n\n"
            + "\n".join(table)
            + f"\n\n{summary}\n",
            encoding="utf-8",
        )
    return 1 if tracebacks or lost or emptied else 0


if __name__ == "__main__":
    sys.exit(main())
