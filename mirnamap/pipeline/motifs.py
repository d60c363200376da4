"""Seqlets and motifs of one method's nucleotide maps across the explained hairpins."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.errors import Failure, failures_frame
from mirnamap.files import atomic_write, check_output_dir
from mirnamap.pipeline.results import Explanation

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MotifResult", "motifs_of"]


class MotifResult(NamedTuple):
    """Seqlets and motifs of one method's nucleotide maps (:func:`motifs_of`).

    Attributes
    ----------
    method : str
        The backend whose maps were searched.
    seqlets : mirnamap.motifs.Seqlets
        Every seqlet, and per explained hairpin its threshold or why it was skipped.
    motifs : mirnamap.motifs.Motifs
        The motifs, by support, and each seqlet's motif.
    failures : tuple of Failure
        The records of the explanation that have no map at all.
    """

    method: str
    seqlets: Any
    motifs: Any
    failures: tuple[Failure, ...] = ()

    def seqlet_frame(self) -> pd.DataFrame:
        """One row per seqlet: method, id, hairpin, position (1-based start), start, end,
        sequence, sign, score, region, threshold, motif ("" for none)."""
        frame = self.seqlets.to_frame(self.motifs.assignment)
        frame.insert(2, "position", frame["start"] + 1)
        frame.insert(0, "method", self.method)
        return frame

    def to_frame(self) -> pd.DataFrame:
        """The seqlets (:meth:`seqlet_frame`): one row per seqlet."""
        return self.seqlet_frame()

    def failures_frame(self) -> pd.DataFrame:
        """The records of the explanation that have no map: index, id, reason, stage."""
        return failures_frame(self.failures)

    def hairpins_frame(self) -> pd.DataFrame:
        """One row per input record: searched, skipped (with the reason) or failed before
        it had a map (with the stage's reason)."""
        import pandas as pd

        frame = self.seqlets.hairpins_frame()
        failed = pd.DataFrame(
            {
                "id": [f.id for f in self.failures],
                "n_seqlets": 0,
                "threshold": np.nan,
                "status": "failed",
                "reason": [f"{f.stage}: {f.reason}" for f in self.failures],
            }
        )
        return pd.concat([frame, failed], ignore_index=True) if len(failed) else frame

    def save(self, folder: str | os.PathLike[str], *, logos: bool = True) -> list[Path]:
        """Write ``seqlets.tsv``, ``motifs.tsv``, ``hairpins.tsv`` and, with ``logos``, one
        ``logos/<motif>.png`` per motif (an earlier run's ``logos/motif_*.png`` are removed
        first); returns the files written."""
        folder = check_output_dir(folder)
        written = []
        for name, frame in (
            ("seqlets.tsv", self.seqlet_frame()),
            ("motifs.tsv", self.motifs.to_frame().assign(method=self.method)),
            ("hairpins.tsv", self.hairpins_frame()),
        ):
            with atomic_write(folder / name) as handle:
                frame.to_csv(handle, sep="\t", index=False, float_format="%.6g")
            written.append(folder / name)
        for stale in (folder / "logos").glob("motif_*.png"):  # of an earlier run
            stale.unlink()
        if logos and len(self.motifs):
            from mirnamap.plot import save_motif_logos

            written += save_motif_logos(self.motifs.motifs, folder / "logos")
        return written


def motifs_of(
    explanation: Explanation,
    method: str,
    *,
    seqlet_options: Mapping[str, Any] | None = None,
    motif_options: Mapping[str, Any] | None = None,
) -> MotifResult:
    """Seqlets and motifs of one method's nucleotide maps across the explained hairpins.

    Parameters
    ----------
    explanation : Explanation
        From :func:`explain_hairpins`.
    method : str
        One of ``explanation.methods``.
    seqlet_options : mapping, optional
        Options of :func:`mirnamap.motifs.call_seqlets` (width, alpha, n_null, sign,
        max_per_hairpin; ``seed`` defaults to the explanation's seed).
    motif_options : mapping, optional
        Options of :func:`mirnamap.motifs.find_motifs` (k, flank, min_support, ...).

    Returns
    -------
    MotifResult
    """
    from mirnamap.motifs import call_seqlets, find_motifs

    options = {"seed": explanation.seed, **(seqlet_options or {})}
    found = call_seqlets(
        explanation.scores(method),
        explanation.sequences,
        explanation.structures,
        ids=explanation.ids,
        **options,
    )
    return MotifResult(
        method, found, find_motifs(found, **(motif_options or {})), explanation.failures
    )
