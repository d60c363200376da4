"""Which explanation is right? A ground-truth benchmark for every saliency backend.

For each synthetic task (:mod:`mirnamap.benchmark.synthetic`: the nucleotides that decide
each label are known), the benchmark

1. generates hairpins that fold as designed, draws them, splits them by twin pair, and
   trains a DeepMir classifier with :func:`mirnamap.train.train`;
2. refuses to score explanations of a model whose test AUROC is below ``min_auroc``
   (0.95: below that, maps disagree for other reasons) and flags it in the table;
3. explains the test positives (every test hairpin for ``additive``) with every backend,
   projects the maps onto nucleotides (:func:`mirnamap.project.project`) and scores them
   against the truth (:mod:`mirnamap.benchmark.metrics`), per hairpin;
4. runs the model-randomisation sanity check (:mod:`mirnamap.benchmark.sanity`) and the
   sequence-level deletion test (:mod:`mirnamap.benchmark.faithfulness`);
5. reports the median and a seeded bootstrap interval of every metric per backend
   (:func:`write_results`: TSV, markdown, PNG).

Metrics on the per-nucleotide scores ``s`` (the sum of ``|map|`` over a nucleotide's
pixels; 0 for a nucleotide that paints none) against the truth set ``T``: ``auroc``,
``auprc``, ``top_k`` (precision among the |T| highest), ``mass`` (share of the total in
T), ``pointing`` (the highest nucleotide is in T), ``cos_raw`` (cosine of s and the 0/1
truth) and ``cos_adapted`` (cosine of s and the truth passed through the representation,
:func:`adapt_truth`: closed over base pairs, because the Cordero image draws a pair as one
column and a planted motif fixes its partners by complementarity, so no model can tell
the two strands apart; then painted onto the pixels of its nucleotides and projected
back, so a nucleotide counts by its pixels and one off the canvas not at all), plus
``distractor`` (share of the total on the distractor motif, lower is better). For
``additive`` the truth is signed and the two cosines use the signed projection (the set
metrics do not apply; the truth is not closed over pairs). ``sanity`` is the median
Spearman correlation between the trained model's maps and the maps once every layer is
randomised (high = the map ignores the model; flagged above ``sanity_threshold``);
``del_salient`` and ``del_random`` are the deletion areas
(mutating salient vs random nucleotides; lower = the map found what the model uses).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.benchmark import metrics
from mirnamap.benchmark.synthetic import TASKS, SyntheticSet, TaskParams, make_dataset

if TYPE_CHECKING:
    import keras

__all__ = [
    "BASELINES",
    "METRICS",
    "TASKS",
    "BenchmarkConfig",
    "BenchmarkResult",
    "TaskResult",
    "adapt_truth",
    "format_table",
    "run_benchmark",
    "run_task",
    "score_maps",
    "write_results",
]

#: Metric columns of the results table, in order.
METRICS = (
    "auroc",
    "auprc",
    "top_k",
    "mass",
    "pointing",
    "cos_raw",
    "cos_adapted",
    "distractor",
    "sanity",
    "del_salient",
    "del_random",
)
# Per-hairpin metrics from the maps (the rest come from the sanity and deletion runs).
_MAP_METRICS = METRICS[:8]
#: Reference rows scored like backends, without a model: a map of ones (each nucleotide
#: scores its pixel count, i.e. what the representation alone gives) and a random map.
BASELINES = ("baseline_uniform", "baseline_random")


@dataclass(frozen=True)
class BenchmarkConfig:
    """What the benchmark runs: tasks, backends, sizes, model and seeds.

    Attributes
    ----------
    tasks : tuple of str
        Tasks from :data:`TASKS`. Default is ("motif",).
    backends : tuple of str or None
        Backend names; None = every registered backend. Default is None.
    n_pairs : int
        Twin pairs per task (2 * n_pairs hairpins). Default is 1000.
    test_fraction, validation_fraction : float
        Shares of the twin groups held out. Default is 0.2 and 0.1.
    epochs, batch_size, early_stopping, learning_rate : training options
        Passed to :func:`mirnamap.train.train`. Default is 20, 64, 4, 1e-3.
    filters, dense_units : model size
        Passed to :func:`mirnamap.model.build_model`. Default is the published
        (48, 60, 72) and 256.
    min_auroc : float
        Explanations are scored only for models reaching this test AUROC. Default 0.95.
    n_explain : int
        Test hairpins explained per task. Default is 100.
    n_sanity : int
        Hairpins in the sanity check. Default is 16; 0 skips it.
    n_faithfulness : int
        Hairpins in the deletion test. Default is 32; 0 skips it.
    deletion_steps : tuple of int
        Numbers of nucleotides mutated. Default is (0, 1, 2, 3, 4, 6, 8, 10).
    sanity_threshold : float
        Flag a backend whose final sanity correlation is above this. Default is 0.5.
    n_boot : int
        Bootstrap resamples for the intervals. Default is 1000.
    backend_params : dict
        Options per backend name, e.g. ``{"shap": {"n_samples": 50}}``. Default is {}.
    params : TaskParams
        The synthetic-task parameters. Default is ``TaskParams()``.
    seed : int
        Seeds everything. Default is 0.
    workers : int or None
        Folding processes. Default is None: every core.
    batch_size_explain : int
        Batch size of the backends. Default is 64.
    """

    tasks: tuple[str, ...] = ("motif",)
    backends: tuple[str, ...] | None = None
    n_pairs: int = 1000
    test_fraction: float = 0.2
    validation_fraction: float = 0.1
    epochs: int = 20
    batch_size: int = 64
    early_stopping: int | None = 4
    learning_rate: float = 1e-3
    filters: tuple[int, int, int] = (48, 60, 72)
    dense_units: int = 256
    min_auroc: float = 0.95
    n_explain: int = 100
    n_sanity: int = 16
    n_faithfulness: int = 32
    deletion_steps: tuple[int, ...] = (0, 1, 2, 3, 4, 6, 8, 10)
    sanity_threshold: float = 0.5
    n_boot: int = 1000
    backend_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: TaskParams = field(default_factory=TaskParams)
    seed: int = 0
    workers: int | None = None
    batch_size_explain: int = 64

    def check(self) -> BenchmarkConfig:
        """Raise ValueError naming the first setting that makes no sense."""
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown or not self.tasks:
            raise ValueError(f"unknown or no tasks {unknown}; known: {', '.join(TASKS)}")
        if self.n_pairs < 5:
            raise ValueError(
                f"n_pairs must be >= 5 (train, validation and test), got {self.n_pairs}"
            )
        if not (
            0 < self.test_fraction < 1
            and 0 <= self.validation_fraction < 1
            and self.test_fraction + self.validation_fraction < 1
        ):
            raise ValueError("test_fraction and validation_fraction must be shares summing below 1")
        if self.n_explain < 1:
            raise ValueError(f"n_explain must be >= 1, got {self.n_explain}")
        self.params.check()
        return self


class TaskResult(NamedTuple):
    """Everything measured on one task.

    Attributes
    ----------
    task : str
    data : dict
        :meth:`SyntheticSet.describe` of the generated set.
    test_auroc : float
        The model's AUROC on the held-out hairpins.
    model_ok : bool
        ``test_auroc >= min_auroc``: explanation metrics were computed.
    history : dict
        Training history.
    per_sequence : dict
        backend -> metric -> ``float64 (M,)`` per explained hairpin.
    sanity : dict
        backend -> :class:`~mirnamap.benchmark.sanity.SanityResult`.
    deletion : dict
        backend -> :class:`~mirnamap.benchmark.faithfulness.DeletionResult`.
    seconds : dict
        backend -> seconds spent computing the maps of the explained hairpins.
    ids : tuple of str
        The explained hairpins.
    """

    task: str
    data: dict
    test_auroc: float
    model_ok: bool
    history: dict
    per_sequence: dict
    sanity: dict
    deletion: dict
    seconds: dict
    ids: tuple[str, ...]


class BenchmarkResult(NamedTuple):
    """The results of :func:`run_benchmark`: one :class:`TaskResult` per task."""

    config: BenchmarkConfig
    tasks: tuple[TaskResult, ...]
    backends: tuple[str, ...]

    def summary(self) -> list[dict]:
        """One row per task and backend: metric -> (median, low, high) and flags."""
        rows = []
        used = [b for b in BASELINES if any(b in t.per_sequence for t in self.tasks)]
        for k, task in enumerate(self.tasks):
            for backend in (*self.backends, *used):
                row: dict[str, Any] = {
                    "task": task.task,
                    "backend": backend,
                    "test_auroc": task.test_auroc,
                    "model_ok": task.model_ok,
                }
                values = dict(task.per_sequence.get(backend, {}))
                if backend in task.sanity:
                    values["sanity"] = task.sanity[backend].final
                if backend in task.deletion:
                    values["del_salient"] = task.deletion[backend].area_salient
                    values["del_random"] = task.deletion[backend].area_random
                for metric in METRICS:
                    v = values.get(metric)
                    row[metric] = (
                        metrics.bootstrap_median(
                            v, n_boot=self.config.n_boot, seed=self.config.seed + k
                        )
                        if v is not None
                        else (np.nan, np.nan, np.nan)
                    )
                sanity = row["sanity"][0]
                row["flag_sanity"] = bool(sanity > self.config.sanity_threshold)
                row["seconds"] = task.seconds.get(backend, np.nan)
                rows.append(row)
        return rows


# ---------------------------------------------------------------------------- scoring


def adapt_truth(
    truth: Sequence[np.ndarray],
    layout: np.ndarray,
    lengths: np.ndarray,
    structures: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Pass a per-nucleotide truth through the representation.

    With ``structures``, the truth is first closed over base pairs: a nucleotide paired to
    a truth nucleotide gets its value (the larger of the two). This is the analogue of
    Rasmussen et al.'s implicit hydrogens: the Cordero image draws a base pair as one
    column, and a planted stem motif fixes its partners by complementarity, so the label
    is as much a function of the partner strand and no model can be asked to prefer one.
    Then the truth is painted onto the pixels of its nucleotides (with the encoder's
    layout) and projected back with :func:`mirnamap.project.project`: what a perfect pixel
    map of the truth would score. Nucleotides count by their pixels; one off the canvas
    gets 0. Use the closure for set truths only: a signed additive truth already weighs
    every nucleotide, partners included.

    Parameters
    ----------
    truth : sequence of np.ndarray
        N ``float (L_i,)``.
    layout : np.ndarray
        ``int16 (N, 25, 100)``.
    lengths : np.ndarray
        ``int (N,)``.
    structures : sequence of str, optional
        N dot-brackets of length ``L_i``: close the truth over their base pairs. Default
        is None: no closure.

    Returns
    -------
    list of np.ndarray
        N ``float64 (L_i,)``.

    >>> from mirnamap.encode import encode
    >>> enc = encode(["GGGAAACCC"], ["(((...)))"])
    >>> adapt_truth([np.eye(9)[4]], enc.layout, np.array([9]))[0].tolist()
    [0.0, 0.0, 0.0, 0.0, 18.0, 0.0, 0.0, 0.0, 0.0]
    >>> adapt_truth([np.eye(9)[1]], enc.layout, np.array([9]), ["(((...)))"])[0].tolist()
    [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]
    """
    from mirnamap.project import pair_table, project

    if structures is not None:
        if len(structures) != len(truth):
            raise ValueError(f"{len(structures)} structures for {len(truth)} truth vectors")
        closed = []
        for i, (t, structure) in enumerate(zip(truth, structures, strict=True)):
            t = np.asarray(t, dtype=np.float64)
            if len(structure) != len(t):
                raise ValueError(
                    f"hairpin {i}: structure has length {len(structure)}, truth {len(t)}"
                )
            partner = pair_table(structure)
            mate = np.where(partner >= 0, t[np.clip(partner, 0, None)], 0.0)
            closed.append(np.maximum(t, mate))
        truth = closed
    padded = metrics.pad(truth, fill=0.0)
    if padded.shape[1] == 0:
        return [np.zeros(0) for _ in truth]
    index = np.clip(layout.astype(np.int64), 0, None).reshape(len(truth), -1)
    painted = np.take_along_axis(padded, index, axis=1).reshape(layout.shape)
    painted = np.where(layout >= 0, painted, 0.0)
    projected = project(painted, layout, np.asarray(lengths, dtype=np.int64))
    return [np.nan_to_num(s, nan=0.0) for s in projected.scores]


def score_maps(
    maps: np.ndarray,
    layout: np.ndarray,
    lengths: np.ndarray,
    truth: Sequence[np.ndarray],
    *,
    signed: bool = False,
    distractor: Sequence[np.ndarray] | None = None,
    structures: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Score N pixel maps against per-nucleotide truth: every map metric, per hairpin.

    Parameters
    ----------
    maps : np.ndarray
        ``float (N, 25, 100)`` raw signed maps.
    layout : np.ndarray
        ``int16 (N, 25, 100)``, the encoder's layout.
    lengths : np.ndarray
        ``int (N,)``.
    truth : sequence of np.ndarray
        N ``float (L_i,)``: 0/1 for a truth set; signed weights if ``signed``.
    signed : bool, optional
        The truth is a signed vector (``additive``): only the two cosines, on the signed
        projection; the set metrics are NaN. Default is False.
    distractor : sequence of np.ndarray, optional
        N ``bool (L_i,)``: where the distractor sits.
    structures : sequence of str, optional
        N dot-brackets: the set truth is closed over their base pairs before it is adapted
        (see :func:`adapt_truth`; ignored if ``signed``). Default is None.

    Returns
    -------
    dict of str to np.ndarray
        Metric name -> ``float64 (N,)``.
    """
    from mirnamap.project import project

    lengths = np.asarray(lengths, dtype=np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    magnitude = metrics.pad(
        [np.nan_to_num(s, nan=0.0) for s in project(np.abs(maps), layout, lengths).scores],
        width=width,
    )
    truth_pad = metrics.pad(truth, width=width)
    adapted = metrics.pad(
        adapt_truth(truth, layout, lengths, None if signed else structures), width=width
    )
    n = len(lengths)
    out = {m: np.full(n, np.nan) for m in _MAP_METRICS}
    if signed:
        values = metrics.pad(
            [np.nan_to_num(s, nan=0.0) for s in project(maps, layout, lengths).scores], width=width
        )
        out["cos_raw"] = metrics.cosine(values, truth_pad)
        out["cos_adapted"] = metrics.cosine(values, adapted)
        return out
    truth_set = np.nan_to_num(truth_pad) > 0
    out["auroc"] = metrics.auroc(magnitude, truth_set)
    out["auprc"] = metrics.auprc(magnitude, truth_set)
    out["top_k"] = metrics.top_k_precision(magnitude, truth_set)
    out["mass"] = metrics.relevance_mass(magnitude, truth_set)
    out["pointing"] = metrics.pointing_game(magnitude, truth_set)
    out["cos_raw"] = metrics.cosine(magnitude, np.nan_to_num(truth_pad))
    out["cos_adapted"] = metrics.cosine(magnitude, adapted)
    if distractor is not None:
        distract = np.nan_to_num(metrics.pad(distractor, width=width, fill=0.0)) > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(distract, np.nan_to_num(magnitude), 0).sum(1) / np.nansum(
                magnitude, axis=1
            )
        out["distractor"] = np.where(distract.any(axis=1), share, np.nan)
    return out


# ---------------------------------------------------------------------------- running


def _split(
    data: SyntheticSet, config: BenchmarkConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test indices; twins stay together."""
    rng = np.random.default_rng(config.seed)
    groups = rng.permutation(np.unique(data.group))
    n_test = max(1, round(len(groups) * config.test_fraction))
    n_val = (
        max(1, round(len(groups) * config.validation_fraction)) if config.validation_fraction else 0
    )
    test_g, val_g = groups[:n_test], groups[n_test : n_test + n_val]
    test = np.flatnonzero(np.isin(data.group, test_g))
    val = np.flatnonzero(np.isin(data.group, val_g))
    train = np.flatnonzero(~np.isin(data.group, np.concatenate([test_g, val_g])))
    return train, val, test


def _train(
    images: np.ndarray, labels: np.ndarray, val: tuple | None, config: BenchmarkConfig
) -> tuple[keras.Model, dict]:
    from mirnamap.model import build_model
    from mirnamap.train import train

    model = build_model(filters=config.filters, dense_units=config.dense_units, seed=config.seed)
    result = train(
        images,
        labels,
        validation=val,
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        class_weight="balanced",
        early_stopping=config.early_stopping if val is not None else None,
        seed=config.seed,
        model=model,
        verbose=False,
    )
    return result.model, result.history


def run_task(
    task: str,
    config: BenchmarkConfig,
    backends: Sequence[str],
    *,
    log: Callable[[str], None] = print,
) -> TaskResult:
    """Run the benchmark on one task (see the module docstring for the steps)."""
    from mirnamap.benchmark.faithfulness import deletion_curves
    from mirnamap.benchmark.sanity import cascading_randomization
    from mirnamap.encode import encode
    from mirnamap.model import predict_proba
    from mirnamap.saliency import explain

    seed = config.seed
    start = time.perf_counter()
    data = make_dataset(
        task, config.n_pairs, params=config.params, seed=seed, workers=config.workers
    )
    encoding = encode(data.sequences, data.structures, ids=data.ids, strict=True)
    log(
        f"[{task}] {len(data)} hairpins ({data.describe()['acceptance']:.0%} of designs folded "
        f"as designed) in {time.perf_counter() - start:.0f} s"
    )
    train_i, val_i, test_i = _split(data, config)
    images = encoding.images
    val = (images[val_i], data.labels[val_i]) if len(val_i) else None
    start = time.perf_counter()
    model, history = _train(images[train_i], data.labels[train_i], val, config)
    probabilities = predict_proba(model, images[test_i])
    test_auroc = float(
        metrics.auroc(probabilities[None, :].astype(np.float64), data.labels[test_i][None, :] == 1)[
            0
        ]
    )
    if task == "additive":  # the regression target itself: rank correlation with P(class 1)
        history = {
            **history,
            "test_spearman_target": float(
                metrics.spearman(probabilities[None, :], data.target[test_i][None, :])[0]
            ),
        }
    model_ok = test_auroc >= config.min_auroc
    log(
        f"[{task}] trained {len(history.get('loss', []))} epochs in "
        f"{time.perf_counter() - start:.0f} s: test AUROC {test_auroc:.3f}"
        + ("" if model_ok else f" < {config.min_auroc}: explanation metrics withheld")
    )
    if not model_ok:
        return TaskResult(task, data.describe(), test_auroc, False, history, {}, {}, {}, {}, ())

    rng = np.random.default_rng(seed + 1)
    pool = test_i if task == "additive" else test_i[data.labels[test_i] == 1]
    chosen = np.sort(rng.choice(pool, size=min(config.n_explain, len(pool)), replace=False))
    x, layout = images[chosen], encoding.layout[chosen]
    lengths = data.lengths[chosen]
    truth = [data.truth[i] for i in chosen]
    distractor = [data.distractor[i] for i in chosen] if config.params.distractor else None
    structures = [data.structures[i] for i in chosen]

    def score(maps: np.ndarray) -> dict[str, np.ndarray]:
        return score_maps(
            maps,
            layout,
            lengths,
            truth,
            signed=task == "additive",
            distractor=distractor,
            structures=structures,
        )

    per_sequence: dict = {}
    sanity: dict = {}
    deletion: dict = {}
    seconds: dict = {}
    references = {
        "baseline_uniform": np.ones(layout.shape, dtype=np.float32),
        "baseline_random": rng.standard_normal(layout.shape).astype(np.float32),
    }
    for name, maps in references.items():
        per_sequence[name] = score(maps)
    for backend in backends:
        options = config.backend_params.get(backend, {})
        start = time.perf_counter()
        maps = explain(
            model,
            x,
            backend,
            1,
            batch_size=config.batch_size_explain,
            seed=seed,
            progress=False,
            **options,
        )
        seconds[backend] = time.perf_counter() - start
        per_sequence[backend] = score(maps)
        if config.n_sanity:
            k = min(config.n_sanity, len(chosen))
            sanity[backend] = cascading_randomization(
                model,
                x[:k],
                backend,
                1,
                reference=maps[:k],
                seed=seed,
                batch_size=config.batch_size_explain,
                **options,
            )
        if config.n_faithfulness:
            from mirnamap.project import project

            k = min(config.n_faithfulness, len(chosen))
            scores = project(np.abs(maps[:k]), layout[:k], lengths[:k]).scores
            deletion[backend] = deletion_curves(
                model,
                [data.sequences[i] for i in chosen[:k]],
                scores,
                target=1,
                steps=config.deletion_steps,
                seed=seed,
                workers=config.workers,
            )
        shown = {
            m: float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")
            for m, v in per_sequence[backend].items()
        }
        log(
            f"[{task}] {backend}: {seconds[backend]:.1f} s, auroc {shown['auroc']:.3f}, "
            f"cos_adapted {shown['cos_adapted']:.3f}"
            + (f", sanity {np.nanmedian(sanity[backend].final):.2f}" if backend in sanity else "")
            + (
                f", deletion {np.nanmedian(deletion[backend].area_salient):.3f} vs random "
                f"{np.nanmedian(deletion[backend].area_random):.3f}"
                if backend in deletion
                else ""
            )
        )
    return TaskResult(
        task,
        data.describe(),
        test_auroc,
        True,
        history,
        per_sequence,
        sanity,
        deletion,
        seconds,
        tuple(data.ids[i] for i in chosen),
    )


def run_benchmark(
    config: BenchmarkConfig, *, log: Callable[[str], None] = print
) -> BenchmarkResult:
    """Run every task of ``config`` with every backend.

    Parameters
    ----------
    config : BenchmarkConfig
    log : callable, optional
        Receives one line per step. Default is ``print``.

    Returns
    -------
    BenchmarkResult
    """
    from mirnamap.saliency import list_backends

    config.check()
    known = list_backends()
    backends = tuple(known if config.backends is None else config.backends)
    unknown = [b for b in backends if b not in known]
    if unknown:
        raise ValueError(f"unknown saliency backend(s) {unknown}; known: {', '.join(known)}")
    results = tuple(run_task(task, config, backends, log=log) for task in config.tasks)
    return BenchmarkResult(config, results, backends)


# ---------------------------------------------------------------------------- output


def _cell(value: tuple[float, float, float], digits: int = 2) -> str:
    median, low, high = value
    if np.isnan(median):
        return "n/a"
    return f"{median:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def format_table(result: BenchmarkResult) -> str:
    """The results as a markdown table: one row per task and backend, median [95% CI]."""
    header = ["task", "backend", *METRICS, "s/map"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result.summary():
        if not row["model_ok"]:
            cells = [
                f"withheld: model test AUROC {row['test_auroc']:.3f} < {result.config.min_auroc}"
            ] + [""] * (len(METRICS))
        else:
            cells = [
                _cell(row[m]) + (" (flag)" if m == "sanity" and row["flag_sanity"] else "")
                for m in METRICS
            ]
            n = len(result.tasks[[t.task for t in result.tasks].index(row["task"])].ids)
            seconds = row["seconds"]
            cells.append("-" if np.isnan(seconds) else f"{seconds / max(1, n):.3f}")
        lines.append("| " + " | ".join([row["task"], row["backend"], *cells]) + " |")
    return "\n".join(lines)


def _config_dict(config: BenchmarkConfig) -> dict:
    out = asdict(config)
    out["params"] = {k: v for k, v in asdict(config.params).items() if k != "extra"}
    return out


def _save_png(fig, path: Path) -> Path:
    """Lay out, write at 90 dpi and close a results figure; returns its path."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_results(result: BenchmarkResult, folder: str | Path) -> list[Path]:
    """Write the table (``results.tsv``, ``results.md``), per-hairpin metrics, sanity and
    deletion curves (TSV), the configuration (``config.json``) and plots (PNG).

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    rows = result.summary()
    path = folder / "results.tsv"
    with open(path, "w", encoding="utf-8") as handle:
        columns = ["task", "backend", "test_auroc", "model_ok", "flag_sanity", "seconds"]
        handle.write(
            "\t".join(columns + [f"{m}_{p}" for m in METRICS for p in ("median", "low", "high")])
            + "\n"
        )
        for row in rows:
            values = [
                str(row[c]) if not isinstance(row[c], float) else f"{row[c]:.4f}" for c in columns
            ]
            values += [f"{v:.4f}" for m in METRICS for v in row[m]]
            handle.write("\t".join(values) + "\n")
    written.append(path)
    path = folder / "results.md"
    tasks_line = "; ".join(
        f"{t.task}: {t.data['n']} hairpins, test AUROC {t.test_auroc:.3f}"
        + (f", {len(t.ids)} explained" if t.model_ok else " (below the bar: withheld)")
        for t in result.tasks
    )
    path.write_text(f"{tasks_line}\n\n{format_table(result)}\n", encoding="utf-8")
    written.append(path)
    path = folder / "per_sequence.tsv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\t".join(["task", "backend", "id", *_MAP_METRICS]) + "\n")
        for task in result.tasks:
            for backend, values in task.per_sequence.items():
                for i, record in enumerate(task.ids):
                    handle.write(
                        "\t".join(
                            [
                                task.task,
                                backend,
                                record,
                                *(f"{values[m][i]:.4f}" for m in _MAP_METRICS),
                            ]
                        )
                        + "\n"
                    )
    written.append(path)
    path = folder / "sanity.tsv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("task\tbackend\tstep\tlayer\tmedian_spearman\n")
        for task in result.tasks:
            for backend, sanity in task.sanity.items():
                for s, layer in enumerate(sanity.layers):
                    handle.write(
                        f"{task.task}\t{backend}\t{s}\t{layer}\t"
                        f"{np.nanmedian(sanity.correlations[s]):.4f}\n"
                    )
    written.append(path)
    path = folder / "deletion.tsv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("task\tbackend\torder\tk\tmean_probability\n")
        for task in result.tasks:
            for backend, d in task.deletion.items():
                for order, curves in (("salient", d.salient), ("random", d.random)):
                    for s, k in enumerate(d.steps):
                        handle.write(
                            f"{task.task}\t{backend}\t{order}\t{k}\t"
                            f"{np.nanmean(curves[:, s]):.4f}\n"
                        )
    written.append(path)
    path = folder / "config.json"
    config = _config_dict(result.config)
    config["backends_run"] = list(result.backends)
    config["tasks_run"] = [
        {
            **t.data,
            "test_auroc": t.test_auroc,
            "model_ok": t.model_ok,
            "epochs_trained": len(t.history.get("loss", [])),
        }
        for t in result.tasks
    ]
    path.write_text(json.dumps(config, indent=1, default=str) + "\n", encoding="utf-8")
    written.append(path)
    written += _plot(result, rows, folder)
    return written


def _plot(result: BenchmarkResult, rows: list[dict], folder: Path) -> list[Path]:
    """One PNG of metrics per task, one of sanity cascades, one of deletion curves."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    written = []
    shown = ("auroc", "auprc", "top_k", "mass", "pointing", "cos_raw", "cos_adapted", "distractor")
    for task in result.tasks:
        if not task.model_ok:
            continue
        task_rows = [r for r in rows if r["task"] == task.task]
        names = [r["backend"] for r in task_rows]
        fig, axes = plt.subplots(2, 4, figsize=(16, 7), sharey=True)
        for ax, metric in zip(axes.ravel(), shown, strict=True):
            med = np.array([r[metric][0] for r in task_rows])
            err = np.array(
                [[r[metric][0] - r[metric][1], r[metric][2] - r[metric][0]] for r in task_rows]
            ).T
            ax.barh(
                np.arange(len(names)), np.nan_to_num(med), xerr=np.nan_to_num(err), color="#4477aa"
            )
            ax.set_yticks(np.arange(len(names)), names, fontsize=8)
            ax.set_title(metric)
            ax.set_xlim(0, 1)
            ax.invert_yaxis()
        fig.suptitle(
            f"{task.task}: median and 95% bootstrap interval over {len(task.ids)} hairpins "
            f"(model test AUROC {task.test_auroc:.3f})"
        )
        written.append(_save_png(fig, folder / f"metrics_{task.task}.png"))
        if task.sanity:
            fig, ax = plt.subplots(figsize=(9, 5))
            colours = plt.cm.tab20(np.linspace(0, 1, max(2, len(task.sanity))))
            for colour, (backend, s) in zip(colours, task.sanity.items(), strict=False):
                ax.plot(
                    np.arange(len(s.layers)),
                    np.nanmedian(s.correlations, axis=1),
                    marker="o",
                    label=backend,
                    color=colour,
                )
            layers = next(iter(task.sanity.values())).layers
            ax.set_xticks(np.arange(len(layers)), [f"+{n}" for n in layers], rotation=45)
            ax.axhline(result.config.sanity_threshold, color="grey", ls="--", lw=1)
            ax.set_ylabel("median Spearman |map| vs trained")
            ax.set_title(f"{task.task}: cascading randomisation from the top")
            ax.legend(fontsize=7, ncol=2)
            written.append(_save_png(fig, folder / f"sanity_{task.task}.png"))
        if task.deletion:
            fig, ax = plt.subplots(figsize=(9, 5))
            colours = plt.cm.tab20(np.linspace(0, 1, max(2, len(task.deletion))))
            for colour, (backend, d) in zip(colours, task.deletion.items(), strict=False):
                ax.plot(
                    d.steps, np.nanmean(d.salient, axis=0), marker="o", label=backend, color=colour
                )
            first = next(iter(task.deletion.values()))
            random = np.nanmean(np.stack([d.random for d in task.deletion.values()]), axis=(0, 1))
            ax.plot(first.steps, random, color="black", ls="--", lw=2, label="random (all)")
            ax.set_xlabel("nucleotides mutated")
            ax.set_ylabel("mean P(explained class)")
            ax.set_title(f"{task.task}: deletion curves (refolded, redrawn)")
            ax.legend(fontsize=7, ncol=2)
            written.append(_save_png(fig, folder / f"deletion_{task.task}.png"))
    return written


def small_config(**changes: Any) -> BenchmarkConfig:
    """A configuration that runs in about a minute on a CPU (for tests and a first look)."""
    base = BenchmarkConfig(
        n_pairs=60,
        epochs=3,
        batch_size=32,
        early_stopping=None,
        filters=(8, 8, 8),
        dense_units=16,
        n_explain=8,
        n_sanity=2,
        n_faithfulness=3,
        deletion_steps=(0, 1, 2),
        n_boot=200,
        backend_params={
            "smoothgrad": {"n_samples": 4},
            "smoothgrad_guided_backprop": {"n_samples": 4},
            "smoothgrad_squared": {"n_samples": 4},
            "vargrad": {"n_samples": 4},
            "integrated_gradients": {"steps": 8},
            "shap": {"n_samples": 8},
        },
    )
    return replace(base, **changes)
