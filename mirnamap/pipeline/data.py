"""Labelled hairpins from any source, for training and evaluation.

:func:`load_training_set` reads a bundled set (its published test split held out), two
FASTA files or a labelled image ``.npz`` into a :class:`TrainingSet`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.errors import Failure, InputError, failures_frame
from mirnamap.files import atomic_write, check_output_dir, check_output_file
from mirnamap.fold import fold
from mirnamap.pipeline.sources import Inputs, inputs_of_folds

if TYPE_CHECKING:
    import pandas as pd

    from mirnamap._typing import Images

__all__ = ["TRAINING_SETS", "TrainingSet", "load_training_set"]


#: The bundled sets :func:`load_training_set` trains on: deepMiRGene's human and
#: cross-species sets (their test splits held out) and DeepMir's training image sets.
TRAINING_SETS = ("human", "whole", "modhsa_train", "hsapseudo_train")


class TrainingSet(NamedTuple):
    """Labelled images to train on, a held-out test split where the source has one.

    Attributes
    ----------
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)``.
    labels : np.ndarray
        ``int8 (N,)``.
    test : tuple of (np.ndarray, np.ndarray) or None
        The published test split's images and labels, held out of ``images``.
    failures : tuple of Failure
        Records left out because they could not be folded or drawn.
    ids : tuple of str or None
        The N training records' ids (None where the source has none).
    sequences : tuple of str or None
        Their sequences (None for an image archive, which holds none).
    sources : tuple of str
        What was read (a bundled set's name, or the files), for a model's card.
    """

    images: Images
    labels: np.ndarray
    test: tuple[Images, np.ndarray] | None
    failures: tuple[Failure, ...]
    ids: tuple[str, ...] | None = None
    sequences: tuple[str, ...] | None = None
    sources: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per image: split ("train", or "test" for the held-out split), label."""
        import pandas as pd

        test = self.test[1] if self.test is not None else np.zeros(0, np.int8)
        return pd.DataFrame(
            {
                "split": ["train"] * len(self.labels) + ["test"] * len(test),
                "label": np.concatenate([self.labels, test]).astype(np.int8),
            }
        )

    def failures_frame(self) -> pd.DataFrame:
        """The records left out (not folded or not drawn): index, id, reason, stage."""
        return failures_frame(self.failures)

    def save(self, target: str | os.PathLike[str]) -> list[Path]:
        """Write a labelled image archive that ``mirnamap train --images`` reads
        (``images``, ``labels``, and ``test_images``, ``test_labels`` where there is a
        test split): ``target`` ending in ``.npz``, or ``training.npz`` in the folder."""
        target = Path(target)
        if target.suffix == ".npz":
            path = check_output_file(target)
        else:
            path = check_output_dir(target) / "training.npz"
        arrays = {"images": self.images, "labels": np.asarray(self.labels, np.int8)}
        if self.test is not None:
            arrays |= {"test_images": self.test[0], "test_labels": self.test[1]}
        with atomic_write(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return [path]


def _encoded_records(records: Any, workers: int | None, name: str) -> tuple[Inputs, np.ndarray]:
    """Fold and draw labelled records; their labels, for the drawn ones."""
    inputs = inputs_of_folds(
        fold(records.sequences, ids=records.ids, workers=workers), name, "fold"
    )
    return inputs, np.asarray(records.labels)[inputs.index]


def _records_of(inputs: Inputs, keep: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Ids and sequences of the drawn records ``keep`` selects."""
    encoding = inputs.encoding
    chosen = np.flatnonzero(keep)
    return (
        tuple(encoding.ids[k] for k in chosen),  # type: ignore[union-attr]
        tuple(encoding.sequences[k] for k in chosen),  # type: ignore[union-attr]
    )


def load_training_set(
    *,
    dataset: str | None = None,
    positive: str | os.PathLike[str] | None = None,
    negative: str | os.PathLike[str] | None = None,
    images: str | os.PathLike[str] | None = None,
    workers: int | None = None,
) -> TrainingSet:
    """Labelled training images from one source: a bundled set, two FASTA files or an .npz.

    Parameters
    ----------
    dataset : str, optional
        A bundled set: deepMiRGene ``human`` or ``whole`` (folded and drawn here; the
        published test split is held out) or a DeepMir ``*_train`` image set (its
        ``*_test`` set is the test split).
    positive, negative : path, optional
        FASTA files of pre-miRNAs and of negatives (folded and drawn here).
    images : path, optional
        A labelled image ``.npz`` (``images``, ``labels``).
    workers : int, optional
        Folding processes. Default is None: every core.

    Returns
    -------
    TrainingSet

    Raises
    ------
    InputError
        If no source or more than one is given, or the source cannot be read.
    """
    from mirnamap import datasets

    if dataset is not None and dataset not in TRAINING_SETS:
        raise InputError(f"unknown data set {dataset!r}; known: {', '.join(TRAINING_SETS)}")
    given = [s for s in (dataset, positive, images) if s is not None]
    if len(given) != 1 or (positive is None) != (negative is None):
        raise InputError(
            "give one source: --positive and --negative FASTA, --images NPZ or --dataset NAME"
        )
    try:
        if dataset in datasets.DEEPMIRGENE_SETS:
            records = datasets.load_deepmirgene(dataset)  # type: ignore[arg-type]
            inputs, labels = _encoded_records(records, workers, dataset)
            is_test = np.array([records.splits[i] == "test" for i in inputs.index], dtype=bool)
            test = None
            if is_test.any() and not is_test.all():
                test = (inputs.images[is_test], labels[is_test])
            keep = ~is_test if test is not None else np.ones(len(labels), dtype=bool)
            ids, sequences = _records_of(inputs, keep)
            return TrainingSet(
                inputs.images[keep], labels[keep], test, inputs.failures, ids, sequences,
                (f"bundled:{dataset}",),
            )  # fmt: skip
        if dataset is not None or images is not None:
            image_set = datasets.load_deepmir(str(dataset if dataset is not None else images))
            test = None
            if dataset is not None and dataset.endswith("_train"):
                held_out = datasets.load_deepmir(dataset.replace("_train", "_test"))
                test = (held_out.images, held_out.labels)
            name = f"bundled:{dataset}" if dataset is not None else str(images)
            return TrainingSet(
                image_set.images, image_set.labels, test, (), tuple(image_set.names), None,
                (name,),
            )  # type: ignore[arg-type]  # fmt: skip
        records = datasets.load_labelled_fasta(positive, negative)  # type: ignore[arg-type]
        inputs, labels = _encoded_records(records, workers, f"{positive} + {negative}")
        ids, sequences = _records_of(inputs, np.ones(len(labels), dtype=bool))
        return TrainingSet(
            inputs.images, labels, None, inputs.failures, ids, sequences,
            (str(positive), str(negative)),
        )  # fmt: skip
    except (OSError, ValueError) as error:
        raise InputError(str(error)) from None
