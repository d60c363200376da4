"""Training glue: labelled images from any source, the DeepMir CNN trained on them, and
what a training run writes.

:func:`load_training_set` reads a bundled set, two FASTA files or a labelled ``.npz``;
:func:`train_classifier` trains on it (:func:`mirnamap.train.train`) with a stratified
validation share and returns a :class:`TrainedClassifier`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.errors import Failure, failures_frame
from mirnamap.files import atomic_write, check_output_dir, check_output_file
from mirnamap.pipeline.data import TrainingSet

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from mirnamap.evaluate import Evaluation
    from mirnamap.members import TrainedEnsemble

__all__ = [
    "TrainedClassifier",
    "evaluate_model",
    "fit_ensemble",
    "train_classifier",
    "training_outputs",
]


def training_outputs(
    path: str | os.PathLike[str],
    metrics_path: str | os.PathLike[str] | None = None,
    curve_path: str | os.PathLike[str] | None = None,
) -> tuple[Path, Path, Path]:
    """The files :meth:`TrainedClassifier.save` writes: the model, the metrics JSON
    (default ``NAME.metrics.json``) and the learning-curve PNG (default
    ``NAME.learning_curve.png``), beside the model unless given.

    >>> [p.name for p in training_outputs("out/m.keras")]
    ['m.keras', 'm.metrics.json', 'm.learning_curve.png']
    """
    path = Path(path)
    stem = path.with_suffix("")
    return (
        path,
        Path(metrics_path or f"{stem}.metrics.json"),
        Path(curve_path or f"{stem}.learning_curve.png"),
    )


class TrainedClassifier(NamedTuple):
    """A model trained by :func:`train_classifier`, with what a report needs.

    Attributes
    ----------
    model : keras.Model
        The trained classifier (best validation weights where early stopping ran).
    history : dict of str to list of float
        Per-epoch losses and metrics.
    metrics : dict of str to dict
        :func:`mirnamap.evaluate.metrics` on the ``"validation"`` share and, where the
        set has one, on the ``"test"`` split.
    n_train, n_validation : int
        Images trained on and validated on.
    seed : int
        The seed of the split, the weights and the dropout.
    skipped : tuple of Failure
        Records of the training set left out (not folded or not drawn).
    gini : dict or None
        With the Gini bottleneck (``train(gini=...)``): ``lam``, ``layer``, and the
        trained layer's per-unit ``gini_index`` and ``mass_90`` (inputs carrying 90 % of
        |w|, :func:`mirnamap.train.mass_count`). Default is None: trained without it.
    """

    model: keras.Model
    history: dict[str, list[float]]
    metrics: dict[str, dict[str, Any]]
    n_train: int
    n_validation: int
    seed: int
    skipped: tuple[Failure, ...]
    gini: dict[str, Any] | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch: epoch (1-based) and every loss and metric of the history."""
        import pandas as pd

        frame = pd.DataFrame(self.history)
        frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
        return frame

    def failures_frame(self) -> pd.DataFrame:
        """The records of the training set left out: index, id, reason, stage."""
        return failures_frame(self.skipped)

    def save(
        self,
        target: str | os.PathLike[str],
        metrics_path: str | os.PathLike[str] | None = None,
        curve_path: str | os.PathLike[str] | None = None,
    ) -> list[Path]:
        """Write the model, a metrics JSON and a learning-curve PNG (what ``mirnamap
        train`` writes); returns the three paths.

        ``target`` is a folder (``model.keras``, ``model.metrics.json`` and
        ``model.learning_curve.png`` in it) or, ending in ``.keras``, the model file; the
        JSON and PNG default to ``NAME.metrics.json`` and ``NAME.learning_curve.png``
        beside the model."""
        from mirnamap.evaluate import save_learning_curve
        from mirnamap.model import save_model
        from mirnamap.train import device_name

        target = Path(target)
        if target.suffix != ".keras":
            target = check_output_dir(target) / "model.keras"
        path, metrics_path, curve_path = training_outputs(target, metrics_path, curve_path)
        for output in (path, metrics_path, curve_path):
            check_output_file(output)
        save_model(self.model, path)
        report = {
            "model": str(path),
            "device": device_name(),
            "seed": self.seed,
            "n_train": self.n_train,
            "n_validation": self.n_validation,
            "n_skipped": len(self.skipped),
            "skipped": [{"id": f.id, "reason": f.reason} for f in self.skipped],
            "epochs_run": len(self.history["loss"]),
            "metrics": self.metrics,
            "gini": self.gini,
            "history": self.history,
        }
        with atomic_write(metrics_path) as handle:
            json.dump(report, handle, indent=2)
        save_learning_curve(self.history, curve_path, title=path.name)
        return [path, metrics_path, curve_path]


def train_classifier(
    data: TrainingSet,
    *,
    validation_fraction: float = 0.1,
    seed: int = 0,
    **options: Any,
) -> TrainedClassifier:
    """Train the DeepMir CNN on a :class:`TrainingSet`, validated on a stratified share.

    Parameters
    ----------
    data : TrainingSet
        From :func:`load_training_set`; both classes must be present.
    validation_fraction : float, optional
        Share of each class held out for validation (:func:`mirnamap.train.stratified_split`)
        and early stopping. Default is 0.1.
    seed : int, optional
        Seed of the split, the weights and the dropout. Default is 0.
    **options
        Passed to :func:`mirnamap.train.train` (``epochs``, ``batch_size``,
        ``learning_rate``, ``class_weight``, ``early_stopping``, ``reduce_lr``,
        ``verbose``, ``gini``, ``gini_layer``).

    Returns
    -------
    TrainedClassifier
    """
    from mirnamap.evaluate import metrics
    from mirnamap.model import predict_proba
    from mirnamap.train import gini_index, mass_count, stratified_split, train

    images, labels = data.images, data.labels
    if len(set(np.asarray(labels).tolist())) < 2:
        raise ValueError("training needs both classes (pre-miRNA and negative)")
    is_val = stratified_split(labels, validation_fraction, seed)
    validation = (images[is_val], labels[is_val])
    result = train(images[~is_val], labels[~is_val], validation=validation, seed=seed, **options)
    scores = {"validation": metrics(validation[1], predict_proba(result.model, validation[0]))}
    if data.test is not None:
        scores["test"] = metrics(data.test[1], predict_proba(result.model, data.test[0]))
    n_val = int(is_val.sum())
    gini = None
    if options.get("gini") is not None:
        layer = options.get("gini_layer", "logits")
        kernel = result.model.get_layer(layer).get_weights()[0]
        gini = {
            "lam": float(options["gini"]),
            "layer": layer,
            "gini_index": gini_index(kernel).tolist(),
            "mass_90": mass_count(kernel, 0.9).tolist(),
        }
    return TrainedClassifier(
        result.model,
        result.history,
        scores,
        len(labels) - n_val,
        n_val,
        seed,
        data.failures,
        gini,
    )


def fit_ensemble(
    data: TrainingSet,
    *,
    test: TrainingSet | None = None,
    **options: Any,
) -> TrainedEnsemble:
    """Train, calibrate and describe an ensemble on a :class:`TrainingSet`
    (:func:`mirnamap.members.train_ensemble`, with the set's ids, sequences, sources and
    left-out records for its card and manifest).

    Parameters
    ----------
    data : TrainingSet
        From :func:`load_training_set`.
    test : TrainingSet, optional
        Records the ensemble will be tested on: any of them found in ``data`` (by sequence
        or by the strands read back from an image) is refused, or with
        ``allow_overlap=True`` warned about. Default is None: ``data``'s own test split,
        where it has one.
    **options
        Of :func:`mirnamap.members.train_ensemble`: ``members``, ``seed``, ``folds``,
        ``calibration_fraction``, ``epochs``, ``batch_size``, ``learning_rate``,
        ``class_weight``, ``early_stopping``, ``reduce_lr``, ``init``, ``freeze``,
        ``threshold``, ``checkpoint_dir``, ``resume``, ``allow_overlap``, ``verbose``.

    Returns
    -------
    TrainedEnsemble
        ``save("name.zip")`` writes the artifact ``predict --model`` reads.
    """
    from mirnamap.members import train_ensemble
    from mirnamap.overlap import Hairpins

    if test is not None:
        held_out, test_labels = Hairpins(test.sequences, test.images), test.labels
    elif data.test is not None:
        held_out, test_labels = data.test[0], data.test[1]
    else:
        held_out = test_labels = None
    if len(data.sources) == 2:  # a positive and a negative file: each record's own
        positive, negative = data.sources
        sources: Any = [positive if y == 1 else negative for y in np.asarray(data.labels)]
    else:
        sources = "; ".join(data.sources) or "images"
    return train_ensemble(
        data.images, data.labels, test=held_out, test_labels=test_labels,
        record_ids=data.ids, sequences=data.sequences, sources=sources,
        failures=data.failures, **options,
    )  # fmt: skip


def evaluate_model(
    models: Any,
    data: TrainingSet,
    *,
    threshold: float | None = None,
    batch_size: int = 256,
) -> Evaluation:
    """Score one or several models side by side on labelled records.

    Parameters
    ----------
    models : model, path, None, or mapping of str to them
        A ``.zip`` ensemble, a ``.keras`` file, a model in memory or None (the bundled
        ensemble); several as a mapping of display name to model. A path is named by
        its file's stem.
    data : TrainingSet
        From :func:`load_training_set`: a bundled set is scored on its held-out test
        split, any other source on all its records.
    threshold : float, optional
        The decision threshold of every model. Default is None: each model's stored
        operating point (0.5 for one without).
    batch_size : int, optional
        Images per forward pass. Default is 256.

    Returns
    -------
    Evaluation
        ``to_frame()``: one row per model (accuracy, sensitivity, specificity, MCC,
        AUROC, AUPRC, sensitivity at specificity 0.90/0.95/0.99, ECE); ``save(folder)``:
        the TSV, JSON and the ROC, PR and reliability PNGs.
    """
    from collections.abc import Mapping

    from mirnamap.evaluate import evaluate_models

    if not isinstance(models, Mapping):
        models = [models] if not isinstance(models, (list, tuple)) else models
        named = {}
        for model in models:
            name = "bundled" if model is None else (
                Path(model).stem if isinstance(model, (str, os.PathLike)) else f"model{len(named)}"
            )  # fmt: skip
            named[name if name not in named else f"{name}~{len(named) + 1}"] = model
        models = named
    if data.test is not None:
        images, labels, ids = data.test[0], data.test[1], None
    else:
        images, labels, ids = data.images, data.labels, data.ids
    return evaluate_models(
        models, images, labels, ids=ids, failures=data.failures if data.test is None else (),
        threshold=threshold, batch_size=batch_size,
    )  # fmt: skip
