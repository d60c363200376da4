"""The words of each backend's page that the registry cannot give: what the method
computes, its options and when to use it. The numbers on the pages come from the
registry and the results files (``gen_pages.py``); a backend registered without an entry
here stops the docs build, so a new backend gets its page."""

from __future__ import annotations

_SIGN = (
    "Gradient-type maps are derivatives with respect to pixel *intensity*: bars are "
    "coloured on a white (255) canvas, so a *negative* gradient on a bar means that "
    "erasing it would lower the logit, i.e. the bar supports the call "
    "([reading the sign](../guide/maps.md#reading-the-sign))."
)

NOTES: dict[str, dict[str, str]] = {
    "gradient": {
        "computes": (
            "The derivative of the target class's logit with respect to each pixel of the "
            "0..255 image the model reads, summed over the three colour channels "
            '(`reduce="sum"`; `reduce=None` keeps them). ' + _SIGN
        ),
        "use": (
            "The cheapest look at a map (one backward pass) and it passes the sanity "
            "check, but its sign is wrong on the `additive` task (a gradient says how the "
            "logit would change, not what each nucleotide contributed), and it is the least "
            "repeatable map across the ensemble's members: for fewer than a fifth of the "
            "hairpins do the members agree above 0.5. Average it over the members (the "
            "default with the bundled ensemble) or use SmoothGrad over it."
        ),
    },
    "gradient_x_input": {
        "computes": (
            "The gradient of the target logit times the image, both on the 0..255 scale, "
            "summed over the channels: a contribution relative to an implicit all-black "
            "(zero) baseline. It is zero wherever an input channel is zero."
        ),
        "use": (
            "The default method (`mirnamap.saliency.DEFAULT_METHOD`): one of the two "
            "backends rated *good*, the only method that passes the sanity check on every "
            "task, localises well and has the right sign on `additive`, and on real "
            "hairpins it uses both signs (48 % of nucleotides towards pre-miRNA) at one "
            "pass a map ([choosing a method](../guide/saliency.md#choosing-a-method)). Read "
            "it with the uncertainty marks: 30 % of all nucleotides, 76 % of each hairpin's "
            "10 largest, get the same sign from all five members. In the motif validation "
            "its seqlets all sat on the partner 3' arm (UCACA) rather than the planted "
            "5'-arm UGUGA: a base pair shares one image column, and a map that is zero "
            "where a channel is zero can credit the column's evidence to the partner's "
            "bar. It is also among the least repeatable maps across members (0.43)."
        ),
    },
    "guided_backprop": {
        "computes": (
            "Backpropagation in which every ReLU passes only positive gradients where its "
            "input was positive. It runs on a cached clone of the model whose ReLUs (fused "
            '`activation="relu"` and separate `ReLU`/`Activation` layers) are swapped for '
            "custom-gradient ones; the caller's model is never touched."
        ),
        "use": (
            "Sharp maps that localise the planted motif best (nucleotide AUROC 0.99), "
            "but flagged by the randomisation check on two tasks, and in the saliency atlas "
            "it gives the opposite sign to the evidence backends in every region and member: "
            "it does not answer the same question. Prefer its SmoothGrad "
            "(`smoothgrad_guided_backprop`), which is more stable across members."
        ),
    },
    "deconvnet": {
        "computes": (
            "Zeiler & Fergus's deconvolution: backpropagation whose ReLUs pass the positive "
            "part of the incoming gradient whatever the forward input (unlike guided "
            "backprop, it passes the gradient of a switched-off unit). Same clone mechanism "
            "as guided backprop."
        ),
        "use": (
            "Rated *good*: localises well (AUROC 0.85-0.99), passes the sanity check, weak "
            "sign. Its top motif in the motif validation was UGUGA on the 5' arm in all 100 "
            "hairpins. Moderately repeatable across members (0.51)."
        ),
    },
    "smoothgrad": {
        "computes": (
            "The mean of an inner backend's maps (`inner=`, the plain gradient by default; "
            "any registered backend) over `n_samples` noisy copies of the image, noise "
            "`noise_level * 255 * z` with `noise_level` 0.15 (Smilkov et al.'s sigma over the "
            "input range). The same seeded draws `z` serve every image, so a map depends "
            "only on its image, the seed and the options, never on the batch. "
            "`mirnamap.saliency.noise_tunnel(name)` wraps any backend the same way."
        ),
        "options": (
            "`n_samples` (default 50), `noise_level` (0.15), `inner`, `seed`. With an "
            'ensemble, `member_samples="split"` deals the samples out among the members '
            "(the members' spread is then NaN)."
        ),
        "use": (
            "Noise averaging makes the gradient more repeatable (0.57 between members "
            "against 0.43 for the plain gradient) and it passes the sanity check, but it "
            "keeps the gradient's wrong sign on `additive`. 50 passes per map."
        ),
    },
    "smoothgrad_squared": {
        "computes": "The mean of the squared inner maps over the noisy copies (SmoothGrad²).",
        "options": "As `smoothgrad`: `n_samples` (50), `noise_level` (0.15), `seed`.",
        "use": (
            "Unsigned by construction; localises well (motif AUROC 0.99) but is flagged by "
            "the randomisation check on every task and has the wrong sign on `additive`. "
            "Rarely the first choice."
        ),
    },
    "vargrad": {
        "computes": (
            "The variance of the inner maps over the noisy copies (Adebayo et al.'s "
            "VarGrad). A variance, not a mean, so its samples cannot be shared out among an "
            "ensemble's members: every member runs it whole."
        ),
        "options": "As `smoothgrad`: `n_samples` (50), `noise_level` (0.15), `seed`.",
        "use": (
            "Flagged by the sanity check on every task; localises well. Use it as a "
            "cross-check of SmoothGrad, not alone."
        ),
    },
    "smoothgrad_guided_backprop": {
        "computes": (
            "SmoothGrad (the mean over `n_samples` noisy copies) over guided "
            "backpropagation. It was the default method before 0.2.0; the default is now "
            "`gradient_x_input` (`mirnamap.saliency.DEFAULT_METHOD`, "
            "[choosing a method](../guide/saliency.md#choosing-a-method))."
        ),
        "options": "As `smoothgrad`: `n_samples` (50), `noise_level` (0.15), `seed`.",
        "use": (
            "Among the best localisers (AUROC 0.90-0.99) with guided backprop's sharpness "
            "and more repeatable maps across members (0.60 against 0.56). Flagged by the "
            "sanity check on one task, weak sign on `additive`, and the atlas's opposite "
            "sign (as guided backprop); on real hairpins 95 % of nucleotides get the same "
            "sign, so read it for where the model looks (|score|), not the direction. It "
            "runs at about the model's own forward+backward limit (1.02x in the headline "
            "run), 50 passes a map."
        ),
    },
    "grad_cam": {
        "computes": (
            "The activations of a conv layer (`layer=`, default the last: `conv3b`, 5 x 24) "
            "weighted by their spatially averaged gradients, per example (never averaged "
            "over the batch), through a ReLU, upsampled bilinearly to exactly 25 x 100."
        ),
        "options": "`layer` (default the last convolution).",
        "use": (
            "The fastest backend and a coarse one: it localises poorly (AUROC 0.58-0.87, "
            "below the uniform baseline on `structure`), cannot resolve single nucleotides "
            "and puts 61-63 % of its |map| on the empty canvas. It passes the sanity check. "
            "With a Gini-sparse logits layer it collapses (all-zero maps). Use it for a "
            "region-level picture, not for nucleotides."
        ),
    },
    "grad_cam_plus_plus": {
        "computes": (
            "As Grad-CAM, with the weights of Chattopadhay et al.'s eq. 19 (higher-order "
            "terms of the gradient). No faithful peer implementation exists (tf-keras-vis "
            "normalises alpha per channel, xplique uses the mean of the activations where "
            "the paper has their sum)."
        ),
        "options": "`layer` (default the last convolution).",
        "use": (
            "The most repeatable map across the ensemble's members (0.73) but it localises "
            "poorly and is flagged by the sanity check on two tasks: repeatable is not right."
        ),
    },
    "integrated_gradients": {
        "computes": (
            "The path integral of the gradient from a baseline to the image (Gauss-Legendre, "
            "or Riemann left/right/middle/trapezoid), which adds up to logit(image) - "
            'logit(baseline) (completeness, tested within 1 %). Baselines: `"white"` (the '
            'empty canvas, default), `"black"`, `"blurred"`, a value or an array. With the '
            "white baseline it is exactly 0 on white pixels."
        ),
        "options": "`steps` (default 50), `baseline`, `method` (the quadrature rule).",
        "use": (
            "Right sign on `additive` and the best adapted overlap on the motif task (0.90). "
            "The randomisation check flags it on every task, because its maps are 0 on the "
            "background, so the drawing itself dominates the rank correlation (Adebayo et "
            "al.'s warning about input-dominated maps). Use it when contributions matter; "
            "50 passes per map."
        ),
    },
    "occlusion": {
        "computes": (
            "The mean logit drop when a patch (`size`, `stride`) over each pixel is filled "
            "with `fill` (255, the white canvas); patches reach the last row and column. "
            "Forward passes only (101 at 5 x 5)."
        ),
        "options": "`size`, `stride`, `fill` (default 255).",
        "use": (
            "Finds the structural feature perfectly (AUROC 1.00 on `structure`) and is "
            "repeatable across members (0.68); flagged by the randomisation check (its "
            "maps follow the drawing) and weak sign. The choice when the question is "
            "*where in the drawing*."
        ),
    },
    "shap": {
        "computes": (
            "Shapley values estimated by the `shap` library itself: "
            '`shap.GradientExplainer` (expected gradients; `explainer="deep"` for '
            "DeepExplainer), one image at a time with the same seed (shap draws from "
            "NumPy's global generator, whose state is restored afterwards). Background: "
            "`background=` (default one white canvas)."
        ),
        "options": "`n_samples` (default 200), `background`, `explainer`, `seed`.",
        "use": (
            "Right sign on `additive` and close to integrated gradients everywhere (the "
            "same flags for the same reason); the slowest backend (about 1 s per map on "
            "the CPU). Use it when Shapley values are asked for by name."
        ),
    },
}
