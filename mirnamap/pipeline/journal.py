"""The journal of a streamed run: what was written, so that a resumed run goes on.

Every chunk written is recorded in a journal beside the output (``<out>.journal`` for
predictions, ``journal.tsv`` in an explanation's folder): its records' ids and a hash of
the records and of the run's parameters (:func:`run_salt`), and the output files' sizes
after it. :meth:`Journal.resume` checks the chunks already written against the input and
the parameters, cuts off whatever an interrupted run wrote after the last complete chunk,
and the run goes on from there: the files end as an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mirnamap.files import atomic_write, output_error
from mirnamap.pipeline.chunks import Chunk

__all__ = ["Journal", "energy_salt", "model_salt", "run_salt"]


class Journal:
    """The record of the chunks written: a JSON header line, then per chunk: number,
    records, first id, last id, digest, ok, failed and the output files' sizes."""

    def __init__(self, path: Path, files: Sequence[Path], salt: str, chunk_size: int) -> None:
        self.path, self.files, self.salt, self.chunk_size = path, list(files), salt, chunk_size
        self.done: list[list[str]] = []

    def header(self) -> str:
        names = [f.name for f in self.files]
        return json.dumps(
            {"journal": 1, "run": self.salt, "chunk_size": self.chunk_size, "files": names}
        )

    def start(self) -> None:
        """A new journal: the header only."""
        with atomic_write(self.path, fsync=True) as handle:
            handle.write(self.header() + "\n")

    def resume(self) -> bool:
        """Read what an interrupted run wrote; cut the files back to its last complete
        chunk. False if there is nothing to resume (no journal)."""
        if not self.path.is_file():
            return False
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            head = json.loads(lines[0])
        except (IndexError, json.JSONDecodeError):
            raise ValueError(f"{self.path}: not a mirnamap journal; rerun without resume") from None
        if head.get("run") != self.salt:
            raise ValueError(
                f"{self.path}: written by a run with other parameters (model, methods, "
                "options or folding parameters); rerun without resume to start afresh"
            )
        self.chunk_size = int(head["chunk_size"])
        self.done = [line.split("\t") for line in lines[1:] if line.count("\t") >= 7]
        sizes = [int(s) for s in self.done[-1][7].split(",")] if self.done else None
        for k, path in enumerate(self.files):
            if sizes is None:
                path.write_bytes(b"")
            elif not path.is_file() or path.stat().st_size < sizes[k]:
                raise ValueError(f"{path}: shorter than the journal says; rerun without resume")
            else:
                with open(path, "r+b") as handle:
                    handle.truncate(sizes[k])
        # Rewrite the journal without a half-written last line.
        with atomic_write(self.path, fsync=True) as handle:
            handle.write("\n".join([self.header(), *("\t".join(d) for d in self.done)]) + "\n")
        return True

    def check(self, chunk: Chunk, digest: str) -> tuple[int, int] | None:
        """(ok, failed) of a chunk written already, None if not written; a chunk whose
        records differ from those written raises."""
        if chunk.number >= len(self.done):
            return None
        _, n, first, last, written, ok, failed = self.done[chunk.number][:7]
        ids = (chunk.ids[0], chunk.ids[-1]) if len(chunk) else ("", "")
        if (int(n), first, last, written) != (len(chunk), *ids, digest):
            raise ValueError(
                f"{chunk.name}: records {chunk.start + 1}-{chunk.start + len(chunk)} (ids "
                f"{ids[0]!r}..{ids[1]!r}) differ from those the interrupted run wrote "
                "(another input?); rerun without resume"
            )
        return int(ok), int(failed)

    def commit(self, chunk: Chunk, digest: str, ok: int, failed: int) -> None:
        sizes = ",".join(str(f.stat().st_size) for f in self.files)
        ids = (chunk.ids[0], chunk.ids[-1]) if len(chunk) else ("", "")
        line = [str(chunk.number), str(len(chunk)), *ids, digest, str(ok), str(failed), sizes]
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write("\t".join(line) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise output_error(self.path, error) from None
        self.done.append(line)


def model_salt(model: Any) -> str:
    """What names the model in a run's hash: its file's SHA-256 (the bundled one's too),
    or for a model in memory its weights'."""
    from mirnamap.ensemble import Ensemble, default_model_file

    if model is None:
        model = default_model_file()
    h = hashlib.sha256()
    if isinstance(model, (str, os.PathLike)):
        with open(model, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    members = model.members if isinstance(model, Ensemble) else [model]
    for member in members:
        for weights in member.get_weights():
            h.update(np.ascontiguousarray(weights).tobytes())
    if isinstance(model, Ensemble):
        h.update(repr((model.temperature, model.bias, model.names)).encode())
    return h.hexdigest()


def run_salt(kind: str, model: Any, members: Any, options: Mapping[str, Any], extra: Any) -> str:
    text = json.dumps(
        {
            "kind": kind,
            "model": model_salt(model),
            "members": None if members is None else [str(m) for m in members],
            "options": {k: v for k, v in options.items() if k not in ("batch_size", "progress")},
            "extra": extra,
        },
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def energy_salt(energy: str | None) -> str | None:
    """A parameter file counts by its content, a named set by its name."""
    if energy is None or not os.path.isfile(energy):
        return energy
    return hashlib.sha256(Path(energy).read_bytes()).hexdigest()
