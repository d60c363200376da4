"""Shared fixtures: test data found relative to this file, never the working directory."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def encoder_vectors() -> list[dict[str, str]]:
    """Rows of the original encoder's test vectors (see data/README.md)."""
    with open(DATA / "encoder_vectors.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
