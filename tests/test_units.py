"""Unit decomposition: shares sum to the logit minus its bias; top-k units and their maps."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mirnamap.encode import encode  # noqa: E402
from mirnamap.model import build_model  # noqa: E402
from mirnamap.saliency import explain  # noqa: E402
from mirnamap.units import (  # noqa: E402
    REGION_COLUMNS,
    explain_units,
    unit_model,
    unit_regions,
    unit_shares,
)

SEQUENCES = ["GGGAAAUCCCGCGAUUUCGCGG", "GCGCUUAAGCGCAAAAGCGCUUAAGCGC", "AUGGCAAAAGCCAU"]
STRUCTURES = ["(((..((((....))))..)))", "((((((((((....))))))))))....", "((((......))))"]


@pytest.fixture(scope="module")
def model():
    net = build_model(filters=(4, 4, 4), dense_units=12, seed=1)
    # Random biases too, so that "minus its bias" is tested, not "minus zero".
    rng = np.random.default_rng(0)
    weights = [w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in net.get_weights()]
    net.set_weights(weights)
    return net


@pytest.fixture(scope="module")
def encoding():
    return encode(SEQUENCES, STRUCTURES, strict=True)


def test_shares_sum_to_the_logit_minus_its_bias(model, encoding):
    from mirnamap.saliency import logits_model

    logits = np.asarray(logits_model(model)(encoding.images.astype(np.float32)))
    for target in (0, 1):
        shares, total, bias = unit_shares(model, encoding.images, target=target)
        bias_expected = model.get_layer("logits").get_weights()[1][target]
        assert bias == pytest.approx(float(bias_expected))
        assert bias != 0.0
        np.testing.assert_allclose(shares.sum(axis=1), total - bias, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(total, logits[:, target], rtol=1e-5, atol=1e-5)
        assert shares.shape == (3, 12)


def test_top_k_units_are_the_largest_shares_in_order(model, encoding):
    result = explain_units(
        model, encoding.images, encoding.layout, [len(s) for s in SEQUENCES], k=4
    )
    assert result.units.shape == (3, 4) and result.top_shares.shape == (3, 4)
    for i in range(3):
        magnitude = np.abs(result.shares[i])
        top = np.abs(result.top_shares[i])
        assert np.all(np.diff(top) <= 0)  # largest first
        np.testing.assert_array_equal(result.top_shares[i], result.shares[i, result.units[i]])
        rest = np.delete(magnitude, result.units[i])
        assert top[-1] >= rest.max()
    assert result.maps.shape == (3, 4, 25, 100)
    assert [s.shape for s in result.scores] == [(4, len(s)) for s in SEQUENCES]
    # Signed shares may cancel, so k < U can cover more than all; k = U covers exactly all.
    every = explain_units(model, encoding.images[:1], k=12)
    np.testing.assert_allclose(every.covered, 1.0)


def test_each_map_explains_its_unit(model, encoding):
    result = explain_units(model, encoding.images[:2], k=2, method="gradient")
    assert result.scores is None
    net = unit_model(model)
    for i in range(2):
        for r in range(2):
            unit = int(result.units[i, r])
            expected = explain(net, encoding.images[i : i + 1], "gradient", target=unit)[0]
            np.testing.assert_allclose(result.maps[i, r], expected, rtol=1e-5, atol=1e-7)
    # The caller's model still has its logits and probabilities.
    assert model.outputs[0].shape[-1] == 2


@pytest.mark.parametrize("method", ["grad_cam", "smoothgrad_guided_backprop"])
def test_other_backends_explain_units(model, encoding, method):
    params = {"n_samples": 2} if method.startswith("smoothgrad") else {}
    result = explain_units(model, encoding.images[:1], k=2, method=method, **params)
    assert result.maps.shape == (1, 2, 25, 100) and np.isfinite(result.maps).all()


@pytest.mark.parametrize(
    ("k", "error"), [(0, ValueError), (13, ValueError), (-1, ValueError), (2.0, TypeError)]
)
def test_bad_k(model, encoding, k, error):
    with pytest.raises(error, match="k must be"):
        explain_units(model, encoding.images, k=k)


def test_bad_arguments(model, encoding):
    with pytest.raises(ValueError, match="both layout and lengths"):
        explain_units(model, encoding.images, encoding.layout, k=1)
    with pytest.raises(ValueError, match="not a class index"):
        unit_shares(model, encoding.images, target=2)
    with pytest.raises(ValueError, match="no layer"):
        unit_model(model, "nope")


def test_unit_regions_across_a_set(model, encoding):
    lengths = [len(s) for s in SEQUENCES]
    result = explain_units(model, encoding.images, encoding.layout, lengths, k=3)
    table = unit_regions(result, encoding.layout, lengths, STRUCTURES)
    assert table.shares.shape == (len(table.units), len(REGION_COLUMNS))
    assert table.counts.sum() == 9 and np.all(np.diff(table.counts) <= 0)
    assert set(table.units.tolist()) == set(result.units.ravel().tolist())
    finite = np.isfinite(table.shares).all(axis=1)
    np.testing.assert_allclose(table.shares[finite].sum(axis=1), 1.0)
    unit = table.units[0]
    members = result.units == unit
    assert table.mean_share[0] == pytest.approx(result.top_shares[members].mean())
    with pytest.raises(ValueError, match="structures"):
        unit_regions(result, encoding.layout, lengths, STRUCTURES[:2])


def test_pictures(model, encoding, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from mirnamap.plot import plot_unit_regions, plot_units, save_figure

    lengths = [len(s) for s in SEQUENCES]
    result = explain_units(model, encoding.images, encoding.layout, lengths, k=3)
    fig = plot_units(
        result.units[0],
        result.top_shares[0],
        result.scores[0],
        SEQUENCES[0],
        STRUCTURES[0],
        logit=result.logits[0],
        bias=result.bias,
        record_id="a",
        method="gradient",
    )
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 3 and labels[0].startswith(f"unit {result.units[0, 0]}:")
    assert save_figure(fig, tmp_path / "units.png")[0].stat().st_size > 1000
    total = float(np.abs(result.shares[0]).sum())
    fig = plot_units(
        result.units[0],
        result.top_shares[0],
        result.scores[0],
        SEQUENCES[0],
        STRUCTURES[0],
        abs_total=total,
    )
    first = fig.axes[0].get_yticklabels()[0].get_text()
    assert first.endswith(f"({100 * result.top_shares[0, 0] / total:+.0f} % of |all|)")
    table = unit_regions(result, encoding.layout, lengths, STRUCTURES)
    fig = plot_unit_regions(table.units, table.shares, REGION_COLUMNS, counts=table.counts)
    assert save_figure(fig, tmp_path / "regions.png")[0].stat().st_size > 1000
    with pytest.raises(ValueError, match="one share"):
        plot_units([1, 2], [0.1], np.zeros((2, 22)), SEQUENCES[0], STRUCTURES[0])
