"""The checkpoint folder of an ensemble run (``checkpoint_dir`` of
:func:`~mirnamap.members.train_ensemble`): the run's fingerprint (a digest of its data,
starting weights and options) in ``run.json``, checked before a resume, and each member
kept once trained (``member_k.keras``, then ``member_k.json``: a record means it is done)
and read back, beside the unfinished member's ``member_k.checkpoint.npz``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mirnamap.files import atomic_write

if TYPE_CHECKING:
    import keras

__all__ = [
    "digest",
    "load_member",
    "member_files",
    "model_digest",
    "prepare_checkpoints",
    "save_member",
]

_RUN_FORMAT = "mirnamap-ensemble-run"


def digest(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part)
            digest.update(f"{part.dtype.str}{part.shape}".encode())
            digest.update(memoryview(part).cast("B"))
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def model_digest(models: Sequence[keras.Model]) -> str:
    return digest(*[w for m in models for w in m.get_weights()])


def prepare_checkpoints(folder: Path | None, fingerprint: str, resume: bool) -> None:
    """Start the run's folder, or check that it holds this very run."""
    if folder is None:
        if resume:
            raise ValueError("resume needs a checkpoint folder (checkpoint_dir)")
        return
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"checkpoint_dir {folder}: is a file, not a folder")
    run = folder / "run.json"
    if run.is_file():
        try:
            saved = json.loads(run.read_text(encoding="utf-8"))
        except ValueError:
            saved = {}
        if not resume:
            raise ValueError(
                f"checkpoint_dir {folder}: holds a run already; pass resume=True (--resume) "
                "to continue it, or choose an empty folder"
            )
        if saved.get("format") != _RUN_FORMAT or saved.get("fingerprint") != fingerprint:
            raise ValueError(
                f"checkpoint_dir {folder}: holds another run (other data, starting models or "
                "options); resume with the arguments of that run, or choose an empty folder"
            )
        return
    with atomic_write(run) as handle:
        handle.write(json.dumps({"format": _RUN_FORMAT, "fingerprint": fingerprint}) + "\n")


def member_files(folder: Path, k: int) -> tuple[Path, Path, Path]:
    return (
        folder / f"member_{k}.keras",
        folder / f"member_{k}.json",
        folder / f"member_{k}.checkpoint.npz",
    )


def save_member(folder: Path, k: int, model: keras.Model, record: dict[str, Any]) -> None:
    """Keep a trained member (the model, then its record: a record means it is done)."""
    from mirnamap.model import save_model

    model_path, record_path, checkpoint = member_files(folder, k)
    # Keras needs the name to end in .keras: a hidden temporary name beside the file.
    temporary = folder / f".member_{k}.{os.getpid()}.tmp.keras"
    try:
        save_model(model, temporary)
        os.replace(temporary, model_path)
    finally:
        temporary.unlink(missing_ok=True)
    with atomic_write(record_path) as handle:
        handle.write(json.dumps(record) + "\n")
    checkpoint.unlink(missing_ok=True)


def load_member(folder: Path, k: int, fingerprint: str) -> tuple[keras.Model, dict] | None:
    from mirnamap.model import load_model

    model_path, record_path, _ = member_files(folder, k)
    if not (model_path.is_file() and record_path.is_file()):
        return None
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("fingerprint") != fingerprint:
        raise ValueError(f"{record_path}: a member of another run; choose an empty folder")
    return load_model(model_path), record
