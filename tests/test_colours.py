"""Colour scaling shared by plots and exports: symmetric limits, no matplotlib on import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from mirnamap.colours import DIVERGING, symmetric_limit


def test_symmetric_limit():
    assert symmetric_limit([1.0, -3.0, np.nan]) == 3.0
    assert symmetric_limit([np.nan]) == 1.0
    assert symmetric_limit([0.0, 0.0]) == 1.0
    assert symmetric_limit([-np.inf, 2.0]) == 2.0
    assert symmetric_limit(np.zeros((0, 3))) == 1.0


def test_diverging_is_a_matplotlib_colour_map():
    from matplotlib import colormaps

    assert DIVERGING in colormaps


def test_importing_colours_does_not_import_matplotlib():
    code = "import sys, mirnamap.colours; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
