"""Saliency throughput: every backend, its limit, and the peers that run on Keras 3, in one run.

Maps per second for every registered backend at several batch sizes on the DeepMir network
(random weights: speed does not depend on them) and the same random 25 x 100 images, next to
(a) the limit: the model's own forward+backward throughput (a bare ``tf.function`` over a
``GradientTape``, best batch size) divided by the passes one map needs, and (b) the peers
that offer the same method and run on Keras 3 (tf-keras-vis, xplique, tf-explain, shap),
each with its own batching. Ratios, not seconds, are what to quote: the machines are shared.

    python benchmarks/saliency.py [--samples 50] [--batch-sizes 32 128] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mirnamap.model import build_model
from mirnamap.saliency import explain, list_backends

warnings.filterwarnings("ignore")


def best_time(job: Callable[[], Any], repeat: int) -> float:
    """Best wall time of ``repeat`` runs of ``job`` (after one untimed warm-up elsewhere)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def model_throughput(cut: keras.Model, batch_sizes: list[int], repeat: int) -> dict[str, float]:
    """Images/s of a bare forward+backward (and forward) pass, best over batch sizes."""
    spec = tf.TensorSpec((None, 25, 100, 3), tf.float32)

    @tf.function(input_signature=[spec])
    def backward(x: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = cut(x, training=False)[:, 1]
        return tape.gradient(score, x)

    @tf.function(input_signature=[spec])
    def forward(x: tf.Tensor) -> tf.Tensor:
        return cut(x, training=False)

    rates = {"forward+backward": 0.0, "forward": 0.0}
    for batch_size in batch_sizes:
        x = tf.constant(np.random.default_rng(0).uniform(0, 255, (batch_size, 25, 100, 3)),
                        tf.float32)
        for name, function in (("forward+backward", backward), ("forward", forward)):
            function(x).numpy()
            reps = 4 if name == "forward+backward" else 12
            seconds = best_time(lambda f=function: [f(x).numpy() for _ in range(reps)], repeat)
            rates[name] = max(rates[name], reps * batch_size / seconds)
    return rates


def peers(model: keras.Model, cut: keras.Model, samples: int, steps: int) -> dict[str, list]:
    """method -> [(peer label, function images -> maps)] for the peers that import."""
    found: dict[str, list] = {}

    def add(method: str, label: str, function: Callable[[np.ndarray], Any]) -> None:
        found.setdefault(method, []).append((label, function))

    try:
        import tf_keras_vis
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        from tf_keras_vis.saliency import Saliency
        from tf_keras_vis.utils.model_modifiers import GuidedBackpropagation
        from tf_keras_vis.utils.scores import CategoricalScore

        label = f"tf-keras-vis {tf_keras_vis.__version__}"
        plain = Saliency(cut, clone=True)
        guided = Saliency(cut, model_modifier=GuidedBackpropagation(), clone=True)
        cam, campp = Gradcam(cut, clone=True), GradcamPlusPlus(cut, clone=True)

        def score(x: np.ndarray) -> CategoricalScore:
            return CategoricalScore([1] * len(x))

        def saliency(engine: Saliency, n: int) -> Callable[[np.ndarray], Any]:
            return lambda x: engine(score(x), x, smooth_samples=n, gradient_modifier=lambda g: g,
                                    keepdims=True, normalize_map=False)

        add("gradient", label, saliency(plain, 0))
        add("smoothgrad", label, saliency(plain, samples))
        add("guided_backprop", label, saliency(guided, 0))
        add("smoothgrad_guided_backprop", label, saliency(guided, samples))
        add("grad_cam", label, lambda x: cam(score(x), x, penultimate_layer="conv3b",
                                             normalize_cam=False))
        add("grad_cam_plus_plus", label, lambda x: campp(score(x), x,
                                                         penultimate_layer="conv3b",
                                                         normalize_cam=False))
    except ImportError as error:
        print(f"tf-keras-vis not available: {error}")

    try:
        import xplique
        from xplique import attributions as xa
        from xplique.commons.model_override import guided_relu_policy, override_relu_gradient

        label = f"xplique {xplique.__version__}"

        def xp(cls: Any, **options: Any) -> Callable[[np.ndarray], Any]:
            def run(x: np.ndarray, batch_size: int = 64) -> Any:
                engine = cls(cut, batch_size=batch_size, **options)
                return engine.explain(x, np.tile(np.eye(2, dtype=np.float32)[1], (len(x), 1)))
            return run

        add("gradient", label, xp(xa.Saliency))
        add("gradient_x_input", label, xp(xa.GradientInput))
        add("guided_backprop", label, xp(xa.GuidedBackprop))
        add("deconvnet", label, xp(xa.DeconvNet))
        add("smoothgrad", label, xp(xa.SmoothGrad, nb_samples=samples, noise=0.15 * 255))
        add("smoothgrad_squared", label, xp(xa.SquareGrad, nb_samples=samples, noise=0.15 * 255))
        add("vargrad", label, xp(xa.VarGrad, nb_samples=samples, noise=0.15 * 255))
        add("integrated_gradients", label, xp(xa.IntegratedGradients, steps=steps,
                                              baseline_value=255.0))
        add("grad_cam", label, xp(xa.GradCAM, conv_layer="conv3b"))
        add("grad_cam_plus_plus", label, xp(xa.GradCAMPP, conv_layer="conv3b"))
        add("occlusion", label, xp(xa.Occlusion, patch_size=5, patch_stride=5,
                                   occlusion_value=255.0))
        # xplique has no SmoothGrad over guided backpropagation; composed by hand from its
        # own parts: its SmoothGrad on its guided-ReLU clone of the model.
        guided_cut = override_relu_gradient(keras.models.clone_model(cut), guided_relu_policy)
        guided_cut.set_weights(cut.get_weights())

        def xp_sg_gbp(x: np.ndarray) -> Any:
            engine = xa.SmoothGrad(guided_cut, batch_size=64, nb_samples=samples,
                                   noise=0.15 * 255)
            return engine.explain(x, np.tile(np.eye(2, dtype=np.float32)[1], (len(x), 1)))

        add("smoothgrad_guided_backprop", f"{label} (composed by hand)", xp_sg_gbp)
    except ImportError as error:
        print(f"xplique not available: {error}")

    try:
        import tf_explain
        from tf_explain.core.grad_cam import GradCAM
        from tf_explain.core.gradients_inputs import GradientsInputs
        from tf_explain.core.integrated_gradients import IntegratedGradients
        from tf_explain.core.smoothgrad import SmoothGrad
        from tf_explain.core.vanilla_gradients import VanillaGradients

        label = f"tf-explain {tf_explain.__version__}"
        add("gradient", label, lambda x: VanillaGradients().explain((x, None), model, 1))
        add("gradient_x_input", label, lambda x: GradientsInputs().explain((x, None), model, 1))
        add("smoothgrad", label, lambda x: SmoothGrad().explain((x, None), model, 1,
                                                                num_samples=samples,
                                                                noise=0.15 * 255))
        add("integrated_gradients", label, lambda x: IntegratedGradients().explain(
            (x, None), model, 1, n_steps=steps))
        add("grad_cam", label, lambda x: GradCAM().explain((x, None), model, 1,
                                                           layer_name="conv3b"))
    except ImportError as error:
        print(f"tf-explain not available: {error}")

    try:
        import shap

        background = np.full((1, 25, 100, 3), 255.0, np.float32)
        engine = shap.GradientExplainer(cut, background, batch_size=64)
        add("shap", f"shap {shap.__version__} GradientExplainer",
            lambda x: engine.shap_values(x, nsamples=samples, ranked_outputs=1))
    except ImportError as error:
        print(f"shap not available: {error}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50,
                        help="SmoothGrad noisy samples, IG steps and SHAP samples per map")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--images", type=int, default=128,
                        help="maps per run of a one-pass method (multi-pass: fewer, same work)")
    parser.add_argument("--only", nargs="*", default=None, help="backends to run")
    args = parser.parse_args()

    model = build_model(seed=0)
    cut = keras.Model(model.inputs, model.get_layer("logits").output)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, 25, 100, 3)).astype(np.uint8)
    samples = args.samples
    passes = {
        "smoothgrad": samples, "smoothgrad_squared": samples, "vargrad": samples,
        "smoothgrad_guided_backprop": samples, "integrated_gradients": samples, "shap": samples,
    }
    params = {
        "smoothgrad": {"n_samples": samples}, "smoothgrad_squared": {"n_samples": samples},
        "vargrad": {"n_samples": samples}, "smoothgrad_guided_backprop": {"n_samples": samples},
        "integrated_gradients": {"steps": samples}, "shap": {"n_samples": samples},
    }
    occlusion_passes = 101  # 5 x 20 patches of 5 x 5 and the image itself, forward only

    before = model_throughput(cut, [32, 128, 256], args.repeat)
    print(f"DeepMir, {args.images} one-pass maps, {samples} samples/steps, best of "
          f"{args.repeat}; TF {tf.__version__}, keras {keras.__version__}, "
          f"{len(tf.config.list_physical_devices('GPU'))} GPU(s)\n")

    rows: list[tuple[str, str, str, float, float]] = []
    competitors = peers(model, cut, samples, samples)
    names = args.only or list_backends()
    results: dict[str, float] = {}
    for name in names:
        n = max(2, args.images // passes.get(name, 1) // (8 if name == "occlusion" else 1))
        x = images[:n]
        explain(model, x[:2], name, target=1, batch_size=min(args.batch_sizes), **params.get(name, {}))
        for batch_size in args.batch_sizes:
            # Warm the traced function for this batch size, then time.
            seconds = best_time(lambda b=batch_size: explain(
                model, x, name, target=1, batch_size=b, progress=False, **params.get(name, {})
            ), args.repeat)
            rate = n / seconds
            results[name] = max(results.get(name, 0.0), rate)
            rows.append((name, "mirnamap", str(batch_size), rate, n))
        for label, function in competitors.get(name, []):
            try:
                function(np.asarray(x[:2], np.float32))
                seconds = best_time(lambda f=function: f(np.asarray(x, np.float32)), args.repeat)
                rows.append((name, label, "own", n / seconds, n))
            except Exception as error:  # a peer that fails on Keras 3 is reported, not fatal
                rows.append((name, f"{label} FAILED: {type(error).__name__}", "", float("nan"), n))
        print(f"  measured {name}", flush=True)
    after = model_throughput(cut, [32, 128, 256], args.repeat)
    throughput = {k: max(before[k], after[k]) for k in before}

    print(f"\nmodel throughput (bare tf.function, best batch size): forward+backward "
          f"{throughput['forward+backward']:.1f} images/s, forward {throughput['forward']:.1f} "
          f"images/s (before/after the run: {before['forward+backward']:.1f}/"
          f"{after['forward+backward']:.1f})\n")
    print("| method | implementation | batch | maps/s | limit maps/s | of limit | mirnamap vs this |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, label, batch, rate, _ in rows:
        if name == "occlusion":
            limit = throughput["forward"] / occlusion_passes
        else:
            limit = throughput["forward+backward"] / passes.get(name, 1)
        ours = results[name]
        versus = f"{ours / rate:.1f}x" if label != "mirnamap" and rate == rate else ""
        print(f"| {name} | {label} | {batch} | {rate:.2f} | {limit:.2f} | {rate / limit:.2f} | "
              f"{versus} |")

    head = "smoothgrad_guided_backprop"
    if head in results:
        limit = throughput["forward+backward"] / passes[head]
        peer_rates = [r for n_, l, _, r, _ in rows if n_ == head and l != "mirnamap" and r == r]
        line = f"\n{head} ({samples} samples): {results[head]:.2f} maps/s = " \
               f"{results[head] / limit:.2f} of its limit"
        if peer_rates:
            line += f", {results[head] / max(peer_rates):.1f}x the fastest peer"
        print(line)


if __name__ == "__main__":
    main()
