"""Ensembles of DeepMir classifiers: averaged logits, spread across members, calibration.

An :class:`Ensemble` holds K networks (a single model is an ensemble of one). Its
prediction averages the members' **logits** (the layer before softmax), reports the
standard deviation of the members' probabilities, and a calibrated probability: the
averaged logit margin scaled by a temperature and shifted by a bias, both fitted on
held-out data (:func:`fit_calibration`: Platt scaling; with the temperature alone,
:func:`fit_temperature`, Guo et al. 2017, "On calibration of modern neural networks",
arXiv:1706.04599). Saliency over an ensemble averages each member's maps and reports
their spread (:mod:`mirnamap.pipeline`); the spread of a map across retrainings says where
an explanation can be trusted (Rasmussen, Christensen & Jensen 2022).

An ensemble is saved as one zip file: ``ensemble.json`` (format, member files, the
temperature and bias, the decision threshold, a card) and one ``.keras`` file per member,
with any further files its maker adds (:func:`mirnamap.members.train_ensemble` adds the
manifest of the training records, ``manifest.tsv``).

>>> z = np.array([[[0.0, 2.0]], [[0.0, 4.0]]])   # 2 members, 1 image, 2 classes
>>> combine_logits(z).round(3).tolist()
[[0.0, 3.0]]
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.files import atomic_write
from mirnamap.model import (
    DEFAULT_MODEL,
    LOGITS,
    check_images,
    check_model,
    load_model,
    save_model,
)

if TYPE_CHECKING:
    import keras

    from mirnamap._typing import Images

__all__ = [
    "DEFAULT_ENSEMBLE",
    "Ensemble",
    "EnsemblePrediction",
    "calibrate",
    "combine_logits",
    "default_model_file",
    "fit_calibration",
    "fit_temperature",
    "load_default_ensemble",
    "load_ensemble",
    "read_ensemble_file",
    "resolve_ensemble",
    "save_ensemble",
    "softmax",
    "spread",
]

#: The bundled ensemble; where it is missing, the bundled single model is used.
DEFAULT_ENSEMBLE = Path(__file__).resolve().parent / "assets" / "deepmir_ensemble.zip"
_FORMAT = "mirnamap-ensemble"


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the last axis of ``logits / temperature``, computed stably (float64)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def spread(values: np.ndarray) -> np.ndarray:
    """Standard deviation over the first axis (members), exactly 0 where they agree.

    Computed on the differences to the first member (the same value, by shift
    invariance), so identical members give 0.0, not a rounding residue.

    >>> spread(np.array([[0.1, 0.3], [0.1, 0.5]])).tolist()
    [0.0, 0.1]
    """
    values = np.asarray(values, dtype=np.float64)
    return (values - values[:1]).std(axis=0)


def combine_logits(member_logits: np.ndarray) -> np.ndarray:
    """The ensemble's logits: the mean of the members' logits.

    Parameters
    ----------
    member_logits : np.ndarray
        ``float (K, N, C)``.

    Returns
    -------
    np.ndarray
        ``float64 (N, C)``.
    """
    member_logits = np.asarray(member_logits, dtype=np.float64)
    if member_logits.ndim != 3 or member_logits.shape[0] < 1:
        raise ValueError(f"member logits must have shape (K, N, C), got {member_logits.shape}")
    return member_logits.mean(axis=0)


def calibrate(logits: np.ndarray, temperature: float = 1.0, bias: float = 0.0) -> np.ndarray:
    """``float64 (N,)``: the calibrated P(pre-miRNA), ``softmax(logits / T + [0, b])[:, 1]``.

    >>> calibrate(np.array([[0.0, 2.0]]), temperature=2.0, bias=-1.0).tolist()
    [0.5]
    """
    z = np.asarray(logits, dtype=np.float64) / temperature
    z[:, 1] = z[:, 1] + bias
    return softmax(z)[:, 1]


def fit_calibration(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Temperature T > 0 and bias b minimising the log-loss of :func:`calibrate`.

    Platt scaling of the logit margin (Platt 1999; with T alone it is the temperature
    scaling of Guo et al. 2017). The bias corrects a shift of the base rate, such as the
    one balanced class weights put into a network's probabilities, which a temperature
    alone cannot.

    Parameters
    ----------
    logits : np.ndarray
        ``float (N, 2)`` held-out logits (of the ensemble: :func:`combine_logits`).
    labels : np.ndarray
        ``int (N,)`` true classes (0, 1).

    Returns
    -------
    (float, float)
        T and b.
    """
    from scipy.optimize import minimize

    logits, labels = _check_calibration_data(logits, labels)
    if logits.shape[1] != 2:
        raise ValueError(f"calibration with a bias needs 2 classes, got {logits.shape[1]}")
    margin = logits[:, 1] - logits[:, 0]

    def loss(params: np.ndarray) -> float:
        m = margin / np.exp(params[0]) + params[1]
        # log(1 + exp(-m)) for positives, log(1 + exp(m)) for negatives, stably.
        return float(np.mean(np.logaddexp(0.0, np.where(labels == 1, -m, m))))

    best = minimize(loss, x0=np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-7})
    return float(np.exp(best.x[0])), float(best.x[1])


def _check_calibration_data(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],) or len(labels) == 0:
        raise ValueError(
            f"need logits (N, C) and labels (N,), got {logits.shape} and {labels.shape}"
        )
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must be class indices 0 .. {logits.shape[1] - 1}")
    return logits, labels


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 minimising the log-loss of ``softmax(logits / T)``.

    Parameters
    ----------
    logits : np.ndarray
        ``float (N, C)`` held-out logits (of the ensemble: :func:`combine_logits`).
    labels : np.ndarray
        ``int (N,)`` true classes.

    Returns
    -------
    float
        T (1 = the logits are calibrated as they are; > 1 softens over-confidence).
    """
    from scipy.optimize import minimize_scalar

    logits, labels = _check_calibration_data(logits, labels)

    def loss(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(labels)), labels].mean())

    best = minimize_scalar(loss, bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(best.x))


class EnsemblePrediction(NamedTuple):
    """What an ensemble says about N images.

    Attributes
    ----------
    probability : np.ndarray
        ``float64 (N,)``: P(pre-miRNA), the softmax of the mean logits.
    sd : np.ndarray
        ``float64 (N,)``: standard deviation of the members' P(pre-miRNA) (0 for one member).
    calibrated : np.ndarray
        ``float64 (N,)``: the calibrated probability of the mean logits (:func:`calibrate`
        with the ensemble's temperature and bias).
    members : np.ndarray
        ``float64 (K, N)``: each member's P(pre-miRNA).
    logits : np.ndarray
        ``float64 (N, C)``: the mean logits.
    """

    probability: np.ndarray
    sd: np.ndarray
    calibrated: np.ndarray
    members: np.ndarray
    logits: np.ndarray


class Ensemble:
    """K DeepMir classifiers used as one; the members are never modified.

    Parameters
    ----------
    members : sequence of keras.Model
        One or more classifiers with a ``logits`` layer (:func:`mirnamap.model.check_model`).
    temperature : float, optional
        Calibration temperature of the averaged logits. Default is 1.0.
    bias : float, optional
        Calibration bias added to the scaled pre-miRNA logit (:func:`calibrate`).
        Default is 0.0.
    names : sequence of str, optional
        One name per member. Default is "member_0", "member_1", ...
    card : dict, optional
        What the ensemble is (data, seeds, figures), saved with it. Default is empty.
    threshold : float, optional
        The decision threshold stored with the ensemble: a record is called pre-miRNA at
        ``probability >= threshold`` (the ``probability`` of :meth:`predict`, the softmax
        of the mean logits, not the calibrated one). :func:`mirnamap.members.train_ensemble`
        can choose it for a specificity on its calibration share. Default is 0.5 (and 0.5
        for files written before thresholds were stored).
    flag_sd : float, optional
        The "unsure" rule stored with the ensemble: a call is flagged where the members'
        standard deviation of P(pre-miRNA) is at least ``flag_sd``
        (:func:`mirnamap.flags.choose_flag_rule` picks it on the calibration share).
        Default is None: no call is flagged.
    """

    def __init__(
        self,
        members: Sequence[keras.Model],
        *,
        temperature: float = 1.0,
        bias: float = 0.0,
        names: Sequence[str] | None = None,
        card: dict[str, Any] | None = None,
        threshold: float = 0.5,
        flag_sd: float | None = None,
    ) -> None:
        members = tuple(members)
        if not members:
            raise ValueError("an ensemble needs at least one member")
        for k, member in enumerate(members):
            check_model(member, f"member {k}")
        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {temperature}")
        names = (
            tuple(names) if names is not None else tuple(f"member_{k}" for k in range(len(members)))
        )
        if len(names) != len(members) or len(set(names)) != len(names):
            raise ValueError(f"need {len(members)} distinct member names, got {names}")
        self.members = members
        if not np.isfinite(bias):
            raise ValueError(f"bias must be a finite number, got {bias}")
        if isinstance(threshold, bool) or not (
            isinstance(threshold, (int, float, np.floating)) and 0.0 <= threshold <= 1.0
        ):
            raise ValueError(f"threshold must be a probability in [0, 1], got {threshold!r}")
        self.threshold = float(threshold)
        if flag_sd is not None and not (np.isfinite(flag_sd) and flag_sd >= 0):
            raise ValueError(f"flag_sd must be a non-negative number or None, got {flag_sd!r}")
        self.flag_sd = None if flag_sd is None else float(flag_sd)
        self.temperature = float(temperature)
        self.bias = float(bias)
        self.names = names
        self.card = dict(card or {})
        self._logit_models: list[keras.Model | None] = [None] * len(members)

    def __len__(self) -> int:
        return len(self.members)

    def __repr__(self) -> str:
        return (
            f"Ensemble({len(self)} members, temperature={self.temperature:.3f}, "
            f"bias={self.bias:.3f}, threshold={self.threshold:.4g}"
            + (f", flag_sd={self.flag_sd:.4g})" if self.flag_sd is not None else ")")
        )

    def with_members(self, members: Sequence[keras.Model]) -> Ensemble:
        """The same ensemble (names, temperature, bias, threshold, card) over other
        networks, one for each member (copies at another precision, say)."""
        members = tuple(members)
        if len(members) != len(self):
            raise ValueError(f"need {len(self)} members, got {len(members)}")
        return Ensemble(
            members,
            temperature=self.temperature,
            bias=self.bias,
            names=self.names,
            card=self.card,
            threshold=self.threshold,
            flag_sd=self.flag_sd,
        )

    def select(self, members: Sequence[int | str]) -> Ensemble:
        """The sub-ensemble of the given members (indices or names), with the same
        temperature, bias and threshold (fitted on the whole ensemble).

        A string of digits that is not a member's name is read as an index.
        """
        chosen = []
        for member in members:
            if isinstance(member, str) and member not in self.names and member.isdigit():
                member = int(member)  # an index given as text (the command line's --members)
            if isinstance(member, str):
                if member not in self.names:
                    raise ValueError(f"no member {member!r}; members: {', '.join(self.names)}")
                member = self.names.index(member)
            if not 0 <= int(member) < len(self):
                raise ValueError(f"member index {member} out of range 0 .. {len(self) - 1}")
            chosen.append(int(member))
        if not chosen or len(set(chosen)) != len(chosen):
            raise ValueError(f"choose one or more distinct members, got {list(members)}")
        return Ensemble(
            [self.members[k] for k in chosen],
            temperature=self.temperature,
            bias=self.bias,
            names=[self.names[k] for k in chosen],
            card=self.card,
            threshold=self.threshold,
            flag_sd=self.flag_sd,
        )

    def _outputs_of(self, k: int) -> keras.Model:
        """Member k as a model with two outputs: its logits and its own softmax."""
        if self._logit_models[k] is None:
            import keras

            member = self.members[k]
            outputs = [member.get_layer(LOGITS).output, member.output]
            self._logit_models[k] = keras.Model(member.inputs, outputs)
        return self._logit_models[k]

    def member_outputs(
        self, images: Images, *, batch_size: int = 256
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every member's logits ``float32 (K, N, C)`` and P(pre-miRNA) ``float32 (K, N)``.

        The probabilities are each member's own softmax output, exactly as
        :func:`mirnamap.model.predict_proba` gives them.
        """
        images = check_images(images)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        logits, probabilities = [], []
        for k in range(len(self)):
            model = self._outputs_of(k)
            n_classes = int(model.outputs[0].shape[-1])
            z = np.zeros((len(images), n_classes), np.float32)
            p = np.zeros(len(images), np.float32)
            for start in range(0, len(images), batch_size):
                batch = images[start : start + batch_size].astype(np.float32)
                out_z, out_p = model([batch], training=False)
                z[start : start + len(batch)] = np.asarray(out_z)
                p[start : start + len(batch)] = np.asarray(out_p)[:, 1]
            logits.append(z)
            probabilities.append(p)
        return np.stack(logits), np.stack(probabilities)

    def member_logits(self, images: Images, *, batch_size: int = 256) -> np.ndarray:
        """``float32 (K, N, C)``: every member's logits for every image."""
        return self.member_outputs(images, batch_size=batch_size)[0]

    def predict(self, images: Images, *, batch_size: int = 256) -> EnsemblePrediction:
        """Mean, spread and calibrated P(pre-miRNA) of N images (:class:`EnsemblePrediction`).

        For one member the probability is the member's own softmax output (bit for bit
        :func:`mirnamap.model.predict_proba`); for more, the softmax of the mean logits.
        """
        z, members = self.member_outputs(images, batch_size=batch_size)
        mean = combine_logits(z)
        probability = members[0].astype(np.float64) if len(self) == 1 else softmax(mean)[:, 1]
        return EnsemblePrediction(
            probability=probability,
            sd=spread(members),
            calibrated=calibrate(mean, self.temperature, self.bias),
            members=members.astype(np.float64),
            logits=mean,
        )


def save_ensemble(
    ensemble: Ensemble,
    path: str | os.PathLike[str],
    *,
    files: Mapping[str, str | bytes] | None = None,
) -> Path:
    """Write an ensemble as one ``.zip``: ``ensemble.json`` and a ``.keras`` file a member.

    Parameters
    ----------
    ensemble : Ensemble
        What to write.
    path : str or PathLike
        The ``.zip`` file; written under a temporary name beside it and renamed when
        complete, so an interrupted write never leaves a broken ensemble under ``path``.
    files : mapping of str to str or bytes, optional
        More files to store in the archive (a manifest, say), by name; read them back with
        :func:`read_ensemble_file`. Default is none.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    if path.suffix != ".zip":
        raise ValueError(f"{path}: an ensemble file must end in '.zip'")
    names = [f"{name}.keras" for name in ensemble.names]
    extra = dict(files or {})
    reserved = {"ensemble.json", *names}
    clash = sorted(reserved & set(extra))
    if clash:
        raise ValueError(f"{path}: extra files may not be named {', '.join(clash)}")
    meta = {
        "format": _FORMAT,
        "version": 1,
        "members": names,
        "temperature": ensemble.temperature,
        "bias": ensemble.bias,
        "threshold": ensemble.threshold,
        "flag_sd": ensemble.flag_sd,
        "card": ensemble.card,
    }
    with tempfile.TemporaryDirectory() as folder:
        for member, name in zip(ensemble.members, names, strict=True):
            save_model(member, Path(folder) / name)
        with atomic_write(path, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr("ensemble.json", json.dumps(meta, indent=2) + "\n")
            for name in names:
                archive.write(Path(folder) / name, name)
            for name, content in extra.items():
                archive.writestr(name, content)
    return path


def read_ensemble_file(path: str | os.PathLike[str], name: str) -> bytes:
    """The bytes of a file stored in an ensemble archive (``files`` of :func:`save_ensemble`).

    Raises
    ------
    FileNotFoundError
        If there is no such ensemble file.
    KeyError
        If the archive holds no file ``name`` (the files it holds are named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ensemble file")
    with zipfile.ZipFile(path) as archive:
        if name not in archive.namelist():
            raise KeyError(f"{path}: no file {name!r} (it holds {', '.join(archive.namelist())})")
        return archive.read(name)


def load_ensemble(path: str | os.PathLike[str]) -> Ensemble:
    """Read an ensemble written by :func:`save_ensemble`.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not an ensemble archive, or a member file is missing or not a
        DeepMir model (the file and the member are named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ensemble file")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not an ensemble file (not a zip archive)")
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
        names = set(archive.namelist())
        if "ensemble.json" not in names:
            raise ValueError(f"{path}: not an ensemble file (no ensemble.json)")
        try:
            meta = json.loads(archive.read("ensemble.json"))
        except ValueError as error:
            raise ValueError(f"{path}: ensemble.json is not valid JSON ({error})") from None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"{path}: ensemble.json is not of format {_FORMAT!r}")
        files = meta.get("members") or []
        members = []
        for name in files:
            if name not in names:
                raise ValueError(f"{path}: member file {name!r} is missing")
            archive.extract(name, folder)
            try:
                members.append(load_model(Path(folder) / name))
            except ValueError as error:
                raise ValueError(f"{path}: member {name!r}: {error}") from None
    return Ensemble(
        members,
        temperature=float(meta.get("temperature", 1.0)),
        bias=float(meta.get("bias", 0.0)),
        names=[Path(f).stem for f in files],
        card=meta.get("card") or {},
        threshold=float(meta.get("threshold", 0.5)),
        flag_sd=None if meta.get("flag_sd") is None else float(meta["flag_sd"]),
    )


def default_model_file() -> Path:
    """The file the default classifier comes from: the bundled ensemble, or the bundled
    single model where the ensemble is not installed (the one home of that rule)."""
    return DEFAULT_ENSEMBLE if DEFAULT_ENSEMBLE.is_file() else DEFAULT_MODEL


def load_default_ensemble() -> Ensemble:
    """The bundled ensemble, or the bundled single model as an ensemble of one."""
    path = default_model_file()
    if path == DEFAULT_ENSEMBLE:
        return load_ensemble(path)
    return Ensemble([load_model(path)], names=[path.stem])


def resolve_ensemble(
    model: Ensemble | keras.Model | Sequence[keras.Model] | str | os.PathLike[str] | None = None,
    members: Sequence[int | str] | None = None,
) -> Ensemble:
    """The one way the classifier is chosen: an ensemble, a model, a file, or the default.

    Parameters
    ----------
    model : Ensemble, keras.Model, sequence of keras.Model, path or None, optional
        An ensemble, one model (an ensemble of one), several models, a ``.zip`` ensemble or
        ``.keras`` model file, or None for the bundled one. Default is None.
    members : sequence of int or str, optional
        Keep only these members (indices or names). Default is None: all.

    Returns
    -------
    Ensemble
    """
    if model is None:
        ensemble = load_default_ensemble()
    elif isinstance(model, Ensemble):
        ensemble = model
    elif isinstance(model, (str, os.PathLike)):
        is_zip = Path(model).suffix == ".zip"
        ensemble = load_ensemble(model) if is_zip else Ensemble([load_model(model)])
    elif isinstance(model, Sequence):
        ensemble = Ensemble(model)
    else:
        ensemble = Ensemble([model])
    return ensemble if members is None else ensemble.select(members)
