"""Training recipes compared at one budget, one member each (issue 24, step 1).

Every arm trains one DeepMir member (:func:`mirnamap.members.train_ensemble` with
``members=1``: the published network, balanced class weights, early stopping on fold 0,
a temperature and bias fitted on a 10 % calibration share) on a reduced pool of the
bundled recipe's sources, and is scored on DeepMir's and deepMiRGene's test sets:

``baseline``
    The bundled recipe (``experiments/train_ensemble.py``): the deepMiRGene human and
    cross-species training records (ViennaRNA folds), DeepMir's ``modhsa_train`` and
    ``hsapseudo_train`` images, and one dinucleotide shuffle of each deepMiRGene positive,
    reduced to ``--pool`` images (stratified by source), at most ``--epochs`` epochs,
    patience 3.
``pseudo_hairpins``
    A share (``--share``) of the training negatives replaced by coding-like
    pseudo-hairpins (:func:`mirnamap.negatives.pseudo_hairpins`: a third-order Markov
    model of the training folds' deepMiRGene negatives, folded, kept by the classic
    criteria), mined: three candidates drawn for each one kept, the ones the baseline
    member scores highest kept (:func:`mirnamap.negatives.hardest_negatives`).
``fold_augmentation``
    A share of the training images replaced by Boltzmann samples and 30/45 C folds of
    the training folds' deepMiRGene sequences (:func:`mirnamap.augment.augment_folds`),
    the same number of other training images of each class removed. Augmented images
    inherit their sequence's fold and never enter the validation fold or the
    calibration share.
``long_schedule``
    The baseline pool, ``--long`` times the epochs and twice the patience.
``pretrain``
    DeepMir's own recipe: the member first trains on the human-free part of the
    baseline pool (deepMiRGene's cross-species records of other species, and their
    shuffles), then is fine-tuned (``init``, every layer, learning rate 1e-4) on the
    human part (deepMiRGene human, ``modhsa_train``, ``hsapseudo_train``, the shuffles of
    human positives), each phase at most ``--epochs`` epochs, on the same folds.
``pretrain_pseudo``
    ``pretrain`` on the ``pseudo_hairpins`` pool (the pseudo-hairpins, made from human
    coding-like negatives, in the fine-tuning phase).

The first three arms train the same number of images per epoch for the same most epochs;
every row states its budget (training images x epochs run, and the seconds it took).
Test records are kept out of every arm (:func:`mirnamap.overlap.overlap`, by sequence,
by strands and by image; the numbers removed are in the table's notes), and every
arm's final training set is checked again before it trains (an error if one is left).

Writes ``experiments/results/recipes.md`` and ``recipes.json``. ``--smoke`` runs every
step on a tiny subset (a few hundred images, one or two epochs, test sets subsampled) in
under two minutes on 2 cores and writes nothing to ``experiments/results``.

    python experiments/recipes.py               # the comparison (see the budget below)
    python experiments/recipes.py --smoke       # a check that every step runs

Budget on 2 CPU cores: about 200 training images/s (``train_ensemble.py``), so an arm
of ``--pool`` 6,000 (4,300 training images) and 12 epochs takes about 4-5 min, the long
schedule three times that; the test sets' folding about 1 min once (cached).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, deepmirgene_training_records, encoded_deepmirgene, versions

from mirnamap.overlap import Hairpins, normalise, overlap

ARMS = (
    "baseline",
    "pseudo_hairpins",
    "fold_augmentation",
    "long_schedule",
    "pretrain",
    "pretrain_pseudo",
)
#: The human part of the pool, which the pre-trained arms fine-tune on (the rest, the
#: cross-species records of other species and their shuffles, is what they pre-train on).
HUMAN_SOURCES = ("deepmirgene_human", "modhsa_train", "hsapseudo_train",
                 "shuffled_deepmirgene_human", "pseudo_hairpin")  # fmt: skip
#: Learning rate of the fine-tuning phase (the pre-training phase has the default 1e-3).
FINE_TUNE_RATE = 1e-4
#: Issue 24's figures: (test set, metric, target, "min" = at least / "max" = at most).
TARGETS = (
    ("modhsa_test", "accuracy", 0.95, "min"),
    ("hsapseudo_test", "auroc", 0.97, "min"),
    ("hsapseudo_test", "sensitivity_at_specificity_0.95", 0.90, "min"),
    ("human_test", "auroc", 0.98, "min"),
    ("new", "auroc", 0.984, "min"),
    ("shuffled", "specificity", 0.95, "min"),
    ("pooled", "ece", 0.03, "max"),
)
#: The test splits whose calibrated probabilities are pooled for the calibration error.
POOLED = ("human_test", "new", "modhsa_test", "hsapseudo_test")
VALIDATION_FOLD = 0  # member 0 of train_ensemble stops early on fold 0


class Pool(NamedTuple):
    """Training records: ``images`` (M, 25, 100, 3), ``labels`` (M,), ``sequences``
    (M, "" for DeepMir images), ``sources`` (M,) and ``split`` (M,): the fold 0..4, or
    -1 for the calibration share."""

    images: np.ndarray
    labels: np.ndarray
    sequences: list[str]
    sources: list[str]
    split: np.ndarray


# --------------------------------------------------------------------------- test sets


def _fold_and_draw(sequences: list[str], prefix: str):
    from mirnamap.encode import encode_folds
    from mirnamap.fold import fold

    ids = [f"{prefix}_{k}" for k in range(len(sequences))]
    return encode_folds(fold(sequences, ids=ids, progress=False))


def _subsample(labels: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``limit`` records, both classes kept in proportion (sorted)."""
    if limit is None or labels.size <= limit:
        return np.arange(labels.size)
    chosen = []
    for value in np.unique(labels):
        where = np.flatnonzero(labels == value)
        take = max(1, round(limit * where.size / labels.size))
        chosen.append(rng.choice(where, size=min(take, where.size), replace=False))
    return np.sort(np.concatenate(chosen))


def load_test_sets(seed: int, limit: int | None) -> tuple[dict, list[str], np.ndarray]:
    """Every test set as (images, labels); all test sequences and DeepMir test images
    (for the leakage checks, never subsampled). ``limit`` subsamples each scored set."""
    from mirnamap.datasets import dinucleotide_shuffle, load_deepmir, load_deepmirgene

    rng = np.random.default_rng(seed + 2000)
    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    banned: set[str] = set()
    positives: set[str] = set()
    for name, split in (("human_test", "human"), ("whole_test", "whole"), ("new", "new")):
        records = load_deepmirgene(split)  # type: ignore[arg-type]
        keep = [k for k, s in enumerate(records.splits) if s == "test"]
        sequences = [normalise(records.sequences[k]) for k in keep]
        labels = records.labels[keep]
        banned.update(sequences)
        positives.update(s for s, y in zip(sequences, labels, strict=True) if y == 1)
        if name == "whole_test":
            continue  # used for the exclusions and shuffles only, as in train_ensemble.py
        if limit is None:  # the cached ViennaRNA encodings of the whole set
            data = encoded_deepmirgene(split)
            mask = np.ones(len(data.labels), bool) if name == "new" else data.splits == "test"
            sets[name] = (data.images[mask], data.labels[mask])
        else:
            pick = _subsample(labels, limit, rng)
            encoding = _fold_and_draw([sequences[k] for k in pick], name)
            sets[name] = (encoding.images, labels[pick][encoding.index])
    test_images = []
    for name in ("modhsa_test", "hsapseudo_test"):
        image_set = load_deepmir(name)
        test_images.append(image_set.images)
        pick = _subsample(image_set.labels, limit, rng)
        sets[name] = (image_set.images[pick], image_set.labels[pick])
    shuffled_from = sorted(positives)
    if limit is not None:
        shuffled_from = [shuffled_from[k] for k in rng.permutation(len(shuffled_from))[:limit]]
    shuffle_rng = np.random.default_rng(seed + 1000)
    shuffles = [dinucleotide_shuffle(s, shuffle_rng) for s in shuffled_from]
    encoding = _fold_and_draw(shuffles, "shuffled_test")
    sets["shuffled"] = (encoding.images, np.zeros(len(encoding), dtype=np.int8))
    return sets, sorted(banned), np.concatenate(test_images)


# ------------------------------------------------------------------------------- pool


def build_pool(size: int, seed: int, banned: list[str], test_images: np.ndarray) -> tuple:
    """The reduced baseline pool (sources in the bundled recipe's proportions) and its
    exclusions; split into five folds and a calibration share."""
    from mirnamap.datasets import dinucleotide_shuffle, load_deepmir
    from mirnamap.members import ensemble_splits

    rng = np.random.default_rng(seed)
    banned_set = set(banned)
    excluded: dict[str, int] = {}
    records, conflicts = deepmirgene_training_records()
    candidates = {
        sequence: (image, label, f"deepmirgene_{name}")
        for sequence, (image, label, name) in records.items()
    }
    kept = [s for s in candidates if s not in conflicts and s not in banned_set]
    excluded["deepmirgene: in a test set or with both labels"] = len(candidates) - len(kept)
    # Every source is cut by the same share, so the pool keeps the bundled proportions:
    # the deepMiRGene records, their shuffles (one a positive) and the DeepMir images.
    n_positive = sum(candidates[s][1] for s in kept)
    available = (
        len(kept)
        + n_positive
        + sum(len(load_deepmir(n).labels) for n in ("modhsa_train", "hsapseudo_train"))
    )
    share = min(1.0, size / available)
    kept = [
        kept[k] for k in np.sort(rng.permutation(len(kept))[: max(2, round(share * len(kept)))])
    ]
    hit = np.zeros(len(kept), bool)
    hit[overlap(kept, test_images).train_records] = True
    excluded["deepmirgene: matches a DeepMir test image"] = int(hit.sum())
    kept = [s for s, h in zip(kept, hit, strict=True) if not h]
    images = [candidates[s][0] for s in kept]
    labels = [candidates[s][1] for s in kept]
    sequences = list(kept)
    sources = [candidates[s][2] for s in kept]

    for name in ("modhsa_train", "hsapseudo_train"):
        image_set = load_deepmir(name)
        pick = _subsample(image_set.labels, max(2, round(share * len(image_set))), rng)
        chosen = image_set.images[pick]
        drop = np.zeros(len(pick), bool)
        drop[overlap(chosen, banned).train_records] = True
        drop[overlap(chosen, test_images, min_strand=1).train_records] = True
        excluded[f"{name}: matches a test sequence or image"] = int(drop.sum())
        images += list(chosen[~drop])
        labels += [int(v) for v in image_set.labels[pick][~drop]]
        sequences += [""] * int((~drop).sum())
        sources += [name] * int((~drop).sum())

    positives = [s for s, y in zip(kept, labels, strict=False) if y == 1]
    shuffles = [dinucleotide_shuffle(s, rng) for s in positives]
    encoding = _fold_and_draw(shuffles, "shuffled")
    excluded["shuffles: no hairpin image"] = len(encoding.failures)
    images += list(encoding.images)
    labels += [0] * len(encoding)
    sequences += list(encoding.sequences)
    origin = dict(zip(kept, sources, strict=False))  # the shuffle's source, by its positive
    sources += [f"shuffled_{origin[positives[k]]}" for k in encoding.index]

    # Last, the check every arm passes before it trains (sequence, strands and image, both
    # ways): what the cuts above let through by strands alone goes here, and is counted.
    records = Hairpins(sequences, np.stack(images))
    found = [overlap(records, banned), overlap(records, test_images)]
    leak = np.zeros(len(labels), bool)
    for o in found:
        leak[o.train_records] = True
    excluded["pool: strands of a test record (the arms' own check)"] = int(leak.sum())
    keep = np.flatnonzero(~leak)
    images = [images[k] for k in keep]
    labels = [labels[k] for k in keep]
    sequences = [sequences[k] for k in keep]
    sources = [sources[k] for k in keep]

    labels_array = np.array(labels, dtype=np.int8)
    split = ensemble_splits(labels_array, folds=5, seed=seed)
    return Pool(np.stack(images), labels_array, sequences, sources, split), excluded


def _replace(pool: Pool, added: Pool, rng: np.random.Generator, keep_out: set[int]) -> Pool:
    """The pool with ``added`` in, and as many training-fold records of each class out
    (never one of ``keep_out``), so the arm trains on as many images as the baseline."""
    train = (pool.split >= 0) & (pool.split != VALIDATION_FOLD)
    remove: list[int] = []
    for value in (0, 1):
        n = int((added.labels == value).sum())
        where = [k for k in np.flatnonzero(train & (pool.labels == value)) if k not in keep_out]
        remove += list(rng.choice(where, size=min(n, len(where)), replace=False))
    keep = np.setdiff1d(np.arange(len(pool.labels)), remove)
    return Pool(
        np.concatenate([pool.images[keep], added.images]),
        np.concatenate([pool.labels[keep], added.labels]).astype(np.int8),
        [pool.sequences[k] for k in keep] + list(added.sequences),
        [pool.sources[k] for k in keep] + list(added.sources),
        np.concatenate([pool.split[keep], added.split]).astype(np.int8),
    )


def _training_folds(n: int) -> np.ndarray:
    """Folds 1..4 round robin: never the validation fold or the calibration share."""
    return (np.arange(n) % 4 + 1).astype(np.int8)


def pseudo_arm(pool: Pool, baseline, share: float, seed: int) -> tuple[Pool, dict]:
    """Replace ``share`` of the training negatives by mined pseudo-hairpins."""
    from mirnamap.encode import encode_folds
    from mirnamap.negatives import hardest_negatives, pseudo_hairpins

    train = (pool.split >= 0) & (pool.split != VALIDATION_FOLD)
    n = max(1, round(share * int((train & (pool.labels == 0)).sum())))
    fitted_on = [
        s
        for k, s in enumerate(pool.sequences)
        if train[k] and pool.labels[k] == 0 and pool.sources[k].startswith("deepmirgene")
    ]
    start = time.time()
    candidates = encode_folds(pseudo_hairpins(fitted_on, 3 * n, seed=seed, allow_shortfall=True))
    seconds = time.time() - start
    probability = baseline.predict(candidates.images).probability
    best = hardest_negatives(probability, np.zeros(len(candidates), np.int8), n)
    images = candidates.images[best]
    added = Pool(images, np.zeros(len(best), np.int8), [candidates.sequences[k] for k in best],
                 ["pseudo_hairpin"] * len(best), _training_folds(len(best)))  # fmt: skip
    info = {
        "pseudo_hairpins_drawn": len(candidates),
        "pseudo_hairpins_kept": len(best),
        "pseudo_hairpin_seconds": round(seconds, 1),
        "pseudo_hairpins_per_s": round(len(candidates) / max(seconds, 1e-9), 1),
        "mined_mean_probability": round(float(probability[best].mean()), 3) if len(best) else None,
    }
    return _replace(pool, added, np.random.default_rng(seed + 1), set()), info


def augment_arm(pool: Pool, share: float, samples: int, seed: int) -> tuple[Pool, dict]:
    """Replace ``share`` of the training images by augmented folds of training sequences."""
    from mirnamap.augment import augment_folds

    rng = np.random.default_rng(seed + 2)
    train = (pool.split >= 0) & (pool.split != VALIDATION_FOLD)
    target = max(1, round(share * int(train.sum())))
    origins = [k for k in np.flatnonzero(train) if pool.sources[k].startswith("deepmirgene")]
    origins = [origins[k] for k in rng.permutation(len(origins))]
    origins = origins[: int(np.ceil(1.5 * target / max(samples, 1))) + 1]
    start = time.time()
    augmented = augment_folds([pool.sequences[k] for k in origins], pool.labels[origins],
                              samples=samples, temperatures=(30.0, 45.0), seed=seed,
                              include_mfe=False)  # fmt: skip
    seconds = time.time() - start
    take = np.arange(min(target, len(augmented)))
    origin_index = np.asarray(origins)[augmented.origin[take]]
    added = Pool(augmented.images[take], augmented.labels[take],
                 [augmented.sequences[k] for k in take], ["fold_augmentation"] * take.size,
                 pool.split[origin_index])  # fmt: skip
    info = {
        "augmented_sequences": len(set(origin_index.tolist())),
        "augmented_images": int(take.size),
        "augment_seconds": round(seconds, 1),
        "augmented_images_per_s": round(len(augmented) / max(seconds, 1e-9), 1),
        "kinds": {k: augmented.kinds[: take.size].count(k) for k in set(augmented.kinds)},
    }
    return _replace(pool, added, rng, set(origin_index.tolist())), info


# ------------------------------------------------------------------------ train, score


def check_leakage(pool: Pool, banned: list[str], test_images: np.ndarray) -> int:
    """Raise if any record of an arm is in a test set (by sequence, strands or image);
    returns the number of pairs checked against, for the record."""
    records = Hairpins(pool.sequences, pool.images)
    found = [overlap(records, banned), overlap(records, test_images)]
    shared = sorted(set().union(*(set(o.train_records.tolist()) for o in found)))
    if shared:
        raise ValueError(f"{len(shared)} training records are in a test set, e.g. {shared[:5]}; "
                         f"{found[0].summary()}; {found[1].summary()}")  # fmt: skip
    return len(banned) + len(test_images)


def _subset(pool: Pool, keep: np.ndarray) -> Pool:
    index = np.flatnonzero(keep)
    return Pool(pool.images[index], pool.labels[index], [pool.sequences[k] for k in index],
                [pool.sources[k] for k in index], pool.split[index])  # fmt: skip


def pretrain_arm(pool: Pool, args, epochs: int, patience: int, folder: Path):
    """Pre-train on the human-free part of ``pool``, fine-tune on its human part; the
    fine-tuned result, and the pre-training's budget (for the row)."""
    human = np.isin(np.asarray(pool.sources), HUMAN_SOURCES)
    first = train_arm(_subset(pool, ~human), args, epochs, patience, folder / "pretrain")
    second = train_arm(_subset(pool, human), args, epochs, patience, folder / "fine_tune",
                       init=first.ensemble, learning_rate=FINE_TUNE_RATE)  # fmt: skip
    record = first.members[0]
    info = {"pretrain_images": record.n_train, "pretrain_epochs_run": record.epochs_run,
            "pretrain_seconds": round(record.seconds, 1),
            "pretrain_sources": sorted(set(np.asarray(pool.sources)[~human].tolist())),
            "fine_tune_images": second.members[0].n_train}  # fmt: skip
    return second, info


def train_arm(pool: Pool, args, epochs: int, patience: int, folder: Path, **options):
    from mirnamap.members import train_ensemble

    return train_ensemble(
        pool.images,
        pool.labels,
        members=1,
        seed=args.seed,
        folds=5,
        split=pool.split,
        epochs=epochs,
        class_weight="balanced",
        early_stopping=patience,
        reduce_lr=2,
        checkpoint_dir=folder,
        resume=True,
        sequences=pool.sequences,
        sources=pool.sources,
        verbose=False,
        **options,
    )


def score(ensemble, name: str, sets: dict) -> dict:
    from mirnamap.evaluate import evaluate_models, expected_calibration_error

    figures: dict[str, dict] = {}
    pooled_labels, pooled_probability = [], []
    for test, (images, labels) in sets.items():
        evaluation = evaluate_models({name: ensemble}, images, labels)
        figures[test] = {k: v for k, v in evaluation.scores[0].items() if not isinstance(v, dict)}
        if test in POOLED:
            pooled_labels.append(labels)
            pooled_probability.append(evaluation.calibrated[0])
    labels, probability = np.concatenate(pooled_labels), np.concatenate(pooled_probability)
    figures["pooled"] = {"ece": expected_calibration_error(labels, probability)}
    return figures


def _cell(value: float | None, target: float, sense: str) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    gap = value - target if sense == "min" else target - value
    return f"{value:.3f} (met)" if gap >= 0 else f"{value:.3f} ({gap:+.3f})"


def table(rows: list[dict]) -> str:
    header = ["arm", "budget (train images x epochs run / most)", "s", "img/s"]
    header += [f"{t} {m.replace('sensitivity_at_specificity_', 'sens@spec')} "
               f"({'>=' if s == 'min' else '<='} {v})" for t, m, v, s in TARGETS]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        budget = f"{row['n_train']} x {row['epochs_run']} / {row['epochs']}"
        if "pretrain_images" in row["info"]:
            info = row["info"]
            budget = f"{info['pretrain_images']} x {info['pretrain_epochs_run']}, then {budget}"
        cells = [row["arm"], budget,
                 f"{row['seconds']:.0f}", f"{row['images_per_s']:.0f}"]  # fmt: skip
        cells += [_cell(row["figures"].get(t, {}).get(m), v, s) for t, m, v, s in TARGETS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _with_earlier_rows(rows: list[dict], args) -> list[dict]:
    """``rows`` and the rows of arms this run did not train from an earlier run at the
    same pool, epochs, share and seed (``recipes.json``), in the order of ``ARMS``."""
    earlier = RESULTS / "recipes.json"
    same = ("pool", "epochs", "long", "share", "samples", "seed")
    if earlier.is_file():
        payload = json.loads(earlier.read_text())
        if all(payload["args"].get(k) == getattr(args, k) for k in same):
            ran = {row["arm"] for row in rows}
            rows = rows + [row for row in payload["rows"] if row["arm"] not in ran]
    return sorted(rows, key=lambda row: ARMS.index(row["arm"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=6000, help="about this many pool images")
    parser.add_argument("--epochs", type=int, default=12, help="most epochs (default 12)")
    parser.add_argument("--long", type=int, default=3, help="long schedule: x epochs (3)")
    parser.add_argument("--share", type=float, default=0.2, help="replaced share (0.2)")
    parser.add_argument("--samples", type=int, default=4, help="Boltzmann samples (4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--smoke", action="store_true", help="tiny subset, writes nothing")
    args = parser.parse_args()
    if args.smoke:
        args.pool, args.epochs, args.long = min(args.pool, 500), 1, 2
    limit = 150 if args.smoke else None
    started = time.time()
    scratch = Path(tempfile.mkdtemp(prefix="recipes_"))
    checkpoints = scratch if args.smoke else RESULTS.parent.parent / "out" / "recipes_checkpoints"

    sets, banned, test_images = load_test_sets(args.seed, limit)
    print(f"test sets: {({k: len(v[1]) for k, v in sets.items()})} ({time.time() - started:.0f} s)",
          flush=True)  # fmt: skip
    pool, excluded = build_pool(args.pool, args.seed, banned, test_images)
    print(f"pool: {len(pool.labels)} images, {int(pool.labels.sum())} positives; excluded "
          f"{excluded} ({time.time() - started:.0f} s)", flush=True)  # fmt: skip

    rows, baseline = [], None
    for arm in ["baseline", *[a for a in args.arms if a != "baseline"]]:
        info: dict = {}
        epochs, patience, data = args.epochs, 3, pool
        if arm in ("pseudo_hairpins", "pretrain_pseudo"):
            data, info = pseudo_arm(pool, baseline, args.share, args.seed)
        elif arm == "fold_augmentation":
            data, info = augment_arm(pool, args.share, args.samples, args.seed)
        elif arm == "long_schedule":
            epochs, patience = args.long * args.epochs, 6
        leaks = check_leakage(data, banned, test_images)
        if arm.startswith("pretrain"):
            result, more = pretrain_arm(data, args, epochs, patience, checkpoints / arm)
            info |= more
        else:
            result = train_arm(data, args, epochs, patience, checkpoints / arm)
        record = result.members[0]
        if arm == "baseline":
            baseline = result.ensemble
        seen = record.n_train * record.epochs_run + info.get("pretrain_images", 0) * info.get(
            "pretrain_epochs_run", 0
        )
        seconds = record.seconds + info.get("pretrain_seconds", 0.0)
        row = {
            "arm": arm,
            "n_pool": len(data.labels),
            "n_train": record.n_train,
            "epochs": epochs,
            "epochs_run": record.epochs_run,
            "seconds": seconds,
            "images_per_s": seen / max(seconds, 1e-9),
            "info": info,
            "leakage_checked_against": leaks,
            "figures": score(result.ensemble, arm, sets),
        }
        rows.append(row)
        print(f"{arm}: {record.n_train} x {record.epochs_run} epochs in {record.seconds:.0f} s "
              f"({row['images_per_s']:.0f} img/s) {info}", flush=True)  # fmt: skip
    if not args.smoke:
        rows = _with_earlier_rows(rows, args)
    text = (
        "# Recipes at one budget, one member each (issue 24)\n\n"
        f"Made by `python experiments/recipes.py` ({'smoke' if args.smoke else 'full'}; pool "
        f"{args.pool}, most {args.epochs} epochs, share {args.share}, seed {args.seed}). Each "
        "figure is followed by its distance to the issue's target.\n\n" + table(rows) +
        f"\nExcluded from the pool (test leakage and conflicts): {excluded}.\n"
        f"\nTest sets (records scored): {({k: len(v[1]) for k, v in sets.items()})}.\n"
    )  # fmt: skip
    print(text)
    print(f"total {time.time() - started:.0f} s", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    if not args.smoke:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "recipes.md").write_text(text)
        payload = {"args": vars(args), "rows": rows, "excluded": excluded, "versions": versions()}
        (RESULTS / "recipes.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
