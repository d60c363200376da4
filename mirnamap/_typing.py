"""Type aliases shared across mirnamap's modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

#: A batch of hairpin images, ``uint8`` of shape ``(N, 25, 100, 3)``.
Images: TypeAlias = npt.NDArray[np.uint8]
#: A batch of pixel maps (saliency), ``float32`` of shape ``(N, 25, 100)``.
Maps: TypeAlias = npt.NDArray[np.float32]
#: Pixel-to-nucleotide layout, ``int16`` of shape ``(N, 25, 100)``.
Layout: TypeAlias = npt.NDArray[np.int16]
#: Class labels, ``int`` of shape ``(N,)`` (1 = pre-miRNA, 0 = negative).
Labels: TypeAlias = npt.NDArray[np.integer]
#: A list of RNA sequences or dot-bracket structures.
Strings: TypeAlias = Sequence[str]
