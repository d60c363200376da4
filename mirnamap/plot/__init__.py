"""Pictures of saliency: on the hairpin image, along the sequence, on the fold, per data set.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state, safe in threads and with the Agg backend); :func:`save_figure` writes it as PNG
and/or SVG and closes it. Signed scores are drawn with a diverging colour map on symmetric
limits ``[-m, m]`` (blue negative, white 0, red positive) and a colour bar; a nucleotide
with no score (cut off the canvas) is grey, never white. Titles carry the record id, the
method and the predicted probability when given.

Functions
---------
plot_hairpin
    The 25 x 100 hairpin image, its saliency map, and the map over the image.
plot_sequence_track
    One row per backend, one cell per nucleotide; sequence and dot-bracket underneath.
plot_structure
    The secondary structure (ViennaRNA layout) with each nucleotide coloured by its score.
plot_backends
    One hairpin explained by several backends, one panel each.
plot_average_maps
    Average maps of groups of hairpins (e.g. true positives vs true negatives).
plot_region_bars
    Per-region bars (mean and standard error) for groups, one panel per backend.
plot_motif_logo, save_motif_logos
    Sequence logos of motifs found across hairpins (:mod:`mirnamap.motifs`).
plot_units, plot_unit_regions
    A logit as a few dense units' tracks; which units fall on which region
    (:mod:`mirnamap.units`).
"""

from __future__ import annotations

# The modules: _common (titles, colour map, saving), hairpin, track, structure, groups,
# motifs, units. CIRCLE_RADIUS and UNSTABLE_NOTE are public too, though not in __all__.
from mirnamap.plot._common import NO_SCORE, save_figure, shorten, title
from mirnamap.plot.groups import plot_average_maps, plot_region_bars
from mirnamap.plot.hairpin import plot_backends, plot_hairpin
from mirnamap.plot.motifs import plot_motif_logo, save_motif_logos
from mirnamap.plot.structure import CIRCLE_RADIUS as CIRCLE_RADIUS
from mirnamap.plot.structure import (
    LAYOUTS,
    label_position,
    plot_structure,
    structure_coordinates,
)
from mirnamap.plot.track import MIN_AGREEMENT, plot_sequence_track, unstable
from mirnamap.plot.track import UNSTABLE_NOTE as UNSTABLE_NOTE
from mirnamap.plot.units import plot_unit_regions, plot_units

__all__ = [
    "LAYOUTS",
    "MIN_AGREEMENT",
    "NO_SCORE",
    "label_position",
    "plot_average_maps",
    "plot_backends",
    "plot_hairpin",
    "plot_motif_logo",
    "plot_region_bars",
    "plot_sequence_track",
    "plot_structure",
    "plot_unit_regions",
    "plot_units",
    "save_figure",
    "save_motif_logos",
    "shorten",
    "structure_coordinates",
    "title",
    "unstable",
]
