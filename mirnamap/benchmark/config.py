"""What the benchmark runs: its configuration, metric columns and reference rows.

:class:`BenchmarkConfig` holds the tasks, backends, sizes, model and seeds of a run;
:func:`small_config` is the configuration of the tests and of a first look.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mirnamap.benchmark.synthetic import TASKS, TaskParams

__all__ = ["BASELINES", "MAP_METRICS", "METRICS", "BenchmarkConfig", "small_config"]

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
#: Per-hairpin metrics from the maps (the rest come from the sanity and deletion runs).
MAP_METRICS = METRICS[:8]
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
    gini, gini_layer : float or None, str
        The Gini-bottleneck penalty of the task models' training
        (:func:`mirnamap.train.train`). Default is None (off) and "logits".
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
    gini: float | None = None
    gini_layer: str = "logits"

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
        if len(self.filters) != 3 or min(self.filters) < 1:
            raise ValueError(f"filters must be three integers >= 1, got {self.filters}")
        self.params.check()
        return self

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain values (for ``config.json``), ``params.extra`` left out."""
        out = asdict(self)
        out["params"] = {k: v for k, v in asdict(self.params).items() if k != "extra"}
        return out


def small_config(**changes: Any) -> BenchmarkConfig:
    """A configuration that runs in about a minute on a CPU (for tests and a first look).

    Four noisy samples for the SmoothGrad family, eight path steps and SHAP samples.

    Parameters
    ----------
    **changes
        Fields of :class:`BenchmarkConfig` to set instead.

    Returns
    -------
    BenchmarkConfig
    """
    # Imported here: the saliency registry loads TensorFlow, and the configuration alone
    # should not.
    from mirnamap.saliency import cost_params

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
            **cost_params(4),
            **cost_params(8, ["integrated_gradients", "shap"]),
        },
    )
    return replace(base, **changes)
