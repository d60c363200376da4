"""Train the bundled model ``mirnamap/assets/deepmir_default.keras`` and write its card.

Data: the deepMiRGene human set (Park et al. 2017; 863 pre-miRNAs, 7,422 pseudo-hairpins),
folded by ViennaRNA and drawn by mirnamap. Published split: ``fold1``..``fold4`` train,
``fold5`` is the validation fold for early stopping, ``test`` (86 / 742) is held out and
only evaluated once at the end. Balanced class weights for the 1 : 8.6 imbalance, seed 0.

Usage: ``.venv/bin/python experiments/train_default_model.py [--epochs 10] [--patience 3]``
(folding is cached in out/cache/; training takes tens of minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS,
    ROOT,
    add_reduce_lr_option,
    encoded_deepmirgene,
    sequences_of,
    train_on_masks,
    versions,
)

ASSETS = ROOT / "mirnamap" / "assets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=ASSETS / "deepmir_default.keras")
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        help="continue from this saved model (e.g. the best checkpoint of an "
        "earlier run stopped too early); only improvements on its validation "
        "loss are saved",
    )
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    add_reduce_lr_option(parser)
    parser.add_argument(
        "--pretrain",
        action="store_true",
        help="first train on the deepMiRGene cross-species set without any sequence of the "
        "human validation or test split, then fine-tune on human",
    )
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="evaluate the model file already there (after an interrupted run, "
        "whose log gives the history) and write the card",
    )
    args = parser.parse_args()

    from mirnamap.evaluate import metrics, save_learning_curve
    from mirnamap.model import predict_proba, save_model
    from mirnamap.train import device_name

    data = encoded_deepmirgene("human")
    splits = data.splits
    fit = np.isin(splits, ["fold1", "fold2", "fold3", "fold4"])
    val = splits == "fold5"
    test = splits == "test"
    print(
        f"train {fit.sum()} (pos {data.labels[fit].sum()}), val {val.sum()}, test {test.sum()}; "
        f"{len(data.failed_ids)} of {data.n_records} records not drawn",
        flush=True,
    )

    import keras

    from mirnamap.model import load_model

    initial = load_model(args.init) if args.init else None
    pretrain_info = None
    if args.pretrain and not args.evaluate_only:
        if initial is not None:
            parser.error("--pretrain and --init exclude each other")
        initial, pretrain_info = pretrained(data, fit, args)

    def weighted_val_loss(model) -> float:
        """The validation loss as mirnamap.train reports it: weighted by class (balanced)."""
        from mirnamap.train import balanced_class_weight

        weight = balanced_class_weight(data.labels[fit])
        y = data.labels[val]
        p = predict_proba(model, data.images[val])
        p = np.clip(np.where(y == 1, p, 1 - p), 1e-7, 1)
        w = np.where(y == 1, weight[1], weight[0])
        return float((-np.log(p) * w).mean())

    class SaveBest(keras.callbacks.Callback):
        """Write the best model so far after each epoch (a usable file long before the end)."""

        best = np.inf if initial is None else weighted_val_loss(initial)

        def on_epoch_end(self, epoch, logs=None):
            if logs["val_loss"] < self.best:
                self.best = logs["val_loss"]
                save_model(self.model, args.output)
                print(
                    f"epoch {epoch + 1}: val_loss {self.best:.4f}, saved {args.output}", flush=True
                )

    if initial is not None:
        source = args.init or "the pre-trained model"
        print(f"starting from {source}: val_loss {SaveBest.best:.4f}", flush=True)
    start = time.time()
    if args.evaluate_only:
        result = None
        model = load_model(args.output)
    else:
        result = train_on_masks(
            data,
            fit,
            val,
            epochs=args.epochs,
            early_stopping=args.patience,
            seed=args.seed,
            callbacks=[SaveBest()],
            model=initial,
            learning_rate=args.learning_rate,
            reduce_lr=args.reduce_lr,
        )
        # The file holds the best epoch (of this run, or the starting point if none beat it).
        model = load_model(args.output)
    minutes = (time.time() - start) / 60

    scores = {
        name: metrics(data.labels[mask], predict_proba(model, data.images[mask]))
        for name, mask in (("validation (fold5)", val), ("test", test))
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    if result is not None:
        history = result.history
        best: int | str = int(np.argmin(history["val_loss"])) + 1
        save_learning_curve(history, RESULTS / "default_model_learning_curve.png")
    else:
        history, best = {}, "see the training log"
    info = {
        "command": "experiments/train_default_model.py " + " ".join(sys.argv[1:]),
        "data": "deepMiRGene human (data/deepmirgene/human_*.fa), ViennaRNA, mirnamap encoder",
        "train": "fold1-fold4",
        "validation": "fold5 (early stopping on val_loss)",
        "test": "test",
        "n_train": int(fit.sum()),
        "n_validation": int(val.sum()),
        "n_test": int(test.sum()),
        "n_not_drawn": len(data.failed_ids),
        "seed": args.seed,
        "epochs_max": args.epochs,
        "patience": args.patience,
        "epochs_run": len(history["loss"]) if history else "see the training log",
        "best_epoch": best,
        "class_weight": "balanced",
        "batch_size": 128,
        "learning_rate": args.learning_rate,
        "reduce_lr": args.reduce_lr,
        "pretrain": pretrain_info,
        "init": str(args.init) if args.init else None,
        "init_note": (
            f"Started from `{args.init}`, the best epoch of an earlier run of this script "
            "(learning rate 1e-3, seed 0, early stopping with patience 3 on the unweighted "
            "validation loss ended it after 5 epochs, best epoch 2, while the training loss "
            "still fell), so this model has seen 2 + this run's epochs."
        )
        if args.init
        else "",
        "device": device_name(),
        "train_minutes": round(minutes, 1) if result is not None else "see the training log",
        "versions": versions(),
        "metrics": scores,
        "history": history,
    }
    (RESULTS / "default_model.json").write_text(json.dumps(info, indent=2))
    write_card(info, args.output.with_suffix(".md"))
    print(json.dumps(scores, indent=2))


def pretrained(data, fit: np.ndarray, args: argparse.Namespace):
    """Train on deepMiRGene "whole" (cross-species) minus every sequence that is in the
    human validation (fold5) or test split, so that neither leaks into pre-training.

    Returns the model (best validation loss on whole's own fold5, same exclusion) and a
    dict describing the run for the card.
    """
    human_seq = sequences_of("human")
    held = {human_seq[i] for i in data.ids[~fit]}  # fold5 and test
    whole = encoded_deepmirgene("whole")
    whole_seq = sequences_of("whole")
    clean = np.array([whole_seq[i] not in held for i in whole.ids])
    train_mask = np.isin(whole.splits, ["fold1", "fold2", "fold3", "fold4"]) & clean
    val_mask = (whole.splits == "fold5") & clean
    print(
        f"pre-training on whole: {train_mask.sum()} train, {val_mask.sum()} val; "
        f"{(~clean).sum()} records left out (sequence in the human fold5 or test split)",
        flush=True,
    )
    start = time.time()
    result = train_on_masks(
        whole,
        train_mask,
        val_mask,
        epochs=args.pretrain_epochs,
        early_stopping=args.patience,
        seed=args.seed,
        learning_rate=1e-3,
        reduce_lr=args.reduce_lr,
    )
    history = result.history
    info = {
        "data": "deepMiRGene whole (cross-species) fold1-4, validation fold5",
        "n_train": int(train_mask.sum()),
        "n_validation": int(val_mask.sum()),
        "n_excluded": int((~clean).sum()),
        "excluded": "every record whose sequence is in the human fold5 or test split",
        "epochs_max": args.pretrain_epochs,
        "epochs_run": len(history["loss"]),
        "best_epoch": int(np.argmin(history["val_loss"])) + 1,
        "learning_rate": 1e-3,
        "minutes": round((time.time() - start) / 60, 1),
    }
    print(f"pre-training done: {info}", flush=True)
    return result.model, info


def write_card(info: dict, path: Path) -> None:
    """The model card: data, seed, versions, test metrics."""
    keys = ("accuracy", "sensitivity", "specificity", "precision", "f1", "mcc", "auroc", "auprc")
    rows = "\n".join(
        f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in keys) + f" | {m['n']} |"
        for name, m in info["metrics"].items()
    )
    versions_line = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    pre = info.get("pretrain")
    pretrain_text = (
        f"Pre-trained on the deepMiRGene cross-species set (`data/deepmirgene/whole_*.fa`, "
        f"same folding and encoding): fold1-fold4 ({pre['n_train']} images) with early "
        f"stopping on its fold5 ({pre['n_validation']}), {pre['epochs_run']} epochs, best "
        f"{pre['best_epoch']}, {pre['minutes']} min; {pre['n_excluded']} records were left "
        "out because their sequence is in the human fold5 or test split (the cross-species "
        "set holds human pre-miRNAs). Then fine-tuned on human: "
        if pre
        else ""
    )
    schedule = (
        f" (halved after {info['reduce_lr']} epochs without a better validation loss)"
        if info.get("reduce_lr")
        else ""
    )
    limits = (
        "Fine-tuned on human hairpins after pre-training on the cross-species set, with "
        "pseudo-hairpins from coding regions as negatives throughout; its scores on other "
        "species or other kinds of negatives are not measured here (see "
        "`experiments/results/` for models trained on the cross-species and tested on the "
        '"new" set).'
        if pre
        else "Trained on human hairpins only and on pseudo-hairpins from coding regions as "
        "negatives; its scores on other species or other kinds of negatives are not measured "
        'here (see `experiments/results/` for the cross-species and "new" sets).'
    )
    command = f"Written by `{info['command']}`.\n\n" if info.get("command") else ""
    text = f"""# deepmir_default.keras

{command}The DeepMir CNN of Cordero, Menkovski & Allmer (bioRxiv 10.1101/840579; VGG style, 3
modules, 256-unit dense layer; `mirnamap.model.build_model`) trained by
`experiments/train_default_model.py`. Input: `uint8 (N, 25, 100, 3)` images from
`mirnamap.encode`; output: softmax over (negative, pre-miRNA); layer `logits` before it.
Load it with `mirnamap.model.load_default_model()`; `mirnamap predict` uses it by default.

## Data
deepMiRGene human set (Park et al., NIPS 2017; `data/deepmirgene/human_*.fa`, 863
pre-miRNAs and 7,422 pseudo-hairpins), folded by ViennaRNA {info["versions"]["viennarna"]}
(MFE, 37 C) and drawn by mirnamap's encoder. Published split: train on fold1-fold4
({info["n_train"]} images), early stopping on fold5 ({info["n_validation"]}), test on the
held-out `test` split ({info["n_test"]}: 86 pre-miRNAs, 742 pseudo-hairpins), evaluated once.
{info["n_not_drawn"]} records could not be drawn. 33 sequences occur in both classes of
this set (label noise of the source, kept as is).

## Training
{pretrain_text}Adam, learning rate {info["learning_rate"]}{schedule}, batch {info["batch_size"]},
balanced class weights, seed {info["seed"]}, at most {info["epochs_max"]} epochs with early
stopping (patience {info["patience"]}, best weights kept): ran {info["epochs_run"]} epochs,
best epoch {info["best_epoch"]}, {info["train_minutes"]} min on {info["device"]}.
{info.get("init_note", "")}

## Metrics (threshold 0.5)
| split | accuracy | sensitivity | specificity | precision | F1 | MCC | AUROC | AUPRC | n |
|---|---|---|---|---|---|---|---|---|---|
{rows}

deepMiRGene's own figures on the same human test split: sensitivity 0.814, specificity
0.985, AUROC 0.979.

## Versions
{versions_line}.

## Limits
{limits}
"""
    path.write_text(text)


if __name__ == "__main__":
    main()
