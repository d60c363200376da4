"""Saliency backends: the contract every backend keeps, and each method's mechanism.

Tiny hand-built models (a few hundred weights) keep this file fast on the CPU; the helpers
at the top are shared with ``test_saliency_peers.py``.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from mirnamap.saliency import backend_info, cost_params, explain, get_backend, list_backends
from mirnamap.saliency.grad_cam import cam_weights
from mirnamap.saliency.integrated_gradients import make_baseline
from mirnamap.saliency.smoothgrad import sample_noise, smoothgrad

SHAPE = (6, 10, 3)


# --------------------------------------------------------------------------------------
# Tiny models and independent references (bare Keras / GradientTape, not mirnamap)
# --------------------------------------------------------------------------------------


def tiny_cnn(seed: int = 0, separate_relu: bool = True) -> keras.Model:
    """A small DeepMir-like CNN: input float (N, 6, 10, 3) in 0..255, layer "logits" (2),
    output softmax; fused ReLUs, a separate ReLU layer (or a fused one), dropout."""
    init = keras.initializers.GlorotUniform
    inputs = keras.Input(SHAPE, name="image")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(
        4, 3, padding="same", activation="relu", name="conv_a", kernel_initializer=init(seed)
    )(x)
    x = keras.layers.Conv2D(
        4,
        3,
        padding="same",
        name="conv_b",
        activation=None if separate_relu else "relu",
        kernel_initializer=init(seed + 1),
    )(x)
    if separate_relu:
        x = keras.layers.ReLU(name="relu_b")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(
        5, 3, padding="same", activation="relu", name="conv_c", kernel_initializer=init(seed + 2)
    )(x)
    x = keras.layers.Dropout(0.5, seed=seed)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(8, activation="relu", kernel_initializer=init(seed + 3))(x)
    logits = keras.layers.Dense(2, name="logits", kernel_initializer=init(seed + 4))(x)
    return keras.Model(inputs, keras.layers.Softmax(name="probabilities")(logits))


def random_images(n: int, seed: int = 0, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    """``n`` random uint8 images."""
    return np.random.default_rng(seed).integers(0, 256, (n, *shape)).astype(np.uint8)


def logits_of(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Logits straight from the layer "logits" (float64 copy)."""
    cut = keras.Model(model.inputs, model.get_layer("logits").output)
    return cut(tf.constant(np.asarray(x, np.float32)), training=False).numpy().astype(np.float64)


def plain_gradients(model: keras.Model, x: np.ndarray, target: int | np.ndarray) -> np.ndarray:
    """d logit[target] / d input per channel, with a bare GradientTape."""
    cut = keras.Model(model.inputs, model.get_layer("logits").output)
    x = tf.constant(np.asarray(x, np.float32))
    targets = tf.constant(np.broadcast_to(target, (x.shape[0],)).astype(np.int32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.gather(cut(x, training=False), targets, axis=1, batch_dims=1)
    return tape.gradient(score, x).numpy()


def spearman_min(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest per-image Spearman correlation between two stacks of maps."""
    from scipy.stats import spearmanr

    return min(float(spearmanr(p.ravel(), q.ravel())[0]) for p, q in zip(a, b, strict=True))


@keras.saving.register_keras_serializable(package="mirnamap_tests")
class SquareLogits(keras.layers.Layer):
    """Logits ``(-sum h^2, +sum h^2)``: the first one's gradient is never positive."""

    def call(self, h: tf.Tensor) -> tf.Tensor:
        total = tf.reduce_sum(tf.square(h), axis=-1)
        return tf.stack([-total, total], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0], 2)


# --------------------------------------------------------------------------------------
# The contract, over every registered backend
# --------------------------------------------------------------------------------------

# Small settings so that every backend runs in well under a second here.
FAST = {**cost_params(4), "occlusion": {"size": 3, "stride": 2}}
STOCHASTIC = {name for name in list_backends() if backend_info(name).stochastic}


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return tiny_cnn(seed=3)


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return random_images(5, seed=1)


def test_every_issue_backend_is_registered() -> None:
    expected = {
        "gradient",
        "gradient_x_input",
        "smoothgrad",
        "smoothgrad_squared",
        "vargrad",
        "guided_backprop",
        "smoothgrad_guided_backprop",
        "deconvnet",
        "grad_cam",
        "grad_cam_plus_plus",
        "integrated_gradients",
        "occlusion",
        "shap",
    }
    assert expected <= set(list_backends())
    assert set(FAST) | expected >= set(list_backends())


def test_registry_cost_parameters_match_the_signatures() -> None:
    # The backend tables of the README and the site are generated from this registry
    # (docs/_gen/docs_tools.py; tests/test_docs.py checks the README's is current).
    costly = {name for name in list_backends() if backend_info(name).cost_param is not None}
    assert {"integrated_gradients", "shap", "smoothgrad", "vargrad"} <= costly
    assert set(cost_params(7)) == costly
    for name in sorted(costly):
        info = backend_info(name)
        parameter = inspect.signature(get_backend(name)).parameters[info.cost_param]
        assert parameter.default == info.cost_default
        assert info.passes == f"{info.cost_param} (default {info.cost_default})"
        assert cost_params(7, [name]) == {name: {info.cost_param: 7}}
    assert cost_params(7, ["gradient", "occlusion"]) == {}
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive int"):
            cost_params(bad)
    with pytest.raises(ValueError, match="unknown saliency backend"):
        cost_params(3, ["smoothgrad", "smoothgrd"])


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"known: .*guided_backprop"):
        get_backend("guided_backprob")


@pytest.mark.parametrize("name", sorted(list_backends()))
def test_contract(name: str, model: keras.Model, x: np.ndarray) -> None:
    weights = [w.copy() for w in model.get_weights()]
    gradients = plain_gradients(model, x, 1)
    probabilities = model.predict(x, verbose=0)
    params = FAST.get(name, {})

    maps = explain(model, x, name, target=1, batch_size=len(x), **params)
    assert maps.shape == (len(x), *SHAPE[:2]) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and np.abs(maps).max() > 0
    scale = float(np.abs(maps).max())
    for batch_size in (1, 3):
        again = explain(model, x, name, target=1, batch_size=batch_size, **params)
        np.testing.assert_allclose(again, maps, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(
        explain(model, x[:1], name, target=1, batch_size=len(x), **params),
        maps[:1],
        rtol=1e-4,
        atol=1e-5 * scale,
    )
    np.testing.assert_array_equal(
        get_backend(name)(model, x, np.ones(len(x), int), batch_size=len(x), **params),
        get_backend(name)(model, x, np.ones(len(x), int), batch_size=len(x), **params),
    )
    other = explain(model, x, name, target=1, batch_size=len(x), seed=1, **params)
    if name in STOCHASTIC:
        assert not np.allclose(other, maps)
    else:
        np.testing.assert_array_equal(other, maps)

    # The caller's model is untouched: weights, plain gradients, predictions.
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(plain_gradients(model, x, 1), gradients)
    np.testing.assert_allclose(model.predict(x, verbose=0), probabilities, rtol=1e-6)


def test_explain_defaults_to_the_predicted_class(model: keras.Model, x: np.ndarray) -> None:
    predicted = logits_of(model, x).argmax(axis=1)
    np.testing.assert_array_equal(
        explain(model, x, "gradient"), explain(model, x, "gradient", target=predicted)
    )
    flipped = explain(model, x, "gradient", target=1 - predicted)
    assert not np.allclose(flipped, explain(model, x, "gradient"))


def test_explain_chunks_give_the_same_maps(model: keras.Model, x: np.ndarray) -> None:
    whole = explain(model, x, "smoothgrad_guided_backprop", n_samples=3, chunk_size=len(x))
    chunked = explain(
        model, x, "smoothgrad_guided_backprop", n_samples=3, chunk_size=2, progress=False
    )
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-9)


def test_bad_inputs_name_the_problem(model: keras.Model, x: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"shape \(5, 10, 6, 3\)"):
        explain(model, x.transpose(0, 2, 1, 3), "gradient")
    bad = x.astype(np.float32)
    bad[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="image 3 holds NaN"):
        explain(model, bad, "gradient")
    with pytest.raises(ValueError, match="target 2 of image 0"):
        explain(model, x, "gradient", target=2)
    with pytest.raises(ValueError, match=r"one class per image \(5,\)"):
        explain(model, x, "gradient", target=[0, 1])
    with pytest.raises(TypeError, match="numeric"):
        explain(model, np.full((1, *SHAPE), "a"), "gradient")
    with pytest.raises(ValueError, match="no layer 'nope'"):
        explain(model, x, "grad_cam", layer="nope")


def test_empty_input_gives_empty_maps(model: keras.Model) -> None:
    maps = explain(model, np.zeros((0, *SHAPE), np.uint8), "gradient", target=1)
    assert maps.shape == (0, 6, 10) and maps.dtype == np.float32


def test_a_retrained_model_is_explained_with_its_new_weights() -> None:
    # The guided clone is cached per model: it must follow later changes of the weights.
    model, x = tiny_cnn(seed=0), random_images(2, seed=2)
    explain(model, x, "guided_backprop", target=1)
    model.set_weights(tiny_cnn(seed=9).get_weights())
    np.testing.assert_allclose(
        explain(model, x, "guided_backprop", target=1),
        explain(tiny_cnn(seed=9), x, "guided_backprop", target=1),
        rtol=1e-5,
        atol=1e-9,
    )


# --------------------------------------------------------------------------------------
# Mechanisms, on models whose answer is known by hand
# --------------------------------------------------------------------------------------


def linear_model(weights: np.ndarray, shape: tuple[int, ...]) -> keras.Model:
    inputs = keras.Input(shape)
    dense = keras.layers.Dense(weights.shape[1], name="logits")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([weights, np.arange(weights.shape[1], dtype=np.float32)])
    return model


def test_gradient_of_a_linear_model_is_its_weights() -> None:
    shape = (4, 5, 2)
    weights = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    model, x = linear_model(weights, shape), random_images(3, shape=shape)
    targets = np.array([2, 0, 1])
    expected = weights[:, targets].T.reshape(3, *shape)
    np.testing.assert_allclose(
        explain(model, x, "gradient", target=targets, reduce=None), expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        explain(model, x, "gradient", target=targets), expected.sum(-1), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        explain(model, x, "gradient_x_input", target=targets, reduce=None),
        expected * x,
        rtol=1e-5,
    )


def relu_square_model() -> keras.Model:
    inputs = keras.Input((3, 4, 1))
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(
        6, activation="relu", kernel_initializer=keras.initializers.RandomNormal(seed=0)
    )(h)
    return keras.Model(inputs, SquareLogits(name="logits")(h))


def test_guided_backprop_zeroes_negative_gradients() -> None:
    # logit 0 = -sum(h^2): every gradient reaching the ReLUs is <= 0, so guided
    # backpropagation passes nothing, while the true gradient is not zero.
    model = relu_square_model()
    x = random_images(3, shape=(3, 4, 1))
    assert (logits_of(model, x)[:, 1] > 0).all()  # some ReLU units are on
    assert np.abs(explain(model, x, "gradient", target=0)).max() > 0
    np.testing.assert_array_equal(explain(model, x, "guided_backprop", target=0), 0.0)
    np.testing.assert_array_equal(explain(model, x, "deconvnet", target=0), 0.0)
    # logit 1 = +sum(h^2): the gradient at the ReLUs is positive where they are on, so
    # guided backpropagation equals the true gradient.
    np.testing.assert_allclose(
        explain(model, x, "guided_backprop", target=1),
        explain(model, x, "gradient", target=1),
        rtol=1e-6,
    )


def two_units(separate_relu: bool) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """Input (1, 2, 1) -> 2 ReLU units -> 2 logits with weights V."""
    w = np.array([[2.0, -1.0], [0.5, -3.0]], np.float32)  # (inputs, units)
    v = np.array([[1.0, -1.0], [1.0, -1.0]], np.float32)  # (units, logits)
    inputs = keras.Input((1, 2, 1))
    dense = keras.layers.Dense(2, use_bias=False, activation=None if separate_relu else "relu")
    h = dense(keras.layers.Flatten()(inputs))
    if separate_relu:
        h = keras.layers.ReLU()(h)
    out = keras.layers.Dense(2, use_bias=False, name="logits")
    model = keras.Model(inputs, out(h))
    dense.set_weights([w])
    out.set_weights([v])
    return model, w, v


@pytest.mark.parametrize("separate_relu", [False, True])
def test_deconvnet_differs_from_guided_backprop_where_it_should(separate_relu: bool) -> None:
    # For x = (1, 1), unit 0 is on (pre-activation 2.5) and unit 1 off (-4).
    model, w, _ = two_units(separate_relu)
    x = np.ones((1, 1, 2, 1), np.float32)
    maps = {
        name: explain(model, x, name, target=0, reduce=None).reshape(2)
        for name in ("gradient", "guided_backprop", "deconvnet")
    }
    # Logit 0 reads both units with +1: the true gradient and guided backprop pass the
    # active unit only; deconvnet ignores the forward gate and passes both.
    np.testing.assert_allclose(maps["gradient"], w[:, 0])
    np.testing.assert_allclose(maps["guided_backprop"], w[:, 0])
    np.testing.assert_allclose(maps["deconvnet"], w[:, 0] + w[:, 1])
    # Logit 1 reads them with -1: both modified rules block the negative signal.
    for name in ("guided_backprop", "deconvnet"):
        np.testing.assert_array_equal(explain(model, x, name, target=1), 0.0)
    np.testing.assert_allclose(
        explain(model, x, "gradient", target=1, reduce=None).reshape(2), -w[:, 0]
    )


def test_cam_weights_from_hand_written_activations() -> None:
    a = np.array([[[[1.0, 0.0]], [[3.0, 2.0]]]], np.float32)  # (1, 2, 1, 2)
    g = np.array([[[[0.5, -1.0]], [[1.5, -1.0]]]], np.float32)
    np.testing.assert_allclose(cam_weights(a, g), [[1.0, -1.0]])
    # Grad-CAM++ (Chattopadhay et al. eq. 19): alpha = g^2 / (2 g^2 + sum(A) g^3),
    # w = sum alpha * relu(g); channel 0: sum(A) = 4, channel 1 has no positive gradient.
    alpha = [0.25 / (0.5 + 4 * 0.125), 2.25 / (4.5 + 4 * 3.375)]
    np.testing.assert_allclose(
        cam_weights(a, g, "grad_cam_plus_plus"),
        [[alpha[0] * 0.5 + alpha[1] * 1.5, 0.0]],
        rtol=1e-6,
    )


def test_grad_cam_of_a_global_average_model() -> None:
    # conv (1x1, linear) -> global average -> dense: d logit_c / d A_k = V[k, c] / (h w), so
    # Grad-CAM = relu(sum_k V[k, c] / (h w) * A_k) at full resolution, computed by hand.
    kernel = np.array([[[[1.0, -2.0], [0.5, 1.0]]]], np.float32)  # (1, 1, 2, 2)
    v = np.array([[1.0, -1.0], [2.0, 0.5]], np.float32)
    inputs = keras.Input((3, 4, 2))
    conv = keras.layers.Conv2D(2, 1, use_bias=False, name="conv")
    dense = keras.layers.Dense(2, use_bias=False, name="logits")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(conv(inputs))))
    conv.set_weights([kernel])
    dense.set_weights([v])
    x = random_images(2, shape=(3, 4, 2)).astype(np.float32)
    activations = x @ kernel[0, 0]
    for target in (0, 1):
        expected = np.maximum((activations * v[:, target] / 12).sum(-1), 0)
        np.testing.assert_allclose(
            explain(model, x, "grad_cam", target=target), expected, rtol=1e-5, atol=1e-6
        )


def test_grad_cam_on_deepmir_is_upsampled_to_the_image() -> None:
    from mirnamap.model import build_model

    model = build_model(seed=0)
    x = random_images(2, shape=(25, 100, 3))
    for name in ("grad_cam", "grad_cam_plus_plus"):
        maps = explain(model, x, name, target=1)
        assert maps.shape == (2, 25, 100) and (maps >= 0).all()
    low = explain(model, x, "grad_cam", target=1, layer="conv1b", relu=False)
    assert low.shape == (2, 25, 100) and (low < 0).any()


@pytest.mark.parametrize(
    "baseline, quadrature",
    [
        ("white", "gausslegendre"),
        ("black", "gausslegendre"),
        ("blurred", "gausslegendre"),
        ("white", "riemann_trapezoid"),
    ],
)
def test_integrated_gradients_completeness(
    baseline: str, quadrature: str, model: keras.Model, x: np.ndarray
) -> None:
    # ReLU networks have a piecewise-constant gradient along the path: enough steps.
    maps = explain(
        model,
        x[:3],
        "integrated_gradients",
        target=1,
        steps=256,
        baseline=baseline,
        quadrature=quadrature,
    )
    start = make_baseline(x[:3].astype(np.float32), baseline)
    difference = logits_of(model, x[:3])[:, 1] - logits_of(model, start)[:, 1]
    assert (np.abs(difference) > 1e-3).all()
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), difference, rtol=0.01)


def test_integrated_gradients_of_a_linear_model_is_exact_at_one_step() -> None:
    weights = np.random.default_rng(1).normal(size=(40, 2)).astype(np.float32)
    model, x = linear_model(weights, (4, 5, 2)), random_images(2, shape=(4, 5, 2))
    maps = explain(
        model, x, "integrated_gradients", target=1, steps=1, baseline="black", reduce=None
    )
    np.testing.assert_allclose(maps, weights[:, 1].reshape(4, 5, 2) * x, rtol=1e-5)


def test_smoothgrad_with_zero_noise_is_its_inner_backend(model: keras.Model, x: np.ndarray) -> None:
    for inner in ("gradient", "guided_backprop", "deconvnet", "integrated_gradients"):
        expected = (
            get_backend(inner)(model, x, 1, steps=4)
            if inner == "integrated_gradients"
            else get_backend(inner)(model, x, 1)
        )
        extra = {"steps": 4} if inner == "integrated_gradients" else {}
        np.testing.assert_allclose(
            smoothgrad(model, x, 1, inner=inner, n_samples=3, noise_level=0.0, **extra),
            expected,
            rtol=1e-5,
            atol=1e-6 * np.abs(expected).max(),
        )
    plain = get_backend("gradient")(model, x, 1)
    np.testing.assert_allclose(
        explain(model, x, "smoothgrad_squared", target=1, n_samples=3, noise_level=0.0),
        plain**2,
        rtol=1e-5,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        explain(model, x, "vargrad", target=1, n_samples=3, noise_level=0.0), 0.0, atol=1e-15
    )


def test_smoothgrad_averages_its_inner_backend_over_the_seeded_noise(
    model: keras.Model, x: np.ndarray
) -> None:
    noise = sample_noise(SHAPE, 5, seed=7) * np.float32(0.2 * 255)
    for name, inner in (
        ("smoothgrad", "gradient"),
        ("smoothgrad_guided_backprop", "guided_backprop"),
    ):
        by_hand = np.mean([get_backend(inner)(model, x + z, 0) for z in noise], axis=0)
        maps = explain(model, x, name, target=0, n_samples=5, noise_level=0.2, seed=7)
        np.testing.assert_allclose(maps, by_hand, rtol=1e-4, atol=1e-6 * np.abs(by_hand).max())
    squares = np.mean([get_backend("gradient")(model, x + z, 0) ** 2 for z in noise], axis=0)
    np.testing.assert_allclose(
        explain(model, x, "smoothgrad_squared", target=0, n_samples=5, noise_level=0.2, seed=7),
        squares,
        rtol=1e-4,
        atol=1e-6 * squares.max(),
    )


@pytest.mark.parametrize("size, stride", [(1, 1), (3, 3)])
def test_occlusion_of_a_model_that_reads_one_pixel(size: int, stride: int) -> None:
    shape, pixel, weight = (6, 8, 1), (2, 5), -0.75
    weights = np.zeros((48, 2), np.float32)
    weights[np.ravel_multi_index(pixel, shape[:2]), 1] = weight
    model, x = linear_model(weights, shape), random_images(2, shape=shape)
    maps = explain(model, x, "occlusion", target=1, size=size, stride=stride, fill=255.0)
    drop = weight * (x[:, 2, 5, 0].astype(np.float32) - 255.0)
    expected = np.zeros((2, 6, 8), np.float32)
    if size == 1:
        expected[:, 2, 5] = drop
    else:
        # Patches start at rows {0, 3} and columns {0, 3, 5} (the last flush with the
        # edge); those over (2, 5) start at row 0 and columns 3 and 5: rows 0-2, columns 3-7.
        expected[:, 0:3, 3:8] = drop[:, None, None]
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-5)


def test_shap_expected_gradients_add_up(model: keras.Model, x: np.ndarray) -> None:
    # With one background image, expected gradients are integrated gradients at random
    # path positions: their sum approaches logit(x) - logit(background).
    background = np.full((1, *SHAPE), 255.0, np.float32)
    maps = explain(model, x[:2], "shap", target=1, n_samples=300, background=background)
    difference = logits_of(model, x[:2])[:, 1] - logits_of(model, background)[0, 1]
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), difference, rtol=0.1)
    other = explain(model, x[:2], "shap", target=0, n_samples=300, background=background)
    assert not np.allclose(other.sum(axis=(1, 2)), difference, rtol=0.1)


def test_shap_leaves_numpys_global_random_stream_alone(model: keras.Model, x: np.ndarray) -> None:
    np.random.seed(5)  # noqa: NPY002  (shap uses the legacy global generator)
    expected = np.random.rand(3)  # noqa: NPY002
    np.random.seed(5)  # noqa: NPY002
    explain(model, x[:1], "shap", target=1, n_samples=4, seed=123)
    np.testing.assert_array_equal(np.random.rand(3), expected)  # noqa: NPY002
