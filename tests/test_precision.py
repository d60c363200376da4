"""Reduced precision: maps close to float32, the hardware fall-back, and nothing changed.

A tiny DeepMir (filters 4, 4, 4; 8 dense units; random weights) and random images keep
this fast. The hardware check is patched (``cpu_flags``, ``gpu_compute_capabilities``) so
that every test means the same on every machine; TensorFlow runs bfloat16 and float16 on
any CPU, natively or not.

Stated tolerance of bfloat16 against float32, per backend, on this tiny random model and
6 random images: median per-map Spearman >= 0.95 and median relative L2 error
``||b - f|| / ||f||`` <= 0.3. Measured here: median Spearman 0.986 (integrated gradients)
to 1.000 (Grad-CAM), median relative error 0.003 (Grad-CAM++) to 0.15 (integrated
gradients). The rule for *offering* a precision (median Spearman >= 0.99 on the bundled
model and real hairpins) is checked by ``benchmarks/precision.py``, not here.
"""

from __future__ import annotations

import gc
import warnings
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

from mirnamap import precision as P
from mirnamap.model import build_model, predict_proba
from mirnamap.saliency import (
    PRECISIONS,
    VALIDATED_PRECISIONS,
    PrecisionWarning,
    cost_params,
    explain,
    list_backends,
    offered_precisions,
    precision_backends,
)

FAST = {**cost_params(4), "occlusion": {"size": 5, "stride": 5}}
MIN_MEDIAN_SPEARMAN = 0.95
MAX_MEDIAN_RELATIVE_L2 = 0.3


def tiny_model(seed: int = 0) -> keras.Model:
    return build_model(filters=(4, 4, 4), dense_units=8, seed=seed)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return tiny_model()


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (6, 25, 100, 3)).astype(np.uint8)


@pytest.fixture
def bf16_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with a bfloat16 CPU and no GPU."""
    monkeypatch.setattr(P, "cpu_flags", lambda path="/proc/cpuinfo": frozenset({"avx512_bf16"}))
    monkeypatch.setattr(P, "gpu_compute_capabilities", lambda: [])


@pytest.fixture
def plain_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with neither a bfloat16 CPU nor a GPU."""
    monkeypatch.setattr(P, "cpu_flags", lambda path="/proc/cpuinfo": frozenset({"avx2"}))
    monkeypatch.setattr(P, "gpu_compute_capabilities", lambda: [])


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two maps; 1 for two equal constant maps."""
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 1.0 if np.allclose(a, b) else 0.0
    return float(spearmanr(a.ravel(), b.ravel())[0])


def relative_l2(reduced: np.ndarray, reference: np.ndarray) -> float:
    norm = float(np.linalg.norm(reference))
    return float(np.linalg.norm(reduced - reference)) / norm if norm else 0.0


def reduced_maps(model: keras.Model, x: np.ndarray, name: str, precision: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)  # not validated: expected here
        return explain(model, x, name, target=1, precision=precision, **FAST.get(name, {}))


# --------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list_backends())
def test_bfloat16_maps_are_close_to_float32(
    name: str, model: keras.Model, x: np.ndarray, bf16_cpu: None
) -> None:
    reference = explain(model, x, name, target=1, **FAST.get(name, {}))
    reduced = reduced_maps(model, x, name, "bfloat16")
    assert reduced.dtype == np.float32 and reduced.shape == reference.shape
    rho = [spearman(a, b) for a, b in zip(reduced, reference, strict=True)]
    error = [relative_l2(a, b) for a, b in zip(reduced, reference, strict=True)]
    assert np.median(rho) >= MIN_MEDIAN_SPEARMAN, rho
    assert np.median(error) <= MAX_MEDIAN_RELATIVE_L2, error


def test_bfloat16_really_runs_in_bfloat16(model: keras.Model, x: np.ndarray, bf16_cpu: None):
    """Not float32 in disguise: the maps differ, and the copy computes in bfloat16."""
    reference = explain(model, x, "gradient", target=1)
    reduced = reduced_maps(model, x, "gradient", "bfloat16")
    assert relative_l2(reduced, reference) > 1e-4
    copy = P.precision_model(model, "bfloat16")
    policies = {layer.name: layer.dtype_policy.name for layer in copy.layers}
    assert policies["conv1b"] == policies["dense"] == "mixed_bfloat16"
    # Kept float32: input scaling, the first convolution and the head.
    for name in ("scale", "conv1a", "logits", "probabilities"):
        assert policies[name] == "float32", name
    assert all(w.dtype == "float32" for w in copy.weights if w.dtype.startswith("float"))


def test_float16_runs_where_a_gpu_is_claimed(
    model: keras.Model, x: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(P, "gpu_compute_capabilities", lambda: [(8, 0)])
    reference = explain(model, x, "guided_backprop", target=1)
    reduced = reduced_maps(model, x, "guided_backprop", "float16")
    assert reduced.dtype == np.float32
    assert 0 < relative_l2(reduced, reference) <= MAX_MEDIAN_RELATIVE_L2
    assert P.precision_model(model, "float16").get_layer("conv2a").dtype_policy.name == (
        "mixed_float16"
    )


def test_predict_proba_in_bfloat16_is_close(model: keras.Model, x: np.ndarray, bf16_cpu: None):
    reference = predict_proba(model, x)
    reduced = predict_proba(model, x, precision="bfloat16")
    assert reduced.dtype == np.float32
    np.testing.assert_allclose(reduced, reference, atol=0.02)
    assert not np.array_equal(reduced, reference)


# --------------------------------------------------------------------------------------
# Hardware and fall-back
# --------------------------------------------------------------------------------------


def test_bfloat16_falls_back_to_float32_with_a_warning(
    model: keras.Model, x: np.ndarray, plain_cpu: None
) -> None:
    reference = explain(model, x, "gradient", target=1)
    with pytest.warns(PrecisionWarning, match=r"avx512_bf16.*running float32"):
        maps = explain(model, x, "gradient", target=1, precision="bfloat16")
    np.testing.assert_array_equal(maps, reference)
    with pytest.warns(PrecisionWarning, match="running float32"):
        probabilities = predict_proba(model, x, precision="bfloat16")
    np.testing.assert_array_equal(probabilities, predict_proba(model, x))


def test_float16_needs_a_gpu(bf16_cpu: None) -> None:
    with pytest.warns(PrecisionWarning, match="float16 is for GPUs"):
        assert P.effective_precision("float16") == "float32"
    assert P.effective_precision("bfloat16") == "bfloat16"


def test_gpu_compute_capability_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(P, "cpu_flags", lambda path="/proc/cpuinfo": frozenset({"amx_bf16"}))
    monkeypatch.setattr(P, "gpu_compute_capabilities", lambda: [(7, 5)])  # a T4
    assert P.hardware_supports("float16")
    assert not P.hardware_supports("bfloat16")  # the GPU runs the work, not the AMX CPU
    with pytest.warns(PrecisionWarning, match=r"compute capability >= 8\.0.*7\.5"):
        assert P.effective_precision("bfloat16") == "float32"
    monkeypatch.setattr(P, "gpu_compute_capabilities", lambda: [(9, 0)])
    assert P.hardware_supports("bfloat16") and P.hardware_supports("float16")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n\nprocessor\t: 1\n")
    assert P.cpu_flags(str(info)) == {"fpu", "avx512f", "avx512_bf16"}
    assert P.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_float32_never_warns(model: keras.Model, x: np.ndarray, plain_cpu: None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        explain(model, x[:2], "gradient", precision="float32")
        predict_proba(model, x[:2], precision="float32")
    assert P.precision_model(model, "float32") is model


def test_unvalidated_precision_warns_and_validated_does_not(
    model: keras.Model, x: np.ndarray, bf16_cpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(VALIDATED_PRECISIONS, "gradient", raising=False)
    assert "gradient" not in precision_backends("bfloat16")
    with pytest.warns(PrecisionWarning, match="not been validated"):
        explain(model, x[:2], "gradient", target=1, precision="bfloat16")
    monkeypatch.setitem(VALIDATED_PRECISIONS, "gradient", ("bfloat16",))
    assert offered_precisions("gradient") == ("float32", "bfloat16")
    assert "gradient" in precision_backends("bfloat16")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        explain(model, x[:2], "gradient", target=1, precision="bfloat16")


def test_every_backend_offers_float32() -> None:
    assert precision_backends("float32") == list_backends()
    assert PRECISIONS == ("float32", "bfloat16", "float16")
    for name, offered in VALIDATED_PRECISIONS.items():
        assert name in list_backends() and set(offered) <= set(PRECISIONS[1:])


@pytest.mark.parametrize("bad", ["half", "fp16", "float64", "", None, 16])
def test_unknown_precision_is_a_clear_value_error(
    bad: object, model: keras.Model, x: np.ndarray
) -> None:
    with pytest.raises(ValueError, match=r"unknown precision.*known: float32, bfloat16, float16"):
        explain(model, x[:1], "gradient", precision=bad)
    with pytest.raises(ValueError, match="unknown precision"):
        predict_proba(model, x[:1], precision=bad)
    with pytest.raises(ValueError, match="unknown precision"):
        precision_backends(bad)


# --------------------------------------------------------------------------------------
# The caller's model, the global policy and the cache
# --------------------------------------------------------------------------------------


def _input_gradients(model: keras.Model, x: np.ndarray) -> np.ndarray:
    cut = keras.Model(model.inputs, model.get_layer("logits").output)
    images = tf.constant(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(images)
        score = cut(images, training=False)[:, 1]
    return tape.gradient(score, images).numpy()


def test_precision_changes_neither_the_model_nor_the_global_policy(
    x: np.ndarray, bf16_cpu: None
) -> None:
    model = tiny_model(seed=1)
    weights = [w.copy() for w in model.get_weights()]
    policies = [layer.dtype_policy.name for layer in model.layers]
    gradients = _input_gradients(model, x)
    probabilities = predict_proba(model, x)
    global_policy = keras.config.dtype_policy().name
    for name in ("gradient", "guided_backprop", "grad_cam", "smoothgrad_guided_backprop"):
        reduced_maps(model, x, name, "bfloat16")
    predict_proba(model, x, precision="bfloat16")
    assert keras.config.dtype_policy().name == global_policy == "float32"
    assert [layer.dtype_policy.name for layer in model.layers] == policies
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(_input_gradients(model, x), gradients)
    np.testing.assert_array_equal(predict_proba(model, x), probabilities)


def test_copy_is_cached_and_follows_the_models_new_weights(x: np.ndarray) -> None:
    model = tiny_model(seed=2)
    copy = P.precision_model(model, "bfloat16")
    assert P.precision_model(model, "bfloat16") is copy
    assert P.precision_model(model, "float16") is not copy
    for variable in model.trainable_weights:
        variable.assign(variable * 0.5)
    P.precision_model(model, "bfloat16")
    for source, target in zip(model.weights, copy.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(source), np.asarray(target))


def test_the_cache_does_not_keep_a_model_alive(x: np.ndarray, bf16_cpu: None) -> None:
    model = tiny_model(seed=3)
    reduced_maps(model, x[:2], "guided_backprop", "bfloat16")
    assert model in P._COPIES
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_keep_float32_names_layers() -> None:
    model = tiny_model(seed=4)
    assert P.float32_layers(model) == {"image", "scale", "conv1a", "logits", "probabilities"}
    assert P.float32_layers(model, first_layer=False) == {
        "image",
        "scale",
        "logits",
        "probabilities",
    }
    every = {layer.name for layer in model.layers}
    copy = P.precision_model(model, "bfloat16", keep_float32=every)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    with pytest.raises(ValueError, match="no layer"):
        P.precision_model(model, "bfloat16", keep_float32=["nope"])


def test_separate_relu_layers_keep_the_copys_precision(x: np.ndarray, bf16_cpu: None) -> None:
    """Guided backprop swaps separate ReLU layers; the swapped ones stay bfloat16."""
    from mirnamap.saliency import override_relu

    inputs = keras.Input((25, 100, 3))
    h = keras.layers.Rescaling(1 / 255.0)(inputs)
    h = keras.layers.Conv2D(3, 3, name="conv_a")(h)
    h = keras.layers.Conv2D(3, 3, name="conv_b")(h)
    h = keras.layers.ReLU(name="relu_b")(h)
    h = keras.layers.Flatten()(h)
    logits = keras.layers.Dense(2, name="logits")(h)
    model = keras.Model(inputs, keras.layers.Softmax(name="probabilities")(logits))
    copy = P.precision_model(model, "bfloat16")
    guided = override_relu(copy, "guided")
    assert guided.get_layer("relu_b").dtype_policy.name == "mixed_bfloat16"
    reference = explain(model, x[:3], "guided_backprop", target=1)
    reduced = reduced_maps(model, x[:3], "guided_backprop", "bfloat16")
    assert np.median([spearman(a, b) for a, b in zip(reduced, reference, strict=True)]) >= 0.95


def test_subclassed_models_are_a_clear_type_error() -> None:
    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs: tf.Tensor) -> tf.Tensor:
            return self.dense(inputs)

    net = Net()
    net(np.zeros((1, 3), np.float32))
    with pytest.raises(TypeError, match="reduced precision"):
        P.precision_model(net, "bfloat16")


# --------------------------------------------------------------------------------------
# The pipeline passes the precision through
# --------------------------------------------------------------------------------------

HAIRPINS = {
    "let7": "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA",
    "mir21": "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA",
}


def test_pipeline_passes_the_precision_through(
    model: keras.Model, bf16_cpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mirnamap.ensemble import Ensemble
    from mirnamap.pipeline import explain_hairpins, predict_hairpins

    ensemble = Ensemble([model, tiny_model(seed=5)])
    reference = predict_hairpins(HAIRPINS, ensemble, workers=1)
    reduced = predict_hairpins(HAIRPINS, ensemble, workers=1, precision="bfloat16")
    np.testing.assert_allclose(reduced.probabilities, reference.probabilities, atol=0.02)
    assert not np.array_equal(reduced.probabilities, reference.probabilities)
    assert ensemble.members[0] is model  # the caller's ensemble is left as it was

    float32 = explain_hairpins(HAIRPINS, ["gradient"], model, workers=1)
    monkeypatch.delitem(VALIDATED_PRECISIONS, "gradient", raising=False)
    with pytest.warns(PrecisionWarning, match="not been validated"):
        result = explain_hairpins(HAIRPINS, ["gradient"], model, workers=1, precision="bfloat16")
    assert float32.precision == "float32" and result.precision == "bfloat16"
    pairs = zip(result.maps["gradient"], float32.maps["gradient"], strict=True)
    rho = [spearman(a, b) for a, b in pairs]
    assert min(rho) >= 0.9
    # The probabilities are always the float32 model's.
    np.testing.assert_array_equal(result.probabilities, float32.probabilities)


def test_pipeline_records_the_fall_back(model: keras.Model, plain_cpu: None) -> None:
    from mirnamap.pipeline import explain_hairpins

    with pytest.warns(PrecisionWarning, match="running float32"):
        result = explain_hairpins(HAIRPINS, ["grad_cam"], model, workers=1, precision="bfloat16")
    assert result.precision == "float32"
    with pytest.raises(ValueError, match="unknown precision"):
        explain_hairpins(HAIRPINS, ["grad_cam"], model, workers=1, precision="int8")
