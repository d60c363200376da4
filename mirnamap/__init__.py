"""mirnamap: what in a hairpin makes a CNN call it a pre-miRNA.

Data flows one way: ``fold -> encode -> model/train -> saliency -> project -> plot``.
The data stages (:mod:`mirnamap.fold`, :mod:`mirnamap.encode`, :mod:`mirnamap.datasets`)
import neither TensorFlow nor matplotlib, so folding and encoding start fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
