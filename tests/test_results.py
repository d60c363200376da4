"""One surface for every result type: ``to_frame()``, ``failures_frame()`` and ``save()``
returning exactly the files it wrote. One test, fed every result the verbs return."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("keras")

FAILURE_COLUMNS = ["index", "id", "reason", "stage"]


def _predictions(ctx):
    from mirnamap.pipeline import predict_hairpins

    return predict_hairpins(ctx["fasta"], ctx["model"], workers=1), 2


def _explanation(ctx):
    from mirnamap.pipeline import explain_hairpins

    return explain_hairpins(ctx["fasta"], "gradient", ctx["model"], workers=1, progress=False), 2


def _inputs(ctx):
    from mirnamap.pipeline import read_source

    return read_source(ctx["fasta"], workers=1), 2


def _summary(ctx):
    from mirnamap.pipeline import stream_predictions

    out = ctx["tmp"] / "stream" / "p.tsv"
    return stream_predictions(ctx["fasta"], out, ctx["model"], chunk_size=2, workers=1), 2


def _motifs(ctx):
    from mirnamap.pipeline import explain_hairpins, motifs_of

    explanation = explain_hairpins(
        ctx["fasta"], "gradient", ctx["model"], workers=1, progress=False
    )
    return motifs_of(explanation, "gradient", motif_options={"min_support": 1}), 2


def _training_set(ctx):
    from mirnamap.pipeline import load_training_set

    negative = ctx["tmp"] / "negative.fa"
    negative.write_text(">n1\nGGGGCCCCAAAAUUUUGGGGAAAACCCC\n>n2\nACGUNA\n")
    return load_training_set(positive=ctx["fasta"], negative=negative, workers=1), 3


def _trained(ctx):
    from mirnamap.model import build_model
    from mirnamap.pipeline import TrainingSet, train_classifier

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 25, 100, 3), dtype=np.uint8)
    labels = np.array([0, 1] * 6, dtype=np.int8)
    data = TrainingSet(images, labels, None, ())
    trained = train_classifier(
        data, epochs=1, batch_size=4, validation_fraction=0.34,
        model=build_model(filters=(2, 2, 2), dense_units=4, seed=0),
    )  # fmt: skip
    return trained, 0


def _units(ctx):
    from mirnamap.encode import encode_folds
    from mirnamap.fold import fold
    from mirnamap.units import explain_units

    encoding = encode_folds(fold(list(ctx["hairpins"].values()), workers=1))
    lengths = [len(s) for s in encoding.sequences]
    found = explain_units(ctx["tiny_model"], encoding.images, encoding.layout, lengths, k=2)
    return found, 0


def _mutagenesis(ctx):
    from mirnamap.mutagenesis import ism

    found = ism(ctx["tiny_model"], list(ctx["hairpins"].values()), ids=list(ctx["hairpins"]),
                workers=1, progress=False)  # fmt: skip
    return found, 2


def _trained_ensemble(ctx):
    from mirnamap.members import train_ensemble

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (24, 25, 100, 3), dtype=np.uint8)
    labels = np.array([0, 1] * 12, dtype=np.int8)
    small = {"filters": (2, 2, 2), "dense_units": 4}
    found = train_ensemble(
        images, labels, members=2, folds=2, epochs=1, batch_size=8, architecture=small,
        checkpoint_dir=ctx["tmp"] / "checkpoints", verbose=False,
    )  # fmt: skip
    return found, 0


def _evaluation(ctx):
    from mirnamap.pipeline import evaluate_model, load_training_set

    negative = ctx["tmp"] / "negative.fa"
    negative.write_text(">n1\nGGGGCCCCAAAAUUUUGGGGAAAACCCC\n>n2\nACGUNA\n")
    data = load_training_set(positive=ctx["fasta"], negative=negative, workers=1)
    return evaluate_model({"tiny": ctx["tiny_model"]}, data), 3


RESULTS = {
    "TrainedEnsemble": _trained_ensemble,
    "Evaluation": _evaluation,
    "Mutagenesis": _mutagenesis,
    "Predictions": _predictions,
    "Explanation": _explanation,
    "Inputs": _inputs,
    "StreamSummary": _summary,
    "MotifResult": _motifs,
    "TrainingSet": _training_set,
    "TrainedClassifier": _trained,
    "UnitDecomposition": _units,
}


@pytest.fixture
def ctx(tmp_path, hairpins, hairpins_fasta, tiny_model, tiny_model_path):
    return {
        "tmp": tmp_path, "fasta": hairpins_fasta, "model": tiny_model_path,
        "tiny_model": tiny_model, "hairpins": hairpins,
    }  # fmt: skip


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_every_result_has_one_surface(kind, ctx):
    result, n_failed = RESULTS[kind](ctx)
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame.columns) > 0
    if kind != "MotifResult":  # a tiny model on two hairpins may call no seqlet
        assert len(frame) > 0
    failures = result.failures_frame()
    assert list(failures.columns) == FAILURE_COLUMNS
    assert len(failures) == n_failed
    folder = ctx["tmp"] / "saved"
    before = _files(ctx["tmp"])
    written = result.save(folder)
    assert isinstance(written, list) and written
    assert all(isinstance(p, Path) and p.is_file() and folder in p.parents for p in written)
    # What save() returns is exactly what it wrote: nothing more, nothing left out.
    assert set(written) == _files(ctx["tmp"]) - before


def test_every_exported_result_type_is_covered():
    import mirnamap

    exported = {
        name for name in mirnamap.__all__
        if isinstance(getattr(mirnamap, name), type) and hasattr(getattr(mirnamap, name), "save")
    }  # fmt: skip
    assert exported <= set(RESULTS), exported - set(RESULTS)


def test_a_single_file_result_saves_to_its_own_path(ctx):
    from mirnamap.pipeline import predict_hairpins

    result = predict_hairpins(ctx["fasta"], ctx["model"], workers=1)
    target = ctx["tmp"] / "p.tsv"
    assert result.save(target) == [target]
    assert result.save(ctx["tmp"] / "folder") == [ctx["tmp"] / "folder" / "predictions.tsv"]
    assert target.read_bytes() == (ctx["tmp"] / "folder" / "predictions.tsv").read_bytes()
