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


# ----------------------------------------------------------------------------- main

#: Subcommands in pipeline order; each adds its parser and sets ``run``.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_fold, _add_encode]


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
