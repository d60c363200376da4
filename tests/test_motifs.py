"""Seqlets and motifs: planted bumps are found where they are, noise mostly is not, arms stay
apart, every hairpin is accounted for; the API, the logos and ``mirnamap motifs``."""

from __future__ import annotations

import numpy as np
import pytest

from mirnamap.motifs import call_seqlets, find_motifs, information_content
from mirnamap.structure import regions

_COMPLEMENT = str.maketrans("ACGU", "UGCA")
# A designed hairpin: 2-nt tails, a 25-bp stem, a 6-nt loop (L = 60).
_STRUCTURE = ".." + "(" * 25 + "......" + ")" * 25 + ".."
_L = len(_STRUCTURE)
_MOTIF = "UGUGA"
_AT = 8  # 5' arm; its partner on the 3' arm runs from 60 - 3 - 8 - 4 = 45 to 50


def _partner(i: int) -> int:
    return _L - 1 - i  # tails of equal length: i pairs with L - 1 - i


def _hairpins(n: int, seed: int, motif_on_both_arms: bool = False) -> list[str]:
    """Random hairpin sequences with UGUGA at 8..12 (and UCACA at its partners)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        seq = list(rng.choice(list("ACGU"), _L))
        for j, base in enumerate(_MOTIF):
            seq[_AT + j] = base
            if motif_on_both_arms:
                seq[_partner(_AT + j)] = base.translate(_COMPLEMENT)
        out.append("".join(seq))
    return out


def test_the_test_design_has_the_regions_it_claims():
    codes = regions(_STRUCTURE)
    assert set(codes[_AT : _AT + 5]) == {1}
    assert set(codes[_partner(_AT + 4) : _partner(_AT) + 1]) == {3}


def test_planted_bumps_are_found_at_their_positions_with_their_region_and_sign():
    rng = np.random.default_rng(1)
    seqs = _hairpins(20, seed=1)
    scores = []
    for _ in seqs:
        s = rng.normal(0, 0.05, _L)
        s[_AT : _AT + 5] += 1.0  # for the class, on the 5' arm
        s[29:33] -= 1.0  # against it, in the loop (27 .. 32)
        scores.append(s)
    found = call_seqlets(scores, seqs, [_STRUCTURE] * 20, width=5, seed=0)
    assert found.counts.tolist() == [2] * 20
    for k in range(20):
        mine = [s for s in found.seqlets if s.hairpin == k]
        up = [s for s in mine if s.sign == 1]
        down = [s for s in mine if s.sign == -1]
        assert [(s.start, s.end, s.sequence, s.region) for s in up] == [
            (_AT, _AT + 5, _MOTIF, "5' arm")
        ]
        assert len(down) == 1 and down[0].region == "terminal loop"
        assert 28 <= down[0].start <= 29  # the 4-nt bump 29..32 inside the 5-nt window
        assert up[0].score == pytest.approx(scores[k][_AT : _AT + 5].sum())
    only_up = call_seqlets(scores, seqs, [_STRUCTURE] * 20, sign="positive", seed=0)
    assert {s.sign for s in only_up.seqlets} == {1} and len(only_up) == 20


@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_the_null_keeps_false_calls_on_pure_noise_near_alpha(alpha):
    rng = np.random.default_rng(2)
    n = 400
    seqs = _hairpins(n, seed=2)
    noise = [rng.normal(0, 1, _L) for _ in range(n)]
    found = call_seqlets(noise, seqs, [_STRUCTURE] * n, alpha=alpha, n_null=200, seed=0)
    called = float((found.counts > 0).mean())
    # Binomial sd at n = 400 is <= 0.02; the quantile of 200 shuffles adds a little.
    assert alpha / 2 < called < alpha * 1.6, called


def test_seed_reproducibility_and_independence_of_hairpins():
    rng = np.random.default_rng(3)
    seqs = _hairpins(6, seed=3)
    scores = [rng.normal(0, 1, _L) for _ in seqs]
    a = call_seqlets(scores, seqs, [_STRUCTURE] * 6, seed=7)
    b = call_seqlets(scores, seqs, [_STRUCTURE] * 6, seed=7)
    c = call_seqlets(scores, seqs, [_STRUCTURE] * 6, seed=8)
    np.testing.assert_array_equal(a.thresholds, b.thresholds)
    assert a.seqlets == b.seqlets
    assert not np.array_equal(a.thresholds, c.thresholds)
    changed = [rng.normal(0, 5, _L), *scores[1:]]  # another first hairpin
    d = call_seqlets(changed, seqs, [_STRUCTURE] * 6, seed=7)
    np.testing.assert_array_equal(a.thresholds[1:], d.thresholds[1:])


def test_every_hairpin_is_accounted_for():
    seqs = [*_hairpins(2, seed=4), "ACGU", "A" * 20, _hairpins(1, seed=5)[0]]
    structures = [_STRUCTURE, _STRUCTURE, "....", "." * 20, _STRUCTURE]
    bump = np.zeros(_L)
    bump[10:15] = 1.0
    scores = [bump, np.full(_L, np.nan), np.ones(4), np.ones(20), np.zeros(_L)]
    found = call_seqlets(scores, seqs, structures, ids=list("abcde"), width=5, seed=0)
    frame = found.hairpins_frame()
    assert frame["id"].tolist() == list("abcde")
    assert frame["status"].tolist() == ["searched", "skipped", "skipped", "skipped", "skipped"]
    assert "finite" in found.reasons[1] and "shorter" in found.reasons[2]
    assert "region" in found.reasons[3] and "0" in found.reasons[4]
    assert found.counts.tolist() == [1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="record 'b'"):
        call_seqlets([bump, np.ones(3)], seqs[:2], structures[:2], ids=["a", "b"])


def _motif_maps(n: int, both_arms: bool, seed: int):
    rng = np.random.default_rng(seed)
    seqs = _hairpins(n, seed=seed, motif_on_both_arms=both_arms)
    scores = []
    for _ in seqs:
        s = rng.normal(0, 0.05, _L)
        s[_AT : _AT + 5] += 1.0
        if both_arms:
            s[_partner(_AT + 4) : _partner(_AT) + 1] += 1.0
        scores.append(s)
    return call_seqlets(scores, seqs, [_STRUCTURE] * n, width=5, seed=0)


def test_motif_recovered_with_its_region_and_logo_matrix():
    found = _motif_maps(30, both_arms=False, seed=6)
    motifs = find_motifs(found, k=4, flank=3, min_support=5)
    top = motifs.motifs[0]
    assert top.consensus == _MOTIF
    assert top.region == "5' arm" and top.regions == {"5' arm": 30}
    assert top.support == 30 and top.n_hairpins == 30 and top.sign == 1
    assert top.counts.shape == (5, 4) and (top.counts.sum(axis=1) == 30).all()
    assert set(top.offsets) == {_AT}
    np.testing.assert_allclose(information_content(top.counts), 2.0)
    assert (motifs.assignment == 0).all()


def test_seqlets_shifted_off_the_core_are_absorbed_into_the_motif():
    rng = np.random.default_rng(10)
    seqs = _hairpins(30, seed=10)
    scores = []
    for k in range(30):
        s = rng.normal(0, 0.05, _L)
        shift = 2 if k % 3 == 0 else 0  # 10 seqlets read UGA + 2 flanking nucleotides
        s[_AT + shift : _AT + shift + 5] += 1.0
        scores.append(s)
    found = call_seqlets(scores, seqs, [_STRUCTURE] * 30, width=5, seed=0)
    assert sorted({s.start for s in found.seqlets}) == [_AT, _AT + 2]
    whole = find_motifs(found).motifs[0]
    assert whole.consensus == _MOTIF and whole.support == 30
    assert set(whole.offsets) == {_AT}  # aligned on the motif, not on the seqlets
    assert (whole.counts.sum(axis=1) == 30).all()
    assert find_motifs(found, absorb=False).motifs[0].support == 20


def test_the_two_arms_are_not_merged_though_they_are_reverse_complements():
    found = _motif_maps(30, both_arms=True, seed=7)
    for split in (True, False):
        motifs = find_motifs(found, split_regions=split)
        by_consensus = {m.consensus: m for m in motifs.motifs}
        assert set(by_consensus) == {"UGUGA", "UCACA"}, split
        assert by_consensus["UGUGA"].regions == {"5' arm": 30}
        assert by_consensus["UCACA"].regions == {"3' arm": 30}


def test_min_support_and_frames():
    found = _motif_maps(4, both_arms=False, seed=8)
    none = find_motifs(found, min_support=5)
    assert len(none) == 0 and (none.assignment == -1).all()
    some = find_motifs(found, min_support=4)
    frame = found.to_frame(some.assignment)
    assert frame["motif"].tolist() == ["motif_1"] * 4
    assert some.to_frame()["consensus"].tolist() == [_MOTIF]
    with pytest.raises(ValueError, match="k must be"):
        find_motifs(found, k=6)


def test_logos_are_written(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from mirnamap.plot import save_motif_logos

    motifs = find_motifs(_motif_maps(10, both_arms=True, seed=9))
    paths = save_motif_logos(motifs.motifs, tmp_path / "logos")
    assert [p.name for p in paths] == ["motif_1.png", "motif_2.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


# The API and the command on a random tiny model: the plumbing, not the biology.
_FASTA = {
    "let7": "GGGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCC",
    "hp2": "CCUUGGAGUAAAGUAGCAGCACAUAAUGGUUUGUGGAUUUUGAAAAGGUGCAGGCCAUAUUGUGCUGCCUCAAAAAUACAAGG",
    "flat": "AAAAAAAAAAAAAAAAAAAAAAAA",
}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    from mirnamap.model import build_model, save_model

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(build_model(filters=(4, 4, 4), dense_units=8, seed=0), path)
    return path


def test_motifs_of_an_explanation(model_path):
    from mirnamap.pipeline import explain_hairpins, motifs_of

    explanation = explain_hairpins(
        _FASTA, ["gradient"], model_path, workers=1, progress=False, seed=0
    )
    # A lax null (alpha 0.9): a random model's maps need not stand out from their shuffles.
    result = motifs_of(
        explanation, "gradient", seqlet_options={"alpha": 0.9}, motif_options={"min_support": 1}
    )
    assert len(result.seqlets) >= 2
    hairpins = result.hairpins_frame()
    assert sorted(hairpins["id"]) == sorted(_FASTA)
    assert hairpins.set_index("id").loc["flat", "status"] == "failed"
    frame = result.seqlet_frame()
    assert {"id", "position", "region", "sequence", "score", "motif"} <= set(frame.columns)
    for row in frame.itertuples():
        assert _FASTA[row.id].replace("T", "U")[row.start : row.end] == row.sequence
    with pytest.raises(ValueError, match="not computed"):
        motifs_of(explanation, "grad_cam")


def test_cli_motifs_writes_tables_and_logos(tmp_path, model_path, capsys):
    import pandas as pd

    from mirnamap.cli import main

    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">{k}\n{v}\n" for k, v in _FASTA.items()))
    out = tmp_path / "motifs"
    args = ["motifs", str(fasta), "--model", str(model_path), "--method", "gradient"]
    lax = ["--min-support", "1", "--alpha", "0.9", "--workers", "1"]
    code = main([*args, "--out", str(out), *lax])
    assert code == 0
    seqlets = pd.read_csv(out / "seqlets.tsv", sep="\t")
    motifs = pd.read_csv(out / "motifs.tsv", sep="\t")
    hairpins = pd.read_csv(out / "hairpins.tsv", sep="\t")
    assert len(hairpins) == 3 and len(seqlets) >= 1 and len(motifs) >= 1
    assert sorted(p.name for p in (out / "logos").glob("*.png")) == sorted(
        f"{m}.png" for m in motifs["name"]
    )
    assert "flat" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "x"), "--alpha", "2"]) == 2
