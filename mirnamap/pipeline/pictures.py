"""Each explained record's pictures and colour files, in a folder of its own.

``track.png`` (per-nucleotide saliency under the sequence and its fold), per method
``hairpin_<m>.png`` (the map on the image) and ``structure_<m>.png`` (the map on the
drawn fold), ``backends.png`` (the methods side by side, with more than one) and
``colours.txt`` (VARNA arguments and forna colours per method).
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from mirnamap.errors import Failure
from mirnamap.files import atomic_write

if TYPE_CHECKING:
    from mirnamap.pipeline.results import Explanation

__all__ = ["TARGET_LABELS", "UNSURE", "heading_id", "record_pictures", "save_pictures"]

#: What a picture's heading adds to the id of a record whose call is flagged unsure.
UNSURE = "unsure: the members disagree"

#: What the explained logit is called in the pictures, by :attr:`Explanation.target`.
TARGET_LABELS = {1: "pre-miRNA logit", 0: "negative logit", None: "predicted class logit"}


def heading_id(result: Explanation, k: int) -> str:
    """The id a picture of record ``k`` is headed with: with :data:`UNSURE` where the
    members' spread flags its call (:attr:`Explanation.flagged`), for a map of such a
    hairpin explains a call the members do not share."""
    return f"{result.ids[k]} ({UNSURE})" if result.flagged[k] else result.ids[k]


def record_pictures(result: Explanation, k: int, folder: Path, svg: bool = False) -> list[Path]:
    """Draw record ``k`` of ``result`` into ``folder``; returns the files written.

    Raises
    ------
    ValueError
        If the record cannot be drawn.
    OutputError
        If a file cannot be written (it names the file).
    """
    from mirnamap.export import forna_colours, varna_arguments
    from mirnamap.plot import (
        plot_backends,
        plot_hairpin,
        plot_sequence_track,
        plot_structure,
        save_figure,
    )

    formats = ("png", "svg") if svg else ("png",)
    aim = TARGET_LABELS[result.target]
    record_id = heading_id(result, k)
    sequence, structure = result.sequences[k], result.structures[k]
    p = float(result.probabilities[k])
    scores = {m: result.projections[m].scores[k] for m in result.methods}
    # The uncertainty marks: where the members do not all give the mean's sign.
    agreement = None
    if len(result.members) > 1:
        agreement = {m: result.agreement[m][k] for m in result.methods if m in result.agreement}
    track = plot_sequence_track(
        scores, sequence, structure, record_id=record_id, probability=p, agreement=agreement
    )
    written = save_figure(track, folder / "track", formats=formats)
    for m in result.methods:
        label = f"{m} ({aim})"
        hairpin = plot_hairpin(
            result.images[k], result.maps[m][k], record_id=record_id, probability=p, method=label
        )
        written += save_figure(hairpin, folder / f"hairpin_{m}", formats=formats)
        drawing = plot_structure(
            sequence, structure, scores[m], record_id=record_id, probability=p, method=label
        )
        written += save_figure(drawing, folder / f"structure_{m}", formats=formats)
    if len(result.methods) > 1:
        side_by_side = plot_backends(
            result.images[k],
            {m: result.maps[m][k] for m in result.methods},
            record_id=record_id,
            probability=p,
        )
        written += save_figure(side_by_side, folder / "backends", formats=formats)
    with atomic_write(folder / "colours.txt") as handle:
        for m in result.methods:
            varna = shlex.join(varna_arguments(sequence, structure, scores[m]))
            handle.write(f"# {m}\nVARNA\t{varna}\nforna\t{forna_colours(scores[m])}\n")
    return [*written, folder / "colours.txt"]


def save_pictures(
    result: Explanation,
    folder: Path,
    names: list[str],
    *,
    svg: bool = False,
    progress: bool | None = None,
) -> tuple[list[Path], tuple[Failure, ...]]:
    """Draw every record into ``folder / names[k]``.

    Returns the files written and the records that could not be drawn (stage
    ``"pictures"``, with the reason). A file that cannot be written raises
    :class:`~mirnamap.errors.OutputError`: a full disk is not a record's failure.
    """
    from tqdm.auto import tqdm

    written: list[Path] = []
    failed = []
    for k in tqdm(range(len(result)), desc="pictures", unit="record", disable=progress is False):
        # An earlier run's pictures of this record (other methods, an SVG) go first.
        shutil.rmtree(folder / names[k], ignore_errors=True)
        try:
            written += record_pictures(result, k, folder / names[k], svg)
        except ValueError as error:
            reason = f"pictures failed: {error}"
            failed.append(Failure(int(result.index[k]), result.ids[k], reason, "pictures"))
    return written, tuple(failed)
