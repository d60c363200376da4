"""The DeepMir CNN of Cordero, Menkovski & Allmer (bioRxiv 10.1101/840579).

The paper's final network: VGG style, three convolution modules and a 256-unit dense
layer, reading the 25 x 100 x 3 hairpin image. The model takes the encoder's ``uint8``
images as they are (scaling to [0, 1] is its first layer), its layer named
:data:`LOGITS` gives the two class logits that saliency explains, and a separate softmax
gives probabilities.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mirnamap.geometry import IMAGE_SHAPE

if TYPE_CHECKING:
    import keras

    from mirnamap._typing import Images

__all__ = [
    "DEFAULT_MODEL",
    "INPUT_SHAPE",
    "LOGITS",
    "PROBABILITIES",
    "TARGETS",
    "build_model",
    "check_images",
    "check_model",
    "copy_model",
    "import_tensorflow",
    "load_default_model",
    "load_model",
    "predict_proba",
    "resolve_target",
    "save_model",
]

#: Input shape of one image (height, width, channels).
INPUT_SHAPE = IMAGE_SHAPE
#: Name of the layer whose output is the class logits (before softmax).
LOGITS = "logits"
#: Name of the output layer (softmax probabilities).
PROBABILITIES = "probabilities"
#: The explained class by name: the logit of class 1 (pre-miRNA), of class 0 (negative),
#: or None, each image's predicted class.
TARGETS: dict[str, int | None] = {"pre-mirna": 1, "negative": 0, "predicted": None}


def resolve_target(target: str | int | None) -> int | None:
    """The one reading of an explained class: a name of :data:`TARGETS`, 1, 0 or None.

    >>> resolve_target("pre-mirna"), resolve_target(0), resolve_target("predicted")
    (1, 0, None)

    Raises
    ------
    ValueError
        For another name or number (the known ones are listed).
    """
    if isinstance(target, str):
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
        return TARGETS[target]
    if target is None or (isinstance(target, (int, np.integer)) and target in (0, 1)):
        return None if target is None else int(target)
    raise ValueError(f"target must be one of {list(TARGETS)}, 0, 1 or None, got {target!r}")


#: The bundled model: trained on the deepMiRGene human set (see its card, ``.md`` beside it).
DEFAULT_MODEL = Path(__file__).resolve().parent / "assets" / "deepmir_default.keras"


def import_tensorflow(*, quiet: bool = True) -> None:
    """Import TensorFlow, with its C++ start-up lines kept off the terminal.

    TensorFlow writes oneDNN, cpu_feature_guard and absl lines to the process's standard
    error from C++ while it loads, where no Python setting reaches them; with ``quiet`` the
    file descriptor is pointed at ``os.devnull`` for the import only. Python errors still
    raise. TensorFlow's Python warnings (retracing notices) are set to errors only. Later
    calls do nothing.

    Parameters
    ----------
    quiet : bool, optional
        Hide the start-up lines. Default is True.
    """
    import sys

    if not quiet or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        try:
            import tensorflow  # noqa: F401
        except ImportError:  # reported where TensorFlow is used, with its own message
            pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    # TensorFlow's Python logger warns about retracing when each ensemble member gets its
    # own traced function, which is by design here.
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)


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
            units,
            3,
            padding=padding,
            activation="relu",
            kernel_initializer=init(seed=next(seeds)),
            name=label,
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


def check_model(model: keras.Model, source: str = "model") -> keras.Model:
    """Check that ``model`` is a DeepMir-style classifier mirnamap can use.

    It must read ``(N, 25, 100, 3)`` images, have a layer named :data:`LOGITS` and end in
    a softmax layer named :data:`PROBABILITIES` with as many outputs as there are logits.

    Parameters
    ----------
    model : keras.Model
        The model to check.
    source : str, optional
        What to call the model in error messages (a file name, say). Default is "model".

    Returns
    -------
    keras.Model
        ``model`` itself.

    Raises
    ------
    ValueError
        Naming ``source`` and what does not fit.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"{source}: expected a keras.Model, got {type(model).__name__}")
    inputs = model.inputs
    if len(inputs) != 1 or tuple(inputs[0].shape[1:]) != INPUT_SHAPE:
        shapes = [tuple(i.shape) for i in inputs]
        raise ValueError(
            f"{source}: not a DeepMir model: it must take one input of shape "
            f"(N, {', '.join(map(str, INPUT_SHAPE))}), it takes {shapes}"
        )
    names = [layer.name for layer in model.layers]
    for needed in (LOGITS, PROBABILITIES):
        if needed not in names:
            raise ValueError(
                f"{source}: not a DeepMir model: it has no layer named {needed!r} "
                f"(its layers: {', '.join(names)})"
            )
    n_logits = model.get_layer(LOGITS).output.shape[-1]
    if model.layers[-1].name != PROBABILITIES or tuple(model.outputs[0].shape[1:]) != (n_logits,):
        raise ValueError(
            f"{source}: not a DeepMir model: its output must be the {PROBABILITIES!r} softmax "
            f"of the {n_logits} logits, it is {model.layers[-1].name!r} "
            f"{tuple(model.outputs[0].shape)}"
        )
    if n_logits is None or n_logits < 2:
        raise ValueError(f"{source}: not a DeepMir model: needs >= 2 classes, has {n_logits}")
    return model


def copy_model(model: keras.Model) -> keras.Model:
    """A fresh, uncompiled copy of ``model`` with the same weights (no optimizer state).

    Training or saving the copy never changes ``model``.
    """
    # Rebuilt from its config: keras.models.clone_model would also copy the compiled
    # optimizer, whose state triples the file size.
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def save_model(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """Save a model as a Keras 3 ``.keras`` file, without optimizer state.

    The caller's model is not changed: a copy with the same weights is written, so the
    file holds the architecture and weights only (about 2.4 MB for the published network).

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_model` (or one passing :func:`check_model`).
    path : str or PathLike
        File to write; must end in ``.keras``. Parent folders are created.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: a model file must end in '.keras'")
    check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    copy_model(model).save(path)
    return path


def load_model(path: str | os.PathLike[str]) -> keras.Model:
    """Load a model saved by :func:`save_model` and check it is a DeepMir classifier.

    Parameters
    ----------
    path : str or PathLike
        A ``.keras`` file.

    Returns
    -------
    keras.Model
        The model, not compiled (ready for :func:`predict_proba` and saliency).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a readable Keras model (corrupt, truncated, another format), or
        holds a model that is not a DeepMir classifier (names what does not fit).
    """
    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    # Keras reports a file that is no zip archive as "File not found"; say what it is.
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path}: not a Keras model file (a .keras file is a zip archive holding "
            "config.json and model.weights.h5; this one is not a zip archive)"
        )
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file; one clear error here
        raise ValueError(
            f"{path}: not a readable Keras model file ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(model, keras.Model):
        raise ValueError(f"{path}: holds a {type(model).__name__}, not a keras.Model")
    return check_model(model, str(path))


def load_default_model() -> keras.Model:
    """Load the bundled model (``mirnamap/assets/deepmir_default.keras``).

    Trained by ``experiments/train_default_model.py`` on the deepMiRGene human set
    folded by ViennaRNA and drawn by :mod:`mirnamap.encode`; its card
    (``deepmir_default.md`` beside it) gives data, seed, versions and test metrics.

    Returns
    -------
    keras.Model
        A fresh copy on every call (changing it does not change later calls).
    """
    if not DEFAULT_MODEL.is_file():
        raise FileNotFoundError(
            f"the bundled model {DEFAULT_MODEL} is missing; reinstall mirnamap or run "
            "experiments/train_default_model.py"
        )
    return load_model(DEFAULT_MODEL)


def check_images(images: Images, what: str = "images") -> np.ndarray:
    """Check that ``images`` is a batch ``(N, 25, 100, 3)`` of values 0..255.

    Parameters
    ----------
    images : np.ndarray
        ``uint8`` (or float in 0..255) ``(N, 25, 100, 3)``; one image ``(25, 100, 3)`` is
        not accepted (add the batch axis).
    what : str, optional
        Name used in error messages. Default is "images".

    Returns
    -------
    np.ndarray
        ``images`` as an array (not copied when already one).

    Raises
    ------
    ValueError
        If the shape is wrong, or a float image holds NaN or an infinity (the index of
        the first such image is named).
    TypeError
        If the dtype is neither ``uint8`` nor a float.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != INPUT_SHAPE:
        raise ValueError(
            f"{what} must have shape (N, {', '.join(map(str, INPUT_SHAPE))}), got {images.shape}"
        )
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{what} must be uint8 (or float in 0..255), got {images.dtype}")
    if images.dtype != np.uint8:
        finite = np.isfinite(images.reshape(images.shape[0], -1)).all(axis=1)
        if not finite.all():
            first = int(np.flatnonzero(~finite)[0])
            raise ValueError(f"{what}: image {first} is not finite (holds NaN or infinity)")
    return images


def predict_proba(
    model: keras.Model, images: Images, *, batch_size: int = 256, precision: str = "float32"
) -> np.ndarray:
    """P(pre-miRNA) for each image.

    Parameters
    ----------
    model : keras.Model
        A DeepMir classifier (class 1 = pre-miRNA); never modified.
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)`` encoder output, as is.
    batch_size : int, optional
        Images per forward pass; results do not depend on it. Default is 256.
    precision : {"float32", "bfloat16", "float16"}, optional
        Arithmetic of the forward pass: a reduced precision runs on a cached copy of the
        model (:func:`mirnamap.precision.precision_model`; logits and softmax in float32),
        and falls back to float32 with a warning where the hardware lacks the
        instructions (:func:`mirnamap.precision.effective_precision`). Default is
        "float32".

    Returns
    -------
    np.ndarray
        ``float32 (N,)``: the softmax probability of class 1.

    Raises
    ------
    ValueError
        If ``images`` is not a batch of finite images (see :func:`check_images`),
        ``batch_size < 1``, or the precision is unknown.
    """
    from mirnamap.precision import effective_precision, precision_model

    images = check_images(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    net = precision_model(model, effective_precision(precision))
    out = np.empty(images.shape[0], dtype=np.float32)
    for start in range(0, images.shape[0], batch_size):
        batch = images[start : start + batch_size]
        probabilities = net(batch.astype(np.float32), training=False)
        out[start : start + batch.shape[0]] = np.asarray(probabilities)[:, 1]
    return out
