"""mirnamap: what in a hairpin makes a CNN call it a pre-miRNA.

From a FASTA file to nucleotide-level saliency, in one call::

    import mirnamap
    result = mirnamap.explain_hairpins("hairpins.fa", methods=["gradient", "grad_cam"])
    result.to_frame()              # one row per nucleotide per method (pandas)
    result.save("out/explain")     # TSVs and PNGs, as ``mirnamap explain`` writes them

Every verb exported here returns one type, and every result has ``to_frame()``,
``failures_frame()`` and ``save(target) -> list[Path]``. Data flows one way, and no module
imports from a later stage (``tests/test_layout.py`` checks it)::

    errors, structure, files, colours, workers -> fold, datasets -> encode
      -> model, ensemble, precision -> train, evaluate -> saliency, mutagenesis
      -> project -> units -> motifs -> plot, export, report -> pipeline -> benchmark -> cli

:mod:`mirnamap.structure` holds the sequence and dot-bracket rules every stage judges
records by. The data stages (structure, fold, encode, datasets) import neither TensorFlow
nor matplotlib, so folding and encoding start fast; the names exported here load the rest
only when first used.
"""

import importlib as _importlib

__version__ = "0.2.0"

#: The names exported here, and the module each comes from (loaded on first use): every
#: public verb and every type the verbs return.
_EXPORTS = {
    # verbs
    "read_source": "mirnamap.pipeline",
    "predict_hairpins": "mirnamap.pipeline",
    "explain_hairpins": "mirnamap.pipeline",
    "stream_predictions": "mirnamap.pipeline",
    "stream_explanations": "mirnamap.pipeline",
    "list_methods": "mirnamap.pipeline",
    "motifs_of": "mirnamap.pipeline",
    "load_training_set": "mirnamap.pipeline",
    "train_classifier": "mirnamap.pipeline",
    "fit_ensemble": "mirnamap.pipeline",
    "evaluate_model": "mirnamap.pipeline",
    "ism": "mirnamap.mutagenesis",
    "explain_units": "mirnamap.units",
    # what they return
    "Inputs": "mirnamap.pipeline",
    "Predictions": "mirnamap.pipeline",
    "Explanation": "mirnamap.pipeline",
    "StreamSummary": "mirnamap.pipeline",
    "MotifResult": "mirnamap.pipeline",
    "TrainingSet": "mirnamap.pipeline",
    "TrainedClassifier": "mirnamap.pipeline",
    "TrainedEnsemble": "mirnamap.members",
    "Evaluation": "mirnamap.evaluate",
    "Mutagenesis": "mirnamap.mutagenesis",
    "UnitDecomposition": "mirnamap.units",
    "Encoding": "mirnamap.encode",
    "Fold": "mirnamap.fold",
    # errors and warnings
    "Failure": "mirnamap.errors",
    "InputError": "mirnamap.errors",
    "OutputError": "mirnamap.errors",
    "WorkerError": "mirnamap.errors",
    "MirnamapWarning": "mirnamap.errors",
    "InputWarning": "mirnamap.errors",
}

__all__ = sorted(["__version__", *_EXPORTS])


def __getattr__(name: str):
    """Load an exported name's module on first use (PEP 562)."""
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mirnamap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
