"""The ``mirnamap`` command: one subcommand per stage of the pipeline.

``fold -> encode -> train/predict -> explain``; each subcommand is a thin layer over the
module of the same stage. Records that fail are listed with their reason, never dropped;
unusable input ends the command with exit status 2 and a message naming what is wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["main"]

EXIT_USAGE = 2  # unusable input
EXIT_ALL_FAILED = 1  # input read, but no record could be processed


class CommandError(Exception):
    """Unusable input: the message is printed and the command exits with status 2."""


def _report_failures(failures: Sequence[tuple[str, str]], total: int, what: str) -> None:
    """List every failed record on stderr: id and reason."""
    if not failures:
        return
    print(f"{len(failures)} of {total} records could not be {what}:", file=sys.stderr)
    for record_id, reason in failures:
        print(f"  {record_id}\t{reason}", file=sys.stderr)


def _read_records(path: Path) -> tuple[list[str], list[str]]:
    """Ids and sequences of a FASTA file, or a clear error."""
    from mirnamap.datasets import load_fasta

    try:
        records = load_fasta(path)
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None
    return list(records.ids), list(records.sequences)


def _is_fasta(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(1) == ">"
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None


def _load_folds_or_fold(path: Path, workers: int | None) -> list:
    """Folds from a folds TSV, or by folding a FASTA file."""
    from mirnamap.fold import fold, load_folds

    if _is_fasta(path):
        ids, sequences = _read_records(path)
        return fold(sequences, ids=ids, workers=workers)
    try:
        return load_folds(path)
    except (OSError, ValueError, KeyError) as error:
        raise CommandError(
            f"{path}: neither a FASTA file nor a folds table from 'mirnamap fold' ({error})"
        ) from None


# ----------------------------------------------------------------------------- fold


def _add_fold(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fold",
        help="fold RNA sequences with ViennaRNA",
        description="Fold every record of a FASTA file to its MFE structure with ViennaRNA "
        "and write a TSV: id, sequence, structure, mfe, status, reason (one row per record; "
        "records that cannot be folded get status 'error' and the reason).",
    )
    p.add_argument("input", type=Path, help="FASTA file")
    p.add_argument("-o", "--output", type=Path, required=True, help="TSV to write")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.set_defaults(run=_run_fold)


def _run_fold(args: argparse.Namespace) -> int:
    from mirnamap.fold import fold, save_folds

    ids, sequences = _read_records(args.input)
    folds = fold(sequences, ids=ids, workers=args.workers)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_folds(folds, args.output)
    failed = [(f.id, f.error or "") for f in folds if not f.ok]
    _report_failures(failed, len(folds), "folded")
    print(f"folded {len(folds) - len(failed)} of {len(folds)} records -> {args.output}")
    return EXIT_ALL_FAILED if len(failed) == len(folds) else 0


# --------------------------------------------------------------------------- encode


def _add_encode(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "encode",
        help="draw folded hairpins as 25 x 100 images",
        description="Draw each hairpin as the 25 x 100 RGB image of Cordero et al. and save "
        "images, ids and the pixel-to-nucleotide layout as .npz. The input is a FASTA file "
        "(folded first) or a folds TSV from 'mirnamap fold'. Records that cannot be drawn "
        "are listed with the reason and stored in the archive (failed_ids, failed_reasons).",
    )
    p.add_argument("input", type=Path, help="FASTA file or folds TSV")
    p.add_argument("-o", "--output", type=Path, required=True, help=".npz to write")
    p.add_argument(
        "--png", type=Path, default=None, metavar="DIR", help="also write one PNG per hairpin"
    )
    p.add_argument(
        "--png-scale", type=int, default=4, help="PNG enlargement (default: 4; 1 = exact pixels)"
    )
    p.add_argument(
        "--workers", type=int, default=None, help="folding processes (default: all cores)"
    )
    p.set_defaults(run=_run_encode)


def _run_encode(args: argparse.Namespace) -> int:
    import warnings

    from mirnamap.encode import encode_folds, save_encoding, save_pngs

    folds = _load_folds_or_fold(args.input, args.workers)
    if not folds:
        raise CommandError(f"{args.input}: no records")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every failure is listed below instead
        encoding = encode_folds(folds)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_encoding(encoding, args.output)
    if args.png is not None:
        save_pngs(encoding.images, encoding.ids, args.png, scale=args.png_scale)
    _report_failures([(f.id, f.reason) for f in encoding.failures], len(folds), "encoded")
    cut = int((encoding.n_cut > 0).sum())
    print(
        f"encoded {len(encoding)} of {len(folds)} records -> {args.output}"
        + (f" ({cut} with columns cut off the 100-px canvas)" if cut else "")
    )
    return EXIT_ALL_FAILED if len(encoding) == 0 else 0


# ---------------------------------------------------------------------------- predict

#: What ``mirnamap predict`` writes per record.
_PREDICT_COLUMNS = ("id", "probability", "predicted", "status", "reason")


def _load_model_or_fail(path: Path | None):
    """The model at ``path`` (the bundled one if None), or a clear CommandError."""
    from mirnamap.model import load_default_model, load_model

    try:
        return load_default_model() if path is None else load_model(path)
    except (OSError, ValueError, TypeError) as error:
        raise CommandError(str(error)) from None


def _images_for_prediction(path: Path, workers: int | None) -> tuple:
    """(ids, images, positions, failures, labels) for a FASTA, folds TSV or .npz input.

    ``positions`` gives each image's place among all ``ids``; ``failures`` lists
    (position, reason) for the records without an image; ``labels`` (or None) are the
    true labels of a labelled image archive.
    """
    import warnings

    import numpy as np

    from mirnamap.encode import encode_folds, load_encoding

    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                files = set(data.files)
        except (OSError, ValueError) as error:
            raise CommandError(f"{path}: not a readable .npz archive ({error})") from None
        if "layout" in files:
            try:
                encoding = load_encoding(path)
            except (OSError, ValueError, KeyError) as error:
                raise CommandError(str(error)) from None
            total = len(encoding) + len(encoding.failures)
            ids = [""] * total
            for position, record_id in zip(encoding.index, encoding.ids, strict=True):
                ids[int(position)] = record_id
            for failure in encoding.failures:
                ids[failure.index] = failure.id
            failures = [(f.index, f.reason) for f in encoding.failures]
            return ids, encoding.images, encoding.index, failures, None
        from mirnamap.datasets import load_deepmir

        try:
            image_set = load_deepmir(str(path))
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from None
        n = len(image_set)
        return list(image_set.names), image_set.images, np.arange(n), [], image_set.labels
    folds = _load_folds_or_fold(path, workers)
    if not folds:
        raise CommandError(f"{path}: no records")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every failure is written to the table instead
        encoding = encode_folds(folds)
    failures = [(f.index, f.reason) for f in encoding.failures]
    return [f.id for f in folds], encoding.images, encoding.index, failures, None


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="predict pre-miRNAs with the CNN (the bundled model by default)",
        description="Predict P(pre-miRNA) for every record of a FASTA file (folded and "
        "encoded first), a folds TSV, an encoding .npz from 'mirnamap encode', or a labelled "
        "image .npz (arrays images, labels). Writes a TSV with one row per input record: "
        "id, probability, predicted (1 = pre-miRNA, 0 = not), status (ok/error) and reason; "
        "records that could not be folded or drawn get status 'error' and the reason. "
        "With a labelled .npz a 'label' column is added and the metrics are printed.",
    )
    p.add_argument("input", type=Path, help="FASTA, folds TSV, or .npz")
    p.add_argument("-o", "--output", type=Path, required=True, help="TSV to write")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a .keras model (default: the bundled deepmir_default.keras)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="call a pre-miRNA at probability >= this (default: 0.5)",
    )
    p.add_argument("--batch-size", type=int, default=256, help="images per batch (default: 256)")
    p.add_argument(
        "--workers", type=int, default=None, help="folding processes (default: all cores)"
    )
    p.set_defaults(run=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    import csv

    import numpy as np

    from mirnamap.model import predict_proba

    if not 0.0 <= args.threshold <= 1.0:
        raise CommandError(f"--threshold must be in [0, 1], got {args.threshold}")
    model = _load_model_or_fail(args.model)
    ids, images, positions, failures, labels = _images_for_prediction(args.input, args.workers)
    probabilities = predict_proba(model, images, batch_size=args.batch_size) if len(images) else []
    rows: list[dict[str, str]] = [{} for _ in ids]
    for position, probability in zip(positions, probabilities, strict=True):
        rows[int(position)] = {
            "probability": f"{probability:.6f}",
            "predicted": str(int(probability >= args.threshold)),
            "status": "ok",
            "reason": "",
        }
    for position, reason in failures:
        rows[position] = {
            "probability": "",
            "predicted": "",
            "status": "error",
            "reason": " ".join(reason.split()),
        }
    columns = list(_PREDICT_COLUMNS) + (["label"] if labels is not None else [])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for index, (record_id, row) in enumerate(zip(ids, rows, strict=True)):
            if labels is not None:
                row["label"] = str(int(labels[index]))
            writer.writerow({"id": record_id, **row})
    _report_failures([(ids[i], r) for i, r in failures], len(ids), "predicted")
    n_positive = int(np.sum(np.asarray(probabilities) >= args.threshold))
    print(
        f"predicted {len(probabilities)} of {len(ids)} records ({n_positive} pre-miRNA) "
        f"-> {args.output}"
    )
    if labels is not None and len(probabilities):
        from mirnamap.evaluate import metrics

        scores = metrics(labels, probabilities, args.threshold)
        print(
            "  ".join(
                f"{k} {scores[k]:.4f}"
                for k in ("accuracy", "sensitivity", "specificity", "mcc", "auroc", "auprc")
            )
        )
    return EXIT_ALL_FAILED if len(probabilities) == 0 else 0


# ------------------------------------------------------------------------------ train


def _training_images(args: argparse.Namespace) -> tuple:
    """(images, labels, test or None, skipped records) for the chosen source."""
    import warnings

    import numpy as np

    from mirnamap import datasets
    from mirnamap.encode import encode_folds
    from mirnamap.fold import fold

    def encode_records(records) -> tuple:
        folds = fold(records.sequences, ids=records.ids, workers=args.workers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoding = encode_folds(folds)
        skipped = [(f.id, f.reason) for f in encoding.failures]
        return encoding.images, records.labels[encoding.index], encoding.index, skipped

    try:
        if args.dataset in datasets.DEEPMIRGENE_SETS:
            records = datasets.load_deepmirgene(args.dataset)
            images, labels, index, skipped = encode_records(records)
            is_test = np.array([records.splits[i] == "test" for i in index], dtype=bool)
            test = None
            if is_test.any() and not is_test.all():
                test = (images[is_test], labels[is_test])
                images, labels = images[~is_test], labels[~is_test]
            return images, labels, test, skipped
        if args.dataset is not None:
            image_set = datasets.load_deepmir(args.dataset)
            test = None
            if args.dataset.endswith("_train"):
                held_out = datasets.load_deepmir(args.dataset.replace("_train", "_test"))
                test = (held_out.images, held_out.labels)
            return image_set.images, image_set.labels, test, []
        if args.images is not None:
            image_set = datasets.load_deepmir(str(args.images))
            return image_set.images, image_set.labels, None, []
        if args.positive is None or args.negative is None:
            raise CommandError(
                "give --positive and --negative FASTA, --images NPZ or --dataset NAME"
            )
        records = datasets.load_labelled_fasta(args.positive, args.negative)
        images, labels, _, skipped = encode_records(records)
        return images, labels, None, skipped
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None


def _add_train(sub: argparse._SubParsersAction) -> None:
    from mirnamap.datasets import DEEPMIR_SETS, DEEPMIRGENE_SETS

    sets = (*DEEPMIRGENE_SETS, *DEEPMIR_SETS)
    names = [s for s in sets if s != "new" and not s.endswith("_test")]
    p = sub.add_parser(
        "train",
        help="train the DeepMir CNN on labelled hairpins",
        description="Train the DeepMir CNN (Adam, batch 128, balanced class weights, early "
        "stopping on a stratified validation fraction) on a positive and a negative FASTA "
        "file (folded and encoded first), a labelled image .npz (arrays images, labels), or "
        f"a bundled set ({', '.join(names)}; their published test split is held out and "
        "evaluated). Writes the model (.keras), a metrics JSON and a learning-curve PNG.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--positive", type=Path, help="FASTA of pre-miRNAs (with --negative)")
    source.add_argument("--images", type=Path, help="labelled image .npz (images, labels)")
    source.add_argument("--dataset", choices=names, help="a bundled data set")
    p.add_argument("--negative", type=Path, help="FASTA of negatives (with --positive)")
    p.add_argument("-o", "--output", type=Path, required=True, help="model file to write (.keras)")
    p.add_argument(
        "--metrics",
        type=Path,
        default=None,
        help="metrics JSON (default: beside the model, NAME.metrics.json)",
    )
    p.add_argument(
        "--curve",
        type=Path,
        default=None,
        help="learning-curve PNG (default: beside the model, NAME.learning_curve.png)",
    )
    p.add_argument("--epochs", type=int, default=30, help="most epochs (default: 30)")
    p.add_argument(
        "--patience",
        type=int,
        default=5,
        help="early-stopping patience in epochs; 0 = off (default: 5)",
    )
    p.add_argument(
        "--validation-fraction",
        type=float,
        default=0.1,
        help="stratified share held out for validation (default: 0.1)",
    )
    p.add_argument(
        "--reduce-lr",
        type=int,
        default=0,
        help="halve the learning rate after this many epochs without a better validation "
        "loss; 0 = constant (default: 0)",
    )
    p.add_argument("--batch-size", type=int, default=128, help="default: 128")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's (default: 1e-3)")
    p.add_argument(
        "--class-weight",
        choices=("balanced", "none"),
        default="balanced",
        help="weigh classes by their frequency (default: balanced)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of split, weights, dropout (default: 0)"
    )
    p.add_argument(
        "--workers", type=int, default=None, help="folding processes (default: all cores)"
    )
    p.set_defaults(run=_run_train)


def _stratified_split(labels, fraction: float, seed: int):
    """Boolean mask of a stratified validation share (at least one record per class)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    mask = np.zeros(labels.shape[0], dtype=bool)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        take = max(1, round(fraction * members.size)) if members.size > 1 else 0
        mask[rng.choice(members, size=take, replace=False)] = True
    return mask


def _run_train(args: argparse.Namespace) -> int:
    import json

    from mirnamap.evaluate import metrics, save_learning_curve
    from mirnamap.model import predict_proba, save_model
    from mirnamap.train import device_name, train

    if args.negative is not None and args.positive is None:
        raise CommandError("--negative needs --positive")
    if args.output.suffix != ".keras":
        raise CommandError(f"{args.output}: the model file must end in .keras")
    if not 0.0 < args.validation_fraction < 1.0:
        raise CommandError(
            f"--validation-fraction must be in (0, 1), got {args.validation_fraction}"
        )
    images, labels, test, skipped = _training_images(args)
    _report_failures(skipped, len(labels) + len(skipped), "encoded (left out of training)")
    if len(set(labels.tolist())) < 2:
        raise CommandError("training needs both classes (pre-miRNA and negative)")
    is_val = _stratified_split(labels, args.validation_fraction, args.seed)
    result = train(
        images[~is_val],
        labels[~is_val],
        validation=(images[is_val], labels[is_val]),
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        class_weight="balanced" if args.class_weight == "balanced" else None,
        early_stopping=args.patience or None,
        reduce_lr=args.reduce_lr or None,
        seed=args.seed,
        verbose=True,
    )
    save_model(result.model, args.output)
    stem = args.output.with_suffix("")
    metrics_path = args.metrics or Path(f"{stem}.metrics.json")
    curve_path = args.curve or Path(f"{stem}.learning_curve.png")
    scores = {"validation": metrics(labels[is_val], predict_proba(result.model, images[is_val]))}
    if test is not None:
        scores["test"] = metrics(test[1], predict_proba(result.model, test[0]))
    report = {
        "model": str(args.output),
        "device": device_name(),
        "seed": args.seed,
        "n_train": int((~is_val).sum()),
        "n_validation": int(is_val.sum()),
        "n_skipped": len(skipped),
        "skipped": [{"id": i, "reason": r} for i, r in skipped],
        "epochs_run": len(result.history["loss"]),
        "metrics": scores,
        "history": result.history,
    }
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(report, indent=2))
    save_learning_curve(result.history, curve_path, title=args.output.name)
    for name, m in scores.items():
        print(
            f"{name}: "
            + "  ".join(
                f"{k} {m[k]:.4f}"
                for k in ("accuracy", "sensitivity", "specificity", "mcc", "auroc")
            )
        )
    print(f"model -> {args.output}; metrics -> {metrics_path}; learning curve -> {curve_path}")
    return 0


# -------------------------------------------------------------------------- explain

#: What ``--target`` accepts: which class's logit the maps explain.
_TARGETS = {"pre-mirna": 1, "negative": 0, "predicted": None}


def _add_explain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="saliency maps on the image, the sequence and the fold of each hairpin",
        description="Classify each hairpin with the bundled DeepMir model (or --model), "
        "compute saliency maps with one or more backends, project them onto nucleotides "
        "and write, per record, PNG pictures (hairpin image with the map over it, a "
        "sequence track with one row per backend, the secondary structure coloured by "
        "saliency, and all backends side by side) and VARNA/forna colour inputs; for all "
        "records a per-nucleotide TSV (saliency.tsv) and a summary (summary.tsv). The input "
        "is a FASTA file (folded and encoded first), a folds TSV from 'mirnamap fold', or an "
        "archive from 'mirnamap encode'. Records that cannot be folded, drawn or explained "
        "are listed with the reason (stderr and failed.tsv).",
    )
    p.add_argument("input", type=Path, help="FASTA file, folds TSV or 'mirnamap encode' .npz")
    p.add_argument(
        "--method",
        default="smoothgrad_guided_backprop",
        help="comma-separated saliency backends (default: smoothgrad_guided_backprop; "
        "'list' prints the known ones)",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--model", type=Path, default=None, help="a .keras model (default: bundled)")
    p.add_argument(
        "--target",
        choices=sorted(_TARGETS),
        default="pre-mirna",
        help="class whose logit is explained (default: pre-mirna, so red = towards "
        "pre-miRNA for every record)",
    )
    p.add_argument(
        "--ids", default=None, help="comma-separated record ids to explain (default: all)"
    )
    p.add_argument("--svg", action="store_true", help="also write every picture as SVG")
    p.add_argument(
        "--no-pictures",
        action="store_true",
        help="write only the TSVs (fast, for thousands of records)",
    )
    p.add_argument(
        "--batch-size", type=int, default=64, help="images per saliency pass (default: 64)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of stochastic backends (default: 0)")
    p.add_argument(
        "--workers", type=int, default=None, help="folding processes (default: all cores)"
    )
    p.set_defaults(run=_run_explain)


def _load_encoding_for_explain(path: Path, workers: int | None):
    """An Encoding from an encode archive, or by folding and encoding a FASTA / folds TSV."""
    import warnings

    from mirnamap.encode import encode_folds, load_encoding

    if path.suffix == ".npz":
        try:
            return load_encoding(path), None
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file") from None
        except ValueError:
            raise CommandError(
                f"{path}: an image archive without sequences and pixel layout (e.g. a DeepMir "
                ".npz); nucleotide maps need the sequences: give the FASTA file, or an "
                "archive written by 'mirnamap encode'"
            ) from None
        except OSError as error:
            raise CommandError(f"{path}: not a readable .npz ({error})") from None
    folds = _load_folds_or_fold(path, workers)
    if not folds:
        raise CommandError(f"{path}: no records")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every failure is listed instead
        return encode_folds(folds), len(folds)


def _safe_name(record_id: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", record_id) or "_"


def _run_explain(args: argparse.Namespace) -> int:
    import csv
    import shlex

    import numpy as np
    from tqdm.auto import tqdm

    from mirnamap.export import forna_colours, varna_arguments, write_summary, write_tsv
    from mirnamap.project import project

    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    from mirnamap.saliency import explain, list_backends

    if methods == ["list"]:
        print("\n".join(list_backends()))
        return 0
    unknown = [m for m in methods if m not in list_backends()]
    if not methods or unknown:
        raise CommandError(
            f"unknown saliency method(s) {unknown or args.method!r}; known: "
            + ", ".join(list_backends())
        )
    encoding, total = _load_encoding_for_explain(args.input, args.workers)
    failures = [(f.id, f.reason) for f in encoding.failures]
    total = total if total is not None else len(encoding) + len(encoding.failures)
    keep = np.arange(len(encoding))
    if args.ids is not None:
        wanted = [i.strip() for i in args.ids.split(",") if i.strip()]
        known = set(encoding.ids) | {f.id for f in encoding.failures}
        missing = [i for i in wanted if i not in known]
        if missing:
            raise CommandError(f"{args.input}: no record(s) {missing}")
        keep = np.array([k for k, i in enumerate(encoding.ids) if i in set(wanted)], dtype=int)
        failures = [(i, r) for i, r in failures if i in set(wanted)]
        total = len(wanted)
    if len(keep) == 0:
        _report_failures(failures, total, "explained")
        print("no record could be drawn: nothing to explain", file=sys.stderr)
        return EXIT_ALL_FAILED
    images = encoding.images[keep]
    layout = encoding.layout[keep]
    ids = [encoding.ids[k] for k in keep]
    sequences = [encoding.sequences[k] for k in keep]
    structures = [encoding.structures[k] for k in keep]
    lengths = np.array([len(s) for s in sequences])

    from mirnamap.model import load_default_model, load_model, predict_proba

    try:
        model = load_model(args.model) if args.model is not None else load_default_model()
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None
    probabilities = predict_proba(model, images)
    target = _TARGETS[args.target]
    maps: dict[str, np.ndarray] = {}
    for method in methods:
        maps[method] = explain(
            model,
            images,
            method,
            target,
            batch_size=args.batch_size,
            seed=args.seed,
            progress=True,
        )
    projections = {m: project(maps[m], layout, lengths, ids=ids) for m in methods}
    abs_projections = {m: project(np.abs(maps[m]), layout, lengths, ids=ids) for m in methods}
    args.out.mkdir(parents=True, exist_ok=True)
    write_tsv(
        args.out / "saliency.tsv",
        ids,
        sequences,
        structures,
        {m: projections[m].scores for m in methods},
    )
    write_summary(args.out / "summary.tsv", ids, probabilities, abs_projections, structures)
    from mirnamap.plot import (
        plot_backends,
        plot_hairpin,
        plot_sequence_track,
        plot_structure,
        save_figure,
    )

    formats = ("png", "svg") if args.svg else ("png",)
    aim = {1: "pre-miRNA logit", 0: "negative logit", None: "predicted class logit"}[target]
    explained = 0
    for k in tqdm(range(len(ids)), desc="pictures", unit="record", disable=args.no_pictures):
        if args.no_pictures:
            explained += 1
            continue
        folder = args.out / _safe_name(ids[k])
        p = float(probabilities[k])
        try:
            scores = {m: projections[m].scores[k] for m in methods}
            save_figure(
                plot_sequence_track(
                    scores, sequences[k], structures[k], record_id=ids[k], probability=p
                ),
                folder / "track",
                formats=formats,
            )
            for m in methods:
                label = f"{m} ({aim})"
                save_figure(
                    plot_hairpin(
                        images[k], maps[m][k], record_id=ids[k], probability=p, method=label
                    ),
                    folder / f"hairpin_{m}",
                    formats=formats,
                )
                save_figure(
                    plot_structure(
                        sequences[k],
                        structures[k],
                        scores[m],
                        record_id=ids[k],
                        probability=p,
                        method=label,
                    ),
                    folder / f"structure_{m}",
                    formats=formats,
                )
            if len(methods) > 1:
                save_figure(
                    plot_backends(
                        images[k], {m: maps[m][k] for m in methods}, record_id=ids[k], probability=p
                    ),
                    folder / "backends",
                    formats=formats,
                )
            with open(folder / "colours.txt", "w", encoding="utf-8") as handle:
                for m in methods:
                    varna = shlex.join(varna_arguments(sequences[k], structures[k], scores[m]))
                    handle.write(f"# {m}\nVARNA\t{varna}\nforna\t{forna_colours(scores[m])}\n")
            explained += 1
        except (ValueError, OSError) as error:
            failures.append((ids[k], f"pictures failed: {error}"))
    with open(args.out / "failed.tsv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "reason"])
        writer.writerows(failures)
    _report_failures(failures, total, "explained")
    print(
        f"explained {explained} of {total} records with {', '.join(methods)} -> {args.out}/ "
        "(per record: track.png, hairpin_*.png, structure_*.png; saliency.tsv, summary.tsv)"
    )
    return EXIT_ALL_FAILED if explained == 0 else 0


# ------------------------------------------------------------------------ benchmark


def _add_benchmark(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark",
        help="score saliency backends on synthetic hairpins with known truth",
        description="Generate synthetic hairpins whose label-deciding nucleotides are known, "
        "train a classifier per task, and score every backend's maps against the truth "
        "(AUROC, AUPRC, top-k, relevance mass, pointing game, raw and representation-adapted "
        "cosine overlap), with the model-randomisation sanity check and sequence-level "
        "deletion curves. Writes results.md/.tsv, per-hairpin metrics, config.json and PNG "
        "plots. The defaults are a small configuration (minutes on a CPU); "
        "experiments/benchmark_saliency.py runs the full one.",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="folder to write")
    p.add_argument(
        "--tasks",
        default="motif",
        help="comma-separated: motif, structure, interaction, additive (default: motif)",
    )
    p.add_argument(
        "--backends",
        default=None,
        help="comma-separated backend names (default: every registered backend)",
    )
    p.add_argument("--pairs", type=int, default=500, help="twin pairs per task (default: 500)")
    p.add_argument("--epochs", type=int, default=15, help="most training epochs (default: 15)")
    p.add_argument(
        "--filters",
        default="16,24,32",
        help="filters of the three conv modules (default: 16,24,32; published: 48,60,72)",
    )
    p.add_argument(
        "--dense-units",
        type=int,
        default=64,
        help="hidden dense units (default: 64; published: 256)",
    )
    p.add_argument("--explain", type=int, default=30, help="test hairpins explained (default: 30)")
    p.add_argument(
        "--sanity", type=int, default=4, help="hairpins in the sanity check (0 skips; default: 4)"
    )
    p.add_argument(
        "--faithfulness",
        type=int,
        default=8,
        help="hairpins in the deletion test (0 skips; default: 8)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=16,
        help="noise samples of the SmoothGrad family, steps of integrated gradients "
        "and samples of SHAP (default: 16)",
    )
    p.add_argument(
        "--min-auroc",
        type=float,
        default=0.95,
        help="score explanations only of models reaching this test AUROC (default: 0.95)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every random step (default: 0)")
    p.add_argument(
        "--workers", type=int, default=None, help="folding processes (default: all cores)"
    )
    p.set_defaults(run=_run_benchmark)


def _run_benchmark(args: argparse.Namespace) -> int:
    from mirnamap.benchmark import BenchmarkConfig, format_table, run_benchmark, write_results

    try:
        filters = tuple(int(v) for v in args.filters.split(","))
        if len(filters) != 3:
            raise ValueError
    except ValueError:
        raise CommandError(f"--filters must be three integers, got {args.filters!r}") from None
    samples = {
        name: {"n_samples": args.samples}
        for name in (
            "smoothgrad",
            "smoothgrad_guided_backprop",
            "smoothgrad_squared",
            "vargrad",
            "shap",
        )
    }
    samples["integrated_gradients"] = {"steps": args.samples}
    try:
        config = BenchmarkConfig(
            tasks=tuple(t.strip() for t in args.tasks.split(",") if t.strip()),
            backends=None
            if args.backends is None
            else tuple(b.strip() for b in args.backends.split(",") if b.strip()),
            n_pairs=args.pairs,
            epochs=args.epochs,
            filters=filters,
            dense_units=args.dense_units,
            n_explain=args.explain,
            n_sanity=args.sanity,
            n_faithfulness=args.faithfulness,
            min_auroc=args.min_auroc,
            seed=args.seed,
            workers=args.workers,
            backend_params=samples,
        ).check()
        from mirnamap.saliency import list_backends

        unknown = [b for b in (config.backends or ()) if b not in list_backends()]
        if unknown:
            raise ValueError(f"unknown backend(s) {unknown}; known: {', '.join(list_backends())}")
        result = run_benchmark(config, log=lambda line: print(line, file=sys.stderr, flush=True))
    except ValueError as error:
        raise CommandError(str(error)) from None
    paths = write_results(result, args.output)
    print(format_table(result))
    print(f"wrote {len(paths)} files -> {args.output}")
    refused = [t for t in result.tasks if not t.model_ok]
    for task in refused:
        print(
            f"{task.task}: model test AUROC {task.test_auroc:.3f} < {config.min_auroc}: "
            "explanation metrics withheld",
            file=sys.stderr,
        )
    return EXIT_ALL_FAILED if len(refused) == len(result.tasks) else 0


# ----------------------------------------------------------------------------- main

#: Subcommands in pipeline order; each adds its parser and sets ``run``.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_fold,
    _add_encode,
    _add_train,
    _add_predict,
    _add_explain,
    _add_benchmark,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from mirnamap import __version__

    parser = argparse.ArgumentParser(
        prog="mirnamap",
        description="Fold, encode, classify and explain RNA hairpins (pre-miRNA vs not).",
    )
    parser.add_argument("--version", action="version", version=f"mirnamap {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    for name, command in sub.choices.items():
        command.set_defaults(command=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CommandError as error:
        print(f"mirnamap {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
