"""Fine-tuning against training from scratch, at the same budget, on human pre-miRNAs.

Issue 23. DeepMir's best figure came from pre-training on many species and fine-tuning on
the target one. This experiment asks the same of mirnamap's :func:`train_ensemble`, one
member per arm, with a budget two shared CPU cores allow:

* **target**: the deepMiRGene human set, folded by ViennaRNA and drawn by mirnamap; its
  training splits (fold1-fold5) to train on, its ``test`` split (828 records, 86
  pre-miRNAs) to evaluate on, once, with :func:`mirnamap.evaluate.evaluate_models`;
* **pre-training**: the deepMiRGene cross-species set without its test split and without
  any sequence of the human set (any split): no human hairpin, and no test record of
  either set, is ever trained on (checked with :func:`mirnamap.overlap.overlap`, by
  sequence and by image, and again by ``train_ensemble(test=...)``);
* **arms**: from scratch; pre-trained only (no human data); fine-tuned from the
  pre-trained network (every layer); fine-tuned with the convolutions frozen. The three
  human arms train for the same epochs on the same images (no early stopping, so the
  budget is equal by construction), with the same seed, folds and calibration share.

The bundled ensemble is not used as a starting point: its members were trained on a pool
that includes the human training records, so fine-tuning from it would not compare like
with like.

One seed gives one draw of each arm; ``--seeds`` repeats the whole design (pre-training
included) with other seeds, so that a difference between arms can be told from the
spread between seeds.

Writes ``experiments/results/finetune.md`` (the tables, with the budget of every row) and
``finetune.json``; the runs (``seed<S>/``: each arm's ensemble file and card, the
evaluation's TSV/PNG files) and their checkpoints (``runs/seed<S>/``) go to
``experiments/results/finetune/``. Re-running continues an interrupted run.

    nice -n 10 .venv/bin/python experiments/finetune.py --epochs 4 --pretrain-epochs 4 --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, encoded_deepmirgene, sequences_of, versions

from mirnamap.overlap import Hairpins, overlap

OUT = RESULTS / "finetune"
ARMS = ("scratch", "pre-trained only", "fine-tuned", "fine-tuned, conv frozen")


def _data(fraction: float, seed: int) -> dict:
    """The pre-training pool, the human training records and the human test split."""
    whole, human = encoded_deepmirgene("whole"), encoded_deepmirgene("human")
    whole_seq, human_seq = sequences_of("whole"), sequences_of("human")
    pool_keep = whole.splits != "test"
    pool_sequences = [whole_seq[str(i)] for i in whole.ids[pool_keep]]
    # No sequence of the human set, whatever its split, in the pre-training pool.
    shared = overlap(pool_sequences, list(human_seq.values()))
    keep = np.ones(len(pool_sequences), bool)
    keep[shared.train_records] = False
    pool = {
        "images": whole.images[pool_keep][keep],
        "labels": whole.labels[pool_keep][keep],
        "sequences": [s for s, k in zip(pool_sequences, keep, strict=True) if k],
        "left_out_human": int(shared.train_records.size),
    }
    is_test = human.splits == "test"
    test = {
        "images": human.images[is_test],
        "labels": human.labels[is_test],
        "sequences": [human_seq[str(i)] for i in human.ids[is_test]],
    }
    train_images, train_labels = human.images[~is_test], human.labels[~is_test]
    train_sequences = [human_seq[str(i)] for i in human.ids[~is_test]]
    # Records of the human training splits that are also in its test split (the same
    # hairpin twice) are dropped: training would refuse them.
    twice = overlap(
        Hairpins(train_sequences, train_images), Hairpins(test["sequences"], test["images"])
    )
    keep = np.ones(len(train_labels), bool)
    keep[twice.train_records] = False
    if fraction < 1.0:
        from mirnamap.train import stratified_split

        keep &= stratified_split(train_labels, fraction, seed)
    target = {
        "images": train_images[keep],
        "labels": train_labels[keep],
        "sequences": [s for s, k in zip(train_sequences, keep, strict=True) if k],
        "dropped_in_test": int(twice.train_records.size),
    }
    # The pool against the human test split, by image too (strands read back): a
    # cross-species record whose image's strands occur in a human test hairpin is dropped.
    near = overlap(
        Hairpins(pool["sequences"], pool["images"]), Hairpins(test["sequences"], test["images"])
    ).train_records
    keep = np.ones(len(pool["labels"]), bool)
    keep[near] = False
    pool["images"], pool["labels"] = pool["images"][keep], pool["labels"][keep]
    pool["sequences"] = [s for s, k in zip(pool["sequences"], keep, strict=True) if k]
    pool["test_overlap"] = int(near.size)
    return {"pool": pool, "target": target, "test": test}


def _slug(name: str) -> str:
    return name.replace(" ", "_").replace(",", "")


def _train(name: str, data: dict, test: dict, seed: int, **options):
    """One member with :func:`train_ensemble`, checkpointed (re-running continues it)."""
    from mirnamap.members import train_ensemble

    start = time.time()
    result = train_ensemble(
        data["images"],
        data["labels"],
        members=1,
        seed=seed,
        early_stopping=None,
        reduce_lr=None,
        checkpoint_dir=OUT / "runs" / f"seed{seed}" / _slug(name),
        resume=True,
        test=Hairpins(test["sequences"], test["images"]),
        sequences=data["sequences"],
        sources=name,
        verbose=True,
        **options,
    )
    paths = result.save(OUT / f"seed{seed}" / f"{_slug(name)}.zip")
    member = result.members[0]
    budget = {
        "images_per_epoch": member.n_train,
        "epochs": member.epochs_run,
        "image_passes": member.n_train * member.epochs_run,
        "seconds": round(member.seconds, 1),
        "images_per_s": round(member.n_train * member.epochs_run / max(member.seconds, 1e-9), 1),
        "wall_seconds_this_call": round(time.time() - start, 1),
    }
    print(f"seed {seed}, {name}: {budget}", flush=True)
    return paths[0], budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs of each human arm")
    parser.add_argument("--pretrain-epochs", type=int, default=4, help="epochs of pre-training")
    parser.add_argument("--fraction", type=float, default=1.0, help="share of human training")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed")
    parser.add_argument("--report", action="store_true", help="only rewrite the .md from the .json")
    args = parser.parse_args()
    if args.report:
        report = json.loads((RESULTS / "finetune.json").read_text())
        (RESULTS / "finetune.md").write_text(_markdown(report))
        return
    from mirnamap.evaluate import evaluate_models

    OUT.mkdir(parents=True, exist_ok=True)
    started = time.time()
    data = _data(args.fraction, args.seeds[0])
    pool, target, test = data["pool"], data["target"], data["test"]
    print(
        f"pool {len(pool['labels'])} ({int(pool['labels'].sum())} pre-miRNAs; "
        f"{pool['left_out_human']} human sequences and {pool['test_overlap']} matching a human "
        "test image left out); "
        f"target {len(target['labels'])} ({int(target['labels'].sum())}; "
        f"{target['dropped_in_test']} also in test dropped); test {len(test['labels'])} "
        f"({int(test['labels'].sum())})",
        flush=True,
    )

    runs = {}
    for seed in args.seeds:
        pretrained, pre_budget = _train("pretrained", pool, test, seed, epochs=args.pretrain_epochs)
        models, budgets = {"pre-trained only": pretrained}, {"pre-trained only": None}
        for arm, extra in (
            ("scratch", {}),
            ("fine-tuned", {"init": pretrained}),
            ("fine-tuned, conv frozen", {"init": pretrained, "freeze": "conv"}),
        ):
            models[arm], budgets[arm] = _train(arm, target, test, seed, epochs=args.epochs, **extra)
        models = {arm: models[arm] for arm in ARMS}
        evaluation = evaluate_models(models, test["images"], test["labels"])
        evaluation.save(OUT / f"seed{seed}" / "evaluation")
        runs[str(seed)] = {
            "pretraining_budget": pre_budget,
            "arms": {
                arm: {"budget": budgets[arm], "scores": score}
                for arm, score in zip(evaluation.names, evaluation.scores, strict=True)
            },
        }
    report = {
        "options": vars(args),
        "pool": {"n": len(pool["labels"]), "positives": int(pool["labels"].sum()),
                 "human_sequences_left_out": pool["left_out_human"],
                 "matching_a_test_image_left_out": pool["test_overlap"]},
        "target": {"n": len(target["labels"]), "positives": int(target["labels"].sum()),
                   "dropped_also_in_test": target["dropped_in_test"]},
        "test": {"n": len(test["labels"]), "positives": int(test["labels"].sum())},
        "runs": runs,
        "minutes": round((time.time() - started) / 60, 1),
        "versions": versions(),
    }  # fmt: skip
    (RESULTS / "finetune.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (RESULTS / "finetune.md").write_text(_markdown(report))
    print((RESULTS / "finetune.md").read_text(), flush=True)


KEYS = ("auroc", "auprc", "mcc", "sensitivity", "specificity",
        "sensitivity_at_specificity_0.95", "ece")  # fmt: skip


def _rows(run: dict) -> list[str]:
    pre, rows = run["pretraining_budget"], []
    for arm, entry in run["arms"].items():
        b, s = entry["budget"], entry["scores"]
        if b is None:
            human, total = "none", f"{pre['image_passes']} ({pre['seconds']:.0f} s)"
        else:
            human = (
                f"{b['images_per_epoch']} x {b['epochs']} = {b['image_passes']} "
                f"({b['seconds']:.0f} s)"
            )
            tuned = arm.startswith("fine")
            passes = b["image_passes"] + (pre["image_passes"] if tuned else 0)
            total = f"{passes} ({b['seconds'] + (pre['seconds'] if tuned else 0):.0f} s)"
        figures = " | ".join(f"{s[k]:.4f}" for k in KEYS)
        rows.append(f"| {arm} | {human} | {total} | {figures} |")
    return rows


def _verdict(runs: dict) -> list[str]:
    """Fine-tuned minus scratch per seed, and whether it beats the spread between seeds.

    Fine-tuning is said to beat training from scratch on a figure only where it is ahead
    for every seed and its mean lead exceeds the larger spread (max - min) of the two arms
    between seeds; otherwise the difference is not told from the seed's.
    """
    lines = ["### Reading", ""]
    figures = {
        "auroc": "AUROC",
        "auprc": "AUPRC",
        "sensitivity_at_specificity_0.95": "sensitivity at specificity 0.95",
    }
    for key, label in figures.items():
        tuned = np.array([r["arms"]["fine-tuned"]["scores"][key] for r in runs.values()])
        scratch = np.array([r["arms"]["scratch"]["scores"][key] for r in runs.values()])
        lead = tuned - scratch
        spread = max(np.ptp(tuned), np.ptp(scratch)) if len(lead) > 1 else float("nan")
        beats = len(lead) > 1 and (lead > 0).all() and lead.mean() > spread
        said = "beats" if beats else "does not beat"
        lines.append(
            f"- {label}: fine-tuned - scratch = "
            + ", ".join(f"{d:+.4f}" for d in lead)
            + f" (seeds {', '.join(runs)}); mean {lead.mean():+.4f} against a spread between "
            f"seeds of {spread:.4f}: fine-tuning {said} training from scratch at this budget."
        )
    lines.append("")
    return lines


def _markdown(report: dict) -> str:
    o, p, t = report["options"], report["pool"], report["target"]
    runs = report["runs"]
    pre = next(iter(runs.values()))["pretraining_budget"]
    header = [
        "| arm | human budget | total budget | AUROC | AUPRC | MCC | sens | spec | "
        "sens @ spec 0.95 | ECE |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    tables = []
    for seed, run in runs.items():
        tables += [f"### Seed {seed}", "", *header, *_rows(run), ""]
    mean = ["| arm | seeds | " + " | ".join(KEYS) + " |", "|---|---:|" + "---:|" * len(KEYS)]
    for arm in ARMS:
        values = np.array([[run["arms"][arm]["scores"][k] for k in KEYS] for run in runs.values()])
        cells = " | ".join(
            f"{m:.4f}" + (f" ({lo:.4f} - {hi:.4f})" if len(values) > 1 else "")
            for m, lo, hi in zip(values.mean(0), values.min(0), values.max(0), strict=True)
        )
        mean.append(f"| {arm} | {len(values)} | {cells} |")
    return "\n".join([
        "# Fine-tuning against training from scratch (issue 23)",
        "",
        "Written by `experiments/finetune.py` (its docstring has the design). One member per "
        "arm and seed (`mirnamap.members.train_ensemble`, folds 5, calibration share 10 %, "
        "balanced class weights, Adam 1e-3, batch 128, no early stopping), evaluated once on "
        f"the deepMiRGene human test split ({report['test']['n']} records, "
        f"{report['test']['positives']} pre-miRNAs) at threshold 0.5 "
        "(`mirnamap.evaluate.evaluate_models`).",
        "",
        f"- pre-training: cross-species set without its test split, without the "
        f"{p['human_sequences_left_out']} sequences of the human set and without the "
        f"{p['matching_a_test_image_left_out']} record(s) whose image's strands occur in a "
        f"human test hairpin: {p['n']} images ({p['positives']} pre-miRNAs), "
        f"{pre['epochs']} epochs on {pre['images_per_epoch']} of them (the rest validates "
        "and calibrates);",
        f"- target: the human training splits ({t['n']} images, {t['positives']} pre-miRNAs; "
        f"{t['dropped_also_in_test']} also in the test split dropped), {o['epochs']} epochs "
        "for each human arm, on the same images, seed, folds and calibration share.",
        "",
        "Budget: training images per epoch x epochs = image passes (seconds of wall time on "
        "2 CPU cores shared with other work: the seconds vary with the load, the image passes "
        "do not). *Total* adds the pre-training to the fine-tuned arms. ECE: of the calibrated "
        "probability (temperature and bias fitted on each run's calibration share), 15 bins.",
        "",
        *tables,
        "### Mean over seeds (min - max)",
        "",
        *mean,
        "",
        *_verdict(runs),
        f"One pre-miRNA of the test split is 1/{report['test']['positives']} = "
        f"{1 / report['test']['positives']:.4f} of sensitivity; two seeds are few. At a "
        "larger budget (pre-training to its best epoch, 15; fine-tuning with early stopping, "
        "up to 30 epochs), the 5-fold cross-validation of `reproduce_deepmirgene.py "
        "--cv-pretrained` found AUROC 0.983 +- 0.007 fine-tuned against 0.971 +- 0.012 from "
        "scratch (`deepmirgene.md`).",
        "",
        f"The last call ran in {report['minutes']} min (runs already in the checkpoints are "
        "read back, not trained again). Versions: "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
        + ".",
        "",
    ])  # fmt: skip


if __name__ == "__main__":
    main()
