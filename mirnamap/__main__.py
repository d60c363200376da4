"""``python -m mirnamap``: the command line (:mod:`mirnamap.cli`)."""

import sys

from mirnamap.cli import main

sys.exit(main())
