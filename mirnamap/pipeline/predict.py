"""Predictions: the in-memory core and the public verb.

:func:`predict_inputs` predicts :class:`~mirnamap.pipeline.sources.Inputs` with a resolved
ensemble (the streamed and distributed runs call it on each chunk);
:func:`predict_hairpins` reads any source and calls it once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mirnamap.errors import InputError
from mirnamap.model import LOGITS
from mirnamap.pipeline.results import Predictions
from mirnamap.pipeline.sources import Inputs, Source, read_source

if TYPE_CHECKING:
    import keras

    from mirnamap.ensemble import Ensemble

__all__ = ["PredictOptions", "predict_hairpins", "predict_inputs", "resolve_model"]


@dataclass(frozen=True)
class PredictOptions:
    """The checked options of a prediction.

    Attributes
    ----------
    threshold : float or None
        Call a pre-miRNA at ``probability >= threshold``; None: the model's stored
        operating point (:attr:`mirnamap.ensemble.Ensemble.threshold`, 0.5 for a model
        without one).
    batch_size : int
        Images per forward pass (never changes the result).
    precision : str
        Arithmetic of the forward passes (:mod:`mirnamap.precision`).
    """

    threshold: float | None = None
    batch_size: int = 256
    precision: str = "float32"

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def resolve_model(
    model: Ensemble | keras.Model | str | os.PathLike[str] | None,
    members: Sequence[int | str] | None = None,
    precision: str = "float32",
) -> Ensemble:
    """The classifier (:func:`mirnamap.ensemble.resolve_ensemble`), its members running in
    ``precision`` (float32, with a warning, where the hardware lacks it). The caller's
    model is never changed: a reduced precision runs on copies.

    Raises
    ------
    InputError
        For a model of other than two classes (negative, pre-miRNA).
    """
    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.precision import effective_precision, precision_model

    ensemble = resolve_ensemble(model, members)
    for name, member in zip(ensemble.names, ensemble.members, strict=True):
        n_classes = member.get_layer(LOGITS).output.shape[-1]
        if n_classes != 2:  # class 1 is the pre-miRNA: a model of other classes is no use
            raise InputError(
                f"{model if isinstance(model, (str, os.PathLike)) else 'model'} (member "
                f"{name!r}): {n_classes} classes; mirnamap predicts P(pre-miRNA) with a "
                "two-class model (0 = negative, 1 = pre-miRNA)"
            )
    ran = effective_precision(precision)
    if ran == "float32":
        return ensemble
    return ensemble.with_members([precision_model(member, ran) for member in ensemble.members])


def predict_inputs(
    inputs: Inputs, ensemble: Ensemble, options: PredictOptions = PredictOptions()
) -> Predictions:
    """P(pre-miRNA) of every record of ``inputs`` (NaN with a reason where no image)."""
    columns = [np.full(len(inputs.ids), np.nan) for _ in range(3)]
    if len(inputs.images):
        prediction = ensemble.predict(inputs.images, batch_size=options.batch_size)
        for column, values in zip(columns, prediction[:3], strict=True):
            column[inputs.index] = values
    probabilities, sd, calibrated = columns
    several = len(ensemble) > 1
    given = options.threshold is not None
    return Predictions(
        inputs.ids,
        probabilities,
        inputs.failures,
        inputs.labels,
        float(options.threshold if given else ensemble.threshold),
        sd if several else None,
        calibrated if several else None,
        "given" if given else "model",
        ensemble.flag_sd if several else None,
    )


def predict_hairpins(
    source: Source,
    model: Ensemble | keras.Model | str | os.PathLike[str] | None = None,
    *,
    members: Sequence[int | str] | None = None,
    threshold: float | None = None,
    batch_size: int = 256,
    workers: int | None = None,
    precision: str = "float32",
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
) -> Predictions:
    """Predict P(pre-miRNA) for every record of any input, in memory.

    For inputs too large for memory, to resume, or on a Dask cluster, use
    :func:`~mirnamap.pipeline.stream_predictions`.

    Parameters
    ----------
    source : path, Encoding, sequence of str, mapping, or np.ndarray
        Anything :func:`~mirnamap.pipeline.read_source` reads.
    model : Ensemble, keras.Model, path or None, optional
        The classifier: an ensemble, one model, a ``.zip`` ensemble or ``.keras`` file.
        Default is None: the bundled one (:func:`mirnamap.ensemble.resolve_ensemble`).
    members : sequence of int or str, optional
        Use only these members of the ensemble. Default is None: all.
    threshold : float, optional
        Call a pre-miRNA at ``probability >= threshold``. Default is None: the model's
        stored operating point (0.5 for a model without one); ``Predictions.threshold``
        and the TSV's ``threshold`` column say which was used.
    batch_size : int, optional
        Images per forward pass; never changes the result. Default is 256.
    workers : int, optional
        Folding processes. Default is None: every core.
    precision : {"float32", "bfloat16", "float16"}, optional
        Arithmetic of the forward passes (:mod:`mirnamap.precision`); float32 with a
        warning where the hardware lacks the instructions. Default is "float32".
    temperature : float, optional
        Folding temperature in degrees Celsius. Default is None: 37 C.
    energy_params : path or str, optional
        A ViennaRNA ``.par`` file or a set of :data:`mirnamap.fold.ENERGY_SETS`. Default
        is None: Turner 2004.

    Returns
    -------
    Predictions
        One probability per input record (NaN with a reason for those without an image).
    """
    options = PredictOptions(threshold, batch_size, precision)
    ensemble = resolve_model(model, members, precision)
    inputs = read_source(
        source, workers=workers, temperature=temperature, energy_params=energy_params
    )
    return predict_inputs(inputs, ensemble, options)
