"""Running the benchmark: generate, split, train, explain and score every task.

:func:`run_task` does the steps of :mod:`mirnamap.benchmark` for one task and returns a
:class:`TaskResult`; :func:`run_benchmark` runs every task of a configuration and returns
a :class:`BenchmarkResult`, whose :meth:`~BenchmarkResult.summary` gives the medians and
bootstrap intervals that :mod:`mirnamap.benchmark.reporting` writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.benchmark import metrics
from mirnamap.benchmark.config import BASELINES, METRICS, BenchmarkConfig
from mirnamap.benchmark.scoring import score_maps
from mirnamap.benchmark.synthetic import SyntheticSet, make_dataset

if TYPE_CHECKING:
    import keras

__all__ = ["BenchmarkResult", "TaskResult", "run_benchmark", "run_task"]


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
        backend -> seconds of its :func:`~mirnamap.pipeline.explain_hairpins` call on
        the explained hairpins (the maps, their projection and one forward pass).
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
        gini=config.gini,
        gini_layer=config.gini_layer,
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
    from mirnamap.pipeline import SEQUENCE_METHODS, explain_hairpins

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
    chosen_ids = [data.ids[i] for i in chosen]  # unique by construction, so exactly these
    layout = encoding.layout[chosen]
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
        explanation = explain_hairpins(
            encoding,
            backend,
            model,
            target=1,
            ids=chosen_ids,
            params={backend: options},
            batch_size=config.batch_size_explain,
            seed=seed,
            progress=False,
        )
        seconds[backend] = explanation.seconds[backend]
        maps = explanation.maps[backend]
        per_sequence[backend] = score(maps)
        # The randomisation cascade re-runs a method once per layer: for mutagenesis (3 L
        # refolds and predictions per hairpin) that is not affordable; its row says n/a.
        if config.n_sanity and backend not in SEQUENCE_METHODS:
            k = min(config.n_sanity, len(chosen))
            sanity[backend] = cascading_randomization(
                model,
                explanation.images[:k],
                backend,
                1,
                reference=maps[:k],
                seed=seed,
                batch_size=config.batch_size_explain,
                **options,
            )
        if config.n_faithfulness:
            # Nucleotides ranked by the |map| on them: the magnitude projection.
            k = min(config.n_faithfulness, len(chosen))
            deletion[backend] = deletion_curves(
                model,
                [data.sequences[i] for i in chosen[:k]],
                explanation.magnitudes[backend].scores[:k],
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
        tuple(chosen_ids),
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
    from mirnamap.pipeline import list_methods

    config.check()
    known = list_methods()  # the saliency backends and in-silico mutagenesis
    backends = tuple(known if config.backends is None else config.backends)
    unknown = [b for b in backends if b not in known]
    if unknown:
        raise ValueError(f"unknown saliency backend(s) {unknown}; known: {', '.join(known)}")
    results = tuple(run_task(task, config, backends, log=log) for task in config.tasks)
    return BenchmarkResult(config, results, backends)
