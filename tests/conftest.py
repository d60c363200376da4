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


#: Two real pre-miRNA hairpins (miRBase hsa-let-7a-1 and hsa-mir-21), a record that cannot
#: be folded (N) and one that folds to no hairpin loop: every fate a record can have.
HAIRPINS = {
    "let7": "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA",
    "bad": "ACGUNACGU",
    "flat": "A" * 24,
    "mir21": "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA",
}


@pytest.fixture(scope="session")
def hairpins() -> dict[str, str]:
    """id -> sequence: let-7a-1, mir-21, one unfoldable and one loopless record."""
    return dict(HAIRPINS)


@pytest.fixture(scope="session")
def hairpins_fasta(tmp_path_factory, hairpins) -> Path:
    """:func:`hairpins` as a FASTA file."""
    path = tmp_path_factory.mktemp("hairpins") / "hairpins.fa"
    path.write_text("".join(f">{i}\n{s}\n" for i, s in hairpins.items()))
    return path


@pytest.fixture(scope="session")
def tiny_model():
    """A DeepMir network with 4 filters per convolution and 8 dense units (seed 0):
    the published architecture, small enough to explain in milliseconds."""
    pytest.importorskip("keras")
    from mirnamap.model import build_model

    return build_model(filters=(4, 4, 4), dense_units=8, seed=0)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory, tiny_model) -> Path:
    """:func:`tiny_model` saved as a ``.keras`` file."""
    from mirnamap.model import save_model

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(tiny_model, path)
    return path


@pytest.fixture(scope="module")
def good_structures() -> dict[str, str]:
    """The MFE structure of let-7a-1 and mir-21, by sequence."""
    from mirnamap.fold import fold

    good = [HAIRPINS["let7"], HAIRPINS["mir21"]]
    return {f.sequence: f.structure for f in fold(good, workers=1)}


@pytest.fixture(scope="module")
def good_fasta(tmp_path_factory) -> Path:
    """let-7a-1 and mir-21 as a FASTA file (records that every stage takes)."""
    path = tmp_path_factory.mktemp("fasta") / "good.fa"
    path.write_text(f">let7\n{HAIRPINS['let7']}\n>mir21\n{HAIRPINS['mir21']}\n")
    return path


@pytest.fixture(scope="module")
def good_encoded(tmp_path_factory, good_fasta) -> Path:
    """:func:`good_fasta` as an archive written by ``mirnamap encode``."""
    from mirnamap.cli import main

    path = tmp_path_factory.mktemp("npz") / "good.npz"
    assert main(["encode", str(good_fasta), "-o", str(path), "--workers", "1"]) == 0
    return path
