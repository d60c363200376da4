"""From any input to predictions and nucleotide-level explanations: the stages glued once.

The public verbs, each returning one type::

    read_source(source)                  -> Inputs        every record, drawn or failed
    predict_hairpins(source)             -> Predictions   in memory
    explain_hairpins(source, methods)    -> Explanation   in memory
    stream_predictions(source, out)      -> StreamSummary chunked, resumable, Dask
    stream_explanations(source, out)     -> StreamSummary chunked, resumable, Dask
    motifs_of(explanation, method)       -> MotifResult
    train_classifier(load_training_set(...)) -> TrainedClassifier

Every result has ``to_frame()``, ``failures_frame()`` and ``save(target) -> list[Path]``.
Every input record comes out with a result or a :class:`~mirnamap.errors.Failure` that
names the stage and the reason; input that cannot be used at all raises
:class:`~mirnamap.errors.InputError` naming the file.

One job per module, imports pointing one way (``tests/test_layout.py`` checks it)::

    sources -> chunks; writers -> pictures -> results -> predict -> methods, maps
      -> explain -> journal -> executors -> streaming; data -> training; results -> motifs

The streamed runs call the in-memory cores (:func:`~mirnamap.pipeline.predict.predict_inputs`,
:func:`~mirnamap.pipeline.explain.explain_inputs`), never the public verbs.
"""

from __future__ import annotations

from mirnamap.errors import Failure, InputError, InputWarning
from mirnamap.model import TARGETS
from mirnamap.pipeline.chunks import RECORDS_PER_CHUNK, Chunk, iter_chunks
from mirnamap.pipeline.data import TRAINING_SETS, TrainingSet, load_training_set
from mirnamap.pipeline.explain import (
    MEMBER_SAMPLES,
    ExplainOptions,
    explain_hairpins,
    explain_inputs,
)
from mirnamap.pipeline.methods import SEQUENCE_METHODS, list_methods, methods_frame
from mirnamap.pipeline.motifs import MotifResult, motifs_of
from mirnamap.pipeline.predict import PredictOptions, predict_hairpins, predict_inputs
from mirnamap.pipeline.results import Explanation, Predictions, StreamSummary
from mirnamap.pipeline.sources import (
    Inputs,
    Source,
    check_source_path,
    inputs_of_folds,
    kind_of_file,
    kind_of_source,
    read_source,
)
from mirnamap.pipeline.streaming import stream_explanations, stream_predictions
from mirnamap.pipeline.training import (
    TrainedClassifier,
    evaluate_model,
    fit_ensemble,
    train_classifier,
    training_outputs,
)

__all__ = [
    "MEMBER_SAMPLES",
    "RECORDS_PER_CHUNK",
    "SEQUENCE_METHODS",
    "TARGETS",
    "TRAINING_SETS",
    "Chunk",
    "ExplainOptions",
    "Explanation",
    "Failure",
    "InputError",
    "InputWarning",
    "Inputs",
    "MotifResult",
    "PredictOptions",
    "Predictions",
    "Source",
    "StreamSummary",
    "TrainedClassifier",
    "TrainingSet",
    "check_source_path",
    "evaluate_model",
    "explain_hairpins",
    "explain_inputs",
    "fit_ensemble",
    "inputs_of_folds",
    "iter_chunks",
    "kind_of_file",
    "kind_of_source",
    "list_methods",
    "load_training_set",
    "methods_frame",
    "motifs_of",
    "predict_hairpins",
    "predict_inputs",
    "read_source",
    "stream_explanations",
    "stream_predictions",
    "train_classifier",
    "training_outputs",
]
