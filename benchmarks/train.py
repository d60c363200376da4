"""Training overhead of :func:`mirnamap.train.train` against a bare ``model.fit``, one run.

Both train the same published network (same seed, same initial weights) for the same
epochs on the same in-memory ``uint8`` arrays of modhsa_train (batch 128, Adam 1e-3);
``model.fit`` gets the arrays directly. The first epoch of each pays for tracing and is not
timed; bare epochs are timed before and after mirnamap's (so a change in machine load shows
in both), and the median epoch counts. Prints seconds per epoch,
the ratio (target <= 1.1) and images per second for training and for prediction
(:func:`mirnamap.model.predict_proba`), on whatever device TensorFlow uses.

    python benchmarks/train.py [--images 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024, help="training images per epoch")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs of each")
    args = parser.parse_args()

    import keras

    from mirnamap.datasets import load_deepmir
    from mirnamap.model import build_model, predict_proba
    from mirnamap.train import device_name, train

    data = load_deepmir("modhsa_train")
    images, labels = data.images[: args.images], data.labels[: args.images].astype(np.int32)

    bare_seconds: list[float] = []
    keras.utils.set_random_seed(0)
    bare = build_model(seed=0)
    bare.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    bare.fit(images, labels, batch_size=128, epochs=1, verbose=0)  # warm-up (tracing)
    # mirnamap.train is timed by its own per-epoch timer, over epochs 2.. of one call, so
    # tracing (epoch 1) is left out the same way.
    for _ in range(args.rounds):
        start = time.perf_counter()
        bare.fit(images, labels, batch_size=128, epochs=1, verbose=0)
        bare_seconds.append(time.perf_counter() - start)
    result = train(images, labels, epochs=args.rounds + 1, seed=0, verbose=False)
    ours_seconds = result.history["seconds"][1:]
    # And bare again after ours, so that a change in machine load shows up in both.
    for _ in range(args.rounds):
        start = time.perf_counter()
        bare.fit(images, labels, batch_size=128, epochs=1, verbose=0)
        bare_seconds.append(time.perf_counter() - start)

    model = result.model
    predict_proba(model, images[:256])
    start = time.perf_counter()
    predict_proba(model, images)
    predict_seconds = time.perf_counter() - start

    ours, base = statistics.median(ours_seconds), statistics.median(bare_seconds)
    n = images.shape[0]
    print(
        f"device: {device_name()}; {n} images per epoch, batch 128, {args.rounds} timed epochs each"
    )
    print(f"{'step':<34}{'s/epoch':>10}{'images/s':>10}{'ratio':>8}")
    print(f"{'bare model.fit (numpy arrays)':<34}{base:>10.2f}{n / base:>10.1f}{1.0:>8.2f}")
    print(f"{'mirnamap.train (tf.data)':<34}{ours:>10.2f}{n / ours:>10.1f}{ours / base:>8.2f}")
    print(
        f"{'predict_proba (batch 256)':<34}{predict_seconds:>10.2f}"
        f"{n / predict_seconds:>10.1f}{'':>8}"
    )
    print(
        f"epochs (s): bare {[round(s, 2) for s in bare_seconds]}, "
        f"mirnamap {[round(s, 2) for s in ours_seconds]}"
    )


if __name__ == "__main__":
    main()
