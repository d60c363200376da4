"""The one-call API: every source kind, failures kept with their stage, ids, several
methods, the long DataFrame, and ``save()`` writing what the CLI writes."""

from __future__ import annotations

import csv
import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

import mirnamap
from mirnamap.cli import main
from mirnamap.encode import encode_folds, save_encoding
from mirnamap.fold import fold, save_folds
from mirnamap.model import build_model, save_model
from mirnamap.pipeline import (
    InputError,
    InputWarning,
    explain_hairpins,
    predict_hairpins,
    read_source,
)

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent

GOOD = {
    "let7": "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA",
    "mir21": "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA",
}
# "bad" cannot be folded (N), "flat" folds to no hairpin loop (no image).
RECORDS = {"let7": GOOD["let7"], "bad": "ACGUNACGU", "flat": "A" * 24, "mir21": GOOD["mir21"]}


@pytest.fixture(scope="module")
def model():
    return build_model(filters=(4, 4, 4), dense_units=8, seed=0)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, model):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(model, path)
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The same four records as every kind of source."""
    folder = tmp_path_factory.mktemp("sources")
    text = "".join(f">{i}\n{s}\n" for i, s in RECORDS.items())
    (folder / "in.fa").write_text(text)
    (folder / "in.fa.gz").write_bytes(gzip.compress(text.encode()))
    folds = fold(list(RECORDS.values()), ids=list(RECORDS), workers=1)
    save_folds(folds, folder / "folds.tsv")
    encoding = encode_folds(folds)
    save_encoding(encoding, folder / "enc.npz")
    return {
        "fasta": folder / "in.fa",
        "fasta.gz": folder / "in.fa.gz",
        "folds": folder / "folds.tsv",
        "npz": folder / "enc.npz",
        "encoding": encoding,
        "dict": dict(RECORDS),
    }


@pytest.mark.parametrize("kind", ["fasta", "fasta.gz", "folds", "npz", "encoding", "dict"])
def test_every_source_kind_gives_the_same_explanation(sources, model, kind):
    reference = explain_hairpins(sources["fasta"], "gradient", model, progress=False)
    result = explain_hairpins(sources[kind], "gradient", model, progress=False)
    assert result.ids == ("let7", "mir21")
    assert [f.id for f in result.failures] == ["bad", "flat"]
    assert result.n_records == 4
    np.testing.assert_array_equal(result.maps["gradient"], reference.maps["gradient"])
    np.testing.assert_array_equal(result.probabilities, reference.probabilities)
    assert list(result.index) == [0, 3]


def test_a_list_of_sequences_is_named_by_position(model):
    result = explain_hairpins(list(RECORDS.values()), "gradient", model, progress=False)
    assert result.ids == ("0", "3")
    assert [(f.index, f.id) for f in result.failures] == [(1, "1"), (2, "2")]


def test_failures_keep_their_stage_and_reason(sources, model):
    stages = {f.id: (f.stage, f.reason) for f in read_source(sources["fasta"]).failures}
    assert stages["bad"][0] == "fold" and "invalid character 'N'" in stages["bad"][1]
    assert stages["flat"][0] == "encode" and "no hairpin loop" in stages["flat"][1]
    predictions = predict_hairpins(sources["fasta"], model)
    assert len(predictions) == 4 and list(predictions.ok) == [True, False, False, True]
    assert list(predictions.predicted[[1, 2]]) == [-1, -1]


def test_a_bad_row_of_a_folds_table_fails_where_it_is_read(tmp_path, model):
    path = tmp_path / "folds.tsv"
    path.write_text(
        "id\tsequence\tstructure\n"
        "ok\tGGGGAAACCCC\t((((...))))\n"
        "unbalanced\tGGGGAAACCC\t((((...)))\n"
        "open\tGGGAAACCC\t(((...))\n"
        "letter\tGGGNAAACCC\t(((....)))\n"
    )
    inputs = read_source(path)
    assert inputs.ids == ("ok", "unbalanced", "open", "letter")
    failed = {f.id: f for f in inputs.failures}
    assert set(failed) == {"unbalanced", "open", "letter"}
    assert {f.stage for f in failed.values()} == {"read"}
    assert "'N'" in failed["letter"].reason
    result = explain_hairpins(path, "gradient", model, progress=False)
    assert result.ids == ("ok",) and len(result.failures) == 3


def test_ids_select_records_and_unknown_ids_are_an_error(sources, model):
    result = explain_hairpins(sources["npz"], "gradient", model, ids=["mir21", "bad"])
    assert result.ids == ("mir21",) and [f.id for f in result.failures] == ["bad"]
    assert result.n_records == 2
    with pytest.raises(ValueError, match=r"no record\(s\) \['nope'\]"):
        explain_hairpins(sources["npz"], "gradient", model, ids=["nope"])
    with pytest.raises(TypeError, match="not one string"):
        explain_hairpins(sources["npz"], "gradient", model, ids="mir21")


def test_several_methods_and_a_long_frame(sources, model):
    methods = ["gradient", "grad_cam", "smoothgrad"]
    result = explain_hairpins(
        sources["encoding"], methods, model, params={"smoothgrad": {"n_samples": 3}}
    )
    frame = result.to_frame()
    lengths = [len(s) for s in result.sequences]
    assert len(frame) == sum(lengths) * len(methods)
    assert list(frame.columns) == [
        "id",
        "position",
        "nucleotide",
        "structure",
        "region",
        "probability",
        "method",
        "score",
        "sd",
    ]
    for method in methods:
        part = frame[frame["method"] == method]
        np.testing.assert_array_equal(
            part["score"].to_numpy(), np.concatenate(result.scores(method))
        )
    first = frame[(frame["id"] == "let7") & (frame["method"] == "gradient")]
    assert "".join(first["nucleotide"]) == result.sequences[0]
    assert "".join(first["structure"]) == result.structures[0]
    assert list(first["position"]) == list(range(1, lengths[0] + 1))
    # Region shares: one row per record, summing to one per method.
    shares = result.region_shares("grad_cam")
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    summary = result.summary_frame()
    assert list(summary["id"]) == ["let7", "mir21"]
    assert result.failures_frame()["stage"].tolist() == ["fold", "encode"]


def test_bad_arguments_are_named(sources, model):
    with pytest.raises(ValueError, match="unknown saliency backend 'nope'"):
        explain_hairpins(sources["npz"], "nope", model)
    with pytest.raises(ValueError, match="not asked for"):
        explain_hairpins(sources["npz"], "gradient", model, params={"smoothgrad": {}})
    with pytest.raises(ValueError, match="unknown target"):
        explain_hairpins(sources["npz"], "gradient", model, target="mirna")
    with pytest.raises(InputError, match="no such file"):
        explain_hairpins("GGGAAACCC", "gradient", model)


def test_explanations_do_not_depend_on_the_batch_size(sources, model):
    one = explain_hairpins(
        sources["npz"],
        "smoothgrad",
        model,
        batch_size=1,
        params={"smoothgrad": {"n_samples": 4}},
        seed=3,
    )
    many = explain_hairpins(
        sources["npz"],
        "smoothgrad",
        model,
        batch_size=64,
        params={"smoothgrad": {"n_samples": 4}},
        seed=3,
    )
    np.testing.assert_allclose(
        one.maps["smoothgrad"], many.maps["smoothgrad"], rtol=1e-5, atol=1e-6
    )


def test_save_writes_what_the_cli_writes(sources, model_path, tmp_path):
    cli_out, api_out = tmp_path / "cli", tmp_path / "api"
    args = ["explain", str(sources["fasta"]), "--model", str(model_path)]
    assert main([*args, "--method", "gradient,grad_cam", "--out", str(cli_out)]) == 0
    result = explain_hairpins(sources["fasta"], ["gradient", "grad_cam"], model_path)
    written = result.save(api_out)
    assert written and all(p.is_file() and api_out in p.parents for p in written)
    cli_files = sorted(p.relative_to(cli_out) for p in cli_out.rglob("*"))
    assert cli_files == sorted(p.relative_to(api_out) for p in api_out.rglob("*"))
    for name in ("saliency.tsv", "summary.tsv", "failed.tsv", "pictures.tsv"):
        assert (cli_out / name).read_bytes() == (api_out / name).read_bytes()


def test_unlabelled_image_archives_are_predicted(tmp_path, model):
    images = np.random.default_rng(0).integers(0, 256, (5, 25, 100, 3), dtype=np.uint8)
    np.savez(tmp_path / "images.npz", images=images)
    result = predict_hairpins(tmp_path / "images.npz", model)
    assert result.labels is None and result.metrics() is None and result.ok.all()
    np.savez(tmp_path / "labelled.npz", images=images, labels=np.array([0, 1, 0, 1, 1]))
    labelled = predict_hairpins(tmp_path / "labelled.npz", model)
    np.testing.assert_array_equal(labelled.probabilities, result.probabilities)
    assert labelled.metrics()["n"] == 5 if "n" in labelled.metrics() else True
    frame = labelled.to_frame()
    assert list(frame["label"]) == [0, 1, 0, 1, 1]
    with pytest.raises(InputError, match="nucleotide maps need the sequences"):
        explain_hairpins(tmp_path / "images.npz", "gradient", model)


def test_picture_names_are_unique_and_mapped(tmp_path, model):
    long_id = "x" * 300
    records = {"mir-α": GOOD["let7"], "mir-β": GOOD["mir21"], long_id: GOOD["let7"]}
    fasta = tmp_path / "in.fa"
    fasta.write_text(
        "".join(f">{i}\n{s}\n" for i, s in records.items()) + f">mir-α\n{GOOD['mir21']}\n"
    )
    with pytest.warns(InputWarning, match="duplicate record ids 'mir-α'"):
        result = explain_hairpins(fasta, "gradient", model)
    assert len(result) == 4
    result.save(tmp_path / "out")
    with open(tmp_path / "out" / "pictures.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["id"] for r in rows] == ["mir-α", "mir-β", long_id, "mir-α"]
    folders = [r["folder"] for r in rows]
    assert len(set(folders)) == 4 and all(len(f.encode()) <= 255 for f in folders)
    for folder in folders:
        assert (tmp_path / "out" / folder / "track.png").is_file()


def test_the_package_exports_the_verbs():
    assert mirnamap.explain_hairpins is explain_hairpins
    assert mirnamap.predict_hairpins is predict_hairpins
    assert {"Explanation", "Predictions", "explain_hairpins", "predict_hairpins"} <= set(
        mirnamap.__all__
    )


def test_readme_example_runs_on_the_bundled_example_file(tmp_path):
    """The README's Python section: a FASTA file in, a DataFrame and pictures out."""
    result = mirnamap.explain_hairpins(
        ROOT / "data" / "examples" / "hairpins.fa",
        methods=["gradient", "grad_cam"],
        ids=["human_pos_9", "bad_letters"],
    )
    frame = result.to_frame()
    assert set(frame["id"]) == {"human_pos_9"} and set(frame["method"]) == {"gradient", "grad_cam"}
    assert [(f.id, f.stage) for f in result.failures] == [("bad_letters", "fold")]
    result.save(tmp_path / "explain")
    assert (tmp_path / "explain" / "human_pos_9" / "track.png").is_file()


def test_demo_tsvs_are_unchanged(tmp_path):
    """`make run` writes the same TSVs as before the API, byte for byte (bundled model)."""
    out = tmp_path
    fasta = ROOT / "data" / "examples" / "hairpins.fa"
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        assert main(["fold", str(fasta), "-o", str(out / "folds.tsv")]) == 0
        assert main(["encode", str(out / "folds.tsv"), "-o", str(out / "images.npz")]) == 0
        assert main(["predict", str(out / "images.npz"), "-o", str(out / "predictions.tsv")]) == 0
        methods = "gradient_x_input,deconvnet,smoothgrad_guided_backprop"
        ids = "human_pos_9,human_pos_16,human_neg_871"
        args = ["explain", str(out / "images.npz"), "--method", methods, "--ids", ids]
        assert main([*args, "--out", str(out / "explain"), "--no-pictures"]) == 0
    golden = DATA / "demo"
    for name in (
        "folds.tsv",
        "predictions.tsv",
        "explain/saliency.tsv",
        "explain/summary.tsv",
        "explain/failed.tsv",
    ):
        assert (out / name).read_bytes() == (golden / name).read_bytes(), name


@pytest.fixture(scope="module")
def two_members():
    return [build_model(filters=(4, 4, 4), dense_units=8, seed=s) for s in (11, 12)]


def test_an_ensemble_of_identical_members_explains_like_one_model(sources, model):
    from mirnamap.ensemble import Ensemble

    single = explain_hairpins(sources["npz"], ["gradient", "grad_cam"], model)
    twice = explain_hairpins(
        sources["npz"], ["gradient", "grad_cam"], Ensemble([model, model], names=["a", "b"])
    )
    for method in ("gradient", "grad_cam"):
        np.testing.assert_allclose(twice.maps[method], single.maps[method], rtol=1e-6)
        assert not twice.sd_maps[method].any()
        assert all(not np.nansum(sd) for sd in twice.sd_scores[method])
    np.testing.assert_allclose(twice.probabilities, single.probabilities, rtol=1e-6)
    assert not twice.probability_sd.any()


def test_ensemble_maps_are_the_mean_of_the_members_maps(sources, two_members, tmp_path):
    from mirnamap.ensemble import Ensemble, spread
    from mirnamap.saliency import explain

    ensemble = Ensemble(two_members)
    result = explain_hairpins(sources["npz"], "gradient", ensemble)
    each = np.stack([explain(m, result.images, "gradient", 1) for m in two_members])
    np.testing.assert_allclose(result.maps["gradient"], each.mean(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.sd_maps["gradient"], spread(each), rtol=1e-5, atol=1e-7)
    assert result.members == ("member_0", "member_1")
    frame = result.to_frame()
    np.testing.assert_allclose(
        frame["sd"].to_numpy(), np.concatenate(result.sd_scores["gradient"]), equal_nan=True
    )
    assert np.nanmax(frame["sd"]) > 0
    result.save(tmp_path / "out", pictures=False)
    header = (tmp_path / "out" / "saliency.tsv").read_text().split("\n", 1)[0].split("\t")
    assert header[-2:] == ["gradient", "gradient:sd"]
    # The predictions of the same ensemble: sd and calibrated columns; one member: neither.
    predictions = predict_hairpins(sources["npz"], ensemble)
    assert list(predictions.to_frame().columns[:4]) == ["id", "probability", "sd", "calibrated"]
    predictions.save(tmp_path / "p.tsv")
    assert (tmp_path / "p.tsv").read_text().startswith("id\tprobability\tsd\tcalibrated\t")
    one = predict_hairpins(sources["npz"], ensemble, members=[1])
    assert one.sd is None and "sd" not in one.to_frame()
    np.testing.assert_array_equal(
        one.probabilities[one.ok],
        predict_hairpins(sources["npz"], two_members[1]).probabilities[one.ok],
    )


def test_the_cli_reads_ensembles_and_picks_members(sources, two_members, tmp_path):
    from mirnamap.ensemble import Ensemble, save_ensemble

    path = save_ensemble(Ensemble(two_members, names=["a", "b"]), tmp_path / "e.zip")
    out = tmp_path / "pred.tsv"
    assert main(["predict", str(sources["npz"]), "--model", str(path), "-o", str(out)]) == 0
    assert out.read_text().startswith("id\tprobability\tsd\tcalibrated")
    args = ["predict", str(sources["npz"]), "--model", str(path), "--members", "b"]
    assert main([*args, "-o", str(out)]) == 0
    assert out.read_text().startswith("id\tprobability\tpredicted")
    assert main([*args[:-1], "c", "-o", str(out)]) == 2


def test_channel_maps_sum_to_the_maps(sources, model):
    plain = explain_hairpins(sources["npz"], ["gradient", "grad_cam"], model)
    result = explain_hairpins(sources["npz"], ["gradient", "grad_cam"], model, channels=True)
    assert set(result.channel_maps) == {"gradient"}  # Grad-CAM has no colour channels
    assert result.channel_maps["gradient"].shape == (*result.maps["gradient"].shape, 3)
    np.testing.assert_array_equal(result.maps["gradient"], plain.maps["gradient"])
    np.testing.assert_allclose(
        result.channel_maps["gradient"].sum(axis=-1), result.maps["gradient"], rtol=1e-5, atol=1e-6
    )
    assert not plain.channel_maps


def test_split_member_samples_is_the_weighted_mean_of_each_members_share(sources, two_members):
    from mirnamap.ensemble import Ensemble
    from mirnamap.saliency import explain, share_samples

    ensemble = Ensemble(two_members)
    options = {"n_samples": 5, "noise_level": 0.1}
    params = {"smoothgrad": options, "gradient": {}}
    split = explain_hairpins(
        sources["npz"], ["smoothgrad", "gradient"], ensemble, params=params, member_samples="split"
    )
    each = explain_hairpins(sources["npz"], ["smoothgrad", "gradient"], ensemble, params=params)
    shares = share_samples("smoothgrad", 2, {**options, "seed": 0})
    assert [(k, o["n_samples"], w) for k, o, w in shares] == [(0, 3, 0.6), (1, 2, 0.4)]
    assert shares[0][1]["seed"] != shares[1][1]["seed"]  # no draw is repeated
    by_hand = sum(
        w * explain(two_members[k], split.images, "smoothgrad", 1, **o) for k, o, w in shares
    )
    np.testing.assert_allclose(split.maps["smoothgrad"], by_hand, rtol=1e-5, atol=1e-7)
    assert np.isnan(split.sd_maps["smoothgrad"]).all()
    assert all(np.isnan(sd).all() for sd in split.sd_scores["smoothgrad"])
    assert not np.array_equal(split.maps["smoothgrad"], each.maps["smoothgrad"])
    # A deterministic backend runs every member whole: identical, with its spread.
    np.testing.assert_array_equal(split.maps["gradient"], each.maps["gradient"])
    np.testing.assert_array_equal(split.sd_maps["gradient"], each.sd_maps["gradient"])
    assert split.member_samples == "split" and each.member_samples == "each"
    # One model: nothing to share; a bad mode is named.
    one = explain_hairpins(
        sources["npz"],
        "smoothgrad",
        two_members[0],
        params={"smoothgrad": options},
        member_samples="split",
    )
    alone = explain_hairpins(
        sources["npz"], "smoothgrad", two_members[0], params={"smoothgrad": options}
    )
    np.testing.assert_array_equal(one.maps["smoothgrad"], alone.maps["smoothgrad"])
    with pytest.raises(ValueError, match="member_samples"):
        explain_hairpins(sources["npz"], "gradient", ensemble, member_samples="half")


def test_vargrad_and_deterministic_backends_do_not_share_samples():
    from mirnamap.saliency import share_samples

    assert share_samples("vargrad", 5, {}) is None
    assert share_samples("smoothgrad", 5, {"variant": "vargrad"}) is None
    assert share_samples("integrated_gradients", 5, {}) is None
    shares = share_samples("shap", 3, {"seed": 7})  # SHAP's default 200 samples
    assert [o["n_samples"] for _, o, _ in shares] == [67, 67, 66]
    assert sum(w for _, _, w in shares) == pytest.approx(1.0)
    assert len(share_samples("smoothgrad", 5, {"n_samples": 2})) == 2  # members left idle
    with pytest.raises(ValueError, match="n_members"):
        share_samples("smoothgrad", 0, {})


@pytest.mark.parametrize("threshold, called", [(0.0, 1), (1.0, 0)])
def test_the_predicted_target_is_the_call_at_the_stored_operating_point(
    tiny_model, hairpins, threshold, called
):
    from mirnamap.ensemble import Ensemble

    good = {k: hairpins[k] for k in ("let7", "mir21")}
    probabilities = predict_hairpins(good, tiny_model, workers=1).probabilities
    assert (0.0 < probabilities).all() and (probabilities < 1.0).all()
    # At threshold 0 every record is called pre-miRNA, at 1 none is: "predicted" explains
    # that call, whatever the argmax of the network says.
    model = Ensemble([tiny_model], threshold=threshold)
    explained = explain_hairpins(good, "gradient", model, target="predicted", workers=1)
    fixed = explain_hairpins(good, "gradient", tiny_model, target=called, workers=1)
    np.testing.assert_array_equal(explained.maps["gradient"], fixed.maps["gradient"])
    assert explained.threshold == threshold


def test_pictures_of_a_flagged_call_say_it_is_unsure(two_members, hairpins, tmp_path):
    from mirnamap.ensemble import Ensemble
    from mirnamap.pipeline.pictures import UNSURE, heading_id

    good = {k: hairpins[k] for k in ("let7", "mir21")}
    plain = explain_hairpins(good, "gradient", Ensemble(two_members), workers=1)
    sd = plain.probability_sd
    assert sd[0] != sd[1]  # two members of other seeds: a spread, different per record
    cut = float(sd.max())  # only the record of the larger spread reaches the cut
    flagged = explain_hairpins(good, "gradient", Ensemble(two_members, flag_sd=cut), workers=1)
    assert flagged.flagged.tolist() == (sd >= cut).tolist() and flagged.flagged.sum() == 1
    assert not plain.flagged.any()
    k = int(np.argmax(sd))
    assert heading_id(flagged, k) == f"{flagged.ids[k]} ({UNSURE})"
    assert heading_id(flagged, 1 - k) == flagged.ids[1 - k] == heading_id(plain, 1 - k)
    # The maps are the same: the flag changes the heading, not the explanation.
    np.testing.assert_array_equal(flagged.maps["gradient"], plain.maps["gradient"])
    assert flagged.save(tmp_path / "pictures")
