"""The argument parser, declared plainly: one block per subcommand."""

from __future__ import annotations

import argparse
from pathlib import Path

from mirnamap.cli import commands
from mirnamap.model import TARGETS
from mirnamap.pipeline import MEMBER_SAMPLES
from mirnamap.pipeline.data import TRAINING_SETS
from mirnamap.precision import PRECISIONS

__all__ = ["build_parser"]

_INPUT = "FASTA file (or .gz), folds TSV from 'mirnamap fold', or .npz from 'mirnamap encode'"


def _positive(text: str) -> int:
    """An integer >= 1 (argparse refuses anything else with status 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (an empty list is refused)."""
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected one or more comma-separated names")
    return names


def _integers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 16,24,32, got {text!r}") from None


def _common(p: argparse.ArgumentParser, *, folding: bool = True) -> None:
    p.add_argument("--workers", type=_positive, help="folding processes (default: all cores)")
    if folding:
        p.add_argument("--temperature", type=float, help="folding temperature in Celsius "
                       "(default: 37)")  # fmt: skip
        p.add_argument("--energy-params", help="ViennaRNA .par file or set, e.g. rna_turner1999")
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up messages too")


def _model_options(p: argparse.ArgumentParser, batch_size: int) -> None:
    p.add_argument("--model", type=Path, help="a .zip ensemble or .keras model (default: the "
                   "bundled ensemble)")  # fmt: skip
    p.add_argument("--members", type=_names, help="ensemble members to use, by index or name")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="arithmetic (float32 where unsupported; default: float32)",
    )
    p.add_argument("--batch-size", type=_positive, default=batch_size,
                   help=f"images per pass (default: {batch_size})")  # fmt: skip


def _stream_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chunk-size", type=_positive, help="stream: N records at a time")
    p.add_argument("--resume", action="store_true", help="stream, going on from an "
                   "interrupted run's journal")  # fmt: skip
    p.add_argument("--scheduler", help="stream on this Dask scheduler (e.g. tcp://host:8786)")


def _training_source(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--positive", type=Path, help="FASTA of pre-miRNAs (with --negative)")
    source.add_argument("--images", type=Path, help="labelled image .npz (images, labels)")
    source.add_argument("--dataset", choices=TRAINING_SETS, help="a bundled data set")
    p.add_argument("--negative", type=Path, help="FASTA of negatives (with --positive)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from mirnamap import __version__

    parser = argparse.ArgumentParser(
        prog="mirnamap",
        description="Fold, encode, classify and explain RNA hairpins (pre-miRNA vs not).",
    )
    parser.add_argument("--version", action="version", version=f"mirnamap {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def command(name: str, summary: str, description: str, run) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=summary, description=description)
        p.set_defaults(run=run, command=name)
        return p

    p = command("fold", "fold RNA sequences with ViennaRNA", "Fold every record of a FASTA "
                "file to its MFE structure: a TSV of id, sequence, structure, mfe, status, "
                "reason (one row per record).", commands.run_fold)  # fmt: skip
    p.add_argument("input", type=Path, help="FASTA file (or .gz)")
    p.add_argument("-o", "--output", type=Path, required=True, help="TSV file to write")
    _common(p)

    p = command("encode", "draw folded hairpins as 25 x 100 images", "Draw each hairpin as "
                "the 25 x 100 image of Cordero et al.; an .npz of images, ids and the "
                "pixel-to-nucleotide layout (failed records in failed_ids/_reasons).",
                commands.run_encode)  # fmt: skip
    p.add_argument("input", type=Path, help="FASTA file (or .gz) or folds TSV")
    p.add_argument("-o", "--output", type=Path, required=True, help=".npz file to write")
    p.add_argument("--png", type=Path, help="also one PNG per hairpin in this folder")
    p.add_argument("--png-scale", type=_positive, default=4, help="PNG enlargement (default: 4)")
    _common(p)

    p = command("train", "train a DeepMir CNN, or an ensemble of them, on labelled hairpins",
                "Train on two FASTA files, a labelled image .npz or a bundled set (its test "
                "split held out, checked for leakage and scored). '-o NAME.keras': one "
                "network (Adam, balanced class weights, early stopping on a stratified "
                "validation share), with a metrics JSON and a curve PNG. '-o NAME.zip': an "
                "ensemble of --members networks (seeds and validation folds apart, calibrated "
                "on a share no member sees) with its card and manifest, which 'predict "
                "--model' and 'explain --model' read; resumable with --checkpoints.",
                commands.run_train)  # fmt: skip
    _training_source(p)
    p.add_argument("-o", "--output", type=Path, required=True, help="NAME.keras or NAME.zip")
    p.add_argument("--metrics", type=Path, help="metrics JSON (.keras; default NAME.metrics.json)")
    p.add_argument("--curve", type=Path, help="curve PNG (.keras; default NAME.learning_curve.png)")
    p.add_argument("--epochs", type=_positive, help="most epochs (default: 30; ensemble 12)")
    p.add_argument("--patience", type=int, help="early stopping; 0 = off (default 5; ensemble 3)")
    p.add_argument("--validation-fraction", type=float, default=0.1, help="validation share")
    p.add_argument("--reduce-lr", type=int, help="halve the rate after N flat epochs (ens. 2)")
    p.add_argument("--batch-size", type=_positive, default=128, help="images per step")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--class-weight", choices=("balanced", "none"), default="balanced")
    p.add_argument("--seed", type=int, default=0, help="seed of split, weights and dropout")
    p.add_argument("--gini", type=float, default=0.0, help="Gini-bottleneck weight; 0 = off")
    p.add_argument("--gini-layer", choices=("logits", "dense"), default="logits")
    ensemble = p.add_argument_group("an ensemble (-o NAME.zip)")
    ensemble.add_argument("--members", type=_positive, default=5, help="networks (default 5)")
    ensemble.add_argument("--folds", type=_positive, default=5, help="validation folds")
    ensemble.add_argument(
        "--calibration-fraction",
        type=float,
        default=0.1,
        help="share held out to fit temperature, bias and threshold",
    )
    ensemble.add_argument("--init", help="fine-tune from 'bundled' or a .zip/.keras model")
    ensemble.add_argument("--freeze", choices=("conv",), help="keep the convolutions fixed")
    ensemble.add_argument(
        "--threshold",
        default="0.5",
        help="the stored operating point: a "
        "probability or specificity:S (on the calibration share)",
    )
    ensemble.add_argument("--checkpoints", type=Path, help="checkpoint every epoch here")
    ensemble.add_argument("--resume", action="store_true", help="go on from --checkpoints")
    ensemble.add_argument("--test-positive", type=Path, help="test FASTA to keep out (leakage)")
    ensemble.add_argument("--test-negative", type=Path, help="with --test-positive")
    ensemble.add_argument(
        "--allow-overlap",
        action="store_true",
        help="warn about test records in the training data, not refuse",
    )
    _common(p, folding=False)

    p = command("evaluate", "score models side by side on labelled hairpins", "Accuracy, "
                "sensitivity, specificity, MCC, AUROC, AUPRC, sensitivity at specificity "
                "0.90/0.95/0.99 and calibration error of each model (a bundled set: on its "
                "test split): metrics.tsv, metrics.json, and ROC, PR and reliability PNGs "
                "with every model on one plot.", commands.run_evaluate)  # fmt: skip
    p.add_argument("models", nargs="+", help="a .zip or .keras model, or 'bundled'")
    _training_source(p)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--threshold", type=float, help="every model's threshold (default: its own)")
    p.add_argument("--batch-size", type=_positive, default=256, help="images per pass")
    _common(p, folding=False)

    p = command("predict", "predict pre-miRNAs (the bundled ensemble by default)", "P(pre-"
                "miRNA) for every record: a TSV of id, probability, [sd, calibrated,] "
                "predicted, status, reason (and label, with metrics, for a labelled .npz).",
                commands.run_predict)  # fmt: skip
    p.add_argument("input", type=Path, help=_INPUT + ", or any .npz of images")
    p.add_argument("-o", "--output", type=Path, required=True, help="TSV file to write")
    p.add_argument("--threshold", type=float, help="call a pre-miRNA at probability >= this "
                   "(default: 0.5)")  # fmt: skip
    _model_options(p, 256)
    _stream_options(p)
    _common(p)

    p = command("explain", "saliency maps on the image, the sequence and the fold",
                "Explain each hairpin's prediction with saliency backends projected onto "
                "nucleotides ('mirnamap methods' lists them): per record PNG pictures and "
                "VARNA/forna colours; saliency.tsv, summary.tsv, pictures.tsv, failed.tsv.",
                commands.run_explain)  # fmt: skip
    p.add_argument("input", type=Path, help=_INPUT)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--method", type=_names, help="methods, comma-separated (default: the "
                   "one 'mirnamap methods' marks)")  # fmt: skip
    p.add_argument("--target", choices=tuple(TARGETS), default="pre-mirna", help="class explained")
    p.add_argument("--ids", type=_names, help="comma-separated record ids (default: all)")
    p.add_argument("--svg", action="store_true", help="also every picture as SVG")
    p.add_argument("--no-pictures", action="store_true", help="only the TSVs (fast)")
    p.add_argument("--html", type=Path, help="also an interactive, offline HTML report file")
    p.add_argument("--seed", type=int, default=0, help="seed of the stochastic backends")
    p.add_argument(
        "--member-samples",
        choices=MEMBER_SAMPLES,
        default="each",
        help="split: share SmoothGrad/SHAP samples among the members",
    )
    _model_options(p, 64)
    _stream_options(p)
    _common(p)

    p = command("motifs", "seqlets and motifs the model uses across hairpins", "Explain "
                "every hairpin with one backend, call seqlets beyond a null of shuffled "
                "maps and cluster them into motifs: seqlets.tsv, motifs.tsv, hairpins.tsv "
                "and logos/*.png.", commands.run_motifs)  # fmt: skip
    p.add_argument("input", type=Path, help=_INPUT)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--method", help="one backend (default: the one 'mirnamap methods' marks)")
    p.add_argument("--target", choices=tuple(TARGETS), default="pre-mirna", help="class explained")
    p.add_argument("--width", type=_positive, default=5, help="seqlet width in nt")
    p.add_argument("--alpha", type=float, default=0.05, help="level of the shuffled null")
    p.add_argument("--sign", choices=("both", "positive", "negative"), default="both")
    p.add_argument("--core", type=_positive, default=4, help="k-mer length seeding a motif")
    p.add_argument("--min-support", type=_positive, default=5, help="fewest seqlets a motif")
    p.add_argument("--no-logos", action="store_true", help="only the TSVs")
    p.add_argument("--seed", type=int, default=0, help="seed of the backends and the null")
    _model_options(p, 64)
    _common(p)

    p = command("methods", "list the explanation methods with their verdicts", "Every "
                "method 'explain' takes: family, cost per map, and the verdict of the "
                "ground-truth benchmark and the sanity check.", commands.run_methods)  # fmt: skip
    p.add_argument("--verbose", action="store_true", help="TensorFlow's start-up messages too")

    p = command("benchmark", "score backends on synthetic hairpins with known truth",
                "Train a classifier per synthetic task whose deciding nucleotides are known "
                "and score every backend's maps against the truth, with the sanity check and "
                "deletion curves (experiments/benchmark_saliency.py runs the full one).",
                commands.run_benchmark)  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--tasks", type=_names, default=("motif",), help="motif, structure, "
                   "interaction, additive (default: motif)")  # fmt: skip
    p.add_argument("--backends", type=_names, help="backend names (default: every one)")
    p.add_argument("--pairs", type=_positive, default=500, help="twin pairs per task")
    p.add_argument("--epochs", type=_positive, default=15, help="most training epochs")
    p.add_argument("--filters", type=_integers, default=(16, 24, 32), help="conv filters")
    p.add_argument("--dense-units", type=_positive, default=64, help="hidden dense units")
    p.add_argument("--explain", type=_positive, default=30, help="test hairpins explained")
    p.add_argument("--sanity", type=int, default=4, help="hairpins in the sanity check")
    p.add_argument("--faithfulness", type=int, default=8, help="hairpins in the deletion test")
    p.add_argument("--samples", type=_positive, default=16, help="cost of every backend")
    p.add_argument("--min-auroc", type=float, default=0.95, help="explain only above this")
    p.add_argument("--seed", type=int, default=0, help="seed of every random step")
    _common(p, folding=False)
    return parser
