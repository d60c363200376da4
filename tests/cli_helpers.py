"""What the command-line tests share: running ``mirnamap`` in-process or as a
subprocess, reading its TSVs, and writing small inputs (imported by the tests, never by
the package)."""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from mirnamap.cli import main

REPO = Path(__file__).resolve().parent.parent

LET7 = "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA"
MIR21 = "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA"
GOOD = (LET7, MIR21)


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the command line in-process: (exit status, stdout, stderr); never a traceback."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def run_subprocess(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m mirnamap.cli ARGS`` in a fresh process (TensorFlow's own log settings
    left out of its environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "mirnamap.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False,
    )  # fmt: skip


def tsv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a TSV, as dicts."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def write_fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f">{i}\n{s}\n" for i, s in records), encoding="utf-8")
    return path


def files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


def folds_table(path: Path, rows: list[tuple[str, ...]]) -> Path:
    lines = ["id\tsequence\tstructure\tmfe\tstatus\treason"]
    lines += ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """``folder`` (made), where nothing may be written: a read-only tmpfs, which stops
    root too, or, where none can be mounted, a folder without write permission; skips
    the test as root without a mount (root writes in any folder)."""
    import pytest

    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
        capture_output=True, check=False,
    ).returncode == 0  # fmt: skip
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("root writes anywhere, and no read-only tmpfs can be mounted here")
        folder.chmod(0o555)
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        else:
            folder.chmod(0o755)
