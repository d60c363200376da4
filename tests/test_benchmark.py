"""Tests of mirnamap.benchmark: generator, metrics, sanity check, deletion test, CLI."""

from __future__ import annotations

import numpy as np
import pytest

from mirnamap.benchmark import adapt_truth, score_maps
from mirnamap.benchmark.faithfulness import deletion_mutants, mutate, salient_order
from mirnamap.benchmark.metrics import (
    auprc,
    auroc,
    bootstrap_median,
    cosine,
    deletion_area,
    pad,
    pointing_game,
    relevance_mass,
    spearman,
    top_k_precision,
)
from mirnamap.benchmark.synthetic import TASKS, TaskParams, gc_content, make_dataset
from mirnamap.encode import encode
from mirnamap.fold import fold

# ------------------------------------------------------------------------ generator


@pytest.fixture(scope="module")
def datasets():
    return {task: make_dataset(task, 6, seed=3, workers=1, progress=False) for task in TASKS}


def test_every_hairpin_folds_as_designed(datasets):
    for data in datasets.values():
        folds = fold(data.sequences, workers=1)
        assert [f.structure for f in folds] == list(data.structures)
        assert np.allclose([f.mfe for f in folds], data.mfe)


def test_stems_loops_and_lengths_are_pre_mirna_like(datasets):
    for data in datasets.values():
        for structure in data.structures:
            assert 18 <= structure.count("(") <= 30
            loop = max(len(run) for run in structure.split("(")[-1].split(")")[:1])
            assert 4 <= loop <= 15


def test_truth_lies_inside_each_sequence_and_only_positives_have_it(datasets):
    for task, data in datasets.items():
        for sequence, truth, label in zip(data.sequences, data.truth, data.labels, strict=True):
            assert truth.shape == (len(sequence),)
            if task == "additive":
                weights = dict(zip("ACGU", data.params.base_weights, strict=True))
                assert np.array_equal(truth, [weights[b] for b in sequence])
            elif label == 1:
                assert truth.sum() > 0
            else:
                assert truth.sum() == 0


def test_motif_truth_marks_the_planted_motif_and_negatives_lack_it(datasets):
    data = datasets["motif"]
    motif = data.params.motif
    for sequence, truth, label in zip(data.sequences, data.truth, data.labels, strict=True):
        if label == 1:
            where = np.flatnonzero(truth)
            assert "".join(sequence[i] for i in where) == motif
            assert np.array_equal(where, np.arange(where[0], where[0] + len(motif)))
        else:
            assert motif not in sequence
        assert data.params.distractor in sequence  # the distractor sits in both classes


def test_structure_truth_is_a_5prime_bulge_moved_to_3prime_in_the_twin(datasets):
    data = datasets["structure"]
    for k in range(0, len(data), 2):
        positive, negative = data.structures[k], data.structures[k + 1]
        where = np.flatnonzero(data.truth[k])
        assert len(where) == data.params.bulge_size
        loop_start = positive.rindex("(")
        assert all(positive[i] == "." and i < loop_start for i in where)
        assert positive.count("(") == negative.count("(")
        assert positive != negative


def test_twins_are_matched_on_length_gc_and_mfe(datasets):
    for task in ("motif", "structure", "interaction"):
        data = datasets[task]
        for k in range(0, len(data), 2):
            assert data.labels[k] == 1 and data.labels[k + 1] == 0
            assert data.group[k] == data.group[k + 1]
            a, b = data.sequences[k], data.sequences[k + 1]
            assert len(a) == len(b)
            assert gc_content(a) == pytest.approx(gc_content(b))
            assert abs(data.mfe[k] - data.mfe[k + 1]) <= data.params.mfe_tolerance


def test_additive_labels_split_at_the_median_of_the_weight_sums(datasets):
    data = datasets["additive"]
    sums = np.array([t.sum() for t in data.truth])
    assert np.array_equal(data.labels, (sums > np.median(sums)).astype(int))
    assert data.labels.sum() == len(data) // 2


def test_generator_is_seeded():
    a = make_dataset("motif", 4, seed=11, workers=1)
    b = make_dataset("motif", 4, seed=11, workers=1)
    c = make_dataset("motif", 4, seed=12, workers=1)
    assert a.sequences == b.sequences and a.structures == b.structures
    assert all(np.array_equal(x, y) for x, y in zip(a.truth, b.truth, strict=True))
    assert a.sequences != c.sequences


def test_generator_rejects_bad_parameters():
    with pytest.raises(ValueError, match="unknown task"):
        make_dataset("colour", 2)
    with pytest.raises(ValueError, match="motif_region"):
        make_dataset("motif", 2, params=TaskParams(motif_region="tail"))
    with pytest.raises(ValueError, match="stem_pairs"):
        make_dataset("motif", 2, params=TaskParams(stem_pairs=(30, 18)))


# -------------------------------------------------------------------------- metrics

TRUTH = np.array([[True, True, False, False, False]])


def test_perfect_and_inverted_maps():
    perfect = np.array([[5.0, 4.0, 1.0, 1.0, 0.0]])
    inverted = np.array([[0.0, 1.0, 3.0, 4.0, 5.0]])
    assert auroc(perfect, TRUTH)[0] == 1.0
    assert auroc(inverted, TRUTH)[0] == 0.0
    assert auprc(perfect, TRUTH)[0] == 1.0
    assert top_k_precision(perfect, TRUTH)[0] == 1.0
    assert top_k_precision(inverted, TRUTH)[0] == 0.0
    assert pointing_game(perfect, TRUTH)[0] == 1.0
    assert pointing_game(inverted, TRUTH)[0] == 0.0
    assert relevance_mass(perfect, TRUTH)[0] == pytest.approx(9 / 11)
    assert relevance_mass(np.array([[1.0, 1.0, 0, 0, 0]]), TRUTH)[0] == 1.0


def test_constant_map_scores_chance_not_better():
    flat = np.ones((1, 5))
    assert auroc(flat, TRUTH)[0] == 0.5
    assert auprc(flat, TRUTH)[0] == pytest.approx(2 / 5)
    assert top_k_precision(flat, TRUTH)[0] == pytest.approx(2 / 5)
    assert pointing_game(flat, TRUTH)[0] == pytest.approx(2 / 5)


def test_ranking_metrics_agree_with_scikit_learn_with_ties():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    rows, truths = [], []
    for _ in range(40):
        n = int(rng.integers(6, 30))
        truth = rng.random(n) < 0.3
        truth[0], truth[1] = True, False
        rows.append(rng.integers(0, 4, n).astype(float))  # many ties
        truths.append(truth)
    scores = pad(rows)
    truth = pad(truths, fill=0.0) > 0
    expected_roc = [roc_auc_score(t, s) for s, t in zip(rows, truths, strict=True)]
    expected_ap = [average_precision_score(t, s) for s, t in zip(rows, truths, strict=True)]
    assert np.allclose(auroc(scores, truth), expected_roc)
    assert np.allclose(auprc(scores, truth), expected_ap)


def test_padding_and_other_rows_do_not_change_a_row():
    row = np.array([0.3, 0.9, 0.1, 0.5])
    truth = np.array([False, True, False, True])
    alone = [f(row[None], truth[None])[0] for f in (auroc, auprc, top_k_precision, cosine)]
    batch = pad([row, np.arange(9.0)])
    batch_truth = pad([truth, np.arange(9) % 2], fill=0.0) > 0
    together = [f(batch, batch_truth)[0] for f in (auroc, auprc, top_k_precision, cosine)]
    assert np.allclose(alone, together)


def test_undefined_metrics_are_nan():
    scores = np.array([[1.0, 2.0]])
    assert np.isnan(auroc(scores, np.array([[False, False]]))[0])
    assert np.isnan(auroc(scores, np.array([[True, True]]))[0])
    assert np.isnan(cosine(np.zeros((1, 2)), np.ones((1, 2)))[0])


def test_cosine_is_signed_and_scale_free():
    truth = np.array([[1.0, -0.5, 0.0, 2.0]])
    assert cosine(3 * truth, truth)[0] == pytest.approx(1.0)
    assert cosine(-truth, truth)[0] == pytest.approx(-1.0)


def test_spearman_sees_ranks_only():
    a = np.array([[1.0, 2.0, 3.0, 10.0]])
    assert spearman(a, a**3)[0] == pytest.approx(1.0)
    assert spearman(a, -a)[0] == pytest.approx(-1.0)


def test_deletion_area_and_bootstrap():
    assert deletion_area([[1.0, 1.0, 1.0]], [0, 1, 2])[0] == pytest.approx(1.0)
    assert deletion_area([[1.0, 0.0, 0.0, 0.0]], [0, 2, 4, 6])[0] == pytest.approx(1 / 6)
    values = np.random.default_rng(0).normal(size=200)
    median, low, high = bootstrap_median(values, seed=1)
    assert low <= median <= high
    assert bootstrap_median(values, seed=1) == (median, low, high)
    assert np.isnan(bootstrap_median([np.nan])).all()  # NaNs are left out: no value


# ------------------------------------------------ adapted truth and scoring of maps


def _hairpins():
    long_stem = "G" * 104 + "AAAA" + "C" * 104  # 108 columns: 8 fall off the canvas
    return encode(
        ["GGGAGCAAAGCUCCC", "GGAUCCAAAAGGAUCCAAU", long_stem],
        ["(((((.....)))))", "(((((.......)))))..", "(" * 104 + "...." + ")" * 104],
    )


def test_adapted_truth_counts_pixels_and_drops_unpainted_nucleotides():
    from mirnamap.project import project

    enc = _hairpins()
    lengths = np.array([len(s) for s in enc.sequences])
    truth = [np.ones(n) for n in lengths]
    adapted = adapt_truth(truth, enc.layout, lengths)
    pixels = project(np.ones(enc.layout.shape), enc.layout, lengths).n_pixels
    for a, n in zip(adapted, pixels, strict=True):
        assert np.array_equal(a, n.astype(float))
    assert (pixels[2] == 0).sum() == enc.n_off_canvas[2] > 0  # off the canvas: adapted 0


def test_a_map_painting_the_truth_scores_perfectly():
    enc = _hairpins()
    lengths = np.array([len(s) for s in enc.sequences])
    truth = [np.zeros(n) for n in lengths]
    truth[0][[1, 7]] = 1.0  # a stem and a loop nucleotide: bars of unequal length
    truth[1][[3, 8]] = 1.0
    truth[2][[0, 50]] = 1.0  # 0 is off the canvas
    painted = np.zeros(enc.layout.shape, dtype=np.float32)
    for k, t in enumerate(truth):
        painted[k] = np.where(enc.layout[k] >= 0, t[np.clip(enc.layout[k], 0, None)], 0.0)
    scores = score_maps(-painted, enc.layout, lengths, truth)  # the sign must not matter
    assert np.allclose(scores["auroc"][:2], 1.0)
    assert 0.5 < scores["auroc"][2] < 1.0  # the off-canvas truth nucleotide scores 0
    assert np.allclose(scores["cos_adapted"], 1.0)
    assert np.allclose(scores["mass"], 1.0)
    assert (scores["cos_raw"] < 0.99).all()  # the raw truth ignores the representation
    signed = score_maps(-painted, enc.layout, lengths, truth, signed=True)
    assert np.allclose(signed["cos_adapted"], -1.0)
    assert np.isnan(signed["auroc"]).all()


def test_adapted_truth_closes_a_set_truth_over_base_pairs_only():
    from mirnamap.project import project

    enc = _hairpins()
    lengths = np.array([len(s) for s in enc.sequences])
    truth = [np.zeros(n) for n in lengths]
    truth[0][[1, 7]] = 1.0  # stem nucleotide 1 (partner 13) and a loop nucleotide
    truth[1][[3, 8, 17]] = 1.0  # stem 3 (partner 13), loop 8, tail 17 (unpaired)
    truth[2][[104, 110]] = 1.0  # loop 104..107 and stem 110 (partner 101)
    closed = adapt_truth(truth, enc.layout, lengths, enc.structures)
    pixels = project(np.ones(enc.layout.shape), enc.layout, lengths).n_pixels
    expected = [[1, 7, 13], [3, 8, 13, 17], [101, 104, 110]]
    for k, want in enumerate(expected):
        assert np.flatnonzero(closed[k]).tolist() == [w for w in want if pixels[k][w] > 0]
        assert np.array_equal(closed[k][want], pixels[k][want].astype(float))
    # Without structures: only the truth's own nucleotides; a signed truth is not closed.
    plain = adapt_truth(truth, enc.layout, lengths)
    assert np.flatnonzero(plain[0]).tolist() == [1, 7]
    painted = np.zeros(enc.layout.shape, dtype=np.float32)
    for k, t in enumerate(closed):
        painted[k] = np.where(enc.layout[k] >= 0, t[np.clip(enc.layout[k], 0, None)] > 0, 0.0)
    scores = score_maps(painted, enc.layout, lengths, truth, structures=enc.structures)
    assert np.allclose(scores["cos_adapted"], 1.0)  # a map of truth + partners is perfect
    assert (scores["cos_raw"] < 0.99).all()
    signed = score_maps(painted, enc.layout, lengths, truth, signed=True, structures=enc.structures)
    unclosed = score_maps(painted, enc.layout, lengths, truth, signed=True)
    assert np.array_equal(signed["cos_adapted"], unclosed["cos_adapted"])
    with pytest.raises(ValueError, match="hairpin 1: structure has length"):
        adapt_truth(truth, enc.layout, lengths, [enc.structures[0]] * 3)


# ------------------------------------------------------------------- deletion test


def test_mutants_differ_at_exactly_k_salient_positions():
    sequence = "GGGAGCAAAGCUCCCAUAUAG"
    scores = np.linspace(0, 1, len(sequence))[::-1].copy()
    scores[3] = np.nan
    steps = [0, 1, 3, 5]
    mutants = deletion_mutants([sequence], [scores], steps, seed=4)
    assert len(mutants) == 2 * len(steps)
    salient, random = mutants[: len(steps)], mutants[len(steps) :]
    for k, mutant in zip(steps, salient, strict=True):
        changed = [i for i, (a, b) in enumerate(zip(sequence, mutant, strict=True)) if a != b]
        assert changed == list(range(k)) if k < 3 else changed[:3] == [0, 1, 2]
        assert len(changed) == k
    for k, mutant in zip(steps, random, strict=True):
        assert sum(a != b for a, b in zip(sequence, mutant, strict=True)) == k
    assert deletion_mutants([sequence], [scores], steps, seed=4) == mutants


def test_unpainted_nucleotides_are_mutated_last_and_mutate_checks():
    order = salient_order(np.array([np.nan, 0.1, -0.5, 0.2]), np.random.default_rng(0))
    assert order.tolist() == [2, 3, 1, 0]
    with pytest.raises(ValueError, match="equals"):
        mutate("ACGU", [0], ["A"])


# --------------------------------------------------------- sanity check and the CLI


@pytest.fixture(scope="module")
def tiny_model():
    from mirnamap.model import build_model

    return build_model(filters=(4, 4, 4), dense_units=8, seed=0)


def test_sanity_check_leaves_the_callers_model_untouched(tiny_model):
    from mirnamap.benchmark.sanity import cascading_randomization, randomizable_layers

    enc = _hairpins()
    before = [w.copy() for w in tiny_model.get_weights()]
    result = cascading_randomization(tiny_model, enc.images, "gradient", 1, seed=0)
    after = tiny_model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert result.layers == tuple(randomizable_layers(tiny_model))
    assert result.layers[0] == "logits" and result.layers[-1] == "conv1a"
    assert result.correlations.shape == (len(result.layers), len(enc))
    # Once every layer is new, the gradient map is another map.
    assert (result.final < 0.99).all()


def test_cli_benchmark_end_to_end(tmp_path):
    from mirnamap.cli import main

    out = tmp_path / "bench"
    status = main(
        [
            "benchmark",
            "--out",
            str(out),
            "--pairs",
            "16",
            "--epochs",
            "2",
            "--filters",
            "4,4,4",
            "--dense-units",
            "8",
            "--explain",
            "4",
            "--sanity",
            "2",
            "--faithfulness",
            "2",
            "--samples",
            "2",
            "--backends",
            "gradient,smoothgrad",
            "--min-auroc",
            "0",
            "--workers",
            "1",
        ]
    )
    assert status == 0
    for name in (
        "results.tsv",
        "results.md",
        "per_sequence.tsv",
        "sanity.tsv",
        "deletion.tsv",
        "config.json",
        "metrics_motif.png",
        "sanity_motif.png",
        "deletion_motif.png",
    ):
        assert (out / name).stat().st_size > 0
    rows = (out / "results.tsv").read_text().splitlines()
    backends = [r.split("\t")[1] for r in rows[1:]]
    assert backends == ["gradient", "smoothgrad", "baseline_uniform", "baseline_random"]
    per_sequence = (out / "per_sequence.tsv").read_text().splitlines()[1:]
    explained = {line.split("\t")[2] for line in per_sequence}
    assert explained and all(name.endswith("_p") for name in explained)  # test positives
    assert len(per_sequence) == 4 * len(explained)


def test_cli_benchmark_withholds_metrics_of_a_weak_model(tmp_path, capsys):
    from mirnamap.cli import main

    status = main(
        [
            "benchmark",
            "--out",
            str(tmp_path),
            "--pairs",
            "8",
            "--epochs",
            "1",
            "--filters",
            "4,4,4",
            "--dense-units",
            "8",
            "--explain",
            "2",
            "--sanity",
            "0",
            "--faithfulness",
            "0",
            "--backends",
            "gradient",
            "--min-auroc",
            "1.01",
            "--workers",
            "1",
        ]
    )
    assert status == 1
    assert "withheld" in (tmp_path / "results.md").read_text()
    assert main(["benchmark", "--out", str(tmp_path), "--backends", "nope"]) == 2
    assert "unknown saliency backend" in capsys.readouterr().err
