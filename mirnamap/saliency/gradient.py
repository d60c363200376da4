"""The gradient family: the target logit's input gradient under three ReLU backward rules.

One factory (:func:`_gradient_backend`) makes the three backends, which differ only by the
rule passed to :func:`~mirnamap.saliency.input_gradients`:

- ``gradient``: the true gradient. Ref. Simonyan, Vedaldi & Zisserman 2013, "Deep inside
  convolutional networks", arXiv:1312.6034.
- ``guided_backprop``: ReLU gradients gated by the forward input and the backward signal,
  on a clone of the model whose ReLUs (fused activations and separate layers) pass a
  gradient only where the ReLU's input and the incoming gradient are both positive. Ref.
  Springenberg, Dosovitskiy, Brox & Riedmiller 2014, "Striving for simplicity: the all
  convolutional net", arXiv:1412.6806.
- ``deconvnet``: the ReLU applied to the backward signal only, on a clone whose ReLUs pass
  the positive part of the incoming gradient whatever the sign of their forward input.
  Ref. Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks",
  arXiv:1311.2901.
"""

from __future__ import annotations

import keras
import numpy.typing as npt

from mirnamap._typing import Maps
from mirnamap.saliency._batches import BATCH_SIZE
from mirnamap.saliency._gradients import input_gradients, reduce_channels
from mirnamap.saliency._inputs import backend_inputs
from mirnamap.saliency._registry import Backend, register

__all__ = ["deconvnet", "gradient", "guided_backprop"]

_DOC = """{summary}

    Follows :class:`mirnamap.saliency.Backend`; ``seed`` is unused.

    Parameters
    ----------
    reduce : {{"sum", "mean", "max_abs", None}}, optional
        Channel reduction; None keeps ``(N, H, W, C)``. Default is "sum".

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)

    Notes
    -----
    Ref. {reference}.
    """


def _gradient_backend(
    name: str, policy: str | None, *, family: str, reference: str, summary: str
) -> Backend:
    """Make and register the backend ``name``: input gradients under the ReLU ``policy``.

    Parameters
    ----------
    name : str
        Registry name, also the function's ``__name__``.
    policy : {None, "guided", "deconvnet"}
        ReLU backward rule of :func:`~mirnamap.saliency.input_gradients`.
    family, reference : str
        For the registry.
    summary : str
        First line of the docstring.

    Returns
    -------
    backend
        The registered function.
    """

    def backend(
        model: keras.Model,
        images: npt.ArrayLike,
        target: int | npt.ArrayLike | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        seed: int = 0,
        reduce: str | None = "sum",
    ) -> Maps:
        x, targets, batch_size = backend_inputs(model, images, target, batch_size)
        grads = input_gradients(model, x, targets, batch_size=batch_size, policy=policy)
        return reduce_channels(grads, reduce)

    backend.__name__ = backend.__qualname__ = name
    backend.__doc__ = _DOC.format(summary=summary, reference=reference)
    return register(name, family=family, baseline="no", reference=reference)(backend)


gradient = _gradient_backend(
    "gradient",
    None,
    family="gradient",
    reference="Simonyan et al. 2013, arXiv:1312.6034",
    summary="Gradient of the target logit with respect to the image (0..255 scale).",
)
guided_backprop = _gradient_backend(
    "guided_backprop",
    "guided",
    family="modified gradient",
    reference="Springenberg et al. 2014, arXiv:1412.6806",
    summary="Guided-backpropagation map of the target logit.",
)
deconvnet = _gradient_backend(
    "deconvnet",
    "deconvnet",
    family="modified gradient",
    reference="Zeiler & Fergus 2014, arXiv:1311.2901",
    summary="Deconvnet map of the target logit.",
)
