"""Saliency throughput: every backend, its limit, and the peers that run on Keras 3, in one run.

Maps per second for every registered backend at several batch sizes on the DeepMir network
(random weights: speed does not depend on them) and the same random 25 x 100 images, next to
(a) the limit: the model's own forward+backward throughput (a bare ``tf.function`` over a
``GradientTape``, best batch size) divided by the passes one map needs, and (b) the peers
that offer the same method and run on Keras 3 (tf-keras-vis, xplique, tf-explain, shap),
each with its own batching. Ratios, not seconds, are what to quote: the machines are shared.

    python benchmarks/saliency.py [--samples 50] [--batch-sizes 32 128] [--repeat 1]
    python benchmarks/saliency.py --only smoothgrad_guided_backprop --repeat 3   # headline
    python benchmarks/saliency.py --precisions bfloat16 --require-peers         # every row

The peers, pinned, are installed after the project and without dependency resolution
(xplique 2.0.2 would otherwise downgrade TensorFlow; see the file's comments)::

    pip install -e '.[cpu,test]'
    pip install --no-deps -r benchmarks/requirements-peers.txt

A peer that does not import still gets its rows, marked NOT INSTALLED (``--require-peers``
stops instead). The rows per peer (:data:`PEER_METHODS`): tf-keras-vis 6 (gradient,
SmoothGrad, guided backprop, SmoothGrad-guided backprop, Grad-CAM, Grad-CAM++), xplique 12
(every backend but SHAP; SmoothGrad-guided backprop composed by hand from its parts),
tf-explain 5 (gradient, gradient x input, SmoothGrad, integrated gradients, Grad-CAM; a
speed peer only: it explains the softmax and returns 8-bit images), shap 1.
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
from mirnamap.saliency import cost_params, explain, list_backends

warnings.filterwarnings("ignore")
tf.get_logger().setLevel("ERROR")

#: The methods each peer has a row for (when it imports; NOT INSTALLED rows otherwise).
PEER_METHODS = {
    "tf-keras-vis": (
        "gradient",
        "smoothgrad",
        "guided_backprop",
        "smoothgrad_guided_backprop",
        "grad_cam",
        "grad_cam_plus_plus",
    ),
    "xplique": (
        "gradient",
        "gradient_x_input",
        "guided_backprop",
        "deconvnet",
        "smoothgrad",
        "smoothgrad_squared",
        "vargrad",
        "integrated_gradients",
        "grad_cam",
        "grad_cam_plus_plus",
        "occlusion",
        "smoothgrad_guided_backprop",
    ),
    "tf-explain": (
        "gradient",
        "gradient_x_input",
        "smoothgrad",
        "integrated_gradients",
        "grad_cam",
    ),
    "shap": ("shap",),
}
INSTALL = "pip install --no-deps -r benchmarks/requirements-peers.txt"


def best_time(job: Callable[[], Any], repeat: int) -> float:
    """Best wall time of ``repeat`` runs of ``job`` (after one untimed warm-up elsewhere)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def model_throughput(
    cut: keras.Model, batch_sizes: list[int], repeat: int, xla: bool = False
) -> dict[str, float]:
    """Images/s of a bare forward+backward (and forward) pass, best over batch sizes."""
    spec = tf.TensorSpec((None, 25, 100, 3), tf.float32)

    @tf.function(input_signature=[spec], jit_compile=xla)
    def backward(x: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = cut(x, training=False)[:, 1]
        return tape.gradient(score, x)

    @tf.function(input_signature=[spec], jit_compile=xla)
    def forward(x: tf.Tensor) -> tf.Tensor:
        return cut(x, training=False)

    rates = {"forward+backward": 0.0, "forward": 0.0}
    for batch_size in batch_sizes:
        x = tf.constant(
            np.random.default_rng(0).uniform(0, 255, (batch_size, 25, 100, 3)), tf.float32
        )
        for name, function in (("forward+backward", backward), ("forward", forward)):
            function(x).numpy()
            # About 256 (backward) or 768 (forward) images per timing.
            reps = max(1, 256 // batch_size) * (1 if name == "forward+backward" else 3)
            seconds = best_time(
                lambda f=function, x=x, reps=reps: [f(x).numpy() for _ in range(reps)], repeat
            )
            rates[name] = max(rates[name], reps * batch_size / seconds)
    return rates


def peers(
    model: keras.Model, cut: keras.Model, samples: int, steps: int
) -> tuple[dict[str, list], dict[str, str]]:
    """method -> [(peer label, function images -> maps, or None where the peer does not
    import)], and peer -> why it did not import."""
    found: dict[str, list] = {}
    missing: dict[str, str] = {}

    def add(method: str, label: str, function: Callable[[np.ndarray], Any] | None) -> None:
        found.setdefault(method, []).append((label, function))

    def absent(peer: str, error: ImportError) -> None:
        print(f"{peer} not available: {error} (install: {INSTALL})")
        missing[peer] = str(error)
        for method in PEER_METHODS[peer]:
            add(method, f"{peer} NOT INSTALLED", None)

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
            return lambda x: engine(
                score(x),
                x,
                smooth_samples=n,
                gradient_modifier=lambda g: g,
                keepdims=True,
                normalize_map=False,
            )

        add("gradient", label, saliency(plain, 0))
        add("smoothgrad", label, saliency(plain, samples))
        add("guided_backprop", label, saliency(guided, 0))
        add("smoothgrad_guided_backprop", label, saliency(guided, samples))
        add(
            "grad_cam",
            label,
            lambda x: cam(score(x), x, penultimate_layer="conv3b", normalize_cam=False),
        )
        add(
            "grad_cam_plus_plus",
            label,
            lambda x: campp(score(x), x, penultimate_layer="conv3b", normalize_cam=False),
        )
    except ImportError as error:
        absent("tf-keras-vis", error)

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
        add(
            "integrated_gradients",
            label,
            xp(xa.IntegratedGradients, steps=steps, baseline_value=255.0),
        )
        add("grad_cam", label, xp(xa.GradCAM, conv_layer="conv3b"))
        add("grad_cam_plus_plus", label, xp(xa.GradCAMPP, conv_layer="conv3b"))
        add(
            "occlusion",
            label,
            xp(xa.Occlusion, patch_size=5, patch_stride=5, occlusion_value=255.0),
        )
        # xplique has no SmoothGrad over guided backpropagation; composed by hand from its
        # own parts: its SmoothGrad on its guided-ReLU clone of the model.
        guided_cut = override_relu_gradient(keras.models.clone_model(cut), guided_relu_policy)
        guided_cut.set_weights(cut.get_weights())

        def xp_sg_gbp(x: np.ndarray) -> Any:
            engine = xa.SmoothGrad(guided_cut, batch_size=64, nb_samples=samples, noise=0.15 * 255)
            return engine.explain(x, np.tile(np.eye(2, dtype=np.float32)[1], (len(x), 1)))

        add("smoothgrad_guided_backprop", f"{label} (composed by hand)", xp_sg_gbp)
    except ImportError as error:
        absent("xplique", error)

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
        add(
            "smoothgrad",
            label,
            lambda x: SmoothGrad().explain(
                (x, None), model, 1, num_samples=samples, noise=0.15 * 255
            ),
        )
        add(
            "integrated_gradients",
            label,
            lambda x: IntegratedGradients().explain((x, None), model, 1, n_steps=steps),
        )
        add(
            "grad_cam", label, lambda x: GradCAM().explain((x, None), model, 1, layer_name="conv3b")
        )
    except ImportError as error:
        absent("tf-explain", error)

    try:
        import shap

        background = np.full((1, 25, 100, 3), 255.0, np.float32)
        engine = shap.GradientExplainer(cut, background, batch_size=64)
        add(
            "shap",
            f"shap {shap.__version__} GradientExplainer",
            lambda x: engine.shap_values(x, nsamples=samples, ranked_outputs=1),
        )
    except ImportError as error:
        absent("shap", error)
    return found, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples",
        type=int,
        default=50,
        help="SmoothGrad noisy samples, IG steps and SHAP samples per map",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best counts")
    parser.add_argument("--images", type=int, default=128, help="maps per run of a one-pass method")
    parser.add_argument(
        "--multi",
        type=int,
        default=8,
        help="maps per run of a multi-pass method (SmoothGrad, IG, SHAP, ...)",
    )
    parser.add_argument(
        "--xla",
        action="store_true",
        help="also compare the bare passes with XLA (jit_compile=True)",
    )
    parser.add_argument("--only", nargs="*", default=None, help="backends to run")
    parser.add_argument(
        "--precisions",
        nargs="*",
        default=[],
        choices=["bfloat16", "float16"],
        help="also mirnamap rows in these precisions (run as asked, even where emulated)",
    )
    parser.add_argument(
        "--require-peers",
        action="store_true",
        help=f"stop if a peer does not import (install: {INSTALL})",
    )
    args = parser.parse_args()

    model = build_model(seed=0)
    cut = keras.Model(model.inputs, model.get_layer("logits").output)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (max(args.images, args.multi), 25, 100, 3)).astype(np.uint8)
    samples = args.samples
    params = cost_params(samples)
    passes = dict.fromkeys(params, samples)
    occlusion_passes = 101  # 5 x 20 patches of 5 x 5 and the image itself, forward only

    # The machines are shared and their load changes within a run: the limit is measured
    # (at the best batch size) before each round of a method's timings and after the last,
    # and each row is compared with the best of those (repeat + 1 measurements).
    sizes = [32, 128, 256]
    first = {size: model_throughput(cut, [size], 1) for size in sizes}
    best = {key: max(sizes, key=lambda size: first[size][key]) for key in first[sizes[0]]}

    def limit_now() -> dict[str, float]:
        rates = {}
        for key, size in best.items():
            rates[key] = model_throughput(cut, [size], 1)[key]
        return rates

    print(
        f"DeepMir, {args.images} one-pass maps, {args.multi} multi-pass maps, "
        f"{samples} samples/steps, best of {args.repeat}; TF {tf.__version__}, keras "
        f"{keras.__version__}, {len(tf.config.list_physical_devices('GPU'))} GPU(s); limit "
        f"batch sizes {best}\n"
    )

    if args.xla:
        plain, compiled = {}, {}
        for _ in range(3):  # interleaved, best of 3: the load changes
            for key, value in limit_now().items():
                plain[key] = max(plain.get(key, 0.0), value)
            for key, size in best.items():
                value = model_throughput(cut, [size], 1, xla=True)[key]
                compiled[key] = max(compiled.get(key, 0.0), value)
        for key in plain:
            print(
                f"{key}: {plain[key]:.1f} images/s, with XLA {compiled[key]:.1f} "
                f"({compiled[key] / plain[key]:.2f}x)"
            )
        print()

    rows: list[tuple[str, str, str, float, float]] = []
    competitors, missing = peers(model, cut, samples, samples)
    if missing and args.require_peers:
        raise SystemExit(f"peers not installed: {', '.join(missing)}; {INSTALL}")
    # Reduced-precision copies of the model, forced past the hardware check (a CPU without
    # bfloat16 instructions emulates it: the script says so).
    from mirnamap.precision import precision_model, unsupported_reason

    reduced = {precision: precision_model(model, precision) for precision in args.precisions}
    for precision in reduced:
        reason = unsupported_reason(precision)
        if reason:
            print(f"NOTE {reason}: its rows are emulated, their speed means nothing")
    if reduced:
        # The ceiling of a reduced precision on this hardware: the bare pass of mirnamap's
        # copy (first convolution and logits float32) and of the whole network built under
        # Keras' mixed policy, against the float32 pass, interleaved, best of 3.
        policy_name = {"bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
        bare = {"float32": cut}
        for precision, net in reduced.items():
            bare[f"mirnamap {precision} copy"] = keras.Model(
                net.inputs, net.get_layer("logits").output
            )
            previous = keras.mixed_precision.global_policy()
            keras.mixed_precision.set_global_policy(policy_name[precision])
            try:
                whole = build_model(seed=0)
            finally:
                keras.mixed_precision.set_global_policy(previous)
            whole.set_weights(model.get_weights())
            bare[f"whole network {policy_name[precision]}"] = keras.Model(
                whole.inputs, whole.get_layer("logits").output
            )
        ceilings: dict[str, float] = {}
        for _ in range(3):
            for label, net in bare.items():
                rate = model_throughput(net, [best["forward+backward"]], 1)["forward+backward"]
                ceilings[label] = max(ceilings.get(label, 0.0), rate)
        print("| bare forward+backward | images/s | vs float32 |\n|---|---:|---:|")
        for label, rate in ceilings.items():
            print(f"| {label} | {rate:.1f} | {rate / ceilings['float32']:.2f}x |")
        print()
    names = args.only or list_backends()
    results: dict[str, tuple[float, float]] = {}
    for name in names:
        n = args.images if passes.get(name, 1) == 1 and name != "occlusion" else args.multi
        x = images[:n]
        options = params.get(name, {})
        explain(model, x[:2], name, target=1, batch_size=min(args.batch_sizes), **options)
        for net in reduced.values():
            explain(net, x[:2], name, target=1, batch_size=min(args.batch_sizes), **options)
        for _, function in competitors.get(name, []):
            if function is None:
                continue
            try:
                function(np.asarray(x[:2], np.float32))  # warm-up (tracing, cloning)
            except Exception:
                pass
        limits = []
        measured: list[tuple[str, str, float]] = []
        for _ in range(args.repeat):
            limits.append(limit_now())
            for batch_size in args.batch_sizes:
                seconds = best_time(
                    lambda b=batch_size, x=x, name=name, options=options: explain(
                        model, x, name, target=1, batch_size=b, progress=False, **options
                    ),
                    1,
                )
                measured.append(("mirnamap", str(batch_size), n / seconds))
                for precision, net in reduced.items():
                    seconds = best_time(
                        lambda b=batch_size, x=x, name=name, options=options, net=net: explain(
                            net, x, name, target=1, batch_size=b, progress=False, **options
                        ),
                        1,
                    )
                    measured.append((f"mirnamap {precision}", str(batch_size), n / seconds))
            for label, function in competitors.get(name, []):
                if function is None:
                    measured.append((label, "", float("nan")))
                    continue
                try:
                    seconds = best_time(lambda f=function, x=x: f(np.asarray(x, np.float32)), 1)
                    measured.append((label, "own", n / seconds))
                except Exception as error:  # a peer that fails on Keras 3 is reported
                    measured.append((f"{label} FAILED: {type(error).__name__}", "", float("nan")))
        limits.append(limit_now())
        key = "forward" if name == "occlusion" else "forward+backward"
        limit = max(rates[key] for rates in limits) / (
            occlusion_passes if name == "occlusion" else passes.get(name, 1)
        )
        fastest: dict[tuple[str, str], float] = {}
        for label, batch, rate in measured:
            if rate == rate:
                fastest[(label, batch)] = max(fastest.get((label, batch), 0.0), rate)
            else:
                fastest.setdefault((label, batch), rate)
        ours = max(rate for (label, _), rate in fastest.items() if label == "mirnamap")
        results[name] = (ours, limit)
        for (label, batch), rate in fastest.items():
            rows.append((name, label, batch, rate, limit))
        print(f"  measured {name}", flush=True)

    print(
        "\n| method | implementation | batch | maps/s | limit maps/s | of limit "
        "| mirnamap vs this |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, label, batch, rate, limit in rows:
        versus = (
            f"{results[name][0] / rate:.1f}x"
            if not label.startswith("mirnamap") and rate == rate
            else ""
        )
        shown = (
            f"{rate:.2f} | {limit:.2f} | {rate / limit:.2f}" if rate == rate else f"| {limit:.2f} |"
        )
        print(f"| {name} | {label} | {batch} | {shown} | {versus} |")

    head = "smoothgrad_guided_backprop"
    if head in results:
        ours, limit = results[head]
        peer_rates = [
            rate
            for method, label, _, rate, _ in rows
            if method == head and not label.startswith("mirnamap") and rate == rate
        ]
        line = f"\n{head} ({samples} samples): {ours:.2f} maps/s = {ours / limit:.2f} of its limit"
        if peer_rates:
            line += f", {ours / max(peer_rates):.1f}x the fastest peer"
        print(line)
        for precision in reduced:
            rates = [
                rate
                for method, label, _, rate, _ in rows
                if method == head and label == f"mirnamap {precision}"
            ]
            line = (
                f"{head} in {precision}: {max(rates):.2f} maps/s = "
                f"{max(rates) / limit:.2f} of the float32 limit"
            )
            if peer_rates:
                line += f", {max(rates) / max(peer_rates):.1f}x the fastest peer"
            print(line)
    if missing:
        print(f"\nNOT INSTALLED: {', '.join(missing)} (their rows are empty); {INSTALL}")


if __name__ == "__main__":
    main()
