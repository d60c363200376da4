"""The deepMiRGene protocol with mirnamap's own folding (ViennaRNA) and encoding.

Park et al., "Deep Recurrent Neural Network-Based Identification of Precursor microRNAs",
NIPS 2017; data and splits from eleventh83/deepMiRGene (``data/deepmirgene/``).

- ``human``: train on fold1-fold4, early stopping on fold5, test once on ``test``.
- ``whole`` (cross-species): the same; its model is also tested on ``new``. With
  ``--new-on-all``, as deepMiRGene did for ``new``, a second network is trained on all of
  ``whole`` (every split) for as many epochs as the fold1-fold4 run's best epoch (there is
  no validation set left to stop on) and tested on ``new``.
- ``--cv``: 5-fold cross-validation on the 90 % that is not ``test`` (each fold in turn
  validates and tests; the next fold is the early-stopping fold).
- ``--cv-pretrained`` (human): the same folds with the bundled model's recipe. One network
  is pre-trained on the cross-species set without **any** human sequence (so no fold
  leaks into it), then each fold's network is fine-tuned from it (the learning rate
  halved after 2 flat epochs, patience 6, at most 30 epochs).

Balanced class weights, Adam 1e-3, batch 128. ``--reuse-default`` takes the human model
from the bundled one (trained by ``train_default_model.py``, seed 0; its protocol, read
from ``experiments/results/default_model.json``, is named in the row) instead of training
one. Rows go to ``experiments/results/deepmirgene.tsv`` as
they finish; ``experiments/results/deepmirgene.md`` puts them next to deepMiRGene's figures;
``deepmirgene_<sets>_roc.png`` / ``_pr.png`` draw the curves.

Usage: ``.venv/bin/python experiments/reproduce_deepmirgene.py --sets human whole [--cv]``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, encoded_deepmirgene, sequences_of, train_on_masks, versions

#: deepMiRGene's own reproduction figures (as given in mirnamap's issue #3).
PUBLISHED = {
    "human/test": {"sensitivity": 0.814, "specificity": 0.985, "auroc": 0.979},
    "new/test": {"sensitivity": 0.891, "specificity": 0.980, "auroc": 0.984},
}
KEYS = ("accuracy", "sensitivity", "specificity", "precision", "f1", "mcc", "auroc", "auprc")
COLUMNS = (
    "train_set",
    "evaluated_on",
    "protocol",
    "seed",
    "n",
    "n_positive",
    "epochs_run",
    "minutes",
    *KEYS,
)


def append(row: dict, table: Path) -> None:
    """Add a row to the table, replacing an earlier row of the same model and evaluation."""
    key = ("train_set", "evaluated_on", "protocol", "seed")
    rows = []
    if table.exists():
        with open(table, encoding="utf-8") as handle:
            rows = [
                r
                for r in csv.DictReader(handle, delimiter="\t")
                if any(str(r[k]) != str(row[k]) for k in key)
            ]
    with open(table, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows([*rows, row])
    print(row, flush=True)


def row_of(train_set, evaluated_on, protocol, seed, m, epochs, minutes) -> dict:
    return {
        "train_set": train_set,
        "evaluated_on": evaluated_on,
        "protocol": protocol,
        "seed": seed,
        "n": m["n"],
        "n_positive": m["n_positive"],
        "epochs_run": epochs,
        "minutes": f"{minutes:.1f}",
        **{k: f"{m[k]:.4f}" for k in KEYS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["human", "whole"], choices=["human", "whole"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--cv", action="store_true", help="also run 5-fold cross-validation")
    parser.add_argument("--reuse-default", action="store_true")
    parser.add_argument(
        "--cv-pretrained",
        action="store_true",
        help="human: 5-fold CV of pre-training on whole (no human sequence) + fine-tuning",
    )
    parser.add_argument(
        "--new-on-all", action="store_true", help="also train on all of whole and test on new"
    )
    args = parser.parse_args()

    from mirnamap.evaluate import metrics, save_pr_curve, save_roc_curve
    from mirnamap.model import load_default_model, predict_proba

    table = RESULTS / "deepmirgene.tsv"
    RESULTS.mkdir(parents=True, exist_ok=True)
    curves = {}
    for name in args.sets:
        data = encoded_deepmirgene(name)
        test = data.splits == "test"
        folds = [f"fold{k}" for k in range(1, 6)]
        start = time.time()
        protocol = "fold1-4 train, fold5 early stopping"
        if name == "human" and args.reuse_default:
            model, epochs = load_default_model(), "bundled"
            protocol = bundled_protocol()
        else:
            fit, val = np.isin(data.splits, folds[:4]), data.splits == "fold5"
            result = train_on_masks(
                data, fit, val, epochs=args.epochs, early_stopping=args.patience, seed=args.seed
            )
            model, epochs = result.model, len(result.history["loss"])
            best_epoch = int(np.argmin(result.history["val_loss"])) + 1
        minutes = (time.time() - start) / 60
        evaluations = [(f"{name}/test", data.images[test], data.labels[test])]
        if name == "whole":
            new = encoded_deepmirgene("new")
            evaluations.append(("new/test", new.images, new.labels))
        for label, images, labels in evaluations:
            p = predict_proba(model, images)
            curves[label] = (labels, p)
            append(
                row_of(
                    name,
                    label,
                    protocol,
                    args.seed,
                    metrics(labels, p),
                    epochs,
                    minutes,
                ),
                table,
            )
        if name == "whole" and args.new_on_all:
            from mirnamap.train import train

            start = time.time()
            everything = train(
                data.images,
                data.labels,
                class_weight="balanced",
                epochs=best_epoch,
                seed=args.seed,
                verbose=True,
            ).model
            p = predict_proba(everything, new.images)
            curves["new/test (all of whole)"] = (new.labels, p)
            append(
                row_of(
                    name,
                    "new/test",
                    f"all of whole, {best_epoch} epochs (the fold1-4 run's best)",
                    args.seed,
                    metrics(new.labels, p),
                    best_epoch,
                    (time.time() - start) / 60,
                ),
                table,
            )
        if name == "human" and args.cv_pretrained:
            cv_pretrained(data, args.seed, table)
        if args.cv:
            cross_validate(
                data,
                name,
                "5-fold CV ({stop} early stopping)",
                table,
                epochs=args.epochs,
                early_stopping=args.patience,
                seed=args.seed,
            )
    if curves:
        stem = RESULTS / f"deepmirgene_{'_'.join(args.sets)}"
        save_roc_curve(curves, f"{stem}_roc.png", title="deepMiRGene sets, ROC")
        save_pr_curve(curves, f"{stem}_pr.png", title="deepMiRGene sets, PR")
    summarise(table)


def cv_pretrained(human, seed: int, table: Path) -> None:
    """5-fold CV of the bundled model's recipe on human; rows appended to ``table``.

    Pre-training (once): cross-species fold1-4 without any sequence of the human set,
    early stopping on its fold5 (same exclusion), at most 20 epochs. Fine-tuning (per
    fold): as in ``--cv``, from the pre-trained weights, with ``reduce_lr=2``, patience 6,
    at most 30 epochs.
    """
    human_sequences = set(sequences_of("human").values())
    whole = encoded_deepmirgene("whole")
    whole_seq = sequences_of("whole")
    clean = np.array([whole_seq[i] not in human_sequences for i in whole.ids])
    folds = [f"fold{k}" for k in range(1, 6)]
    print(f"pre-training: {(~clean).sum()} cross-species records left out (human)", flush=True)
    start = time.time()
    pre = train_on_masks(
        whole,
        np.isin(whole.splits, folds[:4]) & clean,
        (whole.splits == "fold5") & clean,
        epochs=20,
        early_stopping=6,
        seed=seed,
        reduce_lr=2,
    )
    pre_minutes = (time.time() - start) / 60
    pre_best = int(np.argmin(pre.history["val_loss"])) + 1
    cross_validate(
        human,
        "human",
        f"5-fold CV, pre-trained on whole without human sequences ({int((~clean).sum())} "
        f"left out; best epoch {pre_best}, {pre_minutes:.0f} min), fine-tuned "
        "({stop} early stopping)",
        table,
        epochs=30,
        early_stopping=6,
        seed=seed,
        reduce_lr=2,
        model=pre.model,
    )


def cross_validate(data, name: str, protocol: str, table: Path, **options) -> None:
    """5-fold CV over fold1-fold5 of ``data``: each fold is held out in turn, the next one
    stops the training, the other three train (``train_on_masks(..., **options)``).

    One row per held-out fold is appended to ``table``; ``protocol`` is its protocol cell,
    with ``{stop}`` replaced by the early-stopping fold.
    """
    from mirnamap.evaluate import metrics
    from mirnamap.model import predict_proba

    folds = [f"fold{k}" for k in range(1, 6)]
    for k in range(5):
        held, stop = folds[k], folds[(k + 1) % 5]
        fit = np.isin(data.splits, [f for f in folds if f not in (held, stop)])
        start = time.time()
        result = train_on_masks(data, fit, data.splits == stop, **options)
        held_mask = data.splits == held
        m = metrics(data.labels[held_mask], predict_proba(result.model, data.images[held_mask]))
        append(
            row_of(
                name,
                f"{name}/{held}",
                protocol.replace("{stop}", stop),
                options.get("seed"),
                m,
                len(result.history["loss"]),
                (time.time() - start) / 60,
            ),
            table,
        )


def bundled_protocol() -> str:
    """How the bundled model was trained, from ``default_model.json``, as a table cell."""
    import json

    info = json.loads((RESULTS / "default_model.json").read_text())
    text = "bundled model: fold1-4 train, fold5 early stopping"
    if info.get("pretrain"):
        text = (
            "bundled model: whole fold1-4 pre-training (without human fold5/test sequences), "
            "human fold1-4 fine-tuning, fold5 early stopping"
        )
    return text


def summarise(table: Path) -> None:
    """Markdown table of every row, with deepMiRGene's figures beside ours."""
    with open(table, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    lines = [
        "# deepMiRGene protocol, mirnamap folding (ViennaRNA) and encoding, DeepMir CNN",
        "",
        "Written by `experiments/reproduce_deepmirgene.py` from `deepmirgene.tsv`. Threshold 0.5.",
        "deepMiRGene's figures (in brackets) are its own reproduction figures as quoted in",
        "issue 3.",
        "",
        "| trained on | evaluated on | protocol | n (pos) | sens | spec | F1 | MCC | AUROC "
        "| AUPRC | epochs |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = PUBLISHED.get(r["evaluated_on"], {})

        def cell(key: str, r=r, ref=ref) -> str:
            return f"{float(r[key]):.3f}" + (f" ({ref[key]:.3f})" if key in ref else "")

        lines.append(
            f"| {r['train_set']} | {r['evaluated_on']} | {r['protocol']} | {r['n']} "
            f"({r['n_positive']}) | {cell('sensitivity')} | {cell('specificity')} | {cell('f1')} | "
            f"{cell('mcc')} | {cell('auroc')} | {cell('auprc')} | {r['epochs_run']} |"
        )
    lines += cv_summary(rows)
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + "."]
    table.with_suffix(".md").write_text("\n".join(lines) + "\n")


def cv_summary(rows: list[dict]) -> list[str]:
    """Mean +- standard deviation over the five held-out folds of each set, as Markdown."""
    keys = ("sensitivity", "specificity", "f1", "mcc", "auroc", "auprc")
    out = []
    for name in dict.fromkeys(r["train_set"] for r in rows):
        for prefix, label in (
            ("5-fold CV (", name),
            ("5-fold CV, pre-trained", f"{name}, pre-trained"),
        ):
            cv = [r for r in rows if r["train_set"] == name and r["protocol"].startswith(prefix)]
            if cv:
                out = cv_row(out, label, cv, keys)
    return out


def cv_row(out: list[str], label: str, cv: list[dict], keys: tuple[str, ...]) -> list[str]:
    """``out`` with the mean +- sd row of the CV rows ``cv`` (and the header if new)."""
    if not out:
        out = [
            "",
            "5-fold cross-validation, mean +- sd over the held-out folds:",
            "",
            "| set | folds | " + " | ".join(keys) + " |",
            "|---|---|" + "---|" * len(keys),
        ]
    cells = []
    for key in keys:
        values = np.array([float(r[key]) for r in cv])
        sd = values.std(ddof=1) if len(values) > 1 else float("nan")
        cells.append(f"{values.mean():.3f} +- {sd:.3f}")
    return [*out, f"| {label} | {len(cv)} | " + " | ".join(cells) + " |"]


if __name__ == "__main__":
    main()
