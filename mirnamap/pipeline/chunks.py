"""A source's records in chunks, read lazily, for the streamed runs.

:func:`iter_chunks` reads the sources :func:`~mirnamap.pipeline.sources.read_source` reads,
``chunk_size`` records at a time (FASTA files and folds tables as they go), through the
same dispatch (:func:`~mirnamap.pipeline.sources.kind_of_source`); :func:`draw_chunk`
folds and draws one chunk into :class:`~mirnamap.pipeline.sources.Inputs`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mirnamap.errors import InputError
from mirnamap.fold import Fold, fold, iter_folds
from mirnamap.pipeline.sources import Inputs, Source, inputs_of_folds, kind_of_source, read_source

__all__ = ["RECORDS_PER_CHUNK", "Chunk", "draw_chunk", "iter_chunks"]

#: Records per chunk of a streamed run: ~7.5 MB of images, a few seconds of folding.
RECORDS_PER_CHUNK = 1000


class Chunk(NamedTuple):
    """Up to ``chunk_size`` consecutive input records, not yet folded or drawn.

    Attributes
    ----------
    number : int
        The chunk's position among the chunks (0-based).
    start : int
        The first record's position in the input.
    ids : tuple of str
        The records' ids.
    sequences : tuple of str or None
        Sequences to fold (FASTA, a list or dict of sequences); None otherwise.
    folds : list of Fold or None
        Rows of a folds TSV (folded already); None otherwise.
    inputs : Inputs or None
        Records drawn already (an encoding, an image archive, an array); None otherwise.
    name : str
        The source, for messages.
    """

    number: int
    start: int
    ids: tuple[str, ...]
    sequences: tuple[str, ...] | None
    folds: list[Fold] | None
    inputs: Inputs | None
    name: str

    def __len__(self) -> int:  # records, not fields
        return len(self.ids)

    def digest(self, salt: str) -> str:
        """SHA-256 of the run's parameters (``salt``) and of every record: id and
        sequence (and structure, for folds; the image, for drawn records)."""
        h = hashlib.sha256(salt.encode())
        if self.sequences is not None:
            for record_id, sequence in zip(self.ids, self.sequences, strict=True):
                h.update(f"{record_id}\0{sequence}\n".encode())
        elif self.folds is not None:
            for f in self.folds:
                h.update(f"{f.id}\0{f.sequence}\0{f.structure}\0{f.error}\n".encode())
        elif self.inputs is not None:
            h.update("\0".join(self.inputs.ids).encode())
            h.update(np.ascontiguousarray(self.inputs.images).tobytes())
            h.update(np.asarray(self.inputs.index).tobytes())
        else:
            raise ValueError(f"{self.name}: a chunk with no sequences, folds or images")
        return h.hexdigest()


def iter_chunks(source: Source | Inputs, chunk_size: int = RECORDS_PER_CHUNK) -> Iterator[Chunk]:
    """The records of any source, ``chunk_size`` at a time, read lazily from files.

    Parameters
    ----------
    source : path, Encoding, sequence of str, mapping, np.ndarray or Inputs
        What :func:`read_source` reads. FASTA files and folds TSVs (plain or ``.gz``) are
        read as they go; an ``.npz``, an encoding or an array is in memory already and
        comes as one chunk.
    chunk_size : int, optional
        Records per chunk. Default is :data:`RECORDS_PER_CHUNK` (1000).

    Yields
    ------
    Chunk
        In input order, numbered from 0.

    Raises
    ------
    InputError
        If the source cannot be used at all (as :func:`read_source`).
    """
    from mirnamap.datasets import iter_fasta

    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    kind = kind_of_source(source)
    if kind in ("inputs", "encoding", "images", "npz"):  # in memory already: one chunk
        inputs = read_source(source)
        yield Chunk(0, 0, inputs.ids, None, None, inputs, inputs.name)
        return
    if kind in ("fasta", "folds"):
        path = Path(source)  # type: ignore[arg-type]
        start = number = 0
        try:
            if kind == "fasta":
                for records in iter_fasta(path, chunk_size):
                    yield Chunk(
                        number, start, records.ids, records.sequences, None, None, str(path)
                    )
                    start, number = start + len(records), number + 1
            else:
                for folds in iter_folds(path, chunk_size):
                    ids = tuple(f.id for f in folds)
                    yield Chunk(number, start, ids, None, folds, None, str(path))
                    start, number = start + len(folds), number + 1
        except InputError:
            raise
        except (OSError, ValueError) as error:
            raise InputError(str(error)) from None
        if number == 0:
            raise InputError(f"{path}: no records")
        return
    if kind == "mapping":
        ids = [str(k) for k in source]  # type: ignore[union-attr]
        sequences = [str(v) for v in source.values()]  # type: ignore[union-attr]
    else:
        sequences = [str(s) for s in source]  # type: ignore[union-attr]
        ids = [str(i) for i in range(len(sequences))]
    for number, start in enumerate(range(0, len(ids), chunk_size)):
        end = start + chunk_size
        yield Chunk(
            number, start, tuple(ids[start:end]), tuple(sequences[start:end]), None, None,
            "sequences",
        )  # fmt: skip


def draw_chunk(
    chunk: Chunk, temperature: float | None = None, energy_params: str | None = None
) -> Inputs:
    """Fold (in this process) and draw one chunk; indices are positions in the chunk."""
    if chunk.inputs is not None:
        return chunk.inputs
    if chunk.folds is not None:
        return inputs_of_folds(chunk.folds, chunk.name, "read")
    if chunk.sequences is None:
        raise ValueError(f"{chunk.name}: a chunk with no sequences, folds or images")
    folds = fold(
        chunk.sequences,
        ids=chunk.ids,
        workers=1,
        temperature=temperature,
        energy_params=energy_params,
        progress=False,
    )
    return inputs_of_folds(folds, chunk.name, "fold")
