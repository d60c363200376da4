"""An interactive, offline HTML report of an explanation: one self-contained file.

:func:`save_html` writes one ``.html`` file that opens from ``file://`` with no network:
its script, styles and data are inlined (``mirnamap/assets/report.{html,js,css}``). It
shows a sortable, filterable table of every record (id, length, P(pre-miRNA) +- sd, the
calibrated probability, the call, the region shares of the chosen method; failed records
with their stage and reason) and, for one record, the secondary structure (ViennaRNA's
layout without overlaps, zoom and pan) coloured by the chosen method, a hover tooltip per
nucleotide (position, base, pairing partner, region, score +- sd and how many members
agree on its sign), the sequence track with the unstable readings marked
(:data:`mirnamap.plot.MIN_AGREEMENT`), the 25 x 100 image with the map laid over it and,
where the explanation kept them, the per-channel (R, G, B) maps. Each method's one-line
verdict from the ground-truth benchmark and the sanity check is listed, and shown beside
its name (:func:`load_verdicts`).

Colours are those of the PNGs (:mod:`mirnamap.plot`): :data:`mirnamap.colours.DIVERGING`
as 256 colours, a nucleotide's level ``0.5 + 0.5 * clip(score / limit, -1, 1)`` and
limits from :func:`mirnamap.colours.symmetric_limit`, per record and method: of the
nucleotide scores for the structure and the track, of the pixel map for the image.

The data are compact: per record one zlib-compressed, base64 binary block (little
endian), decoded by the page when the record is opened. For a record of L nucleotides
and methods ``m_1 .. m_K`` (``C`` of them with channel maps) it holds, in order:

* ``float32 (L, 2)`` the drawing's x, y;
* per method ``float32 (L,)`` scores (NaN: no pixel), then ``float32 (L,)`` their sd,
  then ``float32 (L,)`` the members' sign agreement (NaN: not known);
* ``int16 (L,)`` the pairing partner (-1 unpaired), ``int16 (25, 100)`` the layout;
* ``uint8 (25, 100, 3)`` the image;
* per method ``int8 (25, 100)`` the map as ``round(127 * map / limit)``;
* per channel method ``int8 (25, 100, 3)`` the channel maps, likewise.

>>> sorted(load_verdicts())[:2]
['deconvnet', 'grad_cam']
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mirnamap.colours import DIVERGING, symmetric_limit
from mirnamap.files import atomic_write, check_output_file
from mirnamap.plot import MIN_AGREEMENT, NO_SCORE, UNSTABLE_NOTE, structure_coordinates
from mirnamap.structure import REGIONS, pair_table, regions

__all__ = [
    "GUIDE",
    "HEADLESS_CHROMIUM_ARGS",
    "VERDICTS",
    "load_guide",
    "load_verdicts",
    "report_data",
    "save_html",
    "summarise_benchmark",
    "write_verdicts",
]

_ASSETS = Path(__file__).resolve().parent / "assets"

#: Flags that open a report in headless Chromium on a sandboxed machine with no network
#: (as root, no GPU, no background requests), e.g. for playwright's ``launch(args=...)``.
HEADLESS_CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: The shipped summary of the saliency benchmark, one verdict per backend.
VERDICTS = _ASSETS / "backend_verdicts.json"
#: The shipped guide to the methods: the default, and per method what to read it for
#: (``experiments/choose_default_method.py``).
GUIDE = _ASSETS / "method_guide.json"

#: The benchmark tasks whose truth is a set of nucleotides (AUROC applies).
_LOCALISATION_TASKS = ("motif", "structure", "interaction")
_AIMS = {1: "pre-miRNA logit", 0: "negative logit", None: "predicted class logit"}
_QUANT = 127  # int8 steps per colour limit
_RULES = (
    "Over the tasks whose model reached the benchmark's AUROC bar. Localisation: mean "
    "nucleotide AUROC over motif, structure and interaction (>= 0.9 well, >= 0.8 fairly, "
    "else poorly). Sign: signed adapted overlap on additive (>= 0.5 right, <= 0 wrong, else "
    "weak). Sanity: tasks where cascading randomisation flagged the backend (median "
    "Spearman > 0.5). Level: poor for poor localisation; mixed for fair localisation, the "
    "wrong sign or any sanity flag; else good."
)


# ------------------------------------------------------------------------- verdicts


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else round(value, 2)


def _verdict(auroc: float | None, sign: float | None, flagged: int, tasks: int) -> dict:
    """The words and level of one backend's verdict (the rules of :func:`summarise_benchmark`)."""
    words, level = [], "good"
    if auroc is None:
        words.append("localisation not measured")
        level = "mixed"
    elif auroc >= 0.9:
        words.append("localises well")
    elif auroc >= 0.8:
        words.append("localises fairly")
        level = "mixed"
    else:
        words.append("localises poorly")
        level = "poor"
    if sign is not None:
        words.append("right sign" if sign >= 0.5 else "wrong sign" if sign <= 0 else "weak sign")
        if sign <= 0 and level == "good":
            level = "mixed"
    if flagged:
        words.append(f"sanity flagged on {flagged}/{tasks} tasks")
        level = "poor" if level == "poor" else "mixed"
    else:
        words.append("passes sanity")
    return {"verdict": ", ".join(words), "level": level}


def summarise_benchmark(results: str | os.PathLike[str]) -> dict[str, Any]:
    """One verdict per backend from the saliency benchmark's ``results.tsv``.

    Rules, over the tasks whose model reached the benchmark's AUROC bar: *localisation*
    is the mean nucleotide AUROC over ``motif``, ``structure`` and ``interaction``
    (>= 0.9 "well", >= 0.8 "fairly", else "poorly"); *sign* is the signed, adapted
    overlap on ``additive`` (>= 0.5 "right", <= 0 "wrong", else "weak"); *sanity*
    counts the tasks where the cascading-randomisation check flagged the backend. The
    level is "poor" for poor localisation, "mixed" for fair localisation, the wrong sign
    or any sanity flag, else "good". The baselines are left out.

    Parameters
    ----------
    results : path
        ``experiments/results/benchmark/results.tsv``.

    Returns
    -------
    dict
        ``{"source", "rules", "backends": {name: {"verdict", "level", "localisation",
        "auroc", "overlap_adapted", "additive_sign", "sanity", "sanity_flagged"}}}``
        with numbers rounded to 2 decimals (None where not measured).
    """
    path = Path(results)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or not {"task", "backend", "model_ok", "flag_sanity"} <= set(rows[0]):
        raise ValueError(f"{path}: not a benchmark results table")
    tables: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        if not row["backend"].startswith("baseline_") and row["model_ok"] == "True":
            tables.setdefault(row["backend"], {})[row["task"]] = row
    backends = {}
    for name, tasks in sorted(tables.items()):
        auroc = {t: _number(tasks[t]["auroc_median"]) for t in _LOCALISATION_TASKS if t in tasks}
        found = [v for v in auroc.values() if v is not None]
        localisation = round(sum(found) / len(found), 2) if found else None
        sign = _number(tasks["additive"]["cos_adapted_median"]) if "additive" in tasks else None
        flagged = sorted(t for t, row in tasks.items() if row["flag_sanity"] == "True")
        backends[name] = {
            **_verdict(localisation, sign, len(flagged), len(tasks)),
            "localisation": localisation,
            "auroc": auroc,
            "overlap_adapted": {t: _number(r["cos_adapted_median"]) for t, r in tasks.items()},
            "additive_sign": sign,
            "sanity": {t: _number(r["sanity_median"]) for t, r in tasks.items()},
            "sanity_flagged": flagged,
        }
    return {
        "source": "experiments/results/benchmark/results.tsv",
        "rules": _RULES,
        "backends": backends,
    }


def write_verdicts(
    results: str | os.PathLike[str], path: str | os.PathLike[str] = VERDICTS
) -> Path:
    """Write :func:`summarise_benchmark` of ``results`` as JSON (default: the shipped file)."""
    path = check_output_file(path)
    text = json.dumps(summarise_benchmark(results), indent=1, sort_keys=True) + "\n"
    with atomic_write(path) as handle:
        handle.write(text)
    return path


def load_verdicts(path: str | os.PathLike[str] = VERDICTS) -> dict[str, dict[str, Any]]:
    """Per backend name its verdict (see :func:`summarise_benchmark`); default: shipped."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["backends"]


def load_guide(path: str | os.PathLike[str] = GUIDE) -> dict[str, Any]:
    """The guide to the methods: ``{"default": name, "methods": {name: {"use", "stable",
    "member_spearman", "seconds_per_map"}}}`` (``use``: what to read the method for, in
    one line; ``ism`` has only ``use``), as ``experiments/choose_default_method.py``
    measured it; default: shipped.

    >>> load_guide()["methods"]["grad_cam"]["use"].startswith("do not read alone")
    True
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- data


def _finite(value: Any, digits: int = 6) -> float | None:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _quantise(values: np.ndarray, limit: float) -> np.ndarray:
    scaled = np.nan_to_num(np.asarray(values, dtype=np.float64) / limit)
    return np.clip(np.rint(_QUANT * scaled), -_QUANT, _QUANT).astype(np.int8)


def _lut() -> list[str]:
    """The 256 colours of :data:`DIVERGING`, as matplotlib's colour-map lookup gives them."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[DIVERGING]
    return [to_hex(c) for c in cmap(np.arange(cmap.N))]


def _sd_of(explanation: Any, method: str, k: int, n: int) -> np.ndarray:
    spread = getattr(explanation, "sd_scores", {}).get(method) or ()
    return np.asarray(spread[k], dtype=np.float64) if len(spread) > k else np.zeros(n)


def _agreement_of(explanation: Any, method: str, k: int, n: int) -> np.ndarray:
    shares = getattr(explanation, "agreement", {}).get(method) or ()
    return np.asarray(shares[k], dtype=np.float64) if len(shares) > k else np.full(n, np.nan)


def _record(explanation: Any, k: int, channel_methods: list[str], layout: str) -> tuple:
    """Record ``k``'s light fields (for the table) and its binary block (base64)."""
    e = explanation
    several = len(getattr(e, "members", ())) > 1  # one model has no spread to show
    sequence, structure = e.sequences[k], e.structures[k]
    n = len(sequence)
    parts = [structure_coordinates(structure, layout).astype("<f4")]
    limits = []
    for m in e.methods:
        scores = np.asarray(e.projections[m].scores[k], dtype=np.float64)
        agreement = _agreement_of(e, m, k, n) if several else np.full(n, np.nan)
        parts += [scores.astype("<f4"), _sd_of(e, m, k, n).astype("<f4")]
        parts.append(agreement.astype("<f4"))
        limits.append([symmetric_limit(scores), symmetric_limit(e.maps[m][k]), None])
    parts += [pair_table(structure).astype("<i2"), np.asarray(e.layout[k]).astype("<i2")]
    parts.append(np.asarray(e.images[k], dtype=np.uint8))
    for j, m in enumerate(e.methods):
        parts.append(_quantise(e.maps[m][k], limits[j][1]))
    for m in channel_methods:
        limit = symmetric_limit(e.channel_maps[m][k])
        limits[e.methods.index(m)][2] = limit
        parts.append(_quantise(e.channel_maps[m][k], limit))
    block = zlib.compress(b"".join(np.ascontiguousarray(p).tobytes() for p in parts), 9)
    sd = getattr(e, "probability_sd", None)
    calibrated = getattr(e, "calibrated", None)
    light = {
        "id": e.ids[k],
        "index": int(e.index[k]),
        "n": n,
        "seq": sequence,
        "db": structure,
        "regions": "".join(map(str, regions(structure).tolist())),
        "p": _finite(e.probabilities[k]),
        "sd": _finite(sd[k]) if several and sd is not None and len(sd) > k else None,
        "pc": _finite(calibrated[k])
        if several and calibrated is not None and len(calibrated) > k
        else None,
        "limits": limits,
    }
    return light, base64.b64encode(block).decode("ascii")


def report_data(
    explanation: Any,
    *,
    threshold: float | None = None,
    title: str | None = None,
    verdicts: Mapping[str, Mapping[str, Any]] | None = None,
    layout: str = "auto",
) -> dict[str, Any]:
    """Everything the page shows, as JSON-able data (NaN as None).

    Parameters
    ----------
    explanation : Explanation
        From :func:`mirnamap.pipeline.explain_hairpins` (read by attribute: ids,
        sequences, structures, index, probabilities, probability_sd, images, layout,
        methods, maps, projections, sd_scores, channel_maps, region_shares(), failures,
        n_records, members, target).
    threshold : float, optional
        A record is called pre-miRNA at ``P >= threshold`` (the plain ensemble
        probability, as ``mirnamap predict`` calls it; the calibrated one is shown beside
        it). Default is None: the explanation's ``threshold`` (the model's operating
        point; 0.5 where it has none).
    title : str, optional
        The page's heading. Default is "mirnamap explanation".
    verdicts : mapping, optional
        Per method its benchmark verdict. Default is None: :func:`load_verdicts`.
    layout : str, optional
        ViennaRNA's layout of the drawings (:func:`mirnamap.plot.structure_coordinates`).
        Default is "auto": no two circles overlap.

    Returns
    -------
    dict
        ``records`` (per record id, index, n, seq, db, regions, p, sd, pc (the calibrated
        P), call, shares ``(K, 7)`` and limits ``(K, 3)``: score, map and channel
        limits), ``blocks``
        (the binary blocks, as the module docstring lays them out), ``failures``,
        ``methods``, ``channels`` (the methods with channel maps), ``verdicts``, ``guide``
        (per method what to read it for, :func:`load_guide`) and ``default`` (the
        recommended method),
        ``colours`` (``lut``, 256 hex colours, and ``missing``), ``uncertainty`` (the
        rule of the marks: ``min_agreement`` and its ``note``) and the run's facts.
    """
    e = explanation
    methods = list(e.methods)
    if not methods:
        raise ValueError("the explanation has no methods")
    if threshold is None:
        threshold = float(getattr(e, "threshold", 0.5))
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    verdicts = load_verdicts() if verdicts is None else verdicts
    guide = load_guide()
    channel_methods = [m for m in methods if m in (getattr(e, "channel_maps", None) or {})]
    records, blocks = [], []
    shares = [np.asarray(e.region_shares(m)) for m in methods] if len(e.ids) else []
    for k in range(len(e.ids)):
        light, block = _record(e, k, channel_methods, layout)
        light["call"] = None if light["p"] is None else int(light["p"] >= threshold)
        light["shares"] = [[_finite(v, 4) for v in s[k]] for s in shares]
        records.append(light)
        blocks.append(block)
    members = tuple(getattr(e, "members", ("model",)))
    return {
        "title": title or "mirnamap explanation",
        "methods": methods,
        "channels": channel_methods,
        "verdicts": {m: dict(verdicts[m]) for m in methods if m in verdicts},
        "guide": {m: guide["methods"][m]["use"] for m in methods if m in guide["methods"]},
        "default": guide["default"],
        "members": list(members),
        "target": _AIMS.get(getattr(e, "target", 1), "logit"),
        "threshold": threshold,
        "n_records": int(getattr(e, "n_records", len(e.ids) + len(e.failures))),
        "regions": [*REGIONS, "background", "gap"],
        "colours": {"lut": _lut(), "missing": NO_SCORE},
        "uncertainty": {"min_agreement": MIN_AGREEMENT, "note": UNSTABLE_NOTE},
        "records": records,
        "blocks": blocks,
        "failures": [
            {"index": int(f.index), "id": f.id, "stage": f.stage, "reason": f.reason}
            for f in e.failures
        ],
    }


def _json_for_script(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    # Inside <script>, "</script" (in any id or reason) would end the element early.
    return text.replace("<", "\\u003c")


def render_html(data: Mapping[str, Any]) -> str:
    """The page's text: the template with its styles, script and ``data`` inlined."""
    rest = (_ASSETS / "report.html").read_text(encoding="utf-8")
    pieces = {
        "{{title}}": html.escape(data["title"]),
        "/*{{css}}*/": (_ASSETS / "report.css").read_text(encoding="utf-8"),
        "{{data}}": _json_for_script(data),
        "/*{{js}}*/": (_ASSETS / "report.js").read_text(encoding="utf-8"),
    }
    # The markers come once each, in this order; what is inlined is never searched again.
    out = []
    for marker, text in pieces.items():
        head, found, rest = rest.partition(marker)
        if not found:
            raise ValueError(f"report template: no {marker} after the previous marker")
        out += [head, text]
    return "".join([*out, rest])


def save_html(
    explanation: Any,
    path: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    title: str | None = None,
    verdicts: Mapping[str, Mapping[str, Any]] | None = None,
    layout: str = "auto",
) -> Path:
    """Write the interactive report of an explanation as one self-contained HTML file.

    Parameters
    ----------
    explanation : Explanation
        From :func:`mirnamap.pipeline.explain_hairpins`.
    path : path
        The ``.html`` file (its folder is created).
    threshold, title, verdicts, layout : optional
        As in :func:`report_data`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``path`` cannot be written, or the explanation has no methods.
    """
    path = check_output_file(path, "report")
    data = report_data(
        explanation, threshold=threshold, title=title, verdicts=verdicts, layout=layout
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        handle.write(render_html(data))
    return path
