"""``python -m mirnamap.cli``: the command line."""

import sys

from mirnamap.cli import main

sys.exit(main())
