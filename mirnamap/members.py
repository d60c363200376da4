"""Train an ensemble on a user's own data: K members, a calibration share, a card.

:func:`train_ensemble` turns labelled images into the artifact the bundled ensemble is
(``mirnamap/assets/deepmir_ensemble.zip``), which ``predict --model`` and
``explain --model`` read (:func:`mirnamap.ensemble.resolve_ensemble`):

1. **Splits**, seeded and stratified: a calibration share no member trains or stops on,
   and the rest dealt into ``folds`` folds. Member ``k`` trains (seed ``seed + k``) on
   every fold but fold ``k mod folds``, on which it stops early.
2. **Fine-tuning** (``init``): member ``k`` starts from member ``k mod n`` of a model or
   ensemble of ``n`` (member k from member k where the counts match), optionally with the
   convolutions frozen (``freeze="conv"``).
3. **Calibration**: a temperature and a bias of the averaged logit margin
   (:func:`mirnamap.ensemble.fit_calibration`), and the decision threshold (a
   probability, or ``"specificity:0.95"``: chosen on the calibration share's negatives),
   all fitted on the calibration share and stored in the file.
4. **Resumable**: with ``checkpoint_dir``, every member writes its whole state after every
   epoch (:func:`mirnamap.train.train`) and is kept once trained; ``resume=True``
   continues an interrupted run from the last completed epoch of the unfinished member.
   On the CPU the members come out bit for bit as in an uninterrupted run.
5. **No leakage**: given the test set, training refuses records found in it
   (:func:`mirnamap.overlap.overlap`, by sequence and by image), or with
   ``allow_overlap=True`` warns and goes on.

The file holds a card (data sources and counts, options, per-member and ensemble figures,
versions; :meth:`TrainedEnsemble.card_markdown` writes it as text) and the manifest of
the training records (``manifest.tsv``: :func:`load_manifest`).

Its parts live in modules of their own, and every name exported here still is: what it
returns (:mod:`mirnamap.trained_ensemble`), the splits (:mod:`mirnamap.member_splits`)
and the checkpoint folder (:mod:`mirnamap.member_checkpoints`).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mirnamap.cards import (
    CALIBRATION,
    MANIFEST,
    build_card,
    card_scores,
    score_test_set,
)
from mirnamap.errors import Failure, InputError, InputWarning
from mirnamap.member_checkpoints import (
    digest,
    load_member,
    member_files,
    model_digest,
    prepare_checkpoints,
    save_member,
)
from mirnamap.member_splits import check_split, ensemble_splits
from mirnamap.overlap import Hairpins, as_hairpins, overlap
from mirnamap.trained_ensemble import MemberRecord, TrainedEnsemble, load_manifest

if TYPE_CHECKING:
    import keras

    from mirnamap._typing import Images, Labels
    from mirnamap.ensemble import Ensemble

__all__ = [
    "CALIBRATION",
    "MANIFEST",
    "MemberRecord",
    "TrainedEnsemble",
    "ensemble_splits",
    "load_manifest",
    "resolve_init",
    "train_ensemble",
]

# ------------------------------------------------------------------- the starting point


def resolve_init(
    init: str | os.PathLike[str] | Ensemble | keras.Model | Sequence[keras.Model],
) -> tuple[list[keras.Model], list[str], str]:
    """The networks fine-tuning starts from: their list, their names and a description.

    Parameters
    ----------
    init : "bundled", path, Ensemble, keras.Model or sequence of keras.Model
        ``"bundled"``: the bundled ensemble's members; a path: a ``.zip`` ensemble or a
        ``.keras`` model; or models in memory.

    Raises
    ------
    ValueError
        If the file is missing or not a model (the path is named).
    """
    from mirnamap.ensemble import DEFAULT_ENSEMBLE, load_default_ensemble, resolve_ensemble

    if isinstance(init, str) and init == "bundled":
        ensemble, source = load_default_ensemble(), f"bundled ({DEFAULT_ENSEMBLE.name})"
    else:
        if isinstance(init, (str, os.PathLike)):
            source = str(init)
            if not Path(init).is_file():
                raise ValueError(f"init {init}: no such model or ensemble file "
                                 "(give 'bundled', a .keras model or a .zip ensemble)")  # fmt: skip
        else:
            source = type(init).__name__
        try:
            ensemble = resolve_ensemble(init)
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(f"init: {error}") from None
        if isinstance(init, (str, os.PathLike)) and Path(init).suffix != ".zip":
            return list(ensemble.members), [Path(init).stem], source  # one .keras network
    return list(ensemble.members), list(ensemble.names), source


# ------------------------------------------------------------------------ progress


def _member_bar(enabled: bool, total: int, initial: int):
    """One tqdm bar over every member's epochs (member, loss, validation loss, time left)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="epoch", desc="ensemble", disable=not enabled)


def _bar_callback(bar, label: str):
    import keras

    class MemberBar(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            shown = {"member": label, "epoch": epoch + 1}
            shown.update({k: f"{logs[k]:.4f}" for k in ("loss", "val_loss") if k in logs})
            bar.set_postfix(shown, refresh=False)
            bar.update(1)

    return MemberBar()


# --------------------------------------------------------------------------- checks


def _per_record(values: Any, n: int, what: str, default: str) -> tuple[str, ...]:
    if values is None:
        return tuple(default.format(k) for k in range(n))
    if isinstance(values, str):
        return (values,) * n
    values = tuple("" if v is None else str(v) for v in values)
    if len(values) != n:
        raise ValueError(f"{n} images but {len(values)} {what}")
    return values


# ----------------------------------------------------------------------------- main


def train_ensemble(
    images: Images,
    labels: Labels,
    *,
    members: int = 5,
    seed: int = 0,
    folds: int = 5,
    calibration_fraction: float = 0.1,
    split: np.ndarray | None = None,
    epochs: int = 12,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    class_weight: Mapping[int, float] | Literal["balanced"] | None = "balanced",
    early_stopping: int | None = 3,
    reduce_lr: int | None = 2,
    init: str | os.PathLike[str] | Ensemble | keras.Model | Sequence[keras.Model] | None = None,
    freeze: str | None = None,
    architecture: Mapping[str, Any] | None = None,
    threshold: float | str = 0.5,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    test: Any = None,
    test_labels: Labels | None = None,
    allow_overlap: bool = False,
    record_ids: Sequence[str] | None = None,
    sequences: Sequence[str | None] | None = None,
    sources: Sequence[str] | str | None = None,
    failures: Sequence[Failure] = (),
    verbose: bool | None = None,
) -> TrainedEnsemble:
    """Train, calibrate and describe an ensemble of K DeepMir networks.

    Parameters
    ----------
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)`` training images.
    labels : np.ndarray
        ``int (N,)``: 1 = pre-miRNA, 0 = negative; both classes needed.
    members : int, optional
        K. Default is 5.
    seed : int, optional
        Seed of the splits; member k trains with seed ``seed + k``. Default is 0.
    folds : int, optional
        Validation folds; member k stops early on fold ``k mod folds`` and trains on the
        others. Default is 5. The folds do not depend on ``members``, so a run of one
        member resumed with three gives the members a run of three would.
    calibration_fraction : float, optional
        Share of each class held out of every member, for the temperature, bias and
        threshold. Default is 0.1; 0 keeps none (T = 1, b = 0, and only a probability
        threshold).
    split : np.ndarray, optional
        ``int (N,)``: the fold of each record, or :data:`CALIBRATION` (-1), instead of
        :func:`ensemble_splits`. Default is None: drawn with ``seed``.
    epochs, batch_size, learning_rate, class_weight, early_stopping, reduce_lr : optional
        Of each member, as :func:`mirnamap.train.train`. Defaults are 12, 128, 1e-3,
        "balanced", 3 and 2 (the bundled ensemble's recipe).
    init : "bundled", path, Ensemble or keras.Model, optional
        Fine-tune: member k starts from member ``k mod n`` of these ``n`` networks
        (:func:`resolve_init`), copied, never changed. Default is None: from scratch.
    freeze : {"conv"}, optional
        With ``init``: keep the convolutions fixed (bit for bit); only the dense layers
        learn. Default is None.
    architecture : mapping, optional
        From scratch: options of :func:`mirnamap.model.build_model` (``filters``,
        ``dense_units``, dropout rates). Default is None: the published network.
    threshold : float or str, optional
        The decision threshold stored with the ensemble: a probability, or
        ``"specificity:S"``: the lowest threshold at which the ensemble keeps specificity
        S on the calibration share's negatives (:func:`mirnamap.evaluate.
        threshold_for_specificity`). It applies to the ensemble's ``probability``.
        Default is 0.5.
    checkpoint_dir : path, optional
        Folder of the run's checkpoints: ``run.json`` (the run's fingerprint),
        ``member_k.checkpoint.npz`` (the unfinished member's state after every epoch)
        and ``member_k.keras`` / ``member_k.json`` (each member once trained). Default
        is None: nothing is kept.
    resume : bool, optional
        Continue the run in ``checkpoint_dir``: trained members are read back, the
        unfinished one goes on from its last completed epoch. The data and options must
        be the run's (``members`` and ``threshold`` may differ). Default is False (a
        folder that holds a run is then refused).
    test : sequences, images or records, optional
        The test set, checked against the training records by sequence and by image
        (:func:`mirnamap.overlap.overlap`). Default is None: not checked.
    test_labels : np.ndarray, optional
        ``int (T,)`` labels of ``test``'s images: the card then gains the members' and the
        ensemble's figures on it. Default is None.
    allow_overlap : bool, optional
        Train even when training records are in ``test``, with an
        :class:`~mirnamap.errors.InputWarning`. Default is False: refuse.
    record_ids, sequences, sources : sequence of str, optional
        Per training record: its id, its sequence ("" where unknown; compared with the
        test set, and in the manifest) and the data set it came from (or one name for
        all). Default is None: ``record_k``, unknown, ``"images"``.
    failures : sequence of Failure, optional
        Records of the input left out before training (counted in the card). Default is
        none.
    verbose : bool, optional
        Show a progress bar over every member's epochs (member, epoch, loss, validation
        loss, time left). Default is None: on a terminal.

    Returns
    -------
    TrainedEnsemble

    Raises
    ------
    ValueError
        For bad options or data (named), a folder holding another run, a fold or the
        calibration share without both classes.
    InputError
        If training records are in ``test`` and ``allow_overlap`` is False.
    """
    from mirnamap.ensemble import Ensemble, fit_calibration
    from mirnamap.evaluate import parse_threshold, threshold_for_specificity
    from mirnamap.flags import choose_flag_rule
    from mirnamap.model import build_model, check_images, import_tensorflow, predict_proba
    from mirnamap.train import FREEZE, train

    import_tensorflow()
    images = check_images(images, "training images")
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape ({images.shape[0]},), got {labels.dtype} "
            f"{labels.shape}"
        )
    if not np.isin(labels, (0, 1)).all() or np.unique(labels).size < 2:
        raise ValueError("labels must be 0 (negative) or 1 (pre-miRNA), with both present")
    if isinstance(members, bool) or not isinstance(members, (int, np.integer)) or members < 1:
        raise ValueError(f"members must be an integer >= 1, got {members!r}")
    if freeze is not None and freeze not in FREEZE:
        raise ValueError(f"freeze must be one of {', '.join(FREEZE)} or None, got {freeze!r}")
    if freeze is not None and init is None:
        raise ValueError("freeze needs init: fixed convolutions are those of a trained model")
    if init is not None and architecture is not None:
        raise ValueError("give init or architecture, not both: init fixes the architecture")
    rule, value = parse_threshold(threshold)
    n = images.shape[0]
    ids = _per_record(record_ids, n, "record ids", "record_{}")
    known = _per_record(sequences, n, "sequences", "")
    origin = _per_record(sources if sources is not None else "images", n, "sources", "")

    if split is None:
        split = ensemble_splits(
            labels, folds=folds, calibration_fraction=calibration_fraction, seed=seed
        )
    else:
        split = check_split(split, n, folds)
    calibration = split == CALIBRATION
    if rule == "specificity" and not (labels[calibration] == 0).any():
        raise ValueError("a 'specificity:S' threshold needs a calibration share with negatives")
    if calibration.any() and np.unique(labels[calibration]).size < 2:
        raise ValueError("the calibration share must hold both classes (more records needed)")
    for f in range(min(members, folds)):
        for name, mask in (("training", (split >= 0) & (split != f)), ("validation", split == f)):
            if np.unique(labels[mask]).size < 2:
                raise ValueError(f"fold {f}: the {name} records lack a class (more needed)")

    # Leakage before any training.
    found = None
    if test is not None:
        test_set = as_hairpins(test, "test")
        train_set = Hairpins([s or None for s in known] if sequences is not None else None, images)
        found = overlap(train_set, test_set)
        if len(found):
            shown = ", ".join(ids[i] for i in found.train_records[:5])
            message = f"{found.summary()}; e.g. {shown}"
            if not allow_overlap:
                raise InputError(
                    f"{message}. Remove them from the training data, or allow it "
                    "(allow_overlap=True, --allow-overlap)"
                )
            warnings.warn(f"training on test records: {message}", InputWarning, stacklevel=2)
        if test_labels is not None and test_set.images is None:
            raise ValueError("test_labels need test images to score")
    elif test_labels is not None:
        raise ValueError("test_labels need a test set (test=images)")

    starts, start_names, init_source = ([], [], None)
    if init is not None:
        starts, start_names, init_source = resolve_init(init)
    options = {
        "seed": seed, "folds": folds, "calibration_fraction": calibration_fraction,
        "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
        "class_weight": class_weight, "early_stopping": early_stopping,
        "reduce_lr": reduce_lr, "freeze": freeze,
        "architecture": dict(architecture) if architecture is not None else None,
    }  # fmt: skip
    fingerprint = digest(images, labels.astype(np.int8), split, options,
                          model_digest(starts) if starts else None)  # fmt: skip
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    prepare_checkpoints(folder, fingerprint, resume)

    show = sys.stderr.isatty() if verbose is None else bool(verbose)
    done: dict[int, tuple[keras.Model, dict]] = {}
    if folder is not None and resume:
        for k in range(members):
            loaded = load_member(folder, k, fingerprint)
            if loaded is not None:
                done[k] = loaded
    already = sum(len(r["history"]["loss"]) for _, r in done.values())
    total = members * epochs - sum(epochs - len(r["history"]["loss"]) for _, r in done.values())
    if folder is not None and resume:
        from mirnamap.train import read_checkpoint_state

        for k in set(range(members)) - set(done):
            if member_files(folder, k)[2].is_file():
                already += int(read_checkpoint_state(member_files(folder, k)[2])["epochs_done"])
    bar = _member_bar(show, total=total, initial=already)
    if show:
        from mirnamap.train import device_name

        print(
            f"training {members} member{'s' * (members != 1)} on {device_name()}: "
            f"{int((split >= 0).sum())} images "
            f"in {folds} folds, {int(calibration.sum())} for calibration",
            file=sys.stderr,
        )

    models: list[keras.Model] = []
    records: list[MemberRecord] = []
    try:
        for k in range(members):
            fold = k % folds
            fit, val = (split >= 0) & (split != fold), split == fold
            if k in done:
                model, saved = done[k]
                history, resumed = saved["history"], len(saved["history"]["loss"])
            else:
                start = None
                if starts:
                    start = starts[k % len(starts)]
                elif architecture is not None:
                    start = build_model(seed=seed + k, **dict(architecture))
                checkpoint = member_files(folder, k)[2] if folder is not None else None
                result = train(
                    images[fit], labels[fit], validation=(images[val], labels[val]),
                    epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                    class_weight=class_weight, early_stopping=early_stopping,
                    reduce_lr=reduce_lr, seed=seed + k, model=start, verbose=False,
                    freeze=freeze, checkpoint=checkpoint, resume=resume,
                    callbacks=[_bar_callback(bar, f"{k + 1}/{members}")],
                )  # fmt: skip
                model, history, resumed = result.model, result.history, result.resumed_epochs
                if early_stopping is not None and len(history["loss"]) < epochs:
                    bar.total -= epochs - len(history["loss"])
                    bar.refresh()
                if folder is not None:
                    save_member(folder, k, model, {"fingerprint": fingerprint, "history": history})
            models.append(model)
            records.append(
                MemberRecord(
                    name=f"member_{k}",
                    seed=seed + k,
                    fold=fold,
                    n_train=int(fit.sum()),
                    n_validation=int(val.sum()),
                    epochs_run=len(history["loss"]),
                    seconds=float(sum(history.get("seconds", []))),
                    init=f"{init_source}:{start_names[k % len(starts)]}" if starts else None,
                    validation=card_scores(labels[val], predict_proba(model, images[val])),
                    calibration=(
                        card_scores(labels[calibration], predict_proba(model, images[calibration]))
                        if calibration.any()
                        else {"n": 0}
                    ),
                    history=history,
                    resumed_epochs=resumed,
                )
            )
    finally:
        bar.close()

    names = [r.name for r in records]
    ensemble = Ensemble(models, names=names)
    temperature, bias, chosen = 1.0, 0.0, value
    calibration_scores: dict[str, Any] = {"n": 0}
    flag_rule = None
    if calibration.any():
        prediction = ensemble.predict(images[calibration], batch_size=256)
        temperature, bias = fit_calibration(prediction.logits, labels[calibration])
        if rule == "specificity":
            chosen = threshold_for_specificity(labels[calibration], prediction.probability, value)
            negatives = int((labels[calibration] == 0).sum())
            if negatives < 1 / (1 - value):
                warnings.warn(
                    f"the calibration share has {negatives} negatives: too few to resolve a "
                    f"specificity of {value} (the threshold is above every negative)",
                    InputWarning,
                    stacklevel=2,
                )
            if chosen > 1.0:
                warnings.warn(
                    f"no threshold <= 1 keeps specificity {value} on the calibration share; "
                    "1.0 is stored",
                    InputWarning,
                    stacklevel=2,
                )
                chosen = 1.0
        from mirnamap.ensemble import calibrate

        calibration_scores = card_scores(
            labels[calibration],
            prediction.probability,
            calibrate(prediction.logits, temperature, bias),
            threshold=chosen,
        )
        if len(models) > 1:  # the "unsure" rule on the members' spread (mirnamap.flags)
            flag_rule = choose_flag_rule(
                labels[calibration], prediction.probability, prediction.sd, chosen
            )
    test_scores = None
    if test_labels is not None:
        test_scores = score_test_set(
            models, names, test_set.images, np.asarray(test_labels), temperature, bias, chosen
        )

    card = build_card(
        records=records, labels=labels, split=split, origin=origin, options=options,
        members=members, init_source=init_source, starts=start_names, freeze=freeze,
        rule=rule, value=value, chosen=chosen, temperature=temperature, bias=bias,
        calibration_scores=calibration_scores, test_scores=test_scores, found=found,
        allow_overlap=allow_overlap, failures=failures, sequences_known=sequences is not None,
        flag_rule=flag_rule,
    )  # fmt: skip
    ensemble = Ensemble(
        models, temperature=temperature, bias=bias, names=names, card=card, threshold=chosen,
        flag_sd=None if flag_rule is None else flag_rule.sd,
    )  # fmt: skip
    return TrainedEnsemble(
        ensemble=ensemble,
        members=tuple(records),
        split=split,
        labels=labels.astype(np.int8),
        ids=ids,
        sequences=known,
        sources=origin,
        overlap=found,
        failures=tuple(failures),
    )
