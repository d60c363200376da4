"""Shared helpers of the experiments: fold + encode the deepMiRGene sets once, cached.

Folding a set with ViennaRNA takes about 40 s per 8,000 sequences on 2 cores, so each
set is folded and encoded once and cached under ``out/cache/`` (gitignored), keyed by the
ViennaRNA version.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "out" / "cache"
RESULTS = Path(__file__).resolve().parent / "results"


class EncodedSet(NamedTuple):
    """A deepMiRGene set folded by ViennaRNA and drawn by mirnamap.

    ``images`` uint8 (M, 25, 100, 3), ``labels`` int8 (M,), ``splits`` str (M,) and ``ids``
    for the M records that could be drawn; ``failed_ids`` / ``failed_reasons`` for the rest.
    """

    images: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    ids: np.ndarray
    structures: np.ndarray
    failed_ids: np.ndarray
    failed_reasons: np.ndarray
    n_records: int


def vienna_version() -> str:
    import RNA

    return str(RNA.__version__)


def encoded_deepmirgene(name: str) -> EncodedSet:
    """Fold and encode deepMiRGene set ``name`` (cached in out/cache)."""
    from mirnamap.datasets import load_deepmirgene

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"deepmirgene_{name}_vienna{vienna_version()}.npz"
    if not path.is_file():
        from mirnamap.encode import encode_folds
        from mirnamap.fold import fold

        records = load_deepmirgene(name)  # type: ignore[arg-type]
        folds = fold(records.sequences, ids=records.ids, progress=True)
        enc = encode_folds(folds)
        keep = enc.index
        np.savez_compressed(
            path,
            images=enc.images,
            labels=records.labels[keep],
            splits=np.array([records.splits[i] for i in keep], dtype=str),
            ids=np.array(enc.ids, dtype=str),
            structures=np.array(enc.structures, dtype=str),
            failed_ids=np.array([f.id for f in enc.failures], dtype=str),
            failed_reasons=np.array([f.reason for f in enc.failures], dtype=str),
            n_records=np.int64(len(records)),
        )
    with np.load(path, allow_pickle=False) as data:
        fields = {f: data[f] for f in EncodedSet._fields if f != "n_records"}
        return EncodedSet(**fields, n_records=int(data["n_records"]))


def versions() -> dict[str, str]:
    """Versions that matter for reproducing a result."""
    import keras
    import tensorflow as tf

    import mirnamap

    return {
        "python": platform.python_version(),
        "mirnamap": mirnamap.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "viennarna": vienna_version(),
        "numpy": np.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
    }


if __name__ == "__main__":
    for set_name in sys.argv[1:] or ["human", "whole", "new"]:
        s = encoded_deepmirgene(set_name)
        print(set_name, s.images.shape, "failed", len(s.failed_ids), "of", s.n_records)


def sequences_of(name: str) -> dict[str, str]:
    """Record id -> RNA sequence (upper case, T as U) of deepMiRGene set ``name``, for
    finding the same hairpin in two sets."""
    from mirnamap.datasets import load_deepmirgene

    records = load_deepmirgene(name)  # type: ignore[arg-type]
    pairs = zip(records.ids, records.sequences, strict=True)
    return {i: s.upper().replace("T", "U") for i, s in pairs}


def add_reduce_lr_option(parser) -> None:
    """``--reduce-lr N`` on an experiment's argparse parser (``train(reduce_lr=N)``)."""
    parser.add_argument(
        "--reduce-lr",
        type=int,
        default=None,
        help="halve the learning rate after this many epochs without a better validation loss",
    )


def train_on_masks(data: EncodedSet, fit: np.ndarray, val: np.ndarray, **options):
    """Train the DeepMir CNN as every deepMiRGene experiment here does.

    ``fit`` and ``val`` are boolean ``(M,)`` masks over ``data``: train on ``fit`` with
    balanced class weights, validate (and stop early, with ``early_stopping``) on ``val``.
    ``options`` go to :func:`mirnamap.train.train` (epochs, early_stopping, seed, ...).
    Returns its ``TrainResult``.
    """
    from mirnamap.train import train

    return train(
        data.images[fit],
        data.labels[fit],
        validation=(data.images[val], data.labels[val]),
        class_weight="balanced",
        verbose=True,
        **options,
    )


def deepmirgene_training_records() -> tuple[dict[str, tuple[np.ndarray, int, str]], set[str]]:
    """The deepMiRGene human and cross-species training records, once per sequence.

    Returns sequence (normalised) -> (image, label, set name), the first record of each
    sequence kept, and the sequences found with both labels (to be dropped). The test
    splits are left out.
    """
    from mirnamap.overlap import normalise

    by_sequence: dict[str, tuple[np.ndarray, int, str]] = {}
    conflicts: set[str] = set()
    for name in ("human", "whole"):
        data, by_id = encoded_deepmirgene(name), sequences_of(name)
        for image, label, split, record in zip(
            data.images, data.labels, data.splits, data.ids, strict=True
        ):
            if split == "test":
                continue
            sequence = normalise(by_id[str(record)])
            if sequence in by_sequence and by_sequence[sequence][1] != int(label):
                conflicts.add(sequence)
            by_sequence.setdefault(sequence, (image, int(label), name))
    return by_sequence, conflicts


#: The commit whose bundled ensemble was issue 12's five members (the default until issue 24).
ISSUE_12_ENSEMBLE = "190b2fd"


def ensemble_of_commit(commit: str = ISSUE_12_ENSEMBLE) -> Path:
    """The bundled ensemble file as it was at ``commit``, out of the git history (cached in
    ``out/cache``): the models a newer default replaced stay measurable."""
    import subprocess

    path = CACHE / f"deepmir_ensemble_{commit}.zip"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        blob = subprocess.run(
            ["git", "show", f"{commit}:mirnamap/assets/deepmir_ensemble.zip"],
            cwd=ROOT, check=True, capture_output=True,
        ).stdout  # fmt: skip
        tmp = path.with_suffix(".zip.tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
    return path
