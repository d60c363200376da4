"""Load labelled hairpins: any FASTA, the deepMiRGene benchmark sets, the DeepMir images.

The bundled reference sets live in the repository's ``data/`` folder (see
``data/README.md`` for their provenance); set ``MIRNAMAP_DATA`` to read them elsewhere.
Known label noise is reported, never hidden: :func:`label_conflicts` lists sequences that
occur in both classes, and the loaders return them in ``conflicts``.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Literal, NamedTuple

import numpy as np

from mirnamap._typing import Images
from mirnamap.geometry import IMAGE_SHAPE

__all__ = [
    "DEEPMIRGENE_SETS",
    "DEEPMIR_SETS",
    "ImageSet",
    "Records",
    "count_records",
    "data_dir",
    "dinucleotide_shuffle",
    "iter_fasta",
    "label_conflicts",
    "load_deepmir",
    "load_deepmirgene",
    "load_fasta",
    "load_images",
    "load_labelled_fasta",
    "open_text",
    "read_text",
    "text_head",
]

DEEPMIRGENE_SETS = ("human", "whole", "new")
DEEPMIR_SETS = ("modhsa_train", "modhsa_test", "hsapseudo_train", "hsapseudo_test")


class Records(NamedTuple):
    """Sequence records, optionally labelled and split.

    Attributes
    ----------
    ids : tuple of str
        N record identifiers (unique within a loaded set).
    sequences : tuple of str
        N sequences as written in the file.
    labels : np.ndarray or None
        ``int8 (N,)``: 1 = pre-miRNA, 0 = negative; None if unlabelled.
    splits : tuple of str or None
        N split names (``"test"``, ``"fold1"`` .. ``"fold5"``), or None.
    conflicts : tuple of str
        Sequences that occur with both labels (upper-case, T -> U).
    """

    ids: tuple[str, ...]
    sequences: tuple[str, ...]
    labels: np.ndarray | None = None
    splits: tuple[str, ...] | None = None
    conflicts: tuple[str, ...] = ()

    def __len__(self) -> int:  # the number of records, not of fields
        return len(self.ids)

    def select(self, mask: np.ndarray | Sequence[bool]) -> Records:
        """The records where ``mask`` (bool, shape (N,)) is true."""
        keep = np.flatnonzero(np.asarray(mask, dtype=bool))
        return Records(
            ids=tuple(self.ids[i] for i in keep),
            sequences=tuple(self.sequences[i] for i in keep),
            labels=None if self.labels is None else self.labels[keep],
            splits=None if self.splits is None else tuple(self.splits[i] for i in keep),
            conflicts=self.conflicts,
        )


class ImageSet(NamedTuple):
    """Pre-drawn hairpin images with labels.

    Attributes
    ----------
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)``.
    labels : np.ndarray or None
        ``int8 (N,)``: 1 = pre-miRNA, 0 = negative; None for unlabelled images.
    names : tuple of str
        N record names.
    """

    images: Images
    labels: np.ndarray | None
    names: tuple[str, ...]

    def __len__(self) -> int:  # the number of images, not of fields
        return int(self.images.shape[0])


def data_dir() -> Path:
    """The folder of bundled data: ``$MIRNAMAP_DATA`` or the repository's ``data/``."""
    env = os.environ.get("MIRNAMAP_DATA")
    path = Path(env) if env else Path(__file__).resolve().parent.parent / "data"
    if not path.is_dir():
        raise FileNotFoundError(
            f"bundled data folder {path} not found; set MIRNAMAP_DATA to the folder "
            "holding deepmirgene/ and deepmir/"
        )
    return path


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of a UTF-8 file, gzip-compressed or not, or a clear error naming it.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If ``path`` is a folder, the file is empty (or only white space), is not valid
        UTF-8 (the byte offset is named) or is a damaged gzip file.
    """
    import gzip
    import zlib

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: a damaged gzip file ({error})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None
    if not text.strip():
        raise ValueError(f"{path}: empty file")
    return text.removeprefix("\ufeff")


@contextlib.contextmanager
def open_text(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """Open a UTF-8 text file, gzip-compressed or not, for reading as it goes.

    A lazy counterpart of :func:`read_text`: nothing is read until the handle is. A
    decoding or gzip error met while reading becomes a ``ValueError`` naming the file.
    A leading byte-order mark is dropped.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If ``path`` is a folder; while reading, if the text is not UTF-8 or the gzip
        stream is damaged.
    """
    import gzip
    import io
    import zlib

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    binary = gzip.open(path, "rb") if compressed else open(path, "rb")
    try:
        with io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as handle:
            yield handle
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} near offset "
            f"{error.start} of a block)"
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ValueError(f"{path}: a damaged gzip file ({error})") from None
    finally:
        binary.close()


def text_head(path: str | os.PathLike[str], size: int = 65536) -> str:
    """The first ``size`` characters of a text file (gzip too), read no further.

    Raises what :func:`read_text` raises (missing file, folder, damaged gzip, not UTF-8
    in the part read, and an empty file: one holding only white space in its first
    ``size`` characters and nothing after them).
    """
    with open_text(path) as handle:
        head = handle.read(size)
        if not head.strip() and not handle.read(1):
            raise ValueError(f"{Path(path)}: empty file")
    return head


def iter_fasta(path: str | os.PathLike[str], chunk_size: int = 1000) -> Iterator[Records]:
    """Read a FASTA file (plain or ``.gz``) lazily, ``chunk_size`` records at a time.

    The chunks, joined, are :func:`load_fasta`'s records (unlabelled); memory holds one
    chunk, whatever the file's size.

    Parameters
    ----------
    path : str or PathLike
        The FASTA file.
    chunk_size : int, optional
        Records per chunk (the last may hold fewer). Default is 1000.

    Yields
    ------
    Records
        Up to ``chunk_size`` records, in file order.

    Raises
    ------
    ValueError
        As :func:`load_fasta` (empty, not FASTA, no record), naming the file; an
        undecodable or damaged part is found when it is read.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".fa", delete=False) as f:
    ...     _ = f.write(">a\\nACGU\\n>b\\nGG\\n>c\\nCC\\n")
    >>> [chunk.ids for chunk in iter_fasta(f.name, chunk_size=2)]
    [('a', 'b'), ('c',)]
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if text_head(path).lstrip()[:1] != ">":
        raise ValueError(f"{path}: not a FASTA file (it must start with '>')")
    with open_text(path) as handle:
        entries = _fasta_entries(handle, path)
        found = False
        while chunk := list(itertools.islice(entries, chunk_size)):
            found = True
            yield Records(tuple(i for i, _ in chunk), tuple(s for _, s in chunk))
        if not found:
            raise ValueError(f"{path}: no FASTA records")


def count_records(path: str | os.PathLike[str]) -> int:
    """Records of a FASTA file (its ``>`` lines) or data rows of a TSV, by one quick
    pass that holds one line at a time (for a progress bar's time left)."""
    with open_text(path) as handle:
        first = ""
        for first in handle:
            if first.strip():
                break
        if first.lstrip()[:1] == ">":
            return 1 + sum(line[:1] == ">" for line in handle)
        return sum(1 for line in handle if line.strip())


def _fasta_entries(lines: Iterable[str], path: str | os.PathLike[str]) -> Iterator[tuple[str, str]]:
    """(id, sequence) of each FASTA record, with Biopython's parser; blank lines before
    the first header are passed over, and a fault of the parser names the file."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    def after_blank_lines() -> Iterator[str]:
        started = False
        for line in lines:
            started = started or bool(line.strip())
            if started:
                yield line

    try:
        for title, sequence in SimpleFastaParser(after_blank_lines()):
            yield (title.split(None, 1)[0] if title.strip() else ""), sequence
    except ValueError as error:  # Biopython's own advice, reduced to its first line
        raise ValueError(f"{path}: not read as FASTA: {str(error).splitlines()[0]}") from None


def load_fasta(path: str | os.PathLike[str], label: int | None = None) -> Records:
    """Read a FASTA file (plain or gzip-compressed, ``.fa.gz``) with Biopython.

    Parameters
    ----------
    path : str or PathLike
        The FASTA file.
    label : int, optional
        A label (0 or 1) given to every record. Default is None: unlabelled.

    Returns
    -------
    Records
        One record per FASTA entry, ids from the headers' first word.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is empty, not UTF-8, not FASTA or holds no record (the file is named).
    """
    text = read_text(path)
    if text.lstrip()[:1] != ">":
        raise ValueError(f"{path}: not a FASTA file (it must start with '>')")
    entries = list(_fasta_entries(text.splitlines(keepends=True), path))
    if not entries:
        raise ValueError(f"{path}: no FASTA records")
    ids = tuple(i for i, _ in entries)
    sequences = tuple(s for _, s in entries)
    labels = None if label is None else np.full(len(ids), _check_label(label), dtype=np.int8)
    return Records(ids, sequences, labels)


def _check_label(label: int) -> int:
    if label not in (0, 1):
        raise ValueError(f"label must be 0 or 1, got {label!r}")
    return int(label)


def load_labelled_fasta(
    positive: str | os.PathLike[str], negative: str | os.PathLike[str]
) -> Records:
    """Read a positive (label 1) and a negative (label 0) FASTA file into one set.

    Ids are prefixed ``pos:`` / ``neg:`` where the two files share an id. Sequences found
    in both files are reported in ``conflicts``.
    """
    pos, neg = load_fasta(positive, 1), load_fasta(negative, 0)
    pos_ids, neg_ids = pos.ids, neg.ids
    if set(pos_ids) & set(neg_ids):
        pos_ids = tuple(f"pos:{i}" for i in pos_ids)
        neg_ids = tuple(f"neg:{i}" for i in neg_ids)
    sequences = pos.sequences + neg.sequences
    labels = np.concatenate([pos.labels, neg.labels])  # type: ignore[list-item]
    return Records(pos_ids + neg_ids, sequences, labels, None, label_conflicts(sequences, labels))


def label_conflicts(sequences: Iterable[str], labels: Iterable[int]) -> tuple[str, ...]:
    """Sequences that occur with more than one label.

    Parameters
    ----------
    sequences : iterable of str
        N sequences (compared upper-case with T -> U).
    labels : iterable of int
        N labels.

    Returns
    -------
    tuple of str
        The conflicting sequences, sorted.

    >>> label_conflicts(["ACG", "acg", "UUU"], [1, 0, 1])
    ('ACG',)
    """
    seen: dict[str, set[int]] = defaultdict(set)
    for sequence, label in zip(sequences, labels, strict=True):
        seen[sequence.strip().upper().replace("T", "U")].add(int(label))
    return tuple(sorted(s for s, found in seen.items() if len(found) > 1))


def load_deepmirgene(name: Literal["human", "whole", "new"]) -> Records:
    """Load a deepMiRGene benchmark set with its published split.

    Park et al., "Deep Recurrent Neural Network-Based Identification of Precursor
    microRNAs", NIPS 2017. ``human`` and ``whole`` (cross-species) carry the published
    protocol: ``test`` is the held-out 10 %, ``fold1`` .. ``fold5`` the validation folds
    of the rest. ``new`` has no split of its own (train on all of ``whole``, test on
    ``new``), so each of its records is marked ``test``.

    Parameters
    ----------
    name : {"human", "whole", "new"}
        Which set.

    Returns
    -------
    Records
        Positives then negatives, ids as in the FASTA headers (unique within the set),
        ``splits`` filled, and the sequences found in both classes in ``conflicts``
        (33 in human, 23 in whole).
    """
    if name not in DEEPMIRGENE_SETS:
        raise ValueError(f"unknown deepMiRGene set {name!r}; known: {', '.join(DEEPMIRGENE_SETS)}")
    folder = data_dir() / "deepmirgene"
    pos, neg = load_fasta(folder / f"{name}_pos.fa", 1), load_fasta(folder / f"{name}_neg.fa", 0)
    ids = pos.ids + neg.ids
    sequences = pos.sequences + neg.sequences
    labels = np.concatenate([pos.labels, neg.labels])  # type: ignore[list-item]
    if name == "new":
        splits = tuple("test" for _ in ids)
    else:
        table: dict[tuple[str, str], str] = {}
        with open(folder / "splits.tsv", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if row["dataset"] == name:
                    table[row["class"], row["id"]] = row["split"]
        classes = ["pos"] * len(pos) + ["neg"] * len(neg)
        missing = [i for c, i in zip(classes, ids, strict=True) if (c, i) not in table]
        if missing:
            raise ValueError(
                f"splits.tsv has no split for {len(missing)} {name} records, e.g. {missing[:3]}"
            )
        splits = tuple(table[c, i] for c, i in zip(classes, ids, strict=True))
    return Records(ids, sequences, labels, splits, label_conflicts(sequences, labels))


def load_images(path: str | os.PathLike[str], *, labelled: bool = False) -> ImageSet:
    """Read an image archive: an ``.npz`` with ``images`` and optionally ``labels``.

    Parameters
    ----------
    path : str or PathLike
        An ``.npz`` holding ``images`` ``uint8 (N, 25, 100, 3)``, and optionally
        ``labels`` ``(N,)`` and ``names`` or ``ids`` ``(N,)``.
    labelled : bool, optional
        Require ``labels``. Default is False: unlabelled images (the normal case for a
        new data set) come back with ``labels=None``.

    Returns
    -------
    ImageSet

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is no readable archive (damaged, truncated) or its arrays do not fit
        (the file and the array are named).
    """
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            if "images" not in files or (labelled and "labels" not in files):
                wanted = "'images' and 'labels'" if labelled else "'images'"
                raise ValueError(f"{path}: needs arrays {wanted}, has {sorted(files)}")
            images = data["images"]
            labels = data["labels"] if "labels" in files else None
            key = "names" if "names" in files else "ids" if "ids" in files else None
            names = tuple(str(n) for n in data[key]) if key else None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a readable .npz archive ({error})") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"{path}: images must be uint8 (N, {', '.join(map(str, IMAGE_SHAPE))}), got "
            f"{images.dtype} {images.shape}"
        )
    n = images.shape[0]
    if labels is not None:
        if labels.shape != (n,):
            raise ValueError(f"{path}: {n} images but labels of shape {labels.shape}")
        if not np.isin(labels, (0, 1)).all():
            raise ValueError(f"{path}: labels must be 0 or 1")
        labels = labels.astype(np.int8)
    if names is not None and len(names) != n:
        raise ValueError(f"{path}: {n} images but {len(names)} names")
    return ImageSet(images, labels, names or tuple(map(str, range(n))))


def load_deepmir(name: str) -> ImageSet:
    """Load one of the DeepMir image sets drawn by the original encoder.

    Cordero, Menkovski & Allmer, bioRxiv 10.1101/840579. Images were made with RNAfold
    2.1.3 and the authors' encoder.

    Parameters
    ----------
    name : str
        One of ``modhsa_train``, ``modhsa_test``, ``hsapseudo_train``,
        ``hsapseudo_test``, or a path to an ``.npz`` with ``images`` and ``labels``
        (and optionally ``names`` or ``ids``).

    Returns
    -------
    ImageSet
        Images ``uint8 (N, 25, 100, 3)``, labels ``int8 (N,)`` and names.
    """
    path = data_dir() / "deepmir" / f"{name}.npz" if name in DEEPMIR_SETS else Path(name)
    if not path.is_file():
        raise ValueError(
            f"unknown DeepMir set or file {name!r}; known sets: {', '.join(DEEPMIR_SETS)}"
        )
    return load_images(path, labelled=True)


def dinucleotide_shuffle(sequence: str, rng: np.random.Generator) -> str:
    """A random sequence with exactly the dinucleotide counts of ``sequence``.

    The Altschul-Erickson shuffle, drawn uniformly among all such sequences by the
    Euler-path method of Kandel et al. (1996): each letter's outgoing transitions form a
    list; a random spanning arborescence towards the last letter fixes each list's last
    transition (Wilson's loop-erased random walk on the transition graph), the rest of each
    list is permuted, and the walk from the first letter reads the shuffled sequence. The
    first and last letters and every dinucleotide count are kept.

    Ref. Altschul & Erickson 1985, Mol. Biol. Evol. 2:526; Kandel, Matias, Unger & Winkler
    1996, Discrete Appl. Math. 71:171.

    Parameters
    ----------
    sequence : str
        Any string (RNA letters, in practice).
    rng : numpy.random.Generator
        The source of randomness (seed it for a reproducible shuffle).

    Returns
    -------
    str
        A sequence of the same length, letters and dinucleotide counts.

    >>> s = dinucleotide_shuffle("GGGAGGUAGUAGGUUGUAUAGUU", np.random.default_rng(0))
    >>> sorted(s[i : i + 2] for i in range(len(s) - 1)) == sorted(
    ...     "GGGAGGUAGUAGGUUGUAUAGUU"[i : i + 2] for i in range(22))
    True
    """
    if len(sequence) < 3:
        return sequence
    edges: dict[str, list[str]] = defaultdict(list)
    for a, b in itertools.pairwise(sequence):
        edges[a].append(b)
    last = sequence[-1]
    # Wilson's algorithm: a uniform random arborescence of the transition graph rooted at
    # the last letter, choosing each vertex's exit edge among its own transitions.
    exit_edge: dict[str, str] = {}
    in_tree = {last}
    for start in sorted(edges):
        vertex = start
        path = {}
        while vertex not in in_tree:
            path[vertex] = edges[vertex][rng.integers(len(edges[vertex]))]
            vertex = path[vertex]
        vertex = start
        while vertex not in in_tree:  # retrace the loop-erased walk into the tree
            exit_edge[vertex] = path[vertex]
            in_tree.add(vertex)
            vertex = path[vertex]
    lists: dict[str, list[str]] = {}
    for vertex, targets in edges.items():
        rest = list(targets)
        if vertex in exit_edge:
            rest.remove(exit_edge[vertex])
        order = rng.permutation(len(rest))
        lists[vertex] = [rest[i] for i in order] + (
            [exit_edge[vertex]] if vertex in exit_edge else []
        )
    position = dict.fromkeys(lists, 0)
    out = [sequence[0]]
    for _ in range(len(sequence) - 1):
        vertex = out[-1]
        out.append(lists[vertex][position[vertex]])
        position[vertex] += 1
    return "".join(out)
