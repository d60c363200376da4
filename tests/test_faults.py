"""Faults of the output side: a full disk, a read-only folder, an output under a file, a
second run on the same output, and a run stopped half-way.

Every command is run against a tiny file system (a tmpfs of a few kB where the tests may
mount one; an ``OSError(ENOSPC)`` injected into the library's writes otherwise). Each
must end with status 2 and one line on stderr naming the file, never a traceback; leave
no half-written file under a final name; and, once there is room, complete to the
output of a run that never failed (a streamed run with ``--resume``).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from cli_helpers import read_only_folder, run

from mirnamap.cli import main

PAIR = {"A": "U", "U": "A", "G": "C", "C": "G"}


def _hairpins(n: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    text = []
    for k in range(n):
        arm = "".join(rng.choice(list("ACGU"), int(rng.integers(18, 30))))
        loop = "".join(rng.choice(list("ACGU"), int(rng.integers(4, 12))))
        text.append(f">h{k}\n{arm}{loop}{''.join(PAIR[c] for c in reversed(arm))}\n")
    return "".join(text)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tiny_model_path):
    folder = tmp_path_factory.mktemp("faults")
    fasta = folder / "in.fa"
    fasta.write_text(_hairpins(300))
    small = folder / "small.fa"
    small.write_text(_hairpins(12, seed=1))
    return {"fa": fasta, "small": small, "model": tiny_model_path}


class _Disk:
    """A folder with ``size`` kB of room: a tmpfs, or (where none can be mounted) the
    library's writes into it failing with ENOSPC once ``size`` kB are written."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder, self.monkeypatch, self.mounted = folder, monkeypatch, False
        folder.mkdir()

    def fill(self, size_kb: int) -> Path:
        self.mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(self.folder)],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        if not self.mounted:
            self._inject(size_kb * 1024)
        return self.folder

    def make_room(self) -> None:
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,size=65536k", str(self.folder)], check=True)
        else:
            self.monkeypatch.undo()

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], check=False)

    def _inject(self, budget: int) -> None:
        """Every file opened for writing under the folder (by path or by descriptor) has
        ``budget`` bytes to share; past them, ``write`` fails as a full disk does."""
        real_open = builtins.open
        left = [budget]
        folder = str(self.folder.resolve())

        class Full:
            def __init__(self, handle):
                self._handle = handle

            def write(self, data):
                left[0] -= len(data)
                if left[0] < 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return self._handle.write(data)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self._handle.close()

            def __iter__(self):
                return iter(self._handle)

            def __getattr__(self, name):
                return getattr(self._handle, name)

        def fake_open(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            where = os.readlink(f"/proc/self/fd/{handle.fileno()}")
            if any(c in mode for c in "wax+") and where.startswith(folder):
                return Full(handle)
            return handle

        self.monkeypatch.setattr(builtins, "open", fake_open)


@pytest.fixture
def disk(tmp_path, monkeypatch):
    found = _Disk(tmp_path / "disk", monkeypatch)
    yield found
    found.unmount()


#: Each command with its output under the folder ``D``; "streamed" ones resume.
COMMANDS = {
    "fold": ["fold", "{fa}", "-o", "D/folds.tsv"],
    "encode": ["encode", "{fa}", "-o", "D/images.npz"],
    "encode --png": ["encode", "{small}", "-o", "{ref}/x.npz", "--png", "D/png"],
    "predict": ["predict", "{fa}", "--model", "{model}", "-o", "D/p.tsv"],
    "predict streamed": [
        "predict", "{fa}", "--model", "{model}", "-o", "D/p.tsv", "--chunk-size", "40",
    ],
    "explain": [
        "explain", "{small}", "--model", "{model}", "--method", "gradient", "--out", "D/e",
    ],
    "explain --no-pictures": [
        "explain", "{fa}", "--model", "{model}", "--method", "gradient", "--no-pictures",
        "--out", "D/e",
    ],
    "explain streamed": [
        "explain", "{fa}", "--model", "{model}", "--method", "gradient", "--no-pictures",
        "--out", "D/e", "--chunk-size", "40",
    ],
    "explain --html": [
        "explain", "{small}", "--model", "{model}", "--method", "gradient", "--no-pictures",
        "--out", "{ref}/e", "--html", "D/r.html",
    ],
    "motifs": ["motifs", "{fa}", "--model", "{model}", "--method", "gradient", "--out", "D/m"],
}  # fmt: skip


def _argv(name: str, inputs: dict, out: Path, ref: Path) -> list[str]:
    values = {k: str(v) for k, v in inputs.items()} | {"ref": str(ref)}
    return [
        str(out) + a[1:] if a.startswith("D/") else a.format(**values) for a in COMMANDS[name]
    ] + ["--workers", "1"]


def _contents(folder: Path) -> dict[str, bytes]:
    """The finished files under ``folder`` (a streamed run's journal, lock and partial
    tables are its own bookkeeping, not outputs)."""
    skip = (".partial", ".journal", ".lock", "journal.tsv")
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(skip)
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory, inputs):
    """Each command's output in a folder with room: what every rerun must give."""
    found = {}
    for name in COMMANDS:
        out = tmp_path_factory.mktemp("reference")
        assert main(_argv(name, inputs, out, tmp_path_factory.mktemp("side"))) == 0, name
        found[name] = _contents(out)
    return found


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_full_disk_is_one_line_and_nothing_half_written(
    name, inputs, reference, disk, tmp_path, capsys
):
    side = tmp_path / "side"
    side.mkdir()
    folder = disk.fill(4)
    code, _, err = run(_argv(name, inputs, folder, side), capsys)  # asserts no traceback
    assert code == 2, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and str(folder) in lines[0], err
    assert "No space left on device" in lines[0] or "ENOSPC" in lines[0]
    # No file under a final name is half-written: each is absent, or whole.
    for relative, data in _contents(folder).items():
        assert reference[name].get(relative) == data, f"{relative} is half-written"
    assert not [p for p in folder.rglob("*.tmp")], "temporary files left behind"
    disk.make_room()
    argv = _argv(name, inputs, folder, side)
    if "streamed" in name:
        argv.append("--resume")
    code, _, err = run(argv, capsys)
    assert code == 0, err
    assert _contents(folder) == reference[name]


@pytest.mark.parametrize("case", ["read-only folder", "under a file"])
@pytest.mark.parametrize("name", ["fold", "predict", "explain", "predict streamed"])
def test_an_unwritable_output_is_one_line(name, case, inputs, tmp_path, capsys):
    with contextlib.ExitStack() as stack:
        if case == "under a file":
            blocker = tmp_path / "a_file"
            blocker.write_text("x")
            folder = blocker / "sub"
        else:
            folder = stack.enter_context(read_only_folder(tmp_path / "ro"))
        code, _, err = run(_argv(name, inputs, folder, tmp_path), capsys)
        assert code == 2
        lines = [line for line in err.splitlines() if "error:" in line]
        assert len(lines) == 1 and str(folder) in lines[0], err


@pytest.mark.slow
def test_a_second_run_on_the_same_output_is_refused(inputs, reference, tmp_path, capsys):
    from cli_helpers import REPO

    out = tmp_path / "p.tsv"
    out.write_text("an earlier run's output\n")
    argv = ["predict", str(inputs["fa"]), "--model", str(inputs["model"]), "-o", str(out),
            "--chunk-size", "10", "--workers", "1"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(
        [sys.executable, "-m", "mirnamap", *argv], env=env, stderr=subprocess.PIPE, text=True
    )
    journal = out.with_name(out.name + ".journal")
    deadline = time.time() + 120
    while not journal.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before the second could start"
    code, _, err = run(argv, capsys)
    assert code == 2 and "another run is writing" in err and str(out) in err
    assert first.wait(300) == 0, first.stderr.read()
    # The first run's output, whole, as a run alone writes it.
    assert out.read_bytes() == reference["predict"]["p.tsv"]


def test_a_run_that_fails_at_start_leaves_the_earlier_output_whole(inputs, tmp_path, capsys):
    out = tmp_path / "p.tsv"
    out.write_text("an earlier run's output\n")
    import dask

    pytest.importorskip("distributed")  # its defaults loaded first: the context restores them
    argv = ["predict", str(inputs["small"]), "--model", str(inputs["model"]), "-o", str(out)]
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):  # nothing answers
        code, _, err = run([*argv, "--scheduler", "tcp://127.0.0.1:9", "--workers", "1"], capsys)
    assert code == 2 and err.count("error:") == 1
    assert out.read_text() == "an earlier run's output\n"
    assert not out.with_name(out.name + ".partial").exists()


def test_a_record_longer_than_a_hairpin_fails_at_once_with_its_reason(inputs, tmp_path, capsys):
    from mirnamap.structure import MAX_LENGTH

    source = tmp_path / "long.fa"
    source.write_text(f">transcript\n{'ACGU' * 5000}\n>ok\n{'GGGGCAUCAGAAAUGAUGCCCC'}\n")
    began = time.perf_counter()
    code, _, err = run(
        ["predict", str(source), "--model", str(inputs["model"]), "-o", str(tmp_path / "p.tsv"),
         "--workers", "1"],
        capsys,
    )  # fmt: skip
    assert time.perf_counter() - began < 120  # never folded: no 25-minute fold
    assert code == 0
    assert f"longer than the {MAX_LENGTH} nt" in err and "transcript" in err


def test_many_failures_are_counted_not_all_printed(inputs, tmp_path, capsys):
    from mirnamap.cli.commands import SHOWN_FAILURES

    source = tmp_path / "bad.fa"
    source.write_text("".join(f">bad{k}\nACGUNACGU\n" for k in range(500)) + ">ok\nGGGGAAACCCC\n")
    code, _, err = run(["fold", str(source), "-o", str(tmp_path / "f.tsv")], capsys)
    assert code == 0
    assert len(err.splitlines()) <= SHOWN_FAILURES + 3
    assert f"and {500 - SHOWN_FAILURES} more" in err and str(tmp_path / "f.tsv") in err


def test_a_worker_that_dies_is_one_line_not_a_traceback(inputs, tmp_path, monkeypatch, capsys):
    import mirnamap.fold
    from mirnamap.errors import WorkerError

    def dies(*args, **kwargs):
        raise WorkerError("a worker process died (signal 9, SIGKILL: killed from outside)")

    monkeypatch.setattr(mirnamap.fold, "map_in_workers", dies)
    out = tmp_path / "f.tsv"
    code, _, err = run(["fold", str(inputs["fa"]), "-o", str(out), "--workers", "2"], capsys)
    assert code == 2 and err.count("error:") == 1 and "SIGKILL" in err
    assert not out.exists()
