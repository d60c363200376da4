"""Reproduce DeepMir on its own images: train on ``modhsa_train``, test on ``modhsa_test``.

Cordero, Menkovski & Allmer (bioRxiv 10.1101/840579), supplementary material: accuracy
0.9171 for the VGG-style 3-module network with a 256-unit dense layer trained on
modhsa_train alone, 0.9517 after pre-training on 46,556 non-human images (not public).

Protocol here: for each seed, 10 % of modhsa_train (stratified, seeded) is the validation
set for early stopping, the rest trains (Adam 1e-3, batch 128, no class weights: the set is
balanced; ``--reduce-lr N`` halves the rate after N epochs without a better validation
loss); the best-validation-loss weights are tested once on modhsa_test. With
``--no-validation`` all of modhsa_train trains for exactly ``--epochs`` epochs (an epoch
count chosen beforehand from the validation runs), as the paper trained on modhsa_train. With
``--pretrain``, the network is first trained on the deepMiRGene cross-species ("whole") set
folded by ViennaRNA and drawn by mirnamap (what is public), then fine-tuned the same way.
Beware: that set holds human pre-miRNAs, and modhsa_test carries only miRBase names and
images, no sequences, so test hairpins in the pre-training data cannot be removed and the
``--pretrain`` figure may be optimistic (``train_default_model.py --pretrain`` does remove
them for the deepMiRGene human test split, where the sequences are known).

Usage: ``.venv/bin/python experiments/reproduce_deepmir.py --seeds 0 1 2 [--pretrain]``.
Each finished seed is appended to ``experiments/results/deepmir_modhsa.tsv``; the summary
goes to ``experiments/results/deepmir_modhsa.md``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, add_reduce_lr_option, encoded_deepmirgene, versions

PUBLISHED = {"base": 0.9171, "pretrained": 0.9517}
COLUMNS = (
    "setting",
    "seed",
    "epochs_run",
    "best_epoch",
    "minutes",
    "accuracy",
    "sensitivity",
    "specificity",
    "f1",
    "mcc",
    "auroc",
    "auprc",
)


def pretrained_model(seed: int, epochs: int, patience: int):
    """The network trained on the public cross-species set (mirnamap folding/encoding)."""
    from mirnamap.train import train

    whole = encoded_deepmirgene("whole")
    val = whole.splits == "fold5"
    fit = ~val & (whole.splits != "test")
    return train(
        whole.images[fit],
        whole.labels[fit],
        validation=(whole.images[val], whole.labels[val]),
        epochs=epochs,
        early_stopping=patience,
        class_weight="balanced",
        seed=seed,
        verbose=True,
    ).model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--pretrain", action="store_true")
    add_reduce_lr_option(parser)
    parser.add_argument(
        "--no-validation",
        action="store_true",
        help="train on all of modhsa_train for exactly --epochs epochs (no early stopping)",
    )
    args = parser.parse_args()
    if args.no_validation and (args.reduce_lr or args.pretrain):
        parser.error("--no-validation excludes --reduce-lr and --pretrain")

    from mirnamap.datasets import load_deepmir
    from mirnamap.evaluate import metrics
    from mirnamap.model import predict_proba
    from mirnamap.train import stratified_split, train

    train_set, test_set = load_deepmir("modhsa_train"), load_deepmir("modhsa_test")
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = RESULTS / "deepmir_modhsa.tsv"
    new_file = not table.exists()
    setting = "pretrained_whole" if args.pretrain else "base"
    if args.no_validation:
        setting += f", all of modhsa_train, {args.epochs} epochs"
    else:
        setting += f", max {args.epochs} epochs, patience {args.patience}"
    if args.reduce_lr:
        setting += f", lr halved after {args.reduce_lr} flat epochs"
    for seed in args.seeds:
        start = time.time()
        initial = pretrained_model(seed, args.epochs, args.patience) if args.pretrain else None
        if args.no_validation:
            val = np.zeros(len(train_set.labels), dtype=bool)
            validation, stop = None, None
        else:
            val = stratified_split(train_set.labels, 0.1, seed)
            validation = (train_set.images[val], train_set.labels[val])
            stop = args.patience
        result = train(
            train_set.images[~val],
            train_set.labels[~val],
            validation=validation,
            epochs=args.epochs,
            early_stopping=stop,
            seed=seed,
            model=initial,
            reduce_lr=args.reduce_lr,
            verbose=True,
        )
        m = metrics(test_set.labels, predict_proba(result.model, test_set.images))
        row = {
            "setting": setting,
            "seed": seed,
            "epochs_run": len(result.history["loss"]),
            "best_epoch": (
                int(np.argmin(result.history["val_loss"])) + 1
                if "val_loss" in result.history
                else "fixed"
            ),
            "minutes": f"{(time.time() - start) / 60:.1f}",
            **{k: f"{m[k]:.4f}" for k in COLUMNS[5:]},
        }
        with open(table, "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS, delimiter="\t", lineterminator="\n")
            if new_file:
                writer.writeheader()
                new_file = False
            writer.writerow(row)
        print(row, flush=True)
    summarise(table)


def summarise(table: Path) -> None:
    """Mean and spread per setting, next to the published accuracy, as Markdown."""
    with open(table, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    lines = [
        "# DeepMir images: modhsa_train -> modhsa_test",
        "",
        "Written by `experiments/reproduce_deepmir.py` from `deepmir_modhsa.tsv` (one row per",
        "run). Images: the published ones (RNAfold 2.1.3 and the authors' encoder). Early stopping",
        "on a seeded, stratified 10 % of modhsa_train; test once on modhsa_test (1,098 images).",
        "",
        "| setting | seeds | accuracy mean | accuracy sd | min | max | AUROC mean | MCC mean "
        "| published accuracy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for setting in dict.fromkeys(r["setting"] for r in rows):
        sel = [r for r in rows if r["setting"] == setting]
        acc = np.array([float(r["accuracy"]) for r in sel])
        auroc = np.mean([float(r["auroc"]) for r in sel])
        mcc = np.mean([float(r["mcc"]) for r in sel])
        published = PUBLISHED["base"] if setting.startswith("base") else PUBLISHED["pretrained"]
        sd = acc.std(ddof=1) if acc.size > 1 else float("nan")
        lines.append(
            f"| {setting} | {', '.join(r['seed'] for r in sel)} | {acc.mean():.4f} | {sd:.4f} | "
            f"{acc.min():.4f} | {acc.max():.4f} | {auroc:.4f} | {mcc:.4f} | {published} |"
        )
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + "."]
    (table.with_suffix(".md")).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
