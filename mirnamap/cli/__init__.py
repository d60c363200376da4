"""The ``mirnamap`` command: one subcommand per stage, each one library call.

``fold -> encode -> train -> predict -> explain -> motifs``, plus ``methods`` and
``benchmark``. Each subcommand parses its arguments (:mod:`mirnamap.cli.parser`), makes
one call of the library (:mod:`mirnamap.cli.commands`: :mod:`mirnamap.pipeline` and the
stages) and reports. ``-o/--output`` always names a file, ``--out`` always a folder.

Exit status: 0 when at least one record has a result; 1 when the input was read but no
record could be processed; 2 for unusable input or an output that cannot be written (one
line on stderr naming the file, never a traceback). Records that fail are listed with their
reason (the first :data:`~mirnamap.cli.commands.SHOWN_FAILURES`; all of them are in the
output tables).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mirnamap.cli.commands import EXIT_ALL_FAILED, EXIT_USAGE, CommandError
from mirnamap.cli.parser import build_parser

__all__ = ["EXIT_ALL_FAILED", "EXIT_USAGE", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from mirnamap.errors import InputError
    from mirnamap.pipeline import kind_of_source

    args = build_parser().parse_args(argv)
    try:
        if args.command not in ("fold", "encode"):  # these two never load TensorFlow
            if getattr(args, "input", None) is not None:  # unusable input: said before it
                try:
                    kind_of_source(args.input)
                except InputError as error:
                    raise CommandError(str(error)) from None
            from mirnamap.model import import_tensorflow

            import_tensorflow(quiet=not args.verbose)
        return int(args.run(args))
    except CommandError as error:
        print(f"mirnamap {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
