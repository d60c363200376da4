"""The Keras callbacks of :func:`~mirnamap.train.train`: the progress bar over epochs, the
per-epoch timer, early stopping and learning-rate halving with counters that can be read
and restored (for a resumed run), and the recorder that appends each epoch's logs to the
history. The callback that writes checkpoints is in :mod:`mirnamap.train_checkpoint`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["epoch_bar", "epoch_timer", "history_recorder", "resumable_callbacks"]


def epoch_bar(epochs: int, enabled: bool, initial: int = 0):
    """A Keras callback showing one tqdm bar over epochs, with loss and validation loss."""
    import keras
    from tqdm.auto import tqdm

    class EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(
                total=epochs, initial=initial, unit="epoch", desc="training", disable=not enabled
            )

        def on_epoch_end(self, epoch, logs=None):
            shown = {k: f"{v:.4f}" for k, v in (logs or {}).items() if "loss" in k or "acc" in k}
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()


def epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        restored: tuple[float, ...] = ()

        def on_train_begin(self, logs=None):
            self.seconds: list[float] = list(self.restored)

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


def resumable_callbacks(early_stopping: int | None, reduce_lr: int | None, learning_rate: float):
    """Keras' EarlyStopping and ReduceLROnPlateau, with their counters readable and
    restorable (Keras resets them when training begins)."""
    import keras

    class Restorable:
        fields: tuple[str, ...] = ()
        restored: dict[str, Any] | None = None

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            for key, value in (self.restored or {}).items():
                setattr(self, key, value)

        def state(self) -> dict[str, Any]:
            out = {}
            for key in self.fields:
                value = getattr(self, key)
                out[key] = float(value) if isinstance(value, (np.floating, float)) else value
            return out

    class Stopping(Restorable, keras.callbacks.EarlyStopping):
        fields = ("wait", "stopped_epoch", "best", "best_epoch")

    class Reducing(Restorable, keras.callbacks.ReduceLROnPlateau):
        fields = ("wait", "cooldown_counter", "best")

    stopping = reducing = None
    if early_stopping is not None:
        stopping = Stopping(
            monitor="val_loss", patience=int(early_stopping), restore_best_weights=True
        )
    if reduce_lr is not None:
        reducing = Reducing(
            monitor="val_loss", factor=0.5, patience=int(reduce_lr), min_lr=learning_rate / 64
        )
    return stopping, reducing


def history_recorder(history: dict[str, list[float]]):
    """A callback appending each epoch's logs to ``history`` (carried over on a resume)."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                history.setdefault(key, []).append(float(value))

    return Recorder()
