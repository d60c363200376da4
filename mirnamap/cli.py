"""The ``mirnamap`` command: one subcommand per stage, each a thin layer over the library.

``fold -> encode -> train/predict -> explain``, plus ``benchmark``. Each subcommand parses
its arguments, checks that its outputs can be written, makes one library call
(:mod:`mirnamap.pipeline` for the inputs, predictions and explanations) and reports.
Records that fail are listed with their reason, never dropped; unusable input ends the
command with exit status 2 and a message naming the file and what is wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mirnamap.pipeline import MEMBER_SAMPLES, TARGETS
from mirnamap.precision import PRECISIONS

__all__ = ["build_parser", "main"]

EXIT_USAGE = 2  # unusable input
EXIT_ALL_FAILED = 1  # input read, but no record could be processed


class CommandError(Exception):
    """Unusable input: the message is printed and the command exits with status 2."""


def _positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (argparse refuses anything else with exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _names(text: str) -> tuple[str, ...]:
    """An argparse type: a comma-separated list of names."""
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _integers(text: str) -> tuple[int, ...]:
    """An argparse type: a comma-separated list of integers."""
    try:
        return tuple(int(t) for t in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 16,24,32, got {text!r}") from None


def _report_failures(failures: Sequence, total: int, what: str) -> None:
    """List every failed record (:class:`~mirnamap.encode.Failure`) on stderr: id, reason."""
    if not failures:
        return
    print(f"{len(failures)} of {total} records could not be {what}:", file=sys.stderr)
    for failure in failures:
        print(f"  {failure.id}\t{failure.reason}", file=sys.stderr)


@contextlib.contextmanager
def _library_call() -> Iterator[None]:
    """Around the one library call: unusable input becomes a CommandError (exit 2, no
    traceback); mirnamap's own warnings (duplicate ids, a precision fall-back) are printed
    plainly, each message once."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from None
        finally:
            ours = [str(w.message) for w in caught if w.category.__module__.startswith("mirnamap")]
            for message in dict.fromkeys(ours):
                print(f"warning: {message}", file=sys.stderr)


def _run_fold(args: argparse.Namespace) -> int:
    from mirnamap.datasets import load_fasta
    from mirnamap.encode import Failure
    from mirnamap.files import check_output_file
    from mirnamap.fold import fold, save_folds

    with _library_call():
        check_output_file(args.output, "--output")
        records = load_fasta(args.input)
    folds = fold(records.sequences, ids=records.ids, workers=args.workers)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_folds(folds, args.output)
    failed = [Failure(k, f.id, f.error or "", "fold") for k, f in enumerate(folds) if not f.ok]
    _report_failures(failed, len(folds), "folded")
    print(f"folded {len(folds) - len(failed)} of {len(folds)} records -> {args.output}")
    return EXIT_ALL_FAILED if len(failed) == len(folds) else 0


def _run_encode(args: argparse.Namespace) -> int:
    from mirnamap.encode import save_encoding, save_pngs
    from mirnamap.files import check_output_dir, check_output_file
    from mirnamap.pipeline import read_source

    with _library_call():
        check_output_file(args.output, "--output")
        if args.png is not None:
            check_output_dir(args.png, "--png")
        inputs = read_source(args.input, workers=args.workers)
    encoding = inputs.encoding
    if encoding is None:
        raise CommandError(f"{args.input}: images without sequences: nothing to encode")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_encoding(encoding, args.output)
    if args.png is not None:
        save_pngs(encoding.images, encoding.ids, args.png, scale=args.png_scale)
    _report_failures(inputs.failures, len(inputs.ids), "encoded")
    cut = int((encoding.n_cut > 0).sum())
    print(
        f"encoded {len(encoding)} of {len(inputs.ids)} records -> {args.output}"
        + (f" ({cut} with columns cut off the 100-px canvas)" if cut else "")
    )
    return EXIT_ALL_FAILED if len(encoding) == 0 else 0


def _streamed(args: argparse.Namespace) -> dict | None:
    """The streaming keywords of the library call, or None where none was asked for."""
    options = {
        "chunk_size": args.chunk_size or 1000,
        "resume": args.resume,
        "executor": args.scheduler,
        "temperature": args.temperature,
        "energy_params": args.energy_params,
    }
    asked = args.chunk_size or args.resume or args.scheduler
    return options if asked or args.temperature is not None or args.energy_params else None


def _chunks(summary: Any) -> str:
    """`` in N chunks (R records/s, M resumed)`` of a streamed run's summary."""
    resumed = f", {summary.n_resumed} resumed" if summary.n_resumed else ""
    return f" in {summary.n_chunks} chunks ({summary.records_per_second:.1f} records/s{resumed})"


def _failed_rows(path: Path, status_column: bool) -> list:
    """The failed records of a written TSV, read row by row (a :class:`Failure` each)."""
    import csv

    from mirnamap.encode import Failure

    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [
            Failure(k, row["id"], row["reason"], "")
            for k, row in enumerate(rows)
            if not status_column or row["status"] != "ok"
        ]


def _run_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from mirnamap.evaluate import format_metrics
    from mirnamap.files import check_output_file
    from mirnamap.pipeline import predict_hairpins

    if not 0.0 <= args.threshold <= 1.0:
        raise CommandError(f"--threshold must be in [0, 1], got {args.threshold}")
    streamed = _streamed(args)
    with _library_call():
        check_output_file(args.output, "--output")
        result = predict_hairpins(
            args.input,
            args.model,
            members=args.members,
            precision=args.precision,
            threshold=args.threshold,
            batch_size=args.batch_size,
            workers=args.workers,
            **({} if streamed is None else {"out": args.output, **streamed}),
        )
    if streamed is not None:  # the rows are written already: report from the file
        _report_failures(_failed_rows(args.output, True), result.n_records, "predicted")
        counts = f"{result.n_ok} of {result.n_records} records{_chunks(result)}"
        print(f"predicted {counts} -> {args.output}")
        return EXIT_ALL_FAILED if result.n_ok == 0 else 0
    result.save(args.output)
    _report_failures(result.failures, len(result), "predicted")
    n_ok, n_positive = int(result.ok.sum()), int(np.sum(result.predicted == 1))
    print(f"predicted {n_ok} of {len(result)} records ({n_positive} pre-miRNA) -> {args.output}")
    if result.labels is not None:
        print(format_metrics(result.metrics()))
    return EXIT_ALL_FAILED if n_ok == 0 else 0


def _run_train(args: argparse.Namespace) -> int:
    from mirnamap.evaluate import format_metrics
    from mirnamap.files import check_output_file
    from mirnamap.pipeline import load_training_set, train_classifier, training_outputs

    if args.output.suffix != ".keras":
        raise CommandError(f"{args.output}: the model file must end in .keras")
    with _library_call():
        # The default report paths too: they are written after the training.
        outputs = training_outputs(args.output, args.metrics, args.curve)
        for path, flag in zip(outputs, ("-o", "--metrics", "--curve"), strict=True):
            check_output_file(path, flag)
        data = load_training_set(
            dataset=args.dataset,
            positive=args.positive,
            negative=args.negative,
            images=args.images,
            workers=args.workers,
        )
        total = len(data.labels) + len(data.failures)
        _report_failures(data.failures, total, "encoded (left out of training)")
        trained = train_classifier(
            data,
            validation_fraction=args.validation_fraction,
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            class_weight="balanced" if args.class_weight == "balanced" else None,
            early_stopping=args.patience or None,
            reduce_lr=args.reduce_lr or None,
            verbose=True,
            gini=args.gini or None,
            gini_layer=args.gini_layer,
        )
    model, metrics, curve = trained.save(args.output, args.metrics, args.curve)
    for name, scores in trained.metrics.items():
        print(f"{name}: {format_metrics(scores)}")
    print(f"model -> {model}; metrics -> {metrics}; learning curve -> {curve}")
    return 0


def _run_explain(args: argparse.Namespace) -> int:
    from mirnamap.files import check_output_dir, check_output_file
    from mirnamap.pipeline import explain_hairpins, list_methods

    methods = args.method
    if methods == ("list",):
        print("\n".join(list_methods()))
        return 0
    streamed = _streamed(args)
    if streamed is None:
        extra = {"progress": True, "channels": args.html is not None}  # the report's R, G, B
    elif args.html is not None:
        raise CommandError("--html needs every record in memory: leave out the streaming options")
    else:
        extra = {"out": args.out, "pictures": not args.no_pictures, "svg": args.svg, **streamed}
    with _library_call():
        check_output_dir(args.out, "--out")
        if args.html is not None:
            check_output_file(args.html, "--html")
        result = explain_hairpins(
            args.input,
            methods,
            args.model,
            target=args.target,
            ids=args.ids,
            members=args.members,
            precision=args.precision,
            member_samples=args.member_samples,
            batch_size=args.batch_size,
            seed=args.seed,
            workers=args.workers,
            **extra,
        )
    if streamed is not None:  # the rows are written already: report from the files
        failed = _failed_rows(args.out / "failed.tsv", False)
        _report_failures(failed, result.n_records, "explained")
        done = result.n_records - len(failed)
        print(
            f"explained {done} of {result.n_records} records with {', '.join(methods)}"
            f"{_chunks(result)} -> {args.out}/"
        )
        return EXIT_ALL_FAILED if done == 0 else 0
    failed = result.save(args.out, pictures=not args.no_pictures, svg=args.svg)
    if args.html is not None:
        print(f"report -> {result.save_html(args.html)}")
    _report_failures((*result.failures, *failed), result.n_records, "explained")
    explained = len(result) - len(failed)
    if len(result) == 0:
        print("no record could be drawn: nothing to explain", file=sys.stderr)
    print(
        f"explained {explained} of {result.n_records} records with {', '.join(methods)} "
        f"-> {args.out}/ (per record: track.png, hairpin_*.png, structure_*.png; "
        "saliency.tsv, summary.tsv)"
    )
    return EXIT_ALL_FAILED if explained == 0 else 0


def _run_motifs(args: argparse.Namespace) -> int:
    from mirnamap.files import check_output_dir
    from mirnamap.pipeline import explain_hairpins, motifs_of

    with _library_call():
        check_output_dir(args.out, "--out")
        explanation = explain_hairpins(
            args.input,
            [args.method],
            args.model,
            target=args.target,
            members=args.members,
            precision=args.precision,
            batch_size=args.batch_size,
            seed=args.seed,
            workers=args.workers,
            progress=True,
        )
        result = motifs_of(
            explanation,
            args.method,
            seqlet_options={"width": args.width, "alpha": args.alpha, "sign": args.sign},
            motif_options={"k": min(args.core, args.width), "min_support": args.min_support},
        )
        written = result.save(args.out, logos=not args.no_logos)
    _report_failures(explanation.failures, explanation.n_records, "explained")
    searched = sum(1 for r in result.seqlets.reasons if not r)
    print(
        f"{len(result.seqlets)} seqlets in {searched} of {explanation.n_records} records, "
        f"{len(result.motifs)} motifs"
        + "".join(
            f"\n  {m.name}: {m.consensus} ({m.support} seqlets, {m.region})"
            for m in result.motifs.motifs[:5]
        )
        + f"\nwrote {len(written)} files -> {args.out}/ (seqlets.tsv, motifs.tsv, "
        "hairpins.tsv, logos/)"
    )
    return EXIT_ALL_FAILED if searched == 0 else 0


#: ``mirnamap benchmark`` options -> :class:`~mirnamap.benchmark.BenchmarkConfig` fields.
_BENCHMARK_FIELDS = {
    "tasks": "tasks", "backends": "backends", "pairs": "n_pairs", "epochs": "epochs",
    "filters": "filters", "dense_units": "dense_units", "explain": "n_explain",
    "sanity": "n_sanity", "faithfulness": "n_faithfulness", "min_auroc": "min_auroc",
    "seed": "seed", "workers": "workers",
}  # fmt: skip


def _run_benchmark(args: argparse.Namespace) -> int:
    from mirnamap.benchmark import BenchmarkConfig, format_table, run_benchmark, write_results
    from mirnamap.files import check_output_dir
    from mirnamap.saliency import cost_params

    with _library_call():
        check_output_dir(args.output, "--output")
        fields = {field: getattr(args, name) for name, field in _BENCHMARK_FIELDS.items()}
        config = BenchmarkConfig(**fields, backend_params=cost_params(args.samples)).check()
        result = run_benchmark(config, log=lambda line: print(line, file=sys.stderr, flush=True))
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


def _options(*specs: tuple) -> tuple[tuple, ...]:
    """Each option as (flags, type, default, help); the options of every command last."""
    common = (
        ("--workers", "positive", None, "folding processes (default: all cores)"),
        ("--verbose", "flag", None, "let TensorFlow's start-up messages through"),
    )
    return (*specs, *common)


_OUT = ("-o --output", "required", None, "file to write")
_MODEL = ("--model", Path, None, "a .zip ensemble or .keras model (default: the bundled one)")
_PRECISION = ("--precision", PRECISIONS, "float32", "arithmetic (float32 where unsupported)")
_MEMBERS = ("--members", _names, None, "ensemble members to use, by index or name (default: all)")
_SETS = ("human", "whole", "modhsa_train", "hsapseudo_train")
_IN = "FASTA file (or .gz), folds TSV from 'mirnamap fold', or .npz from 'mirnamap encode'"
#: Streaming, resuming and Dask (mirnamap.stream): any of them streams in chunks.
_STREAM = (
    ("--chunk-size", "positive", None, "stream: read, run and write N records at a time"),
    ("--resume", "flag", None, "stream, skipping the records an interrupted run wrote"),
    ("--scheduler", str, None, "stream on this Dask scheduler (ADDRESS, e.g. tcp://host:8786)"),
    ("--temperature", float, None, "folding temperature in Celsius (default: 37)"),
    ("--energy-params", str, None, "ViennaRNA .par file or set, e.g. rna_turner1999"),
)

#: Subcommands in pipeline order: name -> (help, description, options, run). Every
#: command lists each record that fails with its reason; unusable input exits with 2.
# fmt: off
COMMANDS: dict[str, tuple[str, str, tuple[tuple, ...], Callable[[argparse.Namespace], int]]] = {
    "fold": (
        "fold RNA sequences with ViennaRNA",
        "Fold every record of a FASTA file to its MFE structure and write a TSV: id, "
        "sequence, structure, mfe, status, reason (one row per record).",
        _options(("input", Path, None, "FASTA file (or .gz)"), _OUT),
        _run_fold,
    ),
    "encode": (
        "draw folded hairpins as 25 x 100 images",
        "Draw each hairpin as the 25 x 100 image of Cordero et al. and save images, ids and "
        "the pixel-to-nucleotide layout as .npz (failed records in failed_ids/_reasons).",
        _options(
            ("input", Path, None, "FASTA file (or .gz) or folds TSV"), _OUT,
            ("--png", Path, None, "also write one PNG per hairpin here (index.tsv: id -> file)"),
            ("--png-scale", "positive", 4, "PNG enlargement (1 = exact pixels)"),
        ),
        _run_encode,
    ),
    "train": (
        "train the DeepMir CNN on labelled hairpins",
        "Train the DeepMir CNN (Adam, balanced class weights, early stopping on a stratified "
        "validation share) on two FASTA files, a labelled image .npz or a bundled set (its "
        "test split held out and scored). Writes the model, a metrics JSON and a curve PNG.",
        _options(
            ("--positive", "source", None, "FASTA of pre-miRNAs (with --negative)"),
            ("--images", "source", None, "labelled image .npz (images, labels)"),
            ("--dataset", "source", _SETS, "a bundled data set"),
            ("--negative", Path, None, "FASTA of negatives (with --positive)"),
            ("-o --output", "required", None, "model file to write (.keras)"),
            ("--metrics", Path, None, "metrics JSON (default: NAME.metrics.json)"),
            ("--curve", Path, None, "learning-curve PNG (default: NAME.learning_curve.png)"),
            ("--epochs", "positive", 30, "most epochs"),
            ("--patience", int, 5, "early-stopping patience in epochs; 0 = off"),
            ("--validation-fraction", float, 0.1, "stratified share held out for validation"),
            ("--reduce-lr", int, 0, "halve the learning rate after this many flat epochs"),
            ("--batch-size", "positive", 128, "images per training step"),
            ("--learning-rate", float, 1e-3, "Adam's learning rate"),
            ("--class-weight", ("balanced", "none"), "balanced", "weigh classes by frequency"),
            ("--seed", int, 0, "seed of split, weights and dropout"),
            ("--gini", float, 0.0, "Gini-bottleneck penalty weight on --gini-layer; 0 = off"),
            ("--gini-layer", ("logits", "dense"), "logits", "layer the Gini penalty sparsifies"),
        ),
        _run_train,
    ),
    "predict": (
        "predict pre-miRNAs with the CNN (the bundled model by default)",
        "Predict P(pre-miRNA) for every record; writes a TSV with one row per input record: "
        "id, probability, predicted, status, reason (and label, with metrics printed, for a "
        "labelled .npz). Any .npz of images is read too.",
        _options(
            ("input", Path, None, _IN), _OUT, _MODEL, _MEMBERS, _PRECISION,
            ("--threshold", float, 0.5, "call a pre-miRNA at probability >= this"),
            ("--batch-size", "positive", 256, "images per batch"),
            *_STREAM,
        ),
        _run_predict,
    ),
    "explain": (
        "saliency maps on the image, the sequence and the fold of each hairpin",
        "Explain each hairpin's prediction with one or more saliency backends, projected onto "
        "nucleotides: per record PNG pictures and VARNA/forna colours; for all records "
        "saliency.tsv, summary.tsv, pictures.tsv (id -> folder) and failed.tsv.",
        _options(
            ("input", Path, None, _IN),
            ("--method", _names, "smoothgrad_guided_backprop", "backends, comma-separated; 'list'"),
            ("--out", "required", None, "output folder"), _MODEL, _MEMBERS, _PRECISION,
            ("--target", tuple(TARGETS), "pre-mirna", "class whose logit is explained"),
            ("--ids", _names, None, "comma-separated record ids (default: all)"),
            ("--svg", "flag", None, "also write every picture as SVG"),
            ("--no-pictures", "flag", None, "write only the TSVs (fast, for thousands)"),
            ("--html", Path, None, "also write an interactive, offline HTML report here"),
            ("--batch-size", "positive", 64, "images per saliency pass"),
            ("--seed", int, 0, "seed of the stochastic backends"),
            ("--member-samples", MEMBER_SAMPLES, "each", "split: share SmoothGrad/SHAP samples "
             "among the members (1/K the cost, no member spread)"),
            *_STREAM,
        ),
        _run_explain,
    ),
    "motifs": (
        "seqlets and motifs the model uses across hairpins, with logos",
        "Explain every hairpin with one backend, call seqlets (short high-|score| stretches "
        "beyond a null of shuffled maps) and cluster them across hairpins into motifs "
        "(forward strand, per region). Writes seqlets.tsv (hairpin, position, region, "
        "sequence, score, motif), motifs.tsv, hairpins.tsv (every record) and logos/*.png.",
        _options(
            ("input", Path, None, _IN),
            ("--method", str, "smoothgrad_guided_backprop", "one saliency backend"),
            ("--out", "required", None, "output folder"), _MODEL, _MEMBERS, _PRECISION,
            ("--target", tuple(TARGETS), "pre-mirna", "class whose logit is explained"),
            ("--width", "positive", 5, "seqlet width in nucleotides"),
            ("--alpha", float, 0.05, "per-hairpin level of the shuffled-map null"),
            ("--sign", ("both", "positive", "negative"), "both", "which seqlets count"),
            ("--core", "positive", 4, "k-mer length seeding a motif"),
            ("--min-support", "positive", 5, "fewest seqlets of a motif"),
            ("--no-logos", "flag", None, "write only the TSVs"),
            ("--batch-size", "positive", 64, "images per saliency pass"),
            ("--seed", int, 0, "seed of the backends and of the null"),
        ),
        _run_motifs,
    ),
    "benchmark": (
        "score saliency backends on synthetic hairpins with known truth",
        "Train a classifier per synthetic task whose deciding nucleotides are known and score "
        "every backend's maps against the truth, with the sanity check and deletion curves. "
        "The defaults are small; experiments/benchmark_saliency.py runs the full one.",
        _options(
            ("-o --output", "required", None, "folder to write"),
            ("--tasks", _names, "motif", "comma-separated: motif, structure, interaction, additive"),  # noqa: E501
            ("--backends", _names, None, "comma-separated backend names (default: every one)"),
            ("--pairs", "positive", 500, "twin pairs per task"),
            ("--epochs", "positive", 15, "most training epochs"),
            ("--filters", _integers, "16,24,32", "conv filters (published: 48,60,72)"),
            ("--dense-units", "positive", 64, "hidden dense units (published: 256)"),
            ("--explain", "positive", 30, "test hairpins explained"),
            ("--sanity", int, 4, "hairpins in the sanity check (0 skips)"),
            ("--faithfulness", int, 8, "hairpins in the deletion test (0 skips)"),
            ("--samples", "positive", 16, "cost of every backend that has one (samples, steps)"),
            ("--min-auroc", float, 0.95, "explain only models reaching this test AUROC"),
            ("--seed", int, 0, "seed of every random step"),
        ),
        _run_benchmark,
    ),
}
# fmt: on


def _add_option(p: argparse.ArgumentParser, group, flags: str, kind, default, what: str) -> None:
    """One option of a :data:`COMMANDS` spec (see the types handled here)."""
    names = flags.split()
    if kind == "flag":
        p.add_argument(*names, action="store_true", help=what)
    elif kind == "source":  # one of the required, mutually exclusive sources
        choices = {"choices": default} if isinstance(default, tuple) else {"type": Path}
        group.add_argument(*names, help=what, **choices)
    elif kind == "required":
        p.add_argument(
            *names, type=Path, required=True, metavar=names[-1].strip("-").upper(), help=what
        )
    elif names[0][0] != "-":
        p.add_argument(*names, type=kind, help=what)
    else:
        typed = (
            {"choices": kind}
            if isinstance(kind, tuple)
            else {"type": _positive_int if kind == "positive" else kind}
        )
        shown = "" if default is None or "default" in what else f" (default: {default})"
        p.add_argument(*names, default=default, help=what + shown, **typed)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`COMMANDS`."""
    from mirnamap import __version__

    parser = argparse.ArgumentParser(
        prog="mirnamap",
        description="Fold, encode, classify and explain RNA hairpins (pre-miRNA vs not).",
    )
    parser.add_argument("--version", action="version", version=f"mirnamap {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name, (summary, description, options, run) in COMMANDS.items():
        p = sub.add_parser(name, help=summary, description=description)
        group = None
        if any(kind == "source" for _, kind, _, _ in options):
            group = p.add_mutually_exclusive_group(required=True)
        for option in options:
            _add_option(p, group, *option)
        p.set_defaults(run=run, command=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command not in ("fold", "encode"):
        from mirnamap.model import import_tensorflow

        import_tensorflow(quiet=not args.verbose)
    try:
        return int(args.run(args))
    except CommandError as error:
        print(f"mirnamap {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
