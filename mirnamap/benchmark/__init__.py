"""Which explanation is right? A ground-truth benchmark for every saliency backend.

For each synthetic task (:mod:`mirnamap.benchmark.synthetic`: the nucleotides that decide
each label are known), the benchmark

1. generates hairpins that fold as designed, draws them, splits them by twin pair, and
   trains a DeepMir classifier with :func:`mirnamap.train.train`;
2. refuses to score explanations of a model whose test AUROC is below ``min_auroc``
   (0.95: below that, maps disagree for other reasons) and flags it in the table;
3. explains the test positives (every test hairpin for ``additive``) with every backend
   (:func:`mirnamap.pipeline.explain_hairpins`: the maps and their projection onto
   nucleotides) and scores them against the truth (:mod:`mirnamap.benchmark.metrics`),
   per hairpin;
4. runs the model-randomisation sanity check (:mod:`mirnamap.benchmark.sanity`) and the
   sequence-level deletion test (:mod:`mirnamap.benchmark.faithfulness`);
5. reports the median and a seeded bootstrap interval of every metric per backend
   (:func:`write_results`: TSV, markdown, PNG).

The modules, in the order of a run: :mod:`~mirnamap.benchmark.config` (what runs),
:mod:`~mirnamap.benchmark.synthetic` (the tasks), :mod:`~mirnamap.benchmark.running`
(training and explaining), :mod:`~mirnamap.benchmark.scoring` with
:mod:`~mirnamap.benchmark.metrics`, :mod:`~mirnamap.benchmark.sanity` and
:mod:`~mirnamap.benchmark.faithfulness` (how right the maps are), and
:mod:`~mirnamap.benchmark.reporting` (tables and plots).

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

from mirnamap.benchmark.config import (
    BASELINES,
    MAP_METRICS,
    METRICS,
    BenchmarkConfig,
    small_config,
)
from mirnamap.benchmark.reporting import format_table, write_results
from mirnamap.benchmark.running import BenchmarkResult, TaskResult, run_benchmark, run_task
from mirnamap.benchmark.scoring import adapt_truth, score_maps
from mirnamap.benchmark.synthetic import TASKS

__all__ = [
    "BASELINES",
    "MAP_METRICS",
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
    "small_config",
    "write_results",
]
