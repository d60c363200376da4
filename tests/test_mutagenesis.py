"""In-silico mutagenesis with refolding (mirnamap.mutagenesis) and its place in the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mirnamap.encode import encode  # noqa: E402
from mirnamap.ensemble import Ensemble  # noqa: E402
from mirnamap.fold import fold  # noqa: E402
from mirnamap.mutagenesis import ALPHABET, ism, mutants_of, paint_scores  # noqa: E402
from mirnamap.project import project  # noqa: E402

#: Small hairpins that fold into one stem-loop; the third has a bulge.
HAIRPINS = [
    "GGGCUAUCCGAAAGGAUAGCCC",
    "ACGGUCAGCUUCGGCUGACCGU",
    "GCCAGUCAGAUAUUCGUCUGACUGGC",
]
#: The pixel the one-pixel model reads: top half, next to the midline, column 3.
ROW, COLUMN = 12, 3
#: Channel weights of that pixel's logit: every colour gives another value.
WEIGHTS = (1.0, 2.0, 4.0)


def one_pixel_model(weights: tuple[float, float, float] = WEIGHTS) -> keras.Model:
    """A DeepMir-shaped model whose pre-miRNA logit is a weighted sum of one pixel's RGB."""
    inputs = keras.Input((25, 100, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Cropping2D(((ROW, 24 - ROW), (COLUMN, 99 - COLUMN)))(x)
    x = keras.layers.Flatten()(x)
    dense = keras.layers.Dense(2, name="logits", use_bias=False)
    logits = dense(x)
    dense.set_weights([np.array([[0.0, w] for w in weights], dtype=np.float32)])
    return keras.Model(inputs, keras.layers.Softmax(name="probabilities")(logits))


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return one_pixel_model()


@pytest.fixture(scope="module")
def result(model):
    return ism(model, HAIRPINS, ids=["a", "b", "c"], workers=1, progress=False)


def test_mutants_exclude_the_wild_type():
    sequence = "ACGU"
    mutants = mutants_of(sequence)
    assert len(mutants) == 3 * len(sequence)
    assert sequence not in [m for _, _, m in mutants]
    assert all(sum(a != b for a, b in zip(m, sequence, strict=True)) == 1 for _, _, m in mutants)
    deleted = [m for _, c, m in mutants_of(sequence, deletions=True) if c == 4]
    assert deleted == ["CGU", "AGU", "ACU", "ACG"]


def test_shapes_and_the_wild_type_is_never_a_mutant(result):
    assert result.ids == ("a", "b", "c") and result.failures == ()
    assert result.columns == ALPHABET
    for sequence, deltas, changed, undrawable, n in zip(
        result.sequences,
        result.deltas,
        result.changed,
        result.undrawable,
        result.n_mutants,
        strict=True,
    ):
        assert deltas.shape == changed.shape == undrawable.shape == (len(sequence), 4)
        wild = np.array([ALPHABET.index(b) for b in sequence])
        rows = np.arange(len(sequence))
        # No value, no fold change and no failure at the wild-type base: it is no mutant.
        assert np.isnan(deltas[rows, wild]).all()
        assert not changed[rows, wild].any() and not undrawable[rows, wild].any()
        assert n == 3 * len(sequence)
        others = np.ones_like(changed)
        others[rows, wild] = False
        assert (np.isnan(deltas) == (~others | undrawable)).all()


def test_score_is_wild_type_minus_mean_mutant_logit_and_splits(model, result):
    k = 0
    sequence = result.sequences[k]
    # Independent reference for one position: fold, draw and predict its three mutants.
    position = 5
    mutants = [sequence[:position] + b + sequence[position + 1 :] for b in ALPHABET]
    mutants = [m for m in mutants if m != sequence]
    folds = fold([sequence, *mutants], workers=1)
    enc = encode([f.sequence for f in folds], [f.structure for f in folds], strict=True)
    logits = keras.Model(model.inputs, model.get_layer("logits").output)(
        [enc.images.astype(np.float32)]
    ).numpy()[:, 1]
    assert result.logits[k] == pytest.approx(logits[0], abs=1e-6)
    assert result.scores[k][position] == pytest.approx(logits[0] - logits[1:].mean(), abs=1e-6)
    for k in range(len(result)):
        total = result.fold_scores[k] + result.letter_scores[k]
        np.testing.assert_allclose(total, result.scores[k], atol=1e-12)
        np.testing.assert_allclose(result.scores[k], -np.nanmean(result.deltas[k], axis=1))


def test_one_pixel_model_scores_only_its_painter_or_fold_changes(result):
    seen_painter = 0
    for k in range(len(result)):
        enc = encode([result.sequences[k]], [result.structures[k]])
        painter = int(enc.layout[0, ROW, COLUMN])
        assert painter >= 0
        deltas, changed = result.deltas[k], result.changed[k]
        same_fold = ~changed & ~np.isnan(deltas)
        # A mutant that keeps the fold changes the pixel only by recolouring its painter.
        others = np.arange(len(deltas)) != painter
        assert (deltas[others][same_fold[others]] == 0).all()
        # ... and recolouring the painter always changes the logit (distinct colours).
        assert (deltas[painter][same_fold[painter]] != 0).all()
        seen_painter += same_fold[painter].sum()
        scored = np.flatnonzero(np.nan_to_num(result.scores[k]) != 0)
        assert all(p == painter or changed[p].any() for p in scored)
        # The split: no fold change anywhere but the painter means no letter score.
        assert (np.nan_to_num(result.letter_scores[k][others]) == 0).all()
    assert seen_painter > 0  # the test saw a painter mutant that kept the fold


@pytest.mark.parametrize(("batch_size", "chunk_size", "workers"), [(1, 1, 1), (7, 2, 2)])
def test_batch_chunk_and_workers_do_not_change_results(
    model, result, batch_size, chunk_size, workers
):
    # Three hairpins in one chunk are > 128 folds: two workers really start a pool.
    other = ism(
        model,
        HAIRPINS,
        ids=["a", "b", "c"],
        batch_size=batch_size,
        chunk_size=chunk_size if workers == 1 else 3,
        workers=workers,
        progress=False,
    )
    for a, b in zip(result.deltas, other.deltas, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(result.changed, other.changed, strict=True):
        assert (a == b).all()
    np.testing.assert_allclose(result.logits, other.logits, atol=1e-6)


def test_each_hairpin_is_explained_on_its_own_and_the_same_every_run(model, result):
    # No random step and no cross-talk: the hairpins in another order, or one alone, give
    # the same bits (a mix-up of the fold spans or of the image rows would not).
    reverse = ism(model, HAIRPINS[::-1], ids=["c", "b", "a"], workers=1, progress=False)
    alone = ism(model, HAIRPINS[1:2], ids=["b"], workers=1, progress=False)
    for run, order in ((reverse, [2, 1, 0]), (alone, [1])):
        assert run.ids == tuple(result.ids[k] for k in order)
        for j, k in enumerate(order):
            np.testing.assert_array_equal(run.deltas[j], result.deltas[k])
            np.testing.assert_array_equal(run.scores[j], result.scores[k])
            np.testing.assert_array_equal(run.changed[j], result.changed[k])
        np.testing.assert_array_equal(run.logits, result.logits[order])
    # The hairpins differ, so equal results above are no accident of identical inputs.
    assert not np.array_equal(result.deltas[0], result.deltas[1], equal_nan=True)


def test_bad_records_get_a_reason_naming_them(model):
    out = ism(
        model,
        [HAIRPINS[0], "", "ACGNAC", "AAAAAAAAAA"],
        ids=["good", "empty", "letters", "no_hairpin"],
        workers=1,
        progress=False,
    )
    assert out.ids == ("good",)
    reasons = {f.id: (f.index, f.stage, f.reason) for f in out.failures}
    assert set(reasons) == {"empty", "letters", "no_hairpin"}
    assert reasons["empty"][:2] == (1, "fold") and "empty" in reasons["empty"][2]
    assert reasons["letters"][:2] == (2, "fold") and "'N'" in reasons["letters"][2]
    assert reasons["no_hairpin"][:2] == (3, "encode")
    assert "wild type cannot be drawn" in reasons["no_hairpin"][2]
    with pytest.raises(TypeError, match="single str"):
        ism(model, "GGGAAACCC")
    with pytest.raises(ValueError, match="unknown target"):
        ism(model, HAIRPINS, target="nope")
    with pytest.raises(ValueError, match="batch_size"):
        ism(model, HAIRPINS, batch_size=0)


def test_undrawable_mutants_are_counted_not_dropped(model):
    # A short weak stem: some mutants unfold completely and cannot be drawn.
    out = ism(model, ["GGGAAACCC"], workers=1, deletions=True, progress=False)
    assert out.columns == (*ALPHABET, "-")
    assert out.n_mutants[0] == 4 * 9
    assert out.n_undrawable[0] == out.undrawable[0].sum() > 0
    assert np.isnan(out.deltas[0][out.undrawable[0]]).all()
    # An undrawable mutant folded differently, so it is marked as a fold change.
    assert out.changed[0][out.undrawable[0]].all()


def test_ensemble_explains_the_combined_logit():
    first, second = one_pixel_model(), one_pixel_model((4.0, -1.0, 0.5))
    both = ism(Ensemble([first, second]), HAIRPINS, workers=1, progress=False)
    alone = [ism(m, HAIRPINS, workers=1, progress=False) for m in (first, second)]
    assert both.members == ("member_0", "member_1")
    for k in range(len(HAIRPINS)):
        mean = (alone[0].deltas[k] + alone[1].deltas[k]) / 2
        np.testing.assert_allclose(both.deltas[k], mean, atol=1e-6)
        spread = np.abs(alone[0].scores[k] - alone[1].scores[k]) / 2  # sd of two values
        np.testing.assert_allclose(both.sd[k], spread, atol=1e-6)
        assert (alone[0].sd[k][~np.isnan(alone[0].sd[k])] == 0).all()


def test_painted_scores_project_back():
    enc = encode(HAIRPINS, [f.structure for f in fold(HAIRPINS, workers=1)])
    rng = np.random.default_rng(0)
    scores = [rng.standard_normal(len(s)) for s in HAIRPINS]
    scores[0][2] = np.nan
    lengths = np.array([len(s) for s in HAIRPINS])
    back = project(paint_scores(scores, enc.layout), enc.layout, lengths)
    for score, got, pixels in zip(scores, back.scores, back.n_pixels, strict=True):
        painted = pixels > 0
        expected = np.nan_to_num(score)[painted]
        np.testing.assert_allclose(got[painted], expected, atol=1e-5)
    assert (back.background == 0).all() and (back.gap == 0).all()


# ---------------------------------------------------------------------------- pipeline


def test_explain_hairpins_takes_ism_like_a_backend(model, tmp_path):
    from mirnamap.pipeline import explain_hairpins, list_methods

    assert "ism" in list_methods() and "gradient" in list_methods()
    result = explain_hairpins(
        dict(zip(["a", "b", "c"], HAIRPINS, strict=True)),
        ["ism", "gradient"],
        model,
        workers=1,
        progress=False,
        params={"ism": {"chunk_size": 2}},
    )
    direct = ism(model, HAIRPINS, structures=result.structures, workers=1, progress=False)
    lengths = np.array([len(s) for s in result.sequences])
    back = project(result.maps["ism"], result.layout, lengths)
    for k in range(len(result)):
        np.testing.assert_array_equal(result.scores("ism")[k], direct.scores[k])
        painted = back.n_pixels[k] > 0
        np.testing.assert_allclose(back.scores[k][painted], direct.scores[k][painted], atol=1e-5)
        np.testing.assert_array_equal(result.magnitudes["ism"].scores[k], np.abs(direct.scores[k]))
    assert result.seconds["ism"] > 0
    shares = result.region_shares("ism")
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    frame = result.to_frame()
    assert set(frame["method"]) == {"ism", "gradient"}
    assert len(frame[frame["method"] == "ism"]) == sum(len(s) for s in HAIRPINS)
    written = result.save(tmp_path / "out", pictures=True)
    assert written and all(p.is_file() for p in written)
    assert (tmp_path / "out" / "a" / "structure_ism.png").is_file()
    assert "ism" in (tmp_path / "out" / "saliency.tsv").read_text().splitlines()[0]


def test_explain_hairpins_ism_with_an_ensemble_keeps_the_members_spread():
    from mirnamap.pipeline import explain_hairpins

    ensemble = Ensemble([one_pixel_model(), one_pixel_model((4.0, -1.0, 0.5))])
    result = explain_hairpins(HAIRPINS, "ism", ensemble, workers=1, progress=False)
    direct = ism(ensemble, HAIRPINS, structures=result.structures, workers=1, progress=False)
    for k in range(len(result)):
        np.testing.assert_array_equal(result.scores("ism")[k], direct.scores[k])
        np.testing.assert_array_equal(result.sd_scores["ism"][k], direct.sd[k])
    assert any(np.nansum(sd) > 0 for sd in result.sd_scores["ism"])
    assert result.sd_maps["ism"].shape == result.maps["ism"].shape


def test_cli_lists_ism(capsys):
    from mirnamap.cli import main

    assert main(["methods"]) == 0
    assert "ism" in capsys.readouterr().out.split()
