"""The DeepMir CNN of Cordero, Menkovski & Allmer (bioRxiv 10.1101/840579).

The paper's final network: VGG style, three convolution modules and a 256-unit dense
layer, reading the 25 x 100 x 3 hairpin image. The model takes the encoder's ``uint8``
images as they are (scaling to [0, 1] is its first layer), its layer named
:data:`LOGITS` gives the two class logits that saliency explains, and a separate softmax
gives probabilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

__all__ = ["INPUT_SHAPE", "LOGITS", "build_model"]

#: Input shape of one image (height, width, channels).
INPUT_SHAPE = (25, 100, 3)
#: Name of the layer whose output is the class logits (before softmax).
LOGITS = "logits"
#: Name of the output layer (softmax probabilities).
PROBABILITIES = "probabilities"


def build_model(
    *,
    filters: tuple[int, int, int] = (48, 60, 72),
    dense_units: int = 256,
    conv_dropout: float = 0.25,
    dense_dropout: float = 0.5,
    n_classes: int = 2,
    seed: int | None = None,
    name: str = "deepmir",
) -> keras.Model:
    """Build the DeepMir network (not compiled).

    Rescaling(1/255) -> Conv f1 3x3 valid -> Conv f1 3x3 same -> MaxPool 2 -> Dropout ->
    Conv f2 x2 same -> MaxPool 2 -> Dropout -> Conv f3 x2 same -> MaxPool 2 -> Dropout ->
    Flatten (2 x 12 x f3) -> Dense ReLU -> Dropout -> Dense ``logits`` -> Softmax. Every
    convolution is followed by ReLU.

    Parameters
    ----------
    filters : tuple of int, optional
        Filters of the three modules. Default is (48, 60, 72), as published.
    dense_units : int, optional
        Units of the hidden dense layer. Default is 256.
    conv_dropout, dense_dropout : float, optional
        Dropout rates after each module and after the dense layer. Default is 0.25, 0.5.
    n_classes : int, optional
        Output classes. Default is 2 (negative, pre-miRNA).
    seed : int, optional
        Seed for weight initialisation and dropout. Default is None.
    name : str, optional
        Model name. Default is "deepmir".

    Returns
    -------
    keras.Model
        Input ``uint8`` or float ``(N, 25, 100, 3)`` in 0..255; output ``float32
        (N, n_classes)`` probabilities. ``model.get_layer("logits").output`` is the
        logits tensor.
    """
    import keras
    from keras import layers

    init = keras.initializers.GlorotUniform
    seeds = iter(range(seed, seed + 100)) if seed is not None else iter([None] * 100)

    def conv(units: int, padding: str, label: str) -> layers.Layer:
        return layers.Conv2D(
            units, 3, padding=padding, activation="relu",
            kernel_initializer=init(seed=next(seeds)), name=label,
        )

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    x = conv(filters[0], "valid", "conv1a")(x)
    x = conv(filters[0], "same", "conv1b")(x)
    for module, units in enumerate(filters, start=1):
        if module > 1:
            x = conv(units, "same", f"conv{module}a")(x)
            x = conv(units, "same", f"conv{module}b")(x)
        x = layers.MaxPooling2D(2, name=f"pool{module}")(x)
        x = layers.Dropout(conv_dropout, seed=next(seeds), name=f"drop{module}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(
        dense_units, activation="relu", kernel_initializer=init(seed=next(seeds)), name="dense"
    )(x)
    x = layers.Dropout(dense_dropout, seed=next(seeds), name="drop_dense")(x)
    logits = layers.Dense(n_classes, kernel_initializer=init(seed=next(seeds)), name=LOGITS)(x)
    probabilities = layers.Softmax(name=PROBABILITIES)(logits)
    return keras.Model(inputs, probabilities, name=name)
