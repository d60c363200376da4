"""mirnamap: what in a hairpin makes a CNN call it a pre-miRNA.

From a FASTA file to nucleotide-level saliency, in one call::

    import mirnamap
    result = mirnamap.explain_hairpins("hairpins.fa", methods=["gradient", "grad_cam"])
    result.to_frame()              # one row per nucleotide per method (pandas)
    result.save("out/explain")     # TSVs and PNGs, as ``mirnamap explain`` writes them

Data flows one way, and no module imports from a later stage (``tests/test_layout.py``
checks it)::

    structure, files, colours -> fold, datasets -> encode -> model, ensemble, precision
      -> train, evaluate -> saliency, mutagenesis -> project -> units -> motifs
      -> plot, export, report -> pipeline, stream -> benchmark -> cli

:mod:`mirnamap.structure` holds the sequence and dot-bracket rules every stage judges
records by. The data stages (structure, fold, encode, datasets) import neither TensorFlow
nor matplotlib, so folding and encoding start fast; the verbs exported here load the rest
only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: The names exported here, and the module each comes from (loaded on first use).
_EXPORTS = {
    "explain_hairpins": "mirnamap.pipeline",
    "predict_hairpins": "mirnamap.pipeline",
    "read_source": "mirnamap.pipeline",
    "Explanation": "mirnamap.pipeline",
    "Predictions": "mirnamap.pipeline",
    "Failure": "mirnamap.encode",
    "InputError": "mirnamap.pipeline",
    "Encoding": "mirnamap.encode",
    "Fold": "mirnamap.fold",
    "motifs_of": "mirnamap.pipeline",
    "StreamSummary": "mirnamap.stream",
    "ism": "mirnamap.mutagenesis",
    "explain_units": "mirnamap.units",
}

__all__ = [
    "Encoding",
    "Explanation",
    "Failure",
    "Fold",
    "InputError",
    "Predictions",
    "StreamSummary",
    "__version__",
    "explain_hairpins",
    "explain_units",
    "ism",
    "motifs_of",
    "predict_hairpins",
    "read_source",
]

if TYPE_CHECKING:
    from mirnamap.encode import Encoding, Failure
    from mirnamap.fold import Fold
    from mirnamap.mutagenesis import ism
    from mirnamap.pipeline import (
        Explanation,
        InputError,
        Predictions,
        explain_hairpins,
        motifs_of,
        predict_hairpins,
        read_source,
    )
    from mirnamap.stream import StreamSummary
    from mirnamap.units import explain_units


def __getattr__(name: str) -> Any:
    """Load an exported name's module on first use (PEP 562)."""
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mirnamap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
