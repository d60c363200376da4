"""Explanations: the checked options, the in-memory core and the public verb.

:func:`explain_inputs` explains :class:`~mirnamap.pipeline.sources.Inputs` with a resolved
ensemble and :class:`ExplainOptions` (the streamed and distributed runs call it on each
chunk); :func:`explain_hairpins` checks its arguments once, reads any source and calls it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mirnamap.errors import InputError
from mirnamap.model import resolve_target
from mirnamap.pipeline.maps import ensemble_maps, sequence_method
from mirnamap.pipeline.methods import SEQUENCE_METHODS, default_methods
from mirnamap.pipeline.predict import resolve_model
from mirnamap.pipeline.results import Explanation
from mirnamap.pipeline.sources import Inputs, Source, read_source, select
from mirnamap.project import project

if TYPE_CHECKING:
    import keras

    from mirnamap.ensemble import Ensemble

__all__ = [
    "MEMBER_SAMPLES",
    "ExplainOptions",
    "explain_hairpins",
    "explain_inputs",
]

#: How an ensemble's members share a sampling backend's samples (see explain_hairpins).
MEMBER_SAMPLES = ("each", "split")


@dataclass(frozen=True)
class ExplainOptions:
    """The checked options of an explanation (what :func:`explain_hairpins` takes besides
    the source, the model and the records).

    Construct with :meth:`check`, which validates every option once and names what is
    wrong; the streamed runs hand the same object to every chunk.

    Attributes
    ----------
    methods : tuple of str
        Backends of :func:`list_methods`, in the order asked for.
    target : str, int or None
        The explained class as given ("pre-mirna", 1, ...); :attr:`target_class` is its
        index.
    params : dict
        Per method, backend options.
    channels, batch_size, seed, precision, member_samples, progress
        As in :func:`explain_hairpins` (``precision`` is the one that will run).
    """

    methods: tuple[str, ...]
    target: str | int | None = "pre-mirna"
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: bool = False
    batch_size: int = 64
    seed: int = 0
    precision: str = "float32"
    member_samples: str = "each"
    progress: bool | None = None

    @classmethod
    def check(
        cls,
        methods: str | Sequence[str] | None = None,
        *,
        target: str | int | None = "pre-mirna",
        params: Mapping[str, Mapping[str, Any]] | None = None,
        channels: bool = False,
        batch_size: int = 64,
        seed: int = 0,
        precision: str = "float32",
        member_samples: str = "each",
        progress: bool | None = None,
    ) -> ExplainOptions:
        """Validate and normalise the options.

        Raises
        ------
        ValueError
            For an unknown method, target, precision or member-samples mode, parameters of
            a method not asked for, a ``reduce`` option, or a batch size below 1.
        """
        from mirnamap.precision import effective_precision
        from mirnamap.saliency import check_batch_size, get_backend

        ran = effective_precision(precision)  # unknown: ValueError; unsupported: float32
        if methods is None:
            methods = default_methods()
        methods = (methods,) if isinstance(methods, str) else tuple(methods)
        if not methods:
            raise ValueError("give at least one method")
        for method in methods:
            if method not in SEQUENCE_METHODS:
                get_backend(method)  # an unknown name raises, listing the known ones
        options = {m: dict(p) for m, p in (params or {}).items()}
        stray = sorted(set(options) - set(methods))
        if stray:
            raise ValueError(f"params for method(s) not asked for: {stray}")
        for method, values in options.items():
            if "reduce" in values:  # nucleotide scores need one map per image, not per channel
                raise ValueError(
                    f"{method}: 'reduce' is not an option here (maps are channel sums)"
                )
        if member_samples not in MEMBER_SAMPLES:
            raise ValueError(
                f"member_samples must be one of {MEMBER_SAMPLES}, got {member_samples!r}"
            )
        resolve_target(target)
        check_batch_size(batch_size)
        return cls(
            methods, target, options, bool(channels), int(batch_size), int(seed), ran,
            member_samples, progress,
        )  # fmt: skip

    @property
    def target_class(self) -> int | None:
        """The explained class logit: 1 = pre-miRNA, 0 = negative, None = each predicted."""
        return resolve_target(self.target)

    def for_method(self, method: str) -> dict[str, Any]:
        """The keywords of one method's backend (or of :func:`mirnamap.mutagenesis.ism`)."""
        shared = {"batch_size": self.batch_size, "progress": self.progress}
        if method not in SEQUENCE_METHODS:  # mutagenesis has no random step, and runs float32
            shared |= {"seed": self.seed, "precision": self.precision}
        return shared | self.params.get(method, {})


def explain_inputs(
    inputs: Inputs,
    ensemble: Ensemble,
    options: ExplainOptions,
    *,
    ids: Sequence[str] | None = None,
    workers: int | None = None,
) -> Explanation:
    """Explain the records of ``inputs`` (those with one of ``ids``; all for None).

    Parameters
    ----------
    inputs : Inputs
        Read and drawn records, with sequences (:func:`~mirnamap.pipeline.read_source`).
    ensemble : Ensemble
        The resolved classifier (:func:`~mirnamap.pipeline.predict.resolve_model`).
    options : ExplainOptions
        Checked by :meth:`ExplainOptions.check`.
    ids : sequence of str, optional
        Only these records. Default is None: all.
    workers : int, optional
        Folding processes of ``ism``. Default is None: every core.

    Returns
    -------
    Explanation

    Raises
    ------
    InputError
        If ``inputs`` hold images without sequences (a bare image archive).
    ValueError
        For an id that is not in ``inputs``.
    """
    if inputs.encoding is None:
        raise InputError(
            f"{inputs.name}: images without sequences and pixel layout (e.g. a DeepMir "
            ".npz); nucleotide maps need the sequences: give the FASTA file, or an archive "
            "written by 'mirnamap encode'"
        )
    keep, failures, n_records = select(inputs, ids)
    encoding = inputs.encoding
    images, layout = encoding.images[keep], encoding.layout[keep]
    chosen = [int(k) for k in keep]
    record_ids = tuple(encoding.ids[k] for k in chosen)
    sequences = tuple(encoding.sequences[k] for k in chosen)
    structures = tuple(encoding.structures[k] for k in chosen)
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    prediction = ensemble.predict(images) if len(images) else None
    probabilities = prediction.probability if prediction else np.zeros(0)
    target_class = options.target_class
    threshold = getattr(ensemble, "threshold", 0.5)
    if target_class is None and (len(ensemble) > 1 or threshold != 0.5):
        # Every member explains the ensemble's call, at its stored operating point (one
        # model at 0.5: its own argmax, which the backends take).
        target_class = (probabilities >= threshold).astype(np.int64)
    maps, projections, magnitudes, sd_maps, sd_scores, seconds = {}, {}, {}, {}, {}, {}
    channel_maps, agreement = {}, {}
    bar = _members_bar(options, len(ensemble), len(images))
    for method in options.methods:
        start = time.perf_counter()
        own = options.for_method(method)
        if method in SEQUENCE_METHODS:  # explains the sequence: mutates and refolds it
            found = sequence_method(
                ensemble, sequences, structures, layout, record_ids, target_class,
                {"workers": workers, **own},
            )  # fmt: skip
            maps[method], sd_maps[method], sd_scores[method] = found[:3]
            projections[method], magnitudes[method] = found[3:]
            seconds[method] = time.perf_counter() - start
            continue
        # One bar over methods x members (the stage), none per member and method.
        done = bar.n
        found = ensemble_maps(
            ensemble, images, layout, lengths, record_ids, method, target_class,
            own | {"progress": False}, options.channels, options.member_samples,
            step=lambda: bar.update(1),
        )  # fmt: skip
        bar.update(done + len(ensemble) - bar.n)  # "split" may run fewer members
        maps[method], sd_maps[method], sd_scores[method], per_channel = found[:4]
        agreement[method] = found[4]
        if per_channel is not None:
            channel_maps[method] = per_channel
        seconds[method] = time.perf_counter() - start
        projections[method] = project(maps[method], layout, lengths, ids=record_ids)
        magnitudes[method] = project(np.abs(maps[method]), layout, lengths, ids=record_ids)
    bar.close()
    return Explanation(
        ids=record_ids,
        sequences=sequences,
        structures=structures,
        index=encoding.index[keep].astype(np.int64),
        probabilities=probabilities,
        images=images,
        layout=layout,
        methods=options.methods,
        maps=maps,
        projections=projections,
        magnitudes=magnitudes,
        failures=tuple(failures),
        n_records=n_records,
        target=options.target_class,
        seed=options.seed,
        params=options.params,
        members=ensemble.names,
        probability_sd=prediction.sd if prediction else np.zeros(0),
        sd_maps=sd_maps,
        sd_scores=sd_scores,
        seconds=seconds,
        channel_maps=channel_maps,
        precision=options.precision,
        member_samples=options.member_samples,
        agreement=agreement,
        calibrated=prediction.calibrated if prediction else np.zeros(0),
        threshold=threshold,
        flag_sd=getattr(ensemble, "flag_sd", None) if len(ensemble) > 1 else None,
    )


def _members_bar(options: ExplainOptions, n_members: int, n_images: int) -> Any:
    """The explanation's one progress bar: a step per member and saliency method."""
    from tqdm.auto import tqdm

    runs = sum(m not in SEQUENCE_METHODS for m in options.methods) * n_members
    shown = None if options.progress is None else bool(options.progress)
    hidden = not (runs and n_images) or shown is False
    return tqdm(total=runs, desc="explain", unit="member map", disable=hidden)


def explain_hairpins(
    source: Source,
    methods: str | Sequence[str] | None = None,
    model: Ensemble | keras.Model | str | os.PathLike[str] | None = None,
    target: str | int | None = "pre-mirna",
    ids: Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    members: Sequence[int | str] | None = None,
    channels: bool = False,
    batch_size: int = 64,
    seed: int = 0,
    workers: int | None = None,
    progress: bool | None = None,
    precision: str = "float32",
    member_samples: str = "each",
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
) -> Explanation:
    """Fold, draw, predict and explain every record of any input, with several methods.

    In memory; for inputs too large for memory, to resume, or on a Dask cluster, use
    :func:`~mirnamap.pipeline.stream_explanations`.

    Parameters
    ----------
    source : path, Encoding, sequence of str or mapping of str to str
        Anything :func:`read_source` reads that has sequences (not a bare image archive:
        nucleotide scores need the pixel layout).
    methods : str or sequence of str, optional
        Backends of :func:`mirnamap.saliency.list_backends`, or ``"ism"``: in-silico
        mutagenesis with refolding (:func:`mirnamap.mutagenesis.ism`; its options, e.g.
        ``{"ism": {"deletions": True}}``, go in ``params``). Default is None:
        :data:`mirnamap.saliency.DEFAULT_METHOD`.
    model : Ensemble, keras.Model, path or None, optional
        The classifier (never modified): an ensemble, one model, a ``.zip`` ensemble or a
        ``.keras`` file. Default is None: the bundled one. With several members each
        backend's maps are averaged over them, and their spread is kept (``sd_maps``,
        ``sd_scores``).
    target : {"pre-mirna", "negative", "predicted"}, 1, 0 or None, optional
        The class logit explained; "pre-mirna" makes red mean "towards pre-miRNA" for
        every record; "predicted" explains each record's call, at the model's stored
        operating point (:attr:`mirnamap.ensemble.Ensemble.threshold`). Default is
        "pre-mirna".
    ids : sequence of str, optional
        Explain only these records (every record with one of these ids). Default is None:
        all.
    params : mapping of str to mapping, optional
        Per method, options of its backend, e.g. ``{"smoothgrad": {"n_samples": 10}}``.
        Default is None: every backend at its defaults.
    members : sequence of int or str, optional
        Use only these members of the ensemble. Default is None: all.
    channels : bool, optional
        Also keep the per-channel maps (R, G, B) of the backends that can give them
        (``channel_maps``). Default is False.
    batch_size : int, optional
        Images per saliency pass; never changes the maps. Default is 64.
    seed : int, optional
        Seed of the stochastic backends. Default is 0.
    workers : int, optional
        Folding processes. Default is None: every core.
    progress : bool, optional
        Progress bars. Default is None: on a terminal.
    precision : {"float32", "bfloat16", "float16"}, optional
        Arithmetic of the saliency passes (:func:`mirnamap.saliency.explain`); float32 with
        a warning where the hardware lacks the instructions. The one run is
        ``Explanation.precision``. Default is "float32".
    member_samples : {"each", "split"}, optional
        With several members, for the backends whose map is a mean over samples
        (SmoothGrad, SmoothGrad², SmoothGrad-guided backprop, SHAP): "each" gives every
        member all the samples (the members' spread is kept); "split" deals the samples
        out among the members (:func:`mirnamap.saliency.share_samples`), so the ensemble's
        mean map costs what one member's does, and its spread is NaN. Other backends run
        every member whole either way. Default is "each".
    temperature : float, optional
        Folding temperature in degrees Celsius. Default is None: 37 C.
    energy_params : path or str, optional
        A ViennaRNA ``.par`` file or a set of :data:`mirnamap.fold.ENERGY_SETS`. Default
        is None: Turner 2004.

    Returns
    -------
    Explanation

    Raises
    ------
    InputError
        If the source cannot be used, or holds no sequences (a bare image archive).
    ValueError
        For an unknown method, target, id or parameter (named in the message).
    """
    options = ExplainOptions.check(
        methods, target=target, params=params, channels=channels, batch_size=batch_size,
        seed=seed, precision=precision, member_samples=member_samples, progress=progress,
    )  # fmt: skip
    ensemble = resolve_model(model, members)
    inputs = read_source(
        source, workers=workers, temperature=temperature, energy_params=energy_params
    )
    return explain_inputs(inputs, ensemble, options, ids=ids, workers=workers)
