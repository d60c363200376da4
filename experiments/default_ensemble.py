"""The bundled default ensemble of issue 24: the best recipe's five members, trained with
the public command ``mirnamap train``, with its operating point and its "unsure" rule.

Three steps (``--step all`` runs them; each one reruns from the files of the one before):

``data``
    The full pool of ``experiments/recipes.py`` (every training record of the bundled
    recipe's sources, test records removed by sequence, strands and image), with the
    chosen recipe's changes (``--recipe``; the recipe table says why):

    * ``pseudo_hairpins``: a fifth of the training negatives replaced by coding-like
      pseudo-hairpins (:func:`mirnamap.negatives.pseudo_hairpins`), mined with the
      previous default ensemble (the three candidates drawn for each kept, the ones it
      scores highest kept);
    * ``pretrain`` / ``pretrain_pseudo``: the pool split into its human-free part (to
      pre-train on) and its human part (to fine-tune on).

    Written as labelled image archives (``images``, ``labels``, ``names``) with a table of
    each record's source and sequence, in ``out/default_ensemble/``, and the deepMiRGene
    human test split as two FASTA files for the command's own leakage check.
``train``
    ``mirnamap train --images pool.npz --members 5 -o ensemble.zip`` (for a pre-trained
    recipe, first ``-o pretrained.zip`` on the human-free part, then ``--init
    pretrained.zip --learning-rate 1e-4`` on the human part), balanced class weights, at
    most ``--epochs`` epochs, patience 3, ``--threshold specificity:0.95`` (the operating
    point: the lowest threshold that keeps 0.95 specificity on the calibration share's
    negatives), checkpoints every epoch (``--resume`` goes on after an interruption). The
    command's log is ``experiments/results/default_ensemble/train.log``.
``evaluate``
    The new ensemble, its members, the previous default ensemble (read from the git
    history, commit :data:`PREVIOUS`) and the first single model
    (``mirnamap/assets/deepmir_default.keras``) on every test set of the recipe table;
    the operating point and the "unsure" flag on the test sets (errors caught, right calls
    flagged). Writes ``experiments/results/default_ensemble.md`` and ``.json``; with
    ``--bundle`` the ensemble and its card into ``mirnamap/assets/``.

Budget on 2 CPU cores at about 400 training images/s: the pool's 14,000 training images x
12 epochs x 5 members take about 35 min (a pre-trained recipe's two phases together about
as long: each sees its part of the pool).

    python experiments/default_ensemble.py --step all --bundle
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recipes
from _common import ISSUE_12_ENSEMBLE, RESULTS, ROOT, ensemble_of_commit, versions

OUT = ROOT / "out" / "default_ensemble"
LOGS = RESULTS / "default_ensemble"
ASSETS = ROOT / "mirnamap" / "assets"
#: The commit whose bundled ensemble this one replaces (issue 12's five members).
PREVIOUS = ISSUE_12_ENSEMBLE
RECIPES = ("baseline", "pseudo_hairpins", "pretrain", "pretrain_pseudo")
SPECIFICITY = 0.95
#: The training budgets of the earlier models, from their cards (``deepmir_default.md``,
#: and ``deepmir_ensemble.md`` of :data:`PREVIOUS`).
EARLIER_BUDGETS = {
    "first": "1 network: pre-trained 6,968 images x 19 epochs (cross-species), fine-tuned "
    "5,966 x 10 (human)",
    "previous": "5 members from scratch on a 17,696-image pool, about 12,700 images x 9-12 "
    "epochs each (76 min)",
}


def _cli() -> list[str]:
    return [sys.executable, "-m", "mirnamap"]


def previous_ensemble() -> Path:
    """The previous default ensemble, out of the git history."""
    return ensemble_of_commit(PREVIOUS)


# --------------------------------------------------------------------------------- data


def _write_archive(path: Path, pool: recipes.Pool, names: list[str]) -> None:
    import pandas as pd

    from mirnamap.files import atomic_write

    with atomic_write(path, "wb") as handle:
        np.savez(handle, images=pool.images, labels=pool.labels, names=np.array(names))
    table = pd.DataFrame({"name": names, "label": pool.labels, "source": pool.sources,
                          "sequence": pool.sequences})  # fmt: skip
    with atomic_write(path.with_suffix(".tsv")) as handle:
        table.to_csv(handle, sep="\t", index=False, lineterminator="\n")


def _write_test_fasta() -> tuple[Path, Path]:
    from mirnamap.datasets import load_deepmirgene
    from mirnamap.files import atomic_write

    records = load_deepmirgene("human")
    paths = (OUT / "human_test_positive.fa", OUT / "human_test_negative.fa")
    for path, label in zip(paths, (1, 0), strict=True):
        with atomic_write(path) as handle:
            for k, split in enumerate(records.splits):
                if split == "test" and records.labels[k] == label:
                    handle.write(f">{records.ids[k]}\n{records.sequences[k]}\n")
    return paths


def step_data(args) -> dict:
    from mirnamap.ensemble import load_ensemble

    started = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    _, banned, test_images = recipes.load_test_sets(args.seed, None)
    pool, excluded = recipes.build_pool(10**9, args.seed, banned, test_images)
    info: dict = {"excluded": excluded, "pool_images": len(pool.labels)}
    print(f"pool: {len(pool.labels)} images, {int(pool.labels.sum())} positives "
          f"({time.time() - started:.0f} s)", flush=True)  # fmt: skip
    if "pseudo" in args.recipe:
        miner = load_ensemble(previous_ensemble())
        pool, mined = recipes.pseudo_arm(pool, miner, args.share, args.seed)
        info["pseudo_hairpins"] = mined | {"mined_with": f"deepmir_ensemble.zip of {PREVIOUS}"}
        print(f"pseudo-hairpins: {mined} ({time.time() - started:.0f} s)", flush=True)
    info["leakage_checked_against"] = recipes.check_leakage(pool, banned, test_images)
    names = [f"{source}_{k}" for k, source in enumerate(pool.sources)]
    parts = {"pool": np.ones(len(pool.labels), bool)}
    if args.recipe.startswith("pretrain"):
        human = np.isin(np.asarray(pool.sources), recipes.HUMAN_SOURCES)
        parts = {"pretrain": ~human, "human": human}
    for part, keep in parts.items():
        index = np.flatnonzero(keep)
        _write_archive(OUT / f"{part}.npz", recipes._subset(pool, keep), [names[k] for k in index])
        sources = np.asarray(pool.sources)[index]
        info[part] = {s: int((sources == s).sum()) for s in sorted(set(sources.tolist()))}
    _write_test_fasta()
    info["seconds"] = round(time.time() - started, 1)
    (OUT / "data.json").write_text(json.dumps(info | {"recipe": args.recipe}, indent=2) + "\n")
    print(json.dumps(info, indent=2), flush=True)
    return info


# -------------------------------------------------------------------------------- train


def _train(images: Path, output: Path, checkpoints: Path, args, *more: str) -> None:
    positive, negative = OUT / "human_test_positive.fa", OUT / "human_test_negative.fa"
    command = [
        *_cli(), "train", "--images", str(images), "-o", str(output), "--members",
        str(args.members), "--epochs", str(args.epochs), "--patience", "3", "--reduce-lr",
        "2", "--class-weight", "balanced", "--seed", str(args.seed), "--checkpoints",
        str(checkpoints), "--resume", "--test-positive", str(positive), "--test-negative",
        str(negative), *more,
    ]  # fmt: skip
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / "train.log").open("a") as log:
        log.write(f"\n$ {' '.join(command[2:])}\n")
        log.flush()
        subprocess.run(command, cwd=ROOT, check=True, stdout=log, stderr=subprocess.STDOUT)


def step_train(args) -> None:
    operating_point = ("--threshold", f"specificity:{SPECIFICITY}")
    if args.recipe.startswith("pretrain"):
        first = OUT / "pretrained.zip"
        if not first.is_file():
            _train(OUT / "pretrain.npz", first, OUT / "checkpoints_pretrain", args)
        _train(OUT / "human.npz", OUT / "ensemble.zip", OUT / "checkpoints_fine_tune", args,
               "--init", str(first), "--learning-rate", str(recipes.FINE_TUNE_RATE),
               *operating_point)  # fmt: skip
    else:
        _train(OUT / "pool.npz", OUT / "ensemble.zip", OUT / "checkpoints", args,
               *operating_point)  # fmt: skip


# ----------------------------------------------------------------------------- evaluate


def flag_figures(ensemble, sets: dict) -> dict:
    """The stored threshold's calls and the "unsure" flag on every test set."""
    from mirnamap.flags import flag_calls

    found = {}
    pooled = {"errors": 0, "errors_flagged": 0, "right": 0, "right_flagged": 0, "n": 0}
    for name, (images, labels) in sets.items():
        prediction = ensemble.predict(images)
        called = (prediction.probability >= ensemble.threshold).astype(np.int8)
        wrong = called != labels
        flagged = flag_calls(prediction.sd, ensemble.flag_sd)
        row = {
            "n": int(labels.size),
            "errors": int(wrong.sum()),
            "errors_flagged": int((wrong & flagged).sum()),
            "right": int((~wrong).sum()),
            "right_flagged": int((~wrong & flagged).sum()),
            "specificity": float(np.mean(called[labels == 0] == 0)) if (labels == 0).any()
            else None,
            "sensitivity": float(np.mean(called[labels == 1] == 1)) if (labels == 1).any()
            else None,
            "median_sd_errors": float(np.median(prediction.sd[wrong])) if wrong.any() else None,
            "median_sd_right": float(np.median(prediction.sd[~wrong])),
        }  # fmt: skip
        found[name] = row
        if name in recipes.POOLED:
            for key in pooled:
                pooled[key] += row[key]
    found["pooled"] = pooled
    return found


#: Cuts on the members' spread at which the calibration share's trade-off is shown.
CUTS = (0.03, 0.05, 0.1, 0.15, 0.2)


def flag_tradeoff(ensemble) -> list[dict]:
    """On the calibration share (from the manifest in the file): the wrong and right calls
    flagged at the chosen cut and at :data:`CUTS`, for a reader who wants another one."""
    import io

    import pandas as pd

    from mirnamap.ensemble import read_ensemble_file
    from mirnamap.flags import flag_calls

    manifest = pd.read_csv(io.BytesIO(read_ensemble_file(OUT / "ensemble.zip", "manifest.tsv")),
                           sep="\t", keep_default_na=False)  # fmt: skip
    pool = np.load(OUT / "pool.npz")
    calibration = (manifest["part"] == "calibration").to_numpy()
    prediction = ensemble.predict(pool["images"][calibration])
    labels = pool["labels"][calibration]
    wrong = (prediction.probability >= ensemble.threshold).astype(np.int8) != labels
    rows = []
    for cut in sorted({*CUTS, ensemble.flag_sd or 0.0}):
        flagged = flag_calls(prediction.sd, cut)
        rows.append({"sd": float(cut), "chosen": cut == ensemble.flag_sd,
                     "errors_caught": int(flagged[wrong].sum()), "errors": int(wrong.sum()),
                     "right_flagged": int(flagged[~wrong].sum()),
                     "right": int((~wrong).sum())})  # fmt: skip
    return rows


def step_evaluate(args) -> dict:
    from mirnamap.ensemble import Ensemble, load_ensemble
    from mirnamap.model import load_default_model

    started = time.time()
    sets, _, _ = recipes.load_test_sets(args.seed, None)
    new = load_ensemble(OUT / "ensemble.zip")
    models = {
        "first single model (deepmir_default.keras)": Ensemble([load_default_model()]),
        f"previous ensemble ({PREVIOUS})": load_ensemble(previous_ensemble()),
        f"new ensemble ({args.recipe})": new,
    }
    rows = {name: recipes.score(model, name, sets) for name, model in models.items()}
    members = [recipes.score(new.select([k]), f"member_{k}", sets) for k in range(len(new))]
    flags = flag_figures(new, sets)
    tradeoff = flag_tradeoff(new)
    data = json.loads((OUT / "data.json").read_text())
    card = new.card
    report = {
        "recipe": args.recipe, "rows": rows, "members": members, "flags": flags,
        "tradeoff": tradeoff,
        "threshold": new.threshold, "flag_sd": new.flag_sd, "flag_rule": card.get("flag"),
        "data": data, "training": [
            {k: m[k] for k in ("name", "n_train", "epochs_run", "seconds", "init")}
            for m in card["figures"]["members"]
        ], "test_records": {k: len(v[1]) for k, v in sets.items()}, "versions": versions(),
        "seconds": round(time.time() - started, 1),
    }  # fmt: skip
    if args.recipe.startswith("pretrain"):
        first = load_ensemble(OUT / "pretrained.zip").card["figures"]["members"]
        report["pretraining"] = [
            {k: m[k] for k in ("name", "n_train", "epochs_run", "seconds")} for m in first
        ]
    text = markdown(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "default_ensemble.md").write_text(text)
    (RESULTS / "default_ensemble.json").write_text(json.dumps(report, indent=2, default=float))
    print(text)
    if args.bundle:
        bundle(new, text)
    return report


def _members_range(members: list[dict], test: str, metric: str) -> str:
    values = [m[test].get(metric) for m in members]
    values = [v for v in values if v is not None and np.isfinite(v)]
    return f"{min(values):.3f} - {max(values):.3f}" if values else "-"


def markdown(report: dict) -> str:
    header = ["model", "training budget"] + [
        f"{t} {m.replace('sensitivity_at_specificity_', 'sens@spec')} "
        f"({'>=' if s == 'min' else '<='} {v})"
        for t, m, v, s in recipes.TARGETS
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    training = report["training"]
    budget = ", ".join(f"{m['n_train']} x {m['epochs_run']}" for m in training)
    seconds = sum(m["seconds"] for m in training)
    pre = report.get("pretraining")
    if pre:
        budget = (", ".join(f"{m['n_train']} x {m['epochs_run']}" for m in pre)
                  + f" (pre-training), then {budget} (fine-tuning)")  # fmt: skip
        seconds += sum(m["seconds"] for m in pre)
    budgets = [EARLIER_BUDGETS["first"], EARLIER_BUDGETS["previous"],
               f"5 members, per member {budget}; {seconds / 60:.0f} min"]  # fmt: skip
    for (name, figures), spent in zip(report["rows"].items(), budgets, strict=True):
        cells = [recipes._cell(figures.get(t, {}).get(m), v, s) for t, m, v, s in recipes.TARGETS]
        lines.append("| " + " | ".join([name, spent, *cells]) + " |")
    spread = [_members_range(report["members"], t, m) for t, m, _, _ in recipes.TARGETS]
    lines.append("| " + " | ".join(["new: members (min - max)", "", *spread]) + " |")
    flags, rule = report["flags"], report["flag_rule"]
    flag_rows = [
        "| test set | records | errors at the operating point | errors flagged | right calls "
        "| right calls flagged | specificity | sensitivity | median sd: errors / right |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, f in flags.items():
        if name == "pooled":
            continue
        flag_rows.append(
            f"| {name} | {f['n']} | {f['errors']} | {f['errors_flagged']} | {f['right']} | "
            f"{f['right_flagged']} | {_maybe(f['specificity'])} | {_maybe(f['sensitivity'])} | "
            f"{_maybe(f['median_sd_errors'])} / {_maybe(f['median_sd_right'])} |"
        )
    p = flags["pooled"]
    trade_rows = [
        "| cut (sd >=) | wrong calls flagged | right calls flagged |",
        "|---|---:|---:|",
        *(
            f"| {t['sd']:.4f}{' (chosen)' if t['chosen'] else ''} | {t['errors_caught']} of "
            f"{t['errors']} ({t['errors_caught'] / max(t['errors'], 1):.0%}) | "
            f"{t['right_flagged']} of {t['right']} "
            f"({t['right_flagged'] / max(t['right'], 1):.1%}) |"
            for t in report.get("tradeoff", [])
        ),
    ]
    rule_text = (
        "No flag rule: the calibration share gave no cut on the spread that flags more of "
        "the wrong calls than of the right ones."
        if rule is None
        else f"The rule, chosen on the calibration share (Youden's J of the spread as a "
        f"detector of wrong calls): a call is `unsure` where the members' sd of P(pre-miRNA) "
        f"is >= {rule['sd']:.4f}; there it flagged {rule['errors_caught']} of "
        f"{rule['errors']} wrong calls and {rule['right_flagged']} of {rule['right']} right "
        f"ones. On the pooled test splits ({', '.join(recipes.POOLED)}; {p['n']} records) it "
        f"flags {p['errors_flagged']} of the {p['errors']} wrong calls "
        f"({p['errors_flagged'] / max(p['errors'], 1):.0%}) and {p['right_flagged']} of the "
        f"{p['right']} right ones ({p['right_flagged'] / max(p['right'], 1):.1%})."
    )
    data = report["data"]
    return "\n".join([
        "# The default ensemble (issue 24)",
        "",
        f"Made by `python experiments/default_ensemble.py --step all --bundle` (recipe "
        f"`{report['recipe']}`, chosen in `recipes.md`). Five DeepMir members trained by "
        "`mirnamap train --images ... --members 5 --threshold specificity:0.95` on "
        f"{data['pool_images']} pool images; every figure is followed by its distance to the "
        "issue's target. The previous rows are the models this one replaces as the default. "
        "Every model calls at its own stored threshold (0.5 for the earlier two), so "
        "accuracy and specificity are those of the call a user gets; the calibration error is "
        "of the calibrated probability (the plain one for the single model).",
        "",
        *lines,
        "",
        f"Training budget (images x epochs run, per member): {budget}; {seconds / 60:.0f} min "
        "of training on 2 CPU cores.",
        "",
        "## The operating point and the unsure flag",
        "",
        f"The stored threshold is {report['threshold']:.4f}: the lowest that keeps "
        f"specificity {SPECIFICITY} on the calibration share's negatives. {rule_text}",
        "",
        *flag_rows,
        "",
        "The trade-off on the calibration share, for a reader who would rather flag fewer "
        "right calls (set `Ensemble.flag_sd`, or `flag_sd=` when building an `Ensemble`):",
        "",
        *trade_rows,
        "",
        f"Test records scored: {report['test_records']}. Pool exclusions (leakage): "
        f"{data['excluded']}.",
        "",
    ])  # fmt: skip


def _maybe(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def bundle(new, text: str) -> None:
    """The ensemble into ``mirnamap/assets`` with its card (the command's card, the pool's
    sources and the figures above). The card names the archive relative to the
    repository (the command saw a path of this machine); the networks are those trained."""
    from mirnamap.cards import MANIFEST, card_markdown
    from mirnamap.ensemble import Ensemble, read_ensemble_file, save_ensemble
    from mirnamap.files import atomic_write

    data = json.loads((OUT / "data.json").read_text())
    card = json.loads(json.dumps(new.card))
    name = "out/default_ensemble/pool.npz (experiments/default_ensemble.py --step data)"
    card["data"]["sources"] = {name: next(iter(card["data"]["sources"].values()))}
    card["data"]["pool_sources"] = data["pool"]
    card["data"]["pseudo_hairpins"] = data.get("pseudo_hairpins")
    bundled = Ensemble(new.members, temperature=new.temperature, bias=new.bias,
                       names=new.names, card=card, threshold=new.threshold,
                       flag_sd=new.flag_sd)  # fmt: skip
    manifest = read_ensemble_file(OUT / "ensemble.zip", MANIFEST)
    save_ensemble(bundled, ASSETS / "deepmir_ensemble.zip", files={MANIFEST: manifest})
    sources = "\n".join(f"| {k} | {v} |" for k, v in data["pool"].items())
    body = card_markdown(card).split("\n", 1)[1]
    figures = text.split("\n", 2)[2]
    with atomic_write(ASSETS / "deepmir_ensemble.md") as handle:
        handle.write(
            "# deepmir_ensemble.zip\n\nWritten by `experiments/default_ensemble.py --step all "
            f"--bundle`: the networks `mirnamap train` trained, its card below.\n{body}\n"
            "## The pool's sources\n\n| source | images |\n|---|---:|\n"
            f"{sources}\n\n## Figures\n\n{figures}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", choices=("data", "train", "evaluate", "all"), default="all")
    parser.add_argument("--recipe", choices=RECIPES, default="pseudo_hairpins")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bundle", action="store_true")
    args = parser.parse_args()
    if args.step in ("data", "all"):
        step_data(args)
    if args.step in ("train", "all"):
        step_train(args)
    if args.step in ("evaluate", "all"):
        step_evaluate(args)


if __name__ == "__main__":
    main()
