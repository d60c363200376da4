"""The ensemble's uncertainty marks and calibrated probability, carried by ``Explanation``,
and one progress bar per explanation (issue 26)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from mirnamap.ensemble import Ensemble
from mirnamap.model import build_model
from mirnamap.pipeline import explain_hairpins
from mirnamap.pipeline.maps import sign_agreement
from mirnamap.project import project

GOOD = {
    "let7": "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA",
    "mir21": "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA",
}


@pytest.fixture(scope="module")
def three():
    """An ensemble of three tiny, differently seeded members."""
    members = [build_model(filters=(4, 4, 4), dense_units=8, seed=s) for s in (21, 22, 23)]
    return Ensemble(members, temperature=2.0, bias=-0.5)


def test_sign_agreement():
    scores = np.array([[1.0, -2.0, 0.0, np.nan], [2.0, 1.0, 0.0, 1.0], [3.0, -1.0, 0.0, 1.0]])
    np.testing.assert_allclose(sign_agreement(scores), [1.0, 2 / 3, 1.0, np.nan])
    np.testing.assert_array_equal(sign_agreement(scores[:1, :3]), [1.0, 1.0, 1.0])
    # The mean's sign, not the majority's: one large member outweighs two small ones.
    np.testing.assert_allclose(sign_agreement(np.array([[-9.0], [1.0], [1.0]])), [1 / 3])


def test_the_explanation_keeps_the_members_agreement_and_the_calibrated_p(three, tmp_path):
    from mirnamap.pipeline.pictures import record_pictures
    from mirnamap.saliency import explain

    result = explain_hairpins(GOOD, ["gradient", "grad_cam"], three, progress=False, workers=1)
    lengths = [len(s) for s in result.sequences]
    for method in result.methods:
        each = [explain(m, result.images, method, 1) for m in three.members]
        scores = [project(m, result.layout, lengths).scores for m in each]
        for k in range(len(result)):
            expected = sign_agreement(np.stack([s[k] for s in scores]))
            np.testing.assert_allclose(result.agreement[method][k], expected)
    shares = np.concatenate(result.agreement["gradient"])
    assert ((shares[~np.isnan(shares)] * 3) % 1 == 0).all() and (shares < 1).any()
    prediction = three.predict(result.images)
    np.testing.assert_allclose(result.calibrated, prediction.calibrated)
    assert not np.allclose(result.calibrated, result.probabilities)  # T = 2, b = -0.5
    assert result.threshold == three.threshold == 0.5
    written = record_pictures(result, 0, tmp_path / "let7")
    assert tmp_path / "let7" / "track.png" in written


def test_shared_samples_and_mutagenesis_have_no_agreement(three):
    split = explain_hairpins(
        GOOD, ["smoothgrad"], three, member_samples="split", progress=False, workers=1,
        params={"smoothgrad": {"n_samples": 3}},
    )  # fmt: skip
    assert all(np.isnan(a).all() for a in split.agreement["smoothgrad"])
    one = explain_hairpins(GOOD, ["gradient"], three.select([0]), progress=False, workers=1)
    assert all((a[~np.isnan(a)] == 1).all() for a in one.agreement["gradient"])


def test_one_progress_bar_over_methods_and_members(three, capsys):
    explain_hairpins(GOOD, ["gradient", "grad_cam"], three, progress=True, workers=1)
    err = capsys.readouterr().err
    assert "explain" in err and "6/6" in err  # 2 methods x 3 members
    # No bar per member and method (the saliency backends' own bars, named by method).
    assert "gradient:" not in err and "grad_cam:" not in err
    explain_hairpins(GOOD, ["gradient"], three, progress=False, workers=1)
    assert capsys.readouterr().err.count("explain") == 0
