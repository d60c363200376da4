"""What each subcommand does: one library call, then a report on the terminal."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence

__all__ = [
    "EXIT_ALL_FAILED",
    "EXIT_USAGE",
    "SHOWN_FAILURES",
    "CommandError",
    "run_benchmark",
    "run_encode",
    "run_evaluate",
    "run_explain",
    "run_fold",
    "run_methods",
    "run_motifs",
    "run_predict",
    "run_train",
]

EXIT_USAGE = 2  # unusable input, or an output that cannot be written
EXIT_ALL_FAILED = 1  # input read, but no record could be processed
#: Failed records listed on the terminal (the rest are counted).
SHOWN_FAILURES = 20


class CommandError(Exception):
    """Unusable input: the message is printed and the command exits with status 2."""


def _report_failures(failures: Sequence, total: int, what: str, where: str = "") -> None:
    """The failed records on stderr: a count, then the first few (id, reason)."""
    if not len(failures):
        return
    print(f"{len(failures)} of {total} records could not be {what}:", file=sys.stderr)
    for failure in list(failures)[:SHOWN_FAILURES]:
        print(f"  {failure.id}\t{' '.join(failure.reason.split())}", file=sys.stderr)
    if len(failures) > SHOWN_FAILURES:
        rest = f" (all of them: {where})" if where else ""
        print(f"  ... and {len(failures) - SHOWN_FAILURES} more{rest}", file=sys.stderr)


@contextlib.contextmanager
def _library_call() -> Iterator[None]:
    """Around the library call: unusable input, an unwritable output and a worker that died
    become one line and status 2; mirnamap's own warnings are printed plainly, each
    message once."""
    from mirnamap.errors import MirnamapWarning, WorkerError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (OSError, ValueError, WorkerError) as error:
            raise CommandError(str(error)) from None
        finally:
            ours = [str(w.message) for w in caught if issubclass(w.category, MirnamapWarning)]
            for message in dict.fromkeys(ours):
                print(f"warning: {message}", file=sys.stderr)


def _folding(args: argparse.Namespace) -> dict:
    return {"workers": args.workers, "temperature": args.temperature,
            "energy_params": args.energy_params}  # fmt: skip


def _streamed(args: argparse.Namespace) -> dict | None:
    """The streaming keywords, or None where none of --chunk-size/--resume/--scheduler."""
    if not (args.chunk_size or args.resume or args.scheduler):
        return None
    return {"chunk_size": args.chunk_size or 1000, "resume": args.resume,
            "executor": args.scheduler, "progress": True}  # fmt: skip


def _chunks(summary) -> str:
    resumed = f", {summary.n_resumed} resumed" if summary.n_resumed else ""
    return f" in {summary.n_chunks} chunks ({summary.records_per_second:.1f} records/s{resumed})"


def run_fold(args: argparse.Namespace) -> int:
    from mirnamap.datasets import load_fasta
    from mirnamap.errors import Failure
    from mirnamap.files import check_output_file
    from mirnamap.fold import fold, save_folds

    with _library_call():
        check_output_file(args.output, "--output")
        records = load_fasta(args.input)
        folds = fold(records.sequences, ids=records.ids, **_folding(args))
        save_folds(folds, args.output)
    failed = [Failure(k, f.id, f.error or "", "fold") for k, f in enumerate(folds) if not f.ok]
    _report_failures(failed, len(folds), "folded", str(args.output))
    print(f"folded {len(folds) - len(failed)} of {len(folds)} records -> {args.output}")
    return EXIT_ALL_FAILED if len(failed) == len(folds) else 0


def run_encode(args: argparse.Namespace) -> int:
    from mirnamap.encode import save_encoding, save_pngs
    from mirnamap.files import check_output_dir, check_output_file
    from mirnamap.pipeline import read_source

    with _library_call():
        check_output_file(args.output, "--output")
        if args.png is not None:
            check_output_dir(args.png, "--png")
        inputs = read_source(args.input, **_folding(args))
        if inputs.encoding is None:
            raise ValueError(f"{args.input}: images without sequences: nothing to encode")
        save_encoding(inputs.encoding, args.output)
        if args.png is not None:
            save_pngs(inputs.encoding.images, inputs.encoding.ids, args.png, scale=args.png_scale)
    encoding = inputs.encoding
    _report_failures(inputs.failures, len(inputs.ids), "encoded", str(args.output))
    cut = int((encoding.n_cut > 0).sum())
    print(
        f"encoded {len(encoding)} of {len(inputs.ids)} records -> {args.output}"
        + (f" ({cut} with columns cut off the 100-px canvas)" if cut else "")
    )
    return EXIT_ALL_FAILED if len(encoding) == 0 else 0


def _training_data(args: argparse.Namespace, positive=None, negative=None):
    from mirnamap.pipeline import load_training_set

    data = load_training_set(
        dataset=args.dataset if positive is None else None,
        positive=args.positive if positive is None else positive,
        negative=args.negative if positive is None else negative,
        images=args.images if positive is None else None, workers=args.workers,
    )  # fmt: skip
    total = len(data.labels) + len(data.failures)
    _report_failures(data.failures, total, "encoded (left out)")
    return data


def run_train(args: argparse.Namespace) -> int:
    from mirnamap.evaluate import format_metrics
    from mirnamap.files import check_output_file
    from mirnamap.pipeline import fit_ensemble, train_classifier, training_outputs

    given = {"epochs": args.epochs, "early_stopping": args.patience, "reduce_lr": args.reduce_lr}
    common = {k: (v or None if k != "epochs" else v) for k, v in given.items() if v is not None}
    common |= {"seed": args.seed, "batch_size": args.batch_size,
               "learning_rate": args.learning_rate, "verbose": True,
               "class_weight": "balanced" if args.class_weight == "balanced" else None}  # fmt: skip
    if args.output.suffix == ".zip":
        with _library_call():
            for path, flag in ((args.output, "-o"), (args.output.with_suffix(".md"), "-o")):
                check_output_file(path, flag)
            data = _training_data(args)
            test = None
            if args.test_positive is not None:
                test = _training_data(args, args.test_positive, args.test_negative)
            trained = fit_ensemble(
                data, test=test, members=args.members, folds=args.folds,
                calibration_fraction=args.calibration_fraction, init=args.init,
                freeze=args.freeze, threshold=args.threshold, checkpoint_dir=args.checkpoints,
                resume=args.resume, allow_overlap=args.allow_overlap, **common,
            )  # fmt: skip
            written = trained.save(args.output)
        print(trained.to_frame().to_string(index=False))
        print(f"ensemble -> {written[0]}; card -> {written[1]}")
        return 0
    if args.output.suffix != ".keras":
        raise CommandError(f"{args.output}: write one network to NAME.keras or an ensemble to "
                           "NAME.zip")  # fmt: skip
    with _library_call():
        outputs = training_outputs(args.output, args.metrics, args.curve)
        for path, flag in zip(outputs, ("-o", "--metrics", "--curve"), strict=True):
            check_output_file(path, flag)
        data = _training_data(args)
        defaults = {"epochs": 30, "early_stopping": 5} | common
        trained = train_classifier(
            data, validation_fraction=args.validation_fraction, gini=args.gini or None,
            gini_layer=args.gini_layer, **defaults,
        )  # fmt: skip
        model, metrics, curve = trained.save(args.output, args.metrics, args.curve)
    for name, scores in trained.metrics.items():
        print(f"{name}: {format_metrics(scores)}")
    print(f"model -> {model}; metrics -> {metrics}; learning curve -> {curve}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from mirnamap.files import check_output_dir
    from mirnamap.pipeline import evaluate_model

    models = [None if m == "bundled" else m for m in args.models]
    with _library_call():
        check_output_dir(args.out, "--out")
        data = _training_data(args)
        found = evaluate_model(models, data, threshold=args.threshold, batch_size=args.batch_size)
        written = found.save(args.out)
    columns = [
        c
        for c in (
            "model",
            "threshold",
            "accuracy",
            "sensitivity",
            "specificity",
            "mcc",
            "auroc",
            "auprc",
            "sens_at_spec_0.95",
            "ece",
        )
        if c in found.to_frame()
    ]
    print(found.to_frame()[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"wrote {len(written)} files -> {args.out}/")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from mirnamap.evaluate import format_metrics
    from mirnamap.files import check_output_file
    from mirnamap.pipeline import predict_hairpins, stream_predictions

    streamed = _streamed(args)
    options = {
        "members": args.members,
        "precision": args.precision,
        "threshold": args.threshold,
        "batch_size": args.batch_size,
        **_folding(args),
    }
    with _library_call():
        check_output_file(args.output, "--output")
        if streamed is not None:
            summary = stream_predictions(args.input, args.output, args.model, **options,
                                         **streamed)  # fmt: skip
        else:
            result = predict_hairpins(args.input, args.model, **options)
            result.save(args.output)
    if streamed is not None:  # the rows are written already: report from the file
        failed = list(summary.failures_frame().itertuples())
        _report_failures(failed, summary.n_records, "predicted", str(args.output))
        print(f"predicted {summary.n_ok} of {summary.n_records} records{_chunks(summary)} "
              f"-> {args.output}")  # fmt: skip
        return EXIT_ALL_FAILED if summary.n_ok == 0 else 0
    _report_failures(result.failures, len(result), "predicted", str(args.output))
    n_ok, n_positive = int(result.ok.sum()), int(np.sum(result.predicted == 1))
    whose = ", the model's operating point" if result.threshold_source == "model" else ""
    unsure = f"; {int(result.flagged.sum())} flagged unsure" if result.sd is not None else ""
    print(f"predicted {n_ok} of {len(result)} records ({n_positive} pre-miRNA at probability "
          f">= {result.threshold:g}{whose}{unsure}) -> {args.output}")  # fmt: skip
    if result.labels is not None:
        print(format_metrics(result.metrics()))
    return EXIT_ALL_FAILED if n_ok == 0 else 0


def run_explain(args: argparse.Namespace) -> int:
    from mirnamap.files import check_output_dir, check_output_file
    from mirnamap.pipeline import explain_hairpins, stream_explanations

    streamed = _streamed(args)
    if streamed is not None and args.html is not None:
        raise CommandError("--html needs every record in memory: leave out --chunk-size, "
                           "--resume and --scheduler")  # fmt: skip
    options = {
        "target": args.target,
        "ids": args.ids,
        "members": args.members,
        "precision": args.precision,
        "member_samples": args.member_samples,
        "batch_size": args.batch_size,
        "seed": args.seed,
        **_folding(args),
    }
    methods = ", ".join(args.method or ("the default method",))
    with _library_call():
        check_output_dir(args.out, "--out")
        if args.html is not None:
            check_output_file(args.html, "--html")
        if streamed is not None:
            summary = stream_explanations(
                args.input, args.out, args.method, args.model, pictures=not args.no_pictures,
                svg=args.svg, **options, **streamed,
            )  # fmt: skip
        else:  # the report draws the R, G, B channel maps
            result = explain_hairpins(args.input, args.method, args.model, progress=True,
                                      channels=args.html is not None, **options)  # fmt: skip
            result.save(args.out, pictures=not args.no_pictures, svg=args.svg)
            if args.html is not None:
                print(f"report -> {result.save_html(args.html)}")
    if streamed is not None:
        failed = list(summary.failures_frame().itertuples())
        _report_failures(failed, summary.n_records, "explained", str(args.out / "failed.tsv"))
        done = summary.n_records - len(failed)
        print(f"explained {done} of {summary.n_records} records with {methods}"
              f"{_chunks(summary)} -> {args.out}/")  # fmt: skip
        return EXIT_ALL_FAILED if done == 0 else 0
    _report_failures(result.failures, result.n_records, "explained", str(args.out / "failed.tsv"))
    if len(result) == 0:
        print("no record could be explained", file=sys.stderr)
    print(f"explained {len(result)} of {result.n_records} records with "
          f"{', '.join(result.methods)} -> {args.out}/ (saliency.tsv, summary.tsv"
          + ("; per record: track.png, hairpin_*.png, structure_*.png)" if not args.no_pictures
             else ")"))  # fmt: skip
    return EXIT_ALL_FAILED if len(result) == 0 else 0


def run_motifs(args: argparse.Namespace) -> int:
    from mirnamap.files import check_output_dir
    from mirnamap.pipeline import explain_hairpins, motifs_of
    from mirnamap.saliency import DEFAULT_METHOD

    method = args.method or DEFAULT_METHOD
    with _library_call():
        check_output_dir(args.out, "--out")
        explanation = explain_hairpins(
            args.input, [method], args.model, target=args.target, members=args.members,
            precision=args.precision, batch_size=args.batch_size, seed=args.seed,
            progress=True, **_folding(args),
        )  # fmt: skip
        result = motifs_of(
            explanation, method,
            seqlet_options={"width": args.width, "alpha": args.alpha, "sign": args.sign},
            motif_options={"k": min(args.core, args.width), "min_support": args.min_support},
        )  # fmt: skip
        written = result.save(args.out, logos=not args.no_logos)
    _report_failures(explanation.failures, explanation.n_records, "explained")
    searched = sum(1 for r in result.seqlets.reasons if not r)
    print(f"{len(result.seqlets)} seqlets in {searched} of {explanation.n_records} records, "
          f"{len(result.motifs)} motifs")  # fmt: skip
    for m in result.motifs.motifs[:5]:
        print(f"  {m.name}: {m.consensus} ({m.support} seqlets, {m.region})")
    names = sorted({p.relative_to(args.out).parts[0] for p in written})
    print(f"wrote {len(written)} files -> {args.out}/ ({', '.join(names)})")
    return EXIT_ALL_FAILED if searched == 0 else 0


def run_methods(args: argparse.Namespace) -> int:
    from mirnamap.pipeline import methods_frame

    frame = methods_frame()
    frame["method"] = [m + (" (default)" if d else "") for m, d in zip(frame["method"],
                       frame["default"], strict=True)]  # fmt: skip
    frame["verdict"] = [f"{lv}: {v}" if lv else v for lv, v in zip(frame["level"],
                        frame["verdict"], strict=True)]  # fmt: skip
    rows = frame[["method", "family", "passes", "verdict"]].to_numpy().tolist()
    widths = [max(len(r[k]) for r in rows) for k in range(3)]
    for row, use in zip(rows, frame["use"], strict=True):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[3])
        if use:
            print(" " * (sum(widths) + 6) + f"use: {use}")
    return 0


def run_benchmark(args: argparse.Namespace) -> int:
    from mirnamap.benchmark import BenchmarkConfig, format_table, run_benchmark, write_results
    from mirnamap.files import check_output_dir
    from mirnamap.saliency import cost_params

    with _library_call():
        check_output_dir(args.out, "--out")
        config = BenchmarkConfig(
            tasks=args.tasks, backends=args.backends, n_pairs=args.pairs, epochs=args.epochs,
            filters=args.filters, dense_units=args.dense_units, n_explain=args.explain,
            n_sanity=args.sanity, n_faithfulness=args.faithfulness, min_auroc=args.min_auroc,
            seed=args.seed, workers=args.workers, backend_params=cost_params(args.samples),
        ).check()  # fmt: skip
        result = run_benchmark(config, log=lambda line: print(line, file=sys.stderr, flush=True))
        paths = write_results(result, args.out)
    print(format_table(result))
    print(f"wrote {len(paths)} files -> {args.out}")
    refused = [t for t in result.tasks if not t.model_ok]
    for task in refused:
        print(f"{task.task}: model test AUROC {task.test_auroc:.3f} < {config.min_auroc}: "
              "explanation metrics withheld", file=sys.stderr)  # fmt: skip
    return EXIT_ALL_FAILED if len(refused) == len(result.tasks) else 0
