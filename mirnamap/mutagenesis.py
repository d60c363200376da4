"""In-silico mutagenesis with refolding: explain a hairpin at the sequence, not the image.

Every image backend (:mod:`mirnamap.saliency`) differentiates or occludes the **drawing**.
A nucleotide's real effect includes what it does to the fold: one substitution can open
a pair, move a bulge and shift a whole arm of the picture. :func:`ism` therefore mutates
each position of a hairpin to each of the three other bases (and, as an option, deletes
it), **refolds** every mutant with ViennaRNA (:func:`mirnamap.fold.fold`), redraws it
(:func:`mirnamap.encode.encode`) and predicts it. Per hairpin it gives

* the ``L x 4`` matrix of logit changes, mutant minus wild type (columns A, C, G, U, and a
  fifth for the deletion with ``deletions=True``), NaN at the wild-type base;
* the nucleotide score: the wild-type logit minus the mean logit of its mutants, so a
  positive score means "this nucleotide pushes towards the target class";
* for every mutant whether its MFE structure differs from the wild type's, which splits
  each score into the part carried by mutants that **changed the fold** and the part of
  mutants with the **same fold, another letter** (the two add up to the score).

Mutagenesis of a fixed one-hot sequence (tangermeme's ``saturation_mutagenesis``) keeps
the structure; here the structure follows the sequence, as it does in the cell. The
related ideas: mirDNN blanks one nucleotide at a time (Yones et al. 2021, Bioinformatics
37:2365), DeepBind's mutation maps (Alipanahi et al. 2015, Nat. Biotechnol. 33:831).

The cost is ``3 L`` (``4 L`` with deletions) folds and forward passes per hairpin; the
folds run over the warm worker processes of :mod:`mirnamap.workers` (started at the first
chunk, reused by the next), the predictions in batches, a chunk of hairpins at a time.
The method is deterministic: it has no random step.

>>> import numpy as np
>>> from mirnamap.encode import encode
>>> enc = encode(["GGGAAACCC"], ["(((...)))"])
>>> maps = paint_scores([np.arange(9.0)], enc.layout)
>>> from mirnamap.project import project  # a later stage, only to show the round trip
>>> project(maps, enc.layout, [9]).scores[0].round(6).tolist()
[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from mirnamap.encode import encode
from mirnamap.errors import Failure, failures_frame
from mirnamap.files import atomic_write, check_output_dir
from mirnamap.fold import fold
from mirnamap.geometry import HEIGHT, WIDTH
from mirnamap.model import resolve_target
from mirnamap.structure import StructureError, as_string_list, normalise_sequence

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from mirnamap._typing import Layout, Maps
    from mirnamap.ensemble import Ensemble

__all__ = ["ALPHABET", "DELETION", "Mutagenesis", "ism", "mutants_of", "paint_scores"]

#: The substitution columns of the mutation matrix, in order.
ALPHABET = ("A", "C", "G", "U")
#: Name of the deletion column (the fifth, with ``deletions=True``).
DELETION = "-"


class Mutagenesis(NamedTuple):
    """In-silico mutagenesis of the ``M`` hairpins whose wild type could be drawn.

    Every input record is either here (``index`` gives its position in the input) or in
    ``failures`` with the reason. ``C`` is 4 (A, C, G, U) or 5 (and the deletion).

    Attributes
    ----------
    ids, sequences, structures : tuple of str
        Per hairpin: id, wild-type sequence (upper-case, T -> U) and the structure it was
        drawn with (the given one, or its ViennaRNA MFE structure).
    index : np.ndarray
        ``int64 (M,)``: each hairpin's position in the input.
    columns : tuple of str
        The ``C`` column names: :data:`ALPHABET`, then :data:`DELETION` if asked for.
    target : np.ndarray
        ``int64 (M,)``: the class whose logit is explained, per hairpin.
    logits : np.ndarray
        ``float64 (M,)``: the wild type's target logit (the ensemble's combined logit,
        :func:`mirnamap.ensemble.combine_logits`).
    deltas : tuple of np.ndarray
        M ``float64 (L_i, C)`` matrices: mutant logit minus wild-type logit; NaN at the
        wild-type base (no mutant there) and for a mutant that could not be drawn.
    changed : tuple of np.ndarray
        M ``bool (L_i, C)``: the mutant's MFE structure differs from the wild type's (for
        a deletion: from the wild type's with that position removed); False at the
        wild-type base.
    undrawable : tuple of np.ndarray
        M ``bool (L_i, C)``: the mutant folded into something that is not one hairpin and
        has no image (its delta is NaN).
    scores : tuple of np.ndarray
        M ``float64 (L_i,)``: wild-type logit minus the mean logit of the position's
        drawable mutants (``-nanmean(deltas, axis=1)``); NaN if none could be drawn.
    fold_scores, letter_scores : tuple of np.ndarray
        M ``float64 (L_i,)``: the parts of ``scores`` from mutants that changed the fold
        and from those that kept it (the sum of their deltas over all drawable mutants of
        the position, negated); ``fold_scores + letter_scores == scores``.
    sd : tuple of np.ndarray
        M ``float64 (L_i,)``: standard deviation of the score across the ensemble's
        members (0 for one model; NaN where the score is).
    n_mutants : np.ndarray
        ``int64 (M,)``: mutants made per hairpin (``(C - 1) L`` substitutions and
        deletions; the wild type is never one).
    n_undrawable : np.ndarray
        ``int64 (M,)``: mutants of each hairpin without an image.
    members : tuple of str
        The ensemble's members whose logits were combined.
    failures : tuple of Failure
        The records without a result (stage ``"fold"``: not a valid sequence; stage
        ``"encode"``: the wild type cannot be drawn), in input order.
    """

    ids: tuple[str, ...]
    sequences: tuple[str, ...]
    structures: tuple[str, ...]
    index: np.ndarray
    columns: tuple[str, ...]
    target: np.ndarray
    logits: np.ndarray
    deltas: tuple[np.ndarray, ...]
    changed: tuple[np.ndarray, ...]
    undrawable: tuple[np.ndarray, ...]
    scores: tuple[np.ndarray, ...]
    fold_scores: tuple[np.ndarray, ...]
    letter_scores: tuple[np.ndarray, ...]
    sd: tuple[np.ndarray, ...]
    n_mutants: np.ndarray
    n_undrawable: np.ndarray
    members: tuple[str, ...]
    failures: tuple[Failure, ...]

    def __len__(self) -> int:  # the number of hairpins, not of fields
        return len(self.ids)

    def to_frame(self) -> pd.DataFrame:
        """One row per hairpin, position and mutant base: id, position (1-based),
        nucleotide (wild type), mutant (a base of :attr:`columns`), delta, changed (the
        fold), undrawable; and per position score, fold_score, letter_score and sd. The
        wild-type base has no row."""
        import pandas as pd

        parts = []
        for k, record_id in enumerate(self.ids):
            length = len(self.sequences[k])
            position = np.repeat(np.arange(length), len(self.columns))
            mutant = np.tile(np.array(self.columns, dtype=object), length)
            wild = np.array(list(self.sequences[k]), dtype=object)[position]
            keep = mutant != wild
            part = pd.DataFrame({
                "id": record_id, "position": position[keep] + 1, "nucleotide": wild[keep],
                "mutant": mutant[keep], "delta": self.deltas[k].reshape(-1)[keep],
                "changed": self.changed[k].reshape(-1)[keep],
                "undrawable": self.undrawable[k].reshape(-1)[keep],
            })  # fmt: skip
            per_position = {"score": self.scores, "fold_score": self.fold_scores,
                            "letter_score": self.letter_scores, "sd": self.sd}  # fmt: skip
            for column, values in per_position.items():
                part[column] = values[k][position[keep]]
            parts.append(part)
        if not parts:
            columns = ["id", "position", "nucleotide", "mutant", "delta", "changed",
                       "undrawable", "score", "fold_score", "letter_score", "sd"]  # fmt: skip
            return pd.DataFrame(columns=columns)
        return pd.concat(parts, ignore_index=True)

    def failures_frame(self) -> pd.DataFrame:
        """The records without a result: index, id, reason, stage."""
        return failures_frame(self.failures)

    def save(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write ``mutants.tsv`` (:meth:`to_frame`) and ``failed.tsv`` (id, reason) into
        ``folder``; returns the two paths."""
        folder = check_output_dir(folder)
        with atomic_write(folder / "mutants.tsv") as handle:
            self.to_frame().to_csv(handle, sep="\t", index=False, float_format="%.6g")
        with atomic_write(folder / "failed.tsv") as handle:
            self.failures_frame()[["id", "stage", "reason"]].to_csv(handle, sep="\t", index=False)
        return [folder / "mutants.tsv", folder / "failed.tsv"]


def mutants_of(sequence: str, *, deletions: bool = False) -> list[tuple[int, int, str]]:
    """Every single-nucleotide mutant of a sequence, the wild type excluded.

    Parameters
    ----------
    sequence : str
        A clean ACGU sequence of length L.
    deletions : bool, optional
        Also delete each position (column 4). Default is False.

    Returns
    -------
    list of (int, int, str)
        ``(position, column, mutant)`` for the ``3 L`` substitutions (``4 L`` with
        deletions), position by position, columns in the order of :data:`ALPHABET`.

    >>> [m for _, _, m in mutants_of("AC")]
    ['CC', 'GC', 'UC', 'AA', 'AG', 'AU']
    >>> mutants_of("AC", deletions=True)[3]
    (0, 4, 'C')
    """
    out = []
    for i, base in enumerate(sequence):
        for c, letter in enumerate(ALPHABET):
            if letter != base:
                out.append((i, c, sequence[:i] + letter + sequence[i + 1 :]))
        if deletions:
            out.append((i, len(ALPHABET), sequence[:i] + sequence[i + 1 :]))
    return out


def _target_of(target: str | int | npt.ArrayLike | None, n: int) -> np.ndarray | None:
    """Per record the explained class, or None: each wild type's predicted class."""
    if isinstance(target, str):
        target = resolve_target(target)
    if target is None:
        return None
    array = np.asarray(target)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"target must be a class index or an array of them, got {target!r}")
    array = np.broadcast_to(array, (n,)) if array.ndim == 0 else array
    if array.shape != (n,):
        raise ValueError(f"target has shape {array.shape}; expected one class per record ({n},)")
    return array.astype(np.int64)


def ism(
    model: Ensemble | keras.Model | Sequence[keras.Model] | str | None,
    sequences: Iterable[str],
    *,
    structures: Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
    target: str | int | npt.ArrayLike | None = "pre-mirna",
    deletions: bool = False,
    batch_size: int = 256,
    chunk_size: int = 32,
    workers: int | None = None,
    temperature: float | None = None,
    progress: bool | None = None,
) -> Mutagenesis:
    """In-silico mutagenesis with refolding: every single-nucleotide mutant, refolded.

    For each hairpin and position, each of the three other bases (and the deletion, as an
    option) is put in, the mutant refolded with ViennaRNA, redrawn and predicted. A chunk
    of hairpins at a time, all its mutants are folded over the worker processes and
    predicted in one pass (in batches of ``batch_size`` images).

    Parameters
    ----------
    model : Ensemble, keras.Model, sequence of keras.Model, path or None
        The classifier (never modified), anything
        :func:`mirnamap.ensemble.resolve_ensemble` takes; None is the bundled one. With
        several members the logit is their combined (mean) logit.
    sequences : iterable of str
        N RNA or DNA sequences (any case; T is read as U).
    structures : iterable of str, optional
        N dot-bracket structures of the wild types (the drawing explained). Default is
        None: each wild type's ViennaRNA MFE structure. Mutants are always refolded.
    ids : iterable of str, optional
        N record identifiers. Default is "0", "1", ...
    target : {"pre-mirna", "negative", "predicted"}, int, array_like of int or None
        The class whose logit is explained: 1 (pre-miRNA), 0, one per record, or None
        ("predicted": each wild type's predicted class, by the combined logits).
        Default is "pre-mirna".
    deletions : bool, optional
        Also delete each nucleotide (the fifth column). Default is False.
    batch_size : int, optional
        Images per forward pass; never changes the result. Default is 256.
    chunk_size : int, optional
        Hairpins whose mutants are folded and predicted together (one step of the
        progress bar); never changes the result. Default is 32.
    workers : int, optional
        Folding processes (:func:`mirnamap.fold.fold`, over the warm pool of
        :mod:`mirnamap.workers`: started once, whatever the number of chunks); never
        changes the result. Default is None: every core.
    temperature : float, optional
        Folding temperature in degrees Celsius. Default is None: ViennaRNA's 37 C.
    progress : bool, optional
        Show a progress bar over hairpins. Default is None: on a terminal.

    Returns
    -------
    Mutagenesis
        Per drawable hairpin the mutation matrix, the scores and their split; the other
        records in ``failures`` with the reason.

    Raises
    ------
    TypeError
        If ``sequences``, ``structures`` or ``ids`` is a single str.
    ValueError
        If their lengths differ, for an unknown target, or ``batch_size``,
        ``chunk_size`` or ``workers`` below 1.
    mirnamap.errors.WorkerError
        If a folding worker died or could not start (the message says why).

    Examples
    --------
    >>> result = ism(model, ["GGGGAAACCCC"], workers=1)  # doctest: +SKIP
    >>> result.deltas[0].shape, result.scores[0].shape  # doctest: +SKIP
    ((11, 4), (11,))
    """
    from mirnamap.ensemble import resolve_ensemble

    sequences = as_string_list(sequences, "sequences")
    n = len(sequences)
    id_list = (
        [str(i) for i in range(n)] if ids is None else [str(i) for i in as_string_list(ids, "ids")]
    )
    if len(id_list) != n:
        raise ValueError(f"got {n} sequences but {len(id_list)} ids")
    given = None if structures is None else as_string_list(structures, "structures")
    if given is not None and len(given) != n:
        raise ValueError(f"got {n} sequences but {len(given)} structures")
    for name, value in (("batch_size", batch_size), ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    targets = _target_of(target, n)
    ensemble = resolve_ensemble(model)
    columns = (*ALPHABET, DELETION) if deletions else ALPHABET

    failures: list[Failure] = []
    clean: list[tuple[int, str]] = []
    for k, sequence in enumerate(sequences):
        try:
            clean.append((k, normalise_sequence(sequence)))
        except StructureError as error:
            failures.append(Failure(k, id_list[k], f"not a sequence: {error}", "fold"))

    parts: list[dict[str, Any]] = []
    bar = tqdm(total=len(clean), desc="ism", unit="hairpin", disable=progress is False)
    try:
        for start in range(0, len(clean), chunk_size):
            chunk = clean[start : start + chunk_size]
            parts.extend(
                _chunk(
                    chunk,
                    id_list,
                    given,
                    targets,
                    ensemble,
                    deletions,
                    batch_size,
                    workers,
                    temperature,
                    failures,
                )
            )
            bar.update(len(chunk))
    finally:
        bar.close()

    failures.sort(key=lambda f: f.index)

    def field(name: str) -> tuple:
        return tuple(p[name] for p in parts)

    return Mutagenesis(
        ids=field("id"),
        sequences=field("sequence"),
        structures=field("structure"),
        index=np.array(field("index"), dtype=np.int64),
        columns=columns,
        target=np.array(field("target"), dtype=np.int64),
        logits=np.array(field("logit"), dtype=np.float64),
        deltas=field("deltas"),
        changed=field("changed"),
        undrawable=field("undrawable"),
        scores=field("scores"),
        fold_scores=field("fold_scores"),
        letter_scores=field("letter_scores"),
        sd=field("sd"),
        n_mutants=np.array(field("n_mutants"), dtype=np.int64),
        n_undrawable=np.array(field("n_undrawable"), dtype=np.int64),
        members=tuple(ensemble.names),
        failures=tuple(failures),
    )


def _chunk(
    chunk: list[tuple[int, str]],
    id_list: list[str],
    given: list[str] | None,
    targets: np.ndarray | None,
    ensemble: Ensemble,
    deletions: bool,
    batch_size: int,
    workers: int | None,
    temperature: float | None,
    failures: list[Failure],
) -> list[dict[str, Any]]:
    """Fold, draw and predict the wild types and every mutant of a chunk of hairpins."""
    from mirnamap.ensemble import combine_logits, spread

    # One list of records to fold: per hairpin its wild type, then its mutants.
    to_fold: list[str] = []
    spans: list[tuple[int, int, list[tuple[int, int, str]]]] = []
    for _, sequence in chunk:
        mutants = mutants_of(sequence, deletions=deletions)
        first = len(to_fold)
        to_fold.append(sequence)
        to_fold.extend(m for _, _, m in mutants)
        spans.append((first, len(to_fold), mutants))
    folds = fold(to_fold, workers=workers, temperature=temperature, progress=False)
    drawn_structures = [f.structure or "" for f in folds]
    if given is not None:  # the wild types are drawn as given, so the image is the one explained
        for (k, _), (first, _, _) in zip(chunk, spans, strict=True):
            drawn_structures[first] = given[k]
    encoding = encode(to_fold, drawn_structures)
    row = np.full(len(to_fold), -1, dtype=np.int64)  # record -> its image, -1 if none
    row[encoding.index] = np.arange(len(encoding))
    reasons = {f.index: f.reason for f in encoding.failures}
    if len(encoding):
        member = ensemble.member_logits(encoding.images, batch_size=batch_size).astype(np.float64)
        combined = combine_logits(member)
    else:
        member = np.zeros((len(ensemble), 0, 2))
        combined = np.zeros((0, 2))

    out = []
    n_columns = len(ALPHABET) + int(deletions)
    for (k, sequence), (first, end, mutants) in zip(chunk, spans, strict=True):
        if row[first] < 0:
            failures.append(
                Failure(k, id_list[k], f"wild type cannot be drawn: {reasons[first]}", "encode")
            )
            continue
        wild = encoding.structures[row[first]]
        cls = int(np.argmax(combined[row[first]])) if targets is None else int(targets[k])
        if not 0 <= cls < combined.shape[1]:
            raise ValueError(
                f"record {id_list[k]!r} (#{k}): target {cls} is not a class index in "
                f"[0, {combined.shape[1]})"
            )
        length = len(sequence)
        deltas = np.full((len(ensemble), length, n_columns), np.nan)
        changed = np.zeros((length, n_columns), dtype=bool)
        undrawable = np.zeros((length, n_columns), dtype=bool)
        for offset, (i, c, _) in enumerate(mutants):
            r = first + 1 + offset
            reference = wild[:i] + wild[i + 1 :] if c == len(ALPHABET) else wild
            changed[i, c] = folds[r].structure != reference
            if row[r] < 0:
                undrawable[i, c] = True
            else:
                deltas[:, i, c] = member[:, row[r], cls] - member[:, row[first], cls]
        mean_delta = deltas.mean(axis=0)  # mean of member deltas = delta of the mean logit
        drawable = ~np.isnan(mean_delta)
        n_drawable = drawable.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            fold_part = -np.where(drawable & changed, mean_delta, 0.0).sum(axis=1) / n_drawable
            letter_part = -np.where(drawable & ~changed, mean_delta, 0.0).sum(axis=1) / n_drawable
            member_scores = -np.nansum(deltas, axis=2) / n_drawable
        scores = np.where(n_drawable > 0, fold_part + letter_part, np.nan)
        sd = np.where(n_drawable > 0, spread(member_scores), np.nan)
        out.append(
            {
                "id": id_list[k],
                "index": k,
                "sequence": sequence,
                "structure": wild,
                "target": cls,
                "logit": float(combined[row[first], cls]),
                "deltas": mean_delta,
                "changed": changed,
                "undrawable": undrawable,
                "scores": scores,
                "fold_scores": np.where(n_drawable > 0, fold_part, np.nan),
                "letter_scores": np.where(n_drawable > 0, letter_part, np.nan),
                "sd": sd,
                "n_mutants": end - first - 1,
                "n_undrawable": int(undrawable.sum()),
            }
        )
    return out


def paint_scores(scores: Sequence[npt.ArrayLike], layout: Layout) -> Maps:
    """Pixel maps whose projection gives back per-nucleotide scores.

    Each nucleotide's score is spread evenly over the pixels its bar paints, so that
    :func:`mirnamap.project.project` (which sums a map over each nucleotide's pixels)
    returns the score of every nucleotide that paints a pixel. Background and gap pixels
    get 0, and so does a nucleotide whose score is NaN (NaN cannot be drawn).

    Parameters
    ----------
    scores : sequence of array_like
        N ``float (L_i,)`` nucleotide scores.
    layout : np.ndarray
        ``int (N, 25, 100)``: the encoder's layout of the same hairpins.

    Returns
    -------
    np.ndarray
        ``float32 (N, 25, 100)``.
    """
    layout = np.asarray(layout)
    if layout.ndim != 3 or layout.shape[1:] != (HEIGHT, WIDTH) or len(layout) != len(scores):
        raise ValueError(
            f"layout must have shape ({len(scores)}, {HEIGHT}, {WIDTH}), got {layout.shape}"
        )
    maps = np.zeros(layout.shape, dtype=np.float32)
    for k, score in enumerate(scores):
        score = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=0.0)
        flat = layout[k].ravel().astype(np.int64)
        painted = flat >= 0
        if painted.any() and flat.max() >= len(score):
            raise ValueError(
                f"record #{k}: layout paints position {int(flat.max())} but there are only "
                f"{len(score)} scores"
            )
        counts = np.bincount(flat[painted], minlength=len(score))
        per_pixel = np.divide(score, counts, out=np.zeros_like(score), where=counts > 0)
        values = np.zeros(flat.shape)
        values[painted] = per_pixel[flat[painted]]
        maps[k] = values.reshape(HEIGHT, WIDTH)
    return maps
