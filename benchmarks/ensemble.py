"""The cost of an ensemble: explain time per map with K members against one model, one run.

The same images (hairpins of the bundled example file, repeated to ``--images``) are
explained through :func:`mirnamap.explain_hairpins` by one member, by the whole ensemble
(every member draws all the samples: ``member_samples="each"``) and, for the sampling
backends, by the ensemble with its samples dealt out among the members
(``member_samples="split"``), interleaved ``--rounds`` times (so a change in machine load
shows in all); the median of each is taken. Prints seconds per map and the ratios, and how
closely the split maps match the full ones (per-map Spearman, on the distinct example
hairpins). Also times :func:`mirnamap.predict_hairpins`.

``--fusion`` also runs the members *together* for the input-gradient pass that the
gradient family, SmoothGrad and integrated gradients are built on, against K separate
runs: one traced ``tf.function`` over all members (one graph, each member's gradient
with respect to its own copy of the input), and one model with K heads (the members'
convolutions as grouped convolutions, their dense layers as one batched matmul).

    python benchmarks/ensemble.py [--model mirnamap/assets/deepmir_ensemble.zip] [--fusion]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two maps (flattened)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a.ravel(), b.ravel()).statistic)


def grouped_model(members: list):
    """One Keras model with K heads: input ``(B, 25, 100, 3K)`` (member k's copy of the
    image in channels 3k..3k+2), output the sum over members of their logits ``(B, 2)``;
    its gradient with respect to the input holds every member's input gradient. Built for
    DeepMir networks (scale, conv, pool, dropout, flatten, dense, logits)."""
    import keras
    import tensorflow as tf

    k, first = len(members), members[0]
    inputs = keras.Input((25, 100, 3 * k))
    scale = first.get_layer("scale")
    x = keras.layers.Rescaling(scale.scale, scale.offset)(inputs)
    assigned = []
    for layer in first.layers:
        if isinstance(layer, keras.layers.Conv2D):
            conv = keras.layers.Conv2D(
                layer.filters * k,
                layer.kernel_size,
                padding=layer.padding,
                activation=layer.activation,
                groups=k,
            )
            x = conv(x)
            assigned.append((conv, layer.name))
        elif isinstance(layer, keras.layers.MaxPooling2D):
            x = keras.layers.MaxPooling2D(layer.pool_size)(x)
    h, w, c = x.shape[1], x.shape[2], x.shape[3] // k
    x = keras.layers.Reshape((h, w, k, c))(x)
    x = keras.layers.Permute((3, 1, 2, 4))(x)  # member-major, then each member's flatten
    x = keras.layers.Reshape((k, h * w * c))(x)

    class Heads(keras.layers.Layer):
        def __init__(self, name: str, linear: bool) -> None:
            super().__init__()
            self.kernel = tf.constant(np.stack([m.get_layer(name).kernel.numpy() for m in members]))
            self.bias = tf.constant(np.stack([m.get_layer(name).bias.numpy() for m in members]))
            self.act = keras.activations.linear if linear else members[0].get_layer(name).activation

        def call(self, x):
            return self.act(tf.einsum("bki,kio->bko", x, self.kernel) + self.bias[None])

    for layer in first.layers:
        if isinstance(layer, keras.layers.Dense):
            x = Heads(layer.name, linear=layer.name == "logits")(x)
    model = keras.Model(inputs, keras.ops.sum(x, axis=1))
    for conv, name in assigned:
        conv.kernel.assign(np.concatenate([m.get_layer(name).kernel.numpy() for m in members], -1))
        conv.bias.assign(np.concatenate([m.get_layer(name).bias.numpy() for m in members]))
    return model


def fusion(ensemble, images: np.ndarray, batch_size: int, rounds: int) -> list[tuple]:
    """Seconds for the input gradients of every member: K separate runs (the library's
    path), one traced function over all members, one model with K heads."""
    import tensorflow as tf

    from mirnamap.saliency import input_gradients, logits_model

    members = list(ensemble.members)
    k, x = len(members), images.astype(np.float32)
    targets = np.ones(len(x), np.int32)
    nets = [logits_model(m) for m in members]
    spec = [tf.TensorSpec((None, 25, 100, 3), tf.float32), tf.TensorSpec((None,), tf.int32)]

    @tf.function(input_signature=spec)
    def together(batch, target):
        copies = [tf.identity(batch) for _ in nets]  # each member's own input
        with tf.GradientTape() as tape:
            tape.watch(copies)
            score = tf.add_n(
                [
                    tf.reduce_sum(tf.gather(net(c, training=False), target, axis=1, batch_dims=1))
                    for net, c in zip(nets, copies, strict=True)
                ]
            )
        return tf.stack(tape.gradient(score, copies))

    heads = grouped_model(members)

    @tf.function(input_signature=spec)
    def grouped(batch, target):
        tiled = tf.tile(batch, [1, 1, 1, k])
        with tf.GradientTape() as tape:
            tape.watch(tiled)
            score = tf.reduce_sum(
                tf.gather(heads(tiled, training=False), target, axis=1, batch_dims=1)
            )
        grads = tf.reshape(tape.gradient(score, tiled), (-1, 25, 100, k, 3))
        return tf.transpose(grads, (3, 0, 1, 2, 4))

    def chunks(function):
        parts = [
            function(tf.constant(x[s : s + batch_size]), tf.constant(targets[s : s + batch_size]))
            for s in range(0, len(x), batch_size)
        ]
        return np.concatenate([p.numpy() for p in parts], axis=1)

    runs = {
        f"{k} separate runs": lambda: np.stack(
            [input_gradients(m, x, targets, batch_size=batch_size) for m in members]
        ),
        "one traced function": lambda: chunks(together),
        f"one model, {k} heads (grouped conv)": lambda: chunks(grouped),
    }
    reference = None
    times: dict[str, list[float]] = {name: [] for name in runs}
    differences = {}
    for name, run in runs.items():  # tracing, not timed; and the results compared
        out = run()
        reference = out if reference is None else reference
        differences[name] = float(np.abs(out - reference).max() / np.abs(reference).max())
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times[f"{k} separate runs"])
    return [
        (name, statistics.median(t) / len(x), base / statistics.median(t), differences[name])
        for name, t in times.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="an ensemble (default: the bundled one)")
    parser.add_argument("--images", type=int, default=64, help="hairpins explained per run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each")
    parser.add_argument(
        "--methods", default="gradient,grad_cam,smoothgrad_guided_backprop", help="backends"
    )
    parser.add_argument("--fusion", action="store_true", help="also run the members together")
    parser.add_argument("--fusion-images", type=int, default=64, help="images of --fusion")
    args = parser.parse_args()

    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.pipeline import explain_hairpins, predict_hairpins, read_source
    from mirnamap.saliency import share_samples

    ensemble = resolve_ensemble(args.model)
    k = len(ensemble)
    one = ensemble.select([0])
    base = read_source(ROOT / "data" / "examples" / "hairpins.fa", workers=1).encoding
    sequences = {f"r{i}": base.sequences[i % len(base)] for i in range(args.images)}
    encoding = read_source(sequences, workers=1)  # read once, explained many times
    distinct = read_source(dict(zip(base.ids, base.sequences, strict=True)), workers=1)
    print(f"{k} members; {len(encoding.ids)} hairpins; methods {args.methods}")
    rows, agreement = [], []
    for method in args.methods.split(","):
        runs = {"one model": (one, "each"), f"{k} members": (ensemble, "each")}
        if share_samples(method, k, {}) is not None:
            runs[f"{k} members, split"] = (ensemble, "split")
            each = explain_hairpins(distinct, method, ensemble, progress=False)
            split = explain_hairpins(
                distinct, method, ensemble, progress=False, member_samples="split"
            )
            rho = [
                spearman(a, b) for a, b in zip(split.maps[method], each.maps[method], strict=True)
            ]
            agreement.append((method, statistics.median(rho), min(rho), len(rho)))
        times: dict[str, list[float]] = {label: [] for label in runs}
        for model, samples in runs.values():  # tracing every member's functions, not timed
            explain_hairpins(encoding, method, model, progress=False, member_samples=samples)
        for _ in range(args.rounds):
            for label, (model, samples) in runs.items():
                result = explain_hairpins(
                    encoding, method, model, progress=False, member_samples=samples
                )
                times[label].append(result.seconds[method] / len(encoding.ids))
        rows.append((method, {label: statistics.median(v) for label, v in times.items()}))
    predict_hairpins(encoding, ensemble)  # tracing, not timed
    start = time.perf_counter()
    predict_hairpins(encoding, one)
    single_predict = time.perf_counter() - start
    start = time.perf_counter()
    predict_hairpins(encoding, ensemble)
    many_predict = time.perf_counter() - start
    print(f"\n| method | s/map, one model | s/map, {k} members | ratio | s/map, split | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for method, seconds in rows:
        single, many = seconds["one model"], seconds[f"{k} members"]
        split = seconds.get(f"{k} members, split")
        tail = "| | |" if split is None else f"| {split:.4f} | {split / single:.2f} |"
        print(f"| {method} | {single:.4f} | {many:.4f} | {many / single:.2f} {tail}")
    print(
        f"| predict (s/record) | {single_predict / len(encoding.ids):.5f} | "
        f"{many_predict / len(encoding.ids):.5f} | {many_predict / single_predict:.2f} | | |"
    )
    if agreement:
        print("\nSplit against each member drawing all samples (per-map Spearman):\n")
        print("| method | median | min | maps |")
        print("|---|---:|---:|---:|")
        for method, median, low, n in agreement:
            print(f"| {method} | {median:.4f} | {low:.4f} | {n} |")
    if args.fusion:
        images = np.concatenate([encoding.images] * (1 + args.fusion_images // len(encoding.ids)))
        found = fusion(ensemble, images[: args.fusion_images], 64, args.rounds)
        print(
            f"\nThe members together, input gradients of {args.fusion_images} images, batch 64:\n"
        )
        print("| how | s/image (all members) | speed vs separate | max rel. difference |")
        print("|---|---:|---:|---:|")
        for name, seconds, speed, difference in found:
            print(f"| {name} | {seconds:.4f} | {speed:.2f}x | {difference:.1e} |")


if __name__ == "__main__":
    main()
