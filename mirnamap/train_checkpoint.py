"""The checkpoint file of a resumable :func:`~mirnamap.train.train` run: the fingerprint of
what decides a run (data, starting weights, options), the callback that writes the whole
state atomically after every epoch (every model and optimizer variable, the callbacks'
counters, the best weights, the history), and reading it back into a model and its
callbacks, refusing a checkpoint of another run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mirnamap.files import atomic_write

if TYPE_CHECKING:
    import keras

__all__ = ["checkpointer", "read_checkpoint_state", "restore", "run_fingerprint"]

_CHECKPOINT_FORMAT = "mirnamap-train-checkpoint"


def run_fingerprint(
    images: np.ndarray,
    labels: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None,
    model: keras.Model,
    options: Mapping[str, Any],
) -> str:
    """A SHA-256 of everything that decides a run: data, starting weights and options."""
    digest = hashlib.sha256()
    arrays = [images, labels] + ([] if validation is None else list(validation))
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    digest.update(json.dumps(dict(options), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def checkpointer(path: Path, fingerprint: str, parts: dict[str, Any]):
    """A callback writing the whole training state to ``path`` after every epoch."""
    import keras

    class Checkpointer(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            _write_checkpoint(path, fingerprint, epoch + 1, self.model, parts)

    return Checkpointer()


def _write_checkpoint(
    path: Path, fingerprint: str, epochs_done: int, model: keras.Model, parts: dict[str, Any]
) -> None:
    stopping, reducing = parts["stopping"], parts["reducing"]
    state = {
        "format": _CHECKPOINT_FORMAT,
        "version": 1,
        "fingerprint": fingerprint,
        "epochs_done": epochs_done,
        "stopped": bool(model.stop_training),
        "history": parts["history"],
        "seconds": list(parts["timer"].seconds),
        "gini": list(parts["tracker"].values) if parts["tracker"] is not None else None,
        "early_stopping": stopping.state() if stopping is not None else None,
        "reduce_lr": reducing.state() if reducing is not None else None,
    }
    arrays: dict[str, np.ndarray] = {"state": np.array(json.dumps(state))}
    # Every variable, the dropout generators' seed states included (get_weights leaves
    # them out), and every optimizer variable: iteration count, learning rate, moments.
    for k, variable in enumerate(model.variables):
        arrays[f"variable_{k}"] = np.asarray(variable)
    for k, variable in enumerate(model.optimizer.variables):
        arrays[f"optimizer_{k}"] = np.asarray(variable)
    best = stopping.best_weights if stopping is not None else None
    for k, weight in enumerate(best or ()):
        arrays[f"best_{k}"] = np.asarray(weight)
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **arrays)


def read_checkpoint_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The bookkeeping of a checkpoint :func:`~mirnamap.train.train` wrote: epochs done,
    whether early stopping ended the run (``stopped``), the history so far and the counters.

    Raises
    ------
    ValueError
        If the file is not such a checkpoint.
    """
    state, _ = _read_checkpoint(Path(path))
    return state


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            state = json.loads(str(data["state"]))
            groups: dict[str, list[np.ndarray]] = {"variable": [], "optimizer": [], "best": []}
            for group, values in groups.items():
                k = 0
                while f"{group}_{k}" in data:
                    values.append(data[f"{group}_{k}"])
                    k += 1
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a training checkpoint ({error})") from None
    if not isinstance(state, dict) or state.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a training checkpoint of mirnamap")
    return state, groups


def restore(
    path: Path, fingerprint: str, model: keras.Model, parts: dict[str, Any]
) -> dict[str, Any]:
    """Load a checkpoint into ``model`` (compiled), its optimizer and the callbacks."""
    state, groups = _read_checkpoint(path)
    if state["fingerprint"] != fingerprint:
        raise ValueError(
            f"{path}: the checkpoint is of another run (other data, starting model or "
            "options); resume with the same arguments, or remove it to start afresh"
        )
    model.optimizer.build(model.trainable_variables)
    for name, variables in (
        ("variable", model.variables),
        ("optimizer", model.optimizer.variables),
    ):
        saved = groups[name]
        if len(saved) != len(variables):
            raise ValueError(f"{path}: the checkpoint holds {len(saved)} {name} values, not "
                             f"{len(variables)}")  # fmt: skip
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)
    for key in ("stopping", "reducing"):
        callback = parts[key]
        saved = state["early_stopping" if key == "stopping" else "reduce_lr"]
        if callback is not None and saved is not None:
            callback.restored = dict(saved)
            if key == "stopping":
                callback.restored["best_weights"] = groups["best"] or None
    parts["history"].update({k: list(v) for k, v in state["history"].items()})
    parts["timer"].restored = tuple(state["seconds"])
    if parts["tracker"] is not None:
        parts["tracker"].restored = tuple(state["gini"] or ())
    return state
