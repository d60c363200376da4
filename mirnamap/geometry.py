"""The geometry of the hairpin image of Cordero, Menkovski & Allmer: one home for it.

Every stage that checks, draws or allocates images reads these names (the encoder draws
on them, the model reads them, the plots check them) rather than writing the numbers.

>>> IMAGE_SHAPE, MAP_SHAPE
((25, 100, 3), (25, 100))
"""

from __future__ import annotations

__all__ = ["CHANNELS", "HEIGHT", "IMAGE_SHAPE", "MAP_SHAPE", "MIDLINE", "WIDTH"]

#: Image height in pixels: rows 0-12 are the top strand, rows 13-24 the bottom strand.
HEIGHT = 25
#: Image width in pixels (columns of the alignment); columns from 100 on are cut off.
WIDTH = 100
#: The colour channels (R, G, B).
CHANNELS = 3
#: The last row of the top half; the bottom half starts at ``MIDLINE + 1``.
MIDLINE = 12
#: One image, ``(height, width, channels)``.
IMAGE_SHAPE = (HEIGHT, WIDTH, CHANNELS)
#: One saliency map or pixel layout, ``(height, width)``.
MAP_SHAPE = (HEIGHT, WIDTH)
