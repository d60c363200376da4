"""The first default ensemble: K DeepMir networks trained on the union of the public sets.

Issue 12. Since issue 24 the bundled ensemble is ``experiments/default_ensemble.py``'s;
this script reproduces the one before it (the "previous ensemble" row there).

One reproducible script, three steps (each resumable; ``--step all`` runs them):

``data``
    The training pool, cached in ``out/cache/`` (its manifest, with every exclusion, in
    ``experiments/results/ensemble/data.json``):

    * the deepMiRGene human and cross-species sets (folded by ViennaRNA, drawn by
      mirnamap), without their test splits;
    * the DeepMir image sets ``modhsa_train`` and ``hsapseudo_train`` (RNAfold 2.1.3 folds,
      drawn by the original encoder);
    * hard negatives: one dinucleotide-preserving shuffle
      (:func:`mirnamap.datasets.dinucleotide_shuffle`, seeded) of each deepMiRGene training
      positive, folded and drawn.

    No test leakage (:func:`mirnamap.overlap.overlap`): every record whose sequence is in a
    test set (human test, cross-species test, "new") is removed, and so is every record
    that matches a DeepMir test image. The DeepMir sets carry names, not sequences, so their
    images are matched by reading the sequence back out of the colours
    (:func:`mirnamap.encode.read_strands`: an image matches a sequence when both its strands
    occur in it) and, between image sets, byte for byte or by the same strands.
    Duplicates (the human set is part of the cross-species set) are kept once; sequences
    with both labels are dropped. The pool is split, stratified and seeded, into five folds
    and a calibration share (10 %) that no member trains or stops on.

``train``
    :func:`mirnamap.members.train_ensemble` on the pool, with its folds and calibration
    share: member k trains from scratch (seed ``seed + k``) on the four folds other than k,
    with balanced class weights, stopping early on fold k. Every member checkpoints every
    epoch in ``out/ensemble_checkpoints/``, so an interrupted run resumes from the last
    completed epoch (bit for bit as an uninterrupted one). Writes
    ``experiments/results/ensemble/ensemble.zip`` (the artifact, with its card and the
    manifest of the pool) and, for ``evaluate``, each member as ``member_k.keras`` with its
    history in ``member_k.json``. (Once bundled, the networks are removed from the
    repository, the histories kept: the bundle holds the same networks, and ``evaluate``
    reads them from it.) The same step from the command line, once the pool is an image
    archive: ``mirnamap train --images pool.npz --members 5``.

``evaluate``
    The ensemble (logits averaged over members), each member and the earlier bundled model
    on every test set; a temperature fitted on the calibration share; the expected
    calibration error on the pooled test splits with a reliability diagram; how different
    the members are. Writes ``experiments/results/ensemble.md`` and ``ensemble.json``, and
    with ``--bundle`` the artifact ``mirnamap/assets/deepmir_ensemble.zip``.

Budget on 2 CPU cores: about 24,000 pool images; about 200 training images/s, so one
member (19,000 images a pass, at most ``--epochs`` passes) takes 1.5 min an epoch.

    python experiments/train_ensemble.py --step all
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CACHE,
    RESULTS,
    deepmirgene_training_records,
    encoded_deepmirgene,
    versions,
)

from mirnamap.overlap import normalise, overlap

OUT = RESULTS / "ensemble"
TEST_SETS = ("human_test", "whole_test", "new", "modhsa_test", "hsapseudo_test", "shuffled")
#: Share of the pool held out of every member for fitting the temperature.
CALIBRATION = 0.1


class Pool(NamedTuple):
    """The training pool: ``images`` (M, 25, 100, 3), ``labels`` (M,), ``source`` (M,)
    naming the set each image came from, and ``part`` (M,): 0..4 = fold, 5 = calibration."""

    images: np.ndarray
    labels: np.ndarray
    source: np.ndarray
    part: np.ndarray


def _clean(sequence: str) -> str:
    return normalise(sequence)


def _fold_and_draw(sequences: list[str], ids: list[str]):
    from mirnamap.pipeline import read_source

    return read_source(dict(zip(ids, sequences, strict=True)))


def test_sets(seed: int) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    """Every test set as (images, labels), and the test sequences (for the exclusions)."""
    from mirnamap.datasets import dinucleotide_shuffle, load_deepmir

    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    sequences: dict[str, list[str]] = {}
    for name, split in (("human_test", "human"), ("whole_test", "whole"), ("new", "new")):
        data = encoded_deepmirgene(split)
        keep = np.ones(len(data.labels), bool) if name == "new" else data.splits == "test"
        sets[name] = (data.images[keep], data.labels[keep])
        sequences[name] = _sequences_and_labels(name)[0]  # drawn or not
    for name in ("modhsa_test", "hsapseudo_test"):
        image_set = load_deepmir(name)
        sets[name] = (image_set.images, image_set.labels)
    # Shuffles of the test positives: hairpin-like composition, no hairpin biology.
    positives = sorted(
        {
            _clean(s)
            for name in ("human_test", "whole_test", "new")
            for s, label in zip(*_sequences_and_labels(name), strict=True)
            if label == 1
        }
    )
    rng = np.random.default_rng(seed + 1000)
    shuffled = [dinucleotide_shuffle(s, rng) for s in positives]
    inputs = _fold_and_draw(shuffled, [f"shuffled_test_{k}" for k in range(len(shuffled))])
    sets["shuffled"] = (inputs.images, np.zeros(len(inputs.images), dtype=np.int8))
    return sets, {k: [_clean(s) for s in v] for k, v in sequences.items()}


def _sequences_and_labels(name: str) -> tuple[list[str], list[int]]:
    """Sequences and labels of a test set of deepMiRGene (all records, drawn or not)."""
    from mirnamap.datasets import load_deepmirgene

    split = {"human_test": "human", "whole_test": "whole", "new": "new"}[name]
    records = load_deepmirgene(split)  # type: ignore[arg-type]
    keep = [k for k, s in enumerate(records.splits) if name == "new" or s == "test"]
    return [records.sequences[k] for k in keep], [int(records.labels[k]) for k in keep]


def build_pool(seed: int) -> tuple[Pool, dict]:
    """The training pool and its manifest (counts and exclusions)."""
    from mirnamap.datasets import dinucleotide_shuffle, load_deepmir
    from mirnamap.train import stratified_split

    _, test_sequences = test_sets(seed)
    banned = set().union(*map(set, test_sequences.values()))
    test_images = np.concatenate(
        [load_deepmir(n).images for n in ("modhsa_test", "hsapseudo_test")]
    )
    manifest: dict = {"seed": seed, "sources": {}, "excluded": {}}

    # deepMiRGene training records, once per sequence, both labels -> dropped.
    by_sequence, conflicts = deepmirgene_training_records()
    candidates = [s for s in by_sequence if s not in conflicts]
    in_test = [s for s in candidates if s in banned]
    candidates = [s for s in candidates if s not in banned]
    hit = np.zeros(len(candidates), dtype=bool)
    hit[overlap(candidates, test_images).train_records] = True
    manifest["excluded"]["deepmirgene: sequence in a deepMiRGene test set"] = len(in_test)
    manifest["excluded"]["deepmirgene: matches a DeepMir test image"] = int(hit.sum())
    manifest["excluded"]["deepmirgene: sequence with both labels"] = len(conflicts)
    kept = [s for s, h in zip(candidates, hit, strict=True) if not h]
    images = [by_sequence[s][0] for s in kept]
    labels = [by_sequence[s][1] for s in kept]
    source = [f"deepmirgene_{by_sequence[s][2]}" for s in kept]

    # DeepMir training images.
    seen: set[bytes] = set()
    for name in ("modhsa_train", "hsapseudo_train"):
        image_set = load_deepmir(name)
        leak = np.zeros(len(image_set), dtype=bool)
        leak[overlap(image_set.images, sorted(banned)).train_records] = True
        # The same image or the same two strands as a DeepMir test image (strands of any
        # length, as before the check moved into the library).
        same = np.zeros(len(image_set), dtype=bool)
        same[overlap(image_set.images, test_images, min_strand=1).train_records] = True
        duplicate = np.zeros(len(image_set), dtype=bool)
        for k, image in enumerate(image_set.images):
            duplicate[k] = image.tobytes() in seen
            seen.add(image.tobytes())
        drop = leak | same | duplicate
        manifest["excluded"][f"{name}: matches a deepMiRGene test sequence"] = int(leak.sum())
        manifest["excluded"][f"{name}: same image or strands as a DeepMir test image"] = int(
            (~leak & same).sum()
        )
        manifest["excluded"][f"{name}: duplicate image"] = int((duplicate & ~leak & ~same).sum())
        images += list(image_set.images[~drop])
        labels += [int(v) for v in image_set.labels[~drop]]
        source += [name] * int((~drop).sum())

    # Hard negatives: shuffles of the deepMiRGene training positives.
    rng = np.random.default_rng(seed)
    positives = [
        s for s, label in zip(kept, [by_sequence[s][1] for s in kept], strict=False) if label == 1
    ]
    shuffled = [dinucleotide_shuffle(s, rng) for s in positives]
    inputs = _fold_and_draw(shuffled, [f"shuffled_{k}" for k in range(len(shuffled))])
    manifest["excluded"]["shuffles: no hairpin image"] = len(inputs.failures)
    images += list(inputs.images)
    labels += [0] * len(inputs.images)
    source += ["shuffled_positive"] * len(inputs.images)

    labels_array = np.array(labels, dtype=np.int8)
    part = np.full(len(labels_array), -1, dtype=np.int8)
    calibration = stratified_split(labels_array, CALIBRATION, seed)
    part[calibration] = 5
    rest = np.flatnonzero(~calibration)
    order = rng.permutation(len(rest))
    # Stratified folds: deal each class's records round-robin over the five folds.
    for value in (0, 1):
        members = rest[order][labels_array[rest[order]] == value]
        part[members] = np.arange(len(members)) % 5
    source_array = np.array(source)
    for name in np.unique(source_array):
        mask = source_array == name
        manifest["sources"][str(name)] = {
            "images": int(mask.sum()),
            "positives": int(labels_array[mask].sum()),
        }
    manifest["n_images"] = len(labels_array)
    manifest["n_positives"] = int(labels_array.sum())
    return Pool(np.stack(images), labels_array, source_array, part), manifest


def pool_path(seed: int) -> Path:
    return CACHE / f"ensemble_pool_seed{seed}.npz"


def load_pool(seed: int) -> Pool:
    """The cached pool (built, with its manifest written, on first use)."""
    path = pool_path(seed)
    if not path.is_file():
        start = time.time()
        pool, manifest = build_pool(seed)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **pool._asdict())
        manifest["seconds"] = round(time.time() - start)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "data.json").write_text(json.dumps(manifest, indent=2) + "\n")
        print(json.dumps(manifest, indent=2), flush=True)
    with np.load(path, allow_pickle=False) as data:
        return Pool(**{f: data[f] for f in Pool._fields})


def train_members(pool: Pool, args: argparse.Namespace) -> None:
    """Train the ensemble with :func:`mirnamap.members.train_ensemble` (resumable from its
    checkpoints) on the pool's folds and calibration share; write the artifact and each
    member with its history for ``evaluate``."""
    from mirnamap.members import CALIBRATION as CALIBRATION_SPLIT
    from mirnamap.members import train_ensemble
    from mirnamap.model import save_model

    OUT.mkdir(parents=True, exist_ok=True)
    start = time.time()
    result = train_ensemble(
        pool.images,
        pool.labels,
        members=args.members,
        seed=args.seed,
        folds=5,
        split=np.where(pool.part == 5, CALIBRATION_SPLIT, pool.part).astype(np.int8),
        epochs=args.epochs,
        class_weight="balanced",
        early_stopping=args.patience,
        reduce_lr=2,
        checkpoint_dir=CACHE.parent / "ensemble_checkpoints",
        resume=True,  # a fresh folder starts a run; one that holds this run continues it
        sources=[str(s) for s in pool.source],
        verbose=True,
    )
    result.save(OUT / "ensemble.zip")
    for k, (member, record) in enumerate(zip(result.ensemble.members, result.members, strict=True)):
        save_model(member, OUT / f"member_{k}.keras")
        summary = {
            "member": k,
            "seed": record.seed,
            "held_out_fold": record.fold,
            "n_train": record.n_train,
            "n_validation": record.n_validation,
            "epochs_run": record.epochs_run,
            "seconds": round(record.seconds),
            "train_images_per_s": round(record.n_train * record.epochs_run / record.seconds, 1),
            "history": record.history,
        }
        (OUT / f"member_{k}.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"member {k}: {record.epochs_run} epochs in {record.seconds:.0f} s", flush=True)
    print(f"ensemble of {args.members} in {time.time() - start:.0f} s -> {OUT / 'ensemble.zip'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", choices=("data", "train", "evaluate", "all"), default="all")
    parser.add_argument("--members", type=int, default=5, help="K (default: 5)")
    parser.add_argument("--epochs", type=int, default=12, help="most epochs a member")
    parser.add_argument("--patience", type=int, default=3, help="early-stopping patience")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pool and members")
    parser.add_argument("--bundle", action="store_true", help="write the bundled artifact")
    args = parser.parse_args()
    pool = load_pool(args.seed)
    print(f"pool: {len(pool.labels)} images, {int(pool.labels.sum())} positives", flush=True)
    if args.step in ("train", "all"):
        train_members(pool, args)
    if args.step in ("evaluate", "all"):
        from _ensemble_report import evaluate

        evaluate(pool, args, test_sets(args.seed)[0], versions())


if __name__ == "__main__":
    main()
