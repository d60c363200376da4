"""Agreement of mirnamap's saliency backends with independent libraries on the same models.

Test-only peers: ``shap`` (a dependency), tf-keras-vis 0.8.7 (the ``test`` extra) and xplique
2.0.2 (installed with ``--no-deps`` by ``make test``, or by hand: see "Peers on Keras 3" in
``docs/development/testing.md``; skipped when absent). Where the peer computes the same
quantity the maps must agree to float precision; Spearman >= 0.99 is asserted on top, per
image.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from test_saliency import SHAPE, random_images, spearman_min, tiny_cnn

from mirnamap.saliency import explain
from mirnamap.saliency.smoothgrad import sample_noise

TARGETS = np.array([0, 1, 1, 0])


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return random_images(4, seed=5).astype(np.float32)


@pytest.fixture(scope="module", params=[True, False], ids=["separate_relu", "fused_relu"])
def model(request: pytest.FixtureRequest) -> keras.Model:
    return tiny_cnn(seed=11, separate_relu=request.param)


def cut(model: keras.Model) -> keras.Model:
    """The model cut at its logits (peers explain whatever the model outputs)."""
    return keras.Model(model.inputs, model.get_layer("logits").output)


def agree(ours: np.ndarray, theirs: np.ndarray, rtol: float = 1e-4) -> None:
    theirs = np.asarray(theirs, np.float32).reshape(ours.shape)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-4 * np.abs(theirs).max())
    assert spearman_min(ours, theirs) >= 0.99


# --------------------------------------------------------------------------------------
# shap
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gradient", "deep"])
def test_shap_backend_is_shaps_own_output(kind: str, x: np.ndarray) -> None:
    import shap

    model = tiny_cnn(seed=11)
    background = random_images(3, seed=9).astype(np.float32)
    ours = explain(
        model,
        x,
        "shap",
        target=TARGETS,
        background=background,
        n_samples=16,
        explainer=kind,
        seed=4,
        reduce=None,
    )
    theirs = []
    for index, target in enumerate(TARGETS):
        if kind == "gradient":
            explainer = shap.GradientExplainer(cut(model), background)
            values, _ = explainer.shap_values(
                x[index : index + 1],
                nsamples=16,
                ranked_outputs=np.array([[target]]),
                output_rank_order="custom",
                rseed=4,
            )
        else:
            explainer = shap.DeepExplainer(cut(model), background)
            values = np.asarray(explainer.shap_values(x[index : index + 1]))[..., target]
        theirs.append(np.asarray(values).reshape(SHAPE))
    agree(ours, np.stack(theirs))


# --------------------------------------------------------------------------------------
# tf-keras-vis
# --------------------------------------------------------------------------------------


def keras_vis_saliency(model: keras.Model, images: np.ndarray, guided: bool) -> np.ndarray:
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import GuidedBackpropagation
    from tf_keras_vis.utils.scores import CategoricalScore

    saliency = Saliency(
        cut(model), model_modifier=GuidedBackpropagation() if guided else None, clone=True
    )
    targets = np.resize(TARGETS, len(images))
    grads = saliency(
        CategoricalScore(list(targets)),
        images,
        gradient_modifier=lambda g: g,
        keepdims=True,
        normalize_map=False,
    )
    return np.asarray(grads).sum(axis=-1)


def test_gradient_matches_tf_keras_vis(model: keras.Model, x: np.ndarray) -> None:
    pytest.importorskip("tf_keras_vis")
    agree(explain(model, x, "gradient", target=TARGETS), keras_vis_saliency(model, x, False))


def test_guided_backprop_matches_tf_keras_vis_on_fused_relus(x: np.ndarray) -> None:
    # tf-keras-vis swaps only fused activations: it silently skips separate ReLU layers, so
    # the comparison is made on a model without them.
    pytest.importorskip("tf_keras_vis")
    model = tiny_cnn(seed=11, separate_relu=False)
    agree(explain(model, x, "guided_backprop", target=TARGETS), keras_vis_saliency(model, x, True))


@pytest.mark.parametrize(
    "name, guided", [("smoothgrad", False), ("smoothgrad_guided_backprop", True)]
)
def test_smoothgrad_with_fixed_noise_matches_tf_keras_vis(
    name: str, guided: bool, x: np.ndarray
) -> None:
    # The peer draws its own noise: give it our noisy copies and average its maps.
    pytest.importorskip("tf_keras_vis")
    model = tiny_cnn(seed=11, separate_relu=False)
    noise = sample_noise(SHAPE, 6, seed=2) * np.float32(0.15 * 255)
    theirs = np.mean([keras_vis_saliency(model, x + z, guided) for z in noise], axis=0)
    agree(explain(model, x, name, target=TARGETS, n_samples=6, seed=2), theirs)


def test_grad_cam_matches_tf_keras_vis(model: keras.Model, x: np.ndarray) -> None:
    # At a full-resolution layer, so that no interpolation enters (tf-keras-vis upsamples
    # with scipy.ndimage.zoom, mirnamap with tf.image.resize: Spearman 0.97-0.99 at conv_c).
    pytest.importorskip("tf_keras_vis")
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore

    theirs = Gradcam(cut(model), clone=True)(
        CategoricalScore(list(TARGETS)),
        x,
        penultimate_layer="conv_a",
        seek_penultimate_conv_layer=False,
        normalize_cam=False,
    )
    agree(explain(model, x, "grad_cam", target=TARGETS, layer="conv_a"), theirs)


# --------------------------------------------------------------------------------------
# xplique (installed with --no-deps; skipped when it does not import)
# --------------------------------------------------------------------------------------


def xplique_map(
    method: str, model: keras.Model, images: np.ndarray, **options: object
) -> np.ndarray:
    attributions = pytest.importorskip("xplique.attributions")
    one_hot = np.eye(2, dtype=np.float32)[TARGETS]
    explainer = getattr(attributions, method)(cut(model), batch_size=16, **options)
    return np.asarray(explainer.explain(images, one_hot))


@pytest.mark.parametrize(
    "name, method",
    [
        ("gradient_x_input", "GradientInput"),
        ("guided_backprop", "GuidedBackprop"),
        ("deconvnet", "DeconvNet"),
    ],
)
def test_gradient_family_matches_xplique(
    name: str, method: str, model: keras.Model, x: np.ndarray
) -> None:
    # xplique's override handles fused activations and separate ReLU layers.
    theirs = xplique_map(method, model, x, reducer="sum")
    agree(explain(model, x, name, target=TARGETS), theirs)


@pytest.mark.parametrize("baseline", [0.0, 255.0])
def test_integrated_gradients_matches_xplique(
    baseline: float, model: keras.Model, x: np.ndarray
) -> None:
    theirs = xplique_map(
        "IntegratedGradients", model, x, reducer="sum", steps=12, baseline_value=baseline
    )
    ours = explain(
        model,
        x,
        "integrated_gradients",
        target=TARGETS,
        steps=12,
        baseline=baseline,
        quadrature="riemann_trapezoid",
    )
    agree(ours, theirs)


def test_grad_cam_matches_xplique(model: keras.Model, x: np.ndarray) -> None:
    theirs = xplique_map("GradCAM", model, x, conv_layer="conv_a")
    agree(explain(model, x, "grad_cam", target=TARGETS, layer="conv_a"), theirs)
