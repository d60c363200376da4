# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial: what the ensemble looks at in the example hairpins
#
# This notebook explains the 21 records of `data/examples/hairpins.fa` (ten pre-miRNAs and
# ten pseudo-hairpins of the deepMiRGene human test split, and one record with invalid
# letters), reads the result as a DataFrame, plots it, compares two backends and looks at
# the spread across the five members of the bundled ensemble. It runs in about a minute
# on two CPU cores: the two backends used here (`gradient` and `grad_cam`) take one
# backward pass per map and member.
#
# Run it from the repository's root (the paths below are relative to it).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import mirnamap
from mirnamap.plot import plot_sequence_track, unstable

# %% [markdown]
# ## Explain every record
#
# One call folds each sequence with ViennaRNA, draws it as the 25 x 100 image, predicts it
# with every member of the bundled ensemble and explains the **pre-miRNA logit** with each
# method, averaged over the members.

# %%
result = mirnamap.explain_hairpins("data/examples/hairpins.fa", methods=["gradient", "grad_cam"])
print(len(result), "explained;", len(result.failures), "failed")
result.failures_frame()

# %% [markdown]
# The record with invalid letters has no explanation; it is listed with the stage where it
# failed (`fold`) and why, never dropped silently.
#
# ## The DataFrame
#
# `to_frame()` has one row per nucleotide per method: the record, the position (1-based),
# the nucleotide, its dot-bracket symbol and region, the record's P(pre-miRNA), the method,
# the score (the map summed over the nucleotide's pixels; NaN where it paints none) and
# `sd`, the score's standard deviation across the members.

# %%
frame = result.to_frame()
frame["label"] = np.where(frame["id"].str.startswith("human_pos"), "pre-miRNA", "pseudo-hairpin")
frame.head()

# %%
calls = result.summary_frame()[["id", "length", "p_pre_mirna"]]
calls["label"] = np.where(calls["id"].str.startswith("human_pos"), "pre-miRNA", "pseudo-hairpin")
calls.groupby("label")["p_pre_mirna"].describe()[["count", "mean", "min", "max"]]

# %% [markdown]
# ## Where the maps fall, by class
#
# The share of each map's magnitude on each region, averaged over the records of a class
# (`summary_frame` holds it per record).

# %%
shares = result.summary_frame()
shares["label"] = calls["label"]
regions = ["5' tail", "5' arm", "terminal loop", "3' arm", "3' tail", "background", "gap"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, method in zip(axes, result.methods, strict=True):
    table = shares.groupby("label")[[f"{method}:{r}" for r in regions]].mean()
    table.columns = regions
    table.T.plot.bar(ax=ax, rot=45, title=method)
    ax.set_ylabel("share of |map|")
fig.tight_layout()

# %% [markdown]
# ## One hairpin, per nucleotide
#
# The same track `mirnamap explain` draws (`track.png`), for the first pre-miRNA; a dot
# marks a reading that not every member shares (see the ensemble's spread, below).

# %%
k = result.ids.index("human_pos_16")
figure = plot_sequence_track(
    {m: result.scores(m)[k] for m in result.methods},
    result.sequences[k],
    result.structures[k],
    agreement={m: result.agreement[m][k] for m in result.methods},
)
figure

# %% [markdown]
# ## Two backends compared
#
# Do `gradient` and `grad_cam` rank the nucleotides of a hairpin alike? The Spearman
# correlation of their scores, per record (nucleotides without a pixel left out).

# %%
agreement = []
for k in range(len(result)):
    a, b = result.scores("gradient")[k], result.scores("grad_cam")[k]
    keep = ~(np.isnan(a) | np.isnan(b))
    agreement.append(spearmanr(np.abs(a[keep]), np.abs(b[keep])).statistic)
agreement = pd.Series(agreement, index=result.ids, name="spearman |gradient| vs |grad_cam|")
agreement.describe()

# %%
wide = frame.pivot_table(index=["id", "position"], columns="method", values="score", observed=True)
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.scatter(wide["gradient"], wide["grad_cam"], s=4, alpha=0.4)
ax.set_xlabel("gradient score")
ax.set_ylabel("grad_cam score")
ax.set_title("every nucleotide of the 20 hairpins")
fig.tight_layout()

# %% [markdown]
# Grad-CAM's map comes from the last convolution (5 x 24 cells), upsampled: it spreads
# over several columns, where the gradient is nucleotide-sharp. The benchmark rates
# Grad-CAM "poor" at localising for that reason (see the backend pages).
#
# ## The ensemble's spread
#
# Each score is the mean over the five members; `sd` is their spread. A nucleotide's
# reading, the sign of the mean, is unstable where not every member gives its score that
# sign (`result.agreement` holds, per method and record, the share of the members that
# do; the track dots the unstable readings). This rule, measured against the reading of a
# held-out member, is in `experiments/results/uncertainty_rule.md`. The share of unstable
# readings per method and class:

# %%
frame["unstable"] = np.concatenate(
    [unstable(share) for method in result.methods for share in result.agreement[method]]
)
frame.groupby(["method", "label"], observed=True)["unstable"].mean().unstack().round(2)

# %%
fig, ax = plt.subplots(figsize=(4.5, 4))
for method in result.methods:
    part = frame[frame.method == method]
    ax.scatter(part["score"].abs(), part["sd"], s=4, alpha=0.4, label=method)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("|mean score|")
ax.set_ylabel("sd across members")
ax.legend()
fig.tight_layout()

# %% [markdown]
# The members also disagree on the probability itself: `probability_sd` is the standard
# deviation of P(pre-miRNA) across them.

# %%
pd.DataFrame(
    {"id": result.ids, "p": result.probabilities, "sd": result.probability_sd}
).sort_values("sd", ascending=False).head(5).round(3)

# %% [markdown]
# ## Save it
#
# `save` writes what `mirnamap explain` writes (the TSVs and, unless told not to, a folder
# of pictures per record) and returns the paths; `save_html` writes the interactive report.

# %%
written = result.save("out/tutorial", pictures=False)
report = result.save_html("out/tutorial/report.html")
print(report)
