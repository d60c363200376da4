"""The HTML report: its data, compact encoding and size, and the page in a real browser.

The explanations here are built from real drawings (:func:`mirnamap.encode.encode`) with
seeded random maps, projected by :func:`mirnamap.project.project`: no model is needed,
and :meth:`Explanation.save` writes the TSV the browser test checks colours against.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from mirnamap.colours import DIVERGING, symmetric_limit
from mirnamap.encode import encode
from mirnamap.export import read_tsv
from mirnamap.pipeline import Explanation
from mirnamap.plot import MIN_AGREEMENT, NO_SCORE, UNSTABLE_NOTE, structure_coordinates
from mirnamap.project import project
from mirnamap.report import (
    HEADLESS_CHROMIUM_ARGS,
    VERDICTS,
    load_guide,
    load_verdicts,
    render_html,
    report_data,
    save_html,
    summarise_benchmark,
)
from mirnamap.structure import REGIONS, pair_table, regions

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("gradient", "grad_cam", "gradient_x_input")

_ARM = "GGCAUCGAUUCGAGCUAGCAUGCGAUCGAUGCUAGCUAGCAUCGAUCGUAGCUAGUCGAUCGAUGCAUGCUAGCUAGUCG"
_ARM = (_ARM + _ARM[::-1])[:115]
_PAIR = {"A": "U", "U": "A", "G": "C", "C": "G"}
#: id -> (sequence, structure): two miRNAs, a 234-nt stem whose ends fall off the canvas
#: (nucleotides without a pixel), a letter that cannot be drawn and a fold with no loop.
RECORDS = {
    "let7": (
        "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA",
        "(((((.(((((((((((((((((((((.....(((...((((....)))).)))))))))))))))))))))))))))))",
    ),
    "long": (
        _ARM + "GAAA" + "".join(_PAIR[c] for c in reversed(_ARM)),
        "(" * 115 + "...." + ")" * 115,
    ),
    "bad": ("ACGUNACGU", "(((...)))"),
    "mir21": (
        "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA",
        "((((((((((((((((.(((((.(((((.((((.((...))))))))))).)))))))))))))))))))))",
    ),
    "flat": ("A" * 24, "." * 24),
}


def _explanation(
    records=RECORDS, methods=METHODS, *, members=("m0", "m1"), channels=("gradient",), seed=0
) -> Explanation:
    """A real :class:`Explanation` of random maps (``channels``: kept per channel)."""
    encoding = encode(
        [s for s, _ in records.values()], [d for _, d in records.values()], ids=list(records)
    )
    rng = np.random.default_rng(seed)
    m, lengths = len(encoding), np.array([len(s) for s in encoding.sequences], dtype=np.int64)
    per_channel = {c: rng.normal(size=(m, 25, 100, 3)).astype(np.float32) for c in channels}
    maps = {
        name: per_channel[name].sum(-1)
        if name in per_channel
        else (rng.normal(size=(m, 25, 100)) * 10.0**-j).astype(np.float32)
        for j, name in enumerate(methods)
    }
    projections = {
        k: project(v, encoding.layout, lengths, ids=encoding.ids) for k, v in maps.items()
    }
    sd_scores = {
        k: tuple(np.where(np.isnan(s), np.nan, 0.1 * np.abs(s)) for s in p.scores)
        for k, p in projections.items()
    }
    # The share of members giving the mean's sign: every other nucleotide unanimous.
    agreement = {
        k: tuple(np.where(np.isnan(s), np.nan, np.tile([1.0, 0.5], len(s))[: len(s)])
                 for s in p.scores)
        for k, p in projections.items()
    }  # fmt: skip
    return Explanation(
        ids=encoding.ids,
        sequences=encoding.sequences,
        structures=encoding.structures,
        index=encoding.index,
        probabilities=rng.uniform(size=m).astype(np.float32),
        images=encoding.images,
        layout=encoding.layout,
        methods=tuple(methods),
        maps=maps,
        projections=projections,
        magnitudes={
            k: project(np.abs(v), encoding.layout, lengths, ids=encoding.ids)
            for k, v in maps.items()
        },
        failures=encoding.failures,
        n_records=len(records),
        members=tuple(members),
        probability_sd=rng.uniform(0, 0.1, size=m),
        sd_scores=sd_scores if len(members) > 1 else {},
        channel_maps=per_channel,
        agreement=agreement,
        calibrated=rng.uniform(size=m),
    )


def _tiled(explanation: Explanation, n: int) -> Explanation:
    """``n`` records cycling through those of ``explanation`` (ids made unique)."""
    pick = np.arange(n) % len(explanation)

    def rows(values):
        return tuple(values[k] for k in pick)

    def projected(p):
        return type(p)(
            scores=rows(p.scores),
            n_pixels=rows(p.n_pixels),
            channels=None if p.channels is None else rows(p.channels),
            background=p.background[pick],
            gap=p.gap[pick],
            total=p.total[pick],
        )

    e = explanation
    return dataclasses.replace(
        e,
        ids=tuple(f"{e.ids[k]}_{i}" for i, k in enumerate(pick)),
        sequences=rows(e.sequences),
        structures=rows(e.structures),
        index=np.arange(n),
        probabilities=e.probabilities[pick],
        probability_sd=e.probability_sd[pick],
        images=e.images[pick],
        layout=e.layout[pick],
        maps={k: v[pick] for k, v in e.maps.items()},
        projections={k: projected(v) for k, v in e.projections.items()},
        magnitudes={k: projected(v) for k, v in e.magnitudes.items()},
        sd_scores={k: rows(v) for k, v in e.sd_scores.items()},
        agreement={k: rows(v) for k, v in e.agreement.items()},
        calibrated=e.calibrated[pick],
        channel_maps={k: v[pick] for k, v in e.channel_maps.items()},
        failures=(),
        n_records=n,
    )


def _decode(data: dict, k: int) -> dict:
    """Record ``k``'s binary block, read as the module docstring lays it out."""
    n, methods = data["records"][k]["n"], data["methods"]
    raw = zlib.decompress(base64.b64decode(data["blocks"][k]))
    at = 0

    def take(dtype, shape):
        nonlocal at
        array = np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=at)
        at += array.nbytes
        return array.reshape(shape)

    out = {"xy": take("<f4", (n, 2)), "scores": [], "sd": [], "agree": []}
    for _ in methods:
        out["scores"].append(take("<f4", (n,)))
        out["sd"].append(take("<f4", (n,)))
        out["agree"].append(take("<f4", (n,)))
    out["partner"] = take("<i2", (n,))
    out["layout"] = take("<i2", (25, 100))
    out["image"] = take("u1", (25, 100, 3))
    out["maps"] = [take("i1", (25, 100)) for _ in methods]
    out["channels"] = {m: take("i1", (25, 100, 3)) for m in data["channels"]}
    assert at == len(raw)
    return out


@pytest.fixture(scope="module")
def explanation() -> Explanation:
    return _explanation()


# ------------------------------------------------------------------ data and encoding


def test_the_data_hold_every_record_and_decode_back(explanation):
    data = report_data(explanation)
    e = explanation
    assert [r["id"] for r in data["records"]] == ["let7", "long", "mir21"]
    assert [(f["id"], f["stage"]) for f in data["failures"]] == [
        ("bad", "encode"),
        ("flat", "encode"),
    ]
    assert all(f["reason"] for f in data["failures"]) and data["n_records"] == 5
    assert data["channels"] == ["gradient"] and data["methods"] == list(METHODS)
    assert data["regions"] == [*REGIONS, "background", "gap"]
    assert len(data["colours"]["lut"]) == 256 and data["colours"]["missing"] == NO_SCORE
    for k, record in enumerate(data["records"]):
        block = _decode(data, k)
        assert record["seq"] == e.sequences[k] and record["db"] == e.structures[k]
        assert record["regions"] == "".join(map(str, regions(e.structures[k])))
        assert record["p"] == pytest.approx(float(e.probabilities[k]), abs=1e-6)
        assert record["call"] == int(e.probabilities[k] >= 0.5)
        assert record["sd"] == pytest.approx(e.probability_sd[k], abs=1e-6)
        assert record["pc"] == pytest.approx(e.calibrated[k], abs=1e-6)
        np.testing.assert_allclose(block["xy"], structure_coordinates(e.structures[k]), rtol=1e-6)
        np.testing.assert_array_equal(block["partner"], pair_table(e.structures[k]))
        np.testing.assert_array_equal(block["layout"], e.layout[k])
        np.testing.assert_array_equal(block["image"], e.images[k])
        for j, m in enumerate(METHODS):
            scores = e.projections[m].scores[k]
            np.testing.assert_allclose(block["scores"][j], scores, rtol=1e-6)  # NaN stays NaN
            np.testing.assert_allclose(block["sd"][j], e.sd_scores[m][k], rtol=1e-6)
            np.testing.assert_array_equal(block["agree"][j], e.agreement[m][k])
            score_limit, map_limit, channel_limit = record["limits"][j]
            assert score_limit == symmetric_limit(scores)  # the structure PNG's limit
            assert map_limit == symmetric_limit(e.maps[m][k])  # the hairpin PNG's limit
            np.testing.assert_allclose(
                block["maps"][j] / 127 * map_limit, e.maps[m][k], atol=map_limit / 254 + 1e-7
            )
            shares = e.region_shares(m)[k]
            np.testing.assert_allclose(record["shares"][j], shares, atol=5e-5)
            assert (channel_limit is None) == (m not in e.channel_maps)
        channel = e.channel_maps["gradient"][k]
        limit = record["limits"][0][2]
        np.testing.assert_allclose(
            block["channels"]["gradient"] / 127 * limit, channel, atol=limit / 254 + 1e-7
        )
    assert np.isnan(_decode(data, 1)["scores"][0]).sum() > 0  # "long" has no-pixel nucleotides


def test_the_page_is_self_contained_and_escapes_the_data(tmp_path):
    hostile = {"</script><b>x": RECORDS["let7"], **{k: RECORDS[k] for k in ("bad", "mir21")}}
    e = _explanation(hostile, ("gradient",), members=("one",), channels=())
    path = save_html(e, tmp_path / "sub" / "report.html", title="<i>mine</i>")
    text = path.read_text(encoding="utf-8")
    assert text.count("</script>") == 2 and "<title>&lt;i&gt;mine&lt;/i&gt;</title>" in text
    # Nothing is fetched: no links, sources, imports or URLs other than the SVG namespace.
    assert not re.search(r"<link|\ssrc=|@import|url\(", text)
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) <= {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in text  # and the page forbids any request
    inlined = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text)
    data = json.loads(inlined.group(1))
    assert data["records"][0]["id"] == "</script><b>x" and data["title"] == "<i>mine</i>"
    assert data["records"][0]["sd"] is None  # one model: no spread
    assert data["records"][0]["pc"] is None  # nor a calibrated probability
    assert np.isnan(_decode(data, 0)["agree"][0]).all()  # nor uncertainty marks
    assert data["channels"] == [] and data["methods"] == ["gradient"]


def test_records_with_no_explanation_still_make_a_page(tmp_path):
    e = _explanation({k: RECORDS[k] for k in ("bad", "flat")}, ("grad_cam",), channels=())
    data = report_data(e)
    assert data["records"] == [] and data["blocks"] == [] and len(data["failures"]) == 2
    assert "report-data" in render_html(data)
    assert e.save_html(tmp_path / "empty.html").stat().st_size > 0


@pytest.fixture(scope="module")
def big_report(tmp_path_factory) -> Path:
    """The report of 1,000 records x 3 methods (cycling through the three drawn ones)."""
    many = _tiled(_explanation(channels=()), 1000)
    return save_html(many, tmp_path_factory.mktemp("big") / "big.html")


def test_one_thousand_records_by_three_methods_fit_in_25_mb(big_report):
    # Random maps do not compress: an upper bound for real ones (16 MB here; 7.2 MB for
    # 1,000 deepMiRGene hairpins explained by the bundled model, 13.7 MB with the
    # per-channel maps of two of the three methods: see the README).
    size = big_report.stat().st_size
    assert size < 25e6, f"{size / 1e6:.1f} MB"
    text = big_report.read_text(encoding="utf-8")
    inlined = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text)
    data = json.loads(inlined.group(1))
    assert len(data["records"]) == len(data["blocks"]) == 1000
    assert len({r["id"] for r in data["records"]}) == 1000


def test_bad_arguments_are_named(tmp_path, explanation):
    with pytest.raises(ValueError, match="is a folder"):
        save_html(explanation, tmp_path)
    with pytest.raises(ValueError, match="threshold"):
        report_data(explanation, threshold=2.0)
    with pytest.raises(ValueError, match="no methods"):
        report_data(dataclasses.replace(explanation, methods=()))


def test_calls_follow_the_threshold(explanation):
    calls = [r["call"] for r in report_data(explanation, threshold=0.0)["records"]]
    assert calls == [1, 1, 1]
    # By default, the model's operating point that the explanation carries.
    strict = dataclasses.replace(explanation, threshold=0.99)
    data = report_data(strict)
    assert data["threshold"] == 0.99 and [r["call"] for r in data["records"]] == [0, 0, 0]
    assert report_data(explanation)["threshold"] == 0.5


def test_the_shipped_verdicts_are_those_of_the_committed_benchmark():
    results = ROOT / "experiments" / "results" / "benchmark" / "results.tsv"
    summary = summarise_benchmark(results)
    assert json.loads(VERDICTS.read_text(encoding="utf-8")) == summary
    verdicts = load_verdicts()
    assert "baseline_uniform" not in verdicts
    assert verdicts["grad_cam"]["level"] == "poor"  # AUROC 0.58-0.87: localises poorly
    assert verdicts["gradient_x_input"]["level"] == "good"
    assert verdicts["integrated_gradients"]["sanity_flagged"] == [
        "additive",
        "interaction",
        "motif",
        "structure",
    ]
    assert "wrong sign" in verdicts["gradient"]["verdict"]
    assert set(report_data(_explanation(channels=()))["verdicts"]) == set(METHODS)


def test_a_real_explanation_with_channels_makes_a_report(tmp_path):
    pytest.importorskip("keras")
    from mirnamap.model import build_model
    from mirnamap.pipeline import explain_hairpins

    model = build_model(filters=(4, 4, 4), dense_units=8, seed=0)
    sequences = {k: RECORDS[k][0] for k in ("let7", "bad", "mir21")}
    e = explain_hairpins(
        sequences, ["gradient", "grad_cam"], model, channels=True, progress=False, workers=1
    )
    data = report_data(e)
    assert data["channels"] == ["gradient"] and [f["id"] for f in data["failures"]] == ["bad"]
    assert [f["stage"] for f in data["failures"]] == ["fold"]
    assert e.save_html(tmp_path / "r.html").is_file()


# ------------------------------------------------------------------------ the browser


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if executable is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=list(HEADLESS_CHROMIUM_ARGS)
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1500, "height": 950})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    # Nothing may be fetched but the file itself.
    page.requests = []
    page.on("request", lambda r: r.url.startswith("file:") or page.requests.append(r.url))
    yield page
    page.close()


def _open(page, path: Path) -> None:
    """Open ``path`` from file:// and wait until the page is usable (the table drawn and
    the first record shown). How fast that is is measured in benchmarks/report.py, not
    here: a timed assertion in a test fails on a loaded machine, not on slow code."""
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)


def _shown_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "#records tbody tr:not([hidden]) td:first-child", "cells => cells.map(c => c.textContent)"
    )


def _expected_colour(value: float, limit: float) -> str:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if math.isnan(value):
        return NO_SCORE
    return to_hex(colormaps[DIVERGING](0.5 + 0.5 * float(np.clip(value / limit, -1.0, 1.0))))


@pytest.mark.browser
def test_the_report_in_a_real_browser(page, tmp_path, explanation):
    explanation.save(tmp_path / "explain", pictures=False)
    table = read_tsv(tmp_path / "explain" / "saliency.tsv")
    path = explanation.save_html(tmp_path / "report.html")
    _open(page, path)

    # Sort by P(pre-miRNA): first click descending, second ascending.
    by_p = sorted(range(3), key=lambda k: -explanation.probabilities[k])
    page.click("#head th[data-key='p']")
    assert _shown_ids(page) == [explanation.ids[k] for k in by_p]
    assert page.get_attribute("#head th[data-key='p']", "aria-sort") == "descending"
    page.click("#head th[data-key='p']")
    assert _shown_ids(page) == [explanation.ids[k] for k in reversed(by_p)]
    page.click("#head th[data-key='id']")
    assert _shown_ids(page) == ["let7", "long", "mir21"]

    # Filter by text, then by a regular expression; the failures are listed apart.
    page.fill("#filter", "MIR")
    assert _shown_ids(page) == ["mir21"] and page.text_content("#shown") == "1 of 3 shown"
    page.fill("#filter", "/^l/")
    assert _shown_ids(page) == ["let7", "long"]
    failures = page.text_content("#failures")
    assert "bad" in failures and "flat" in failures and "2 record(s)" in failures

    # Open a record, switch the method.
    page.click("#records tbody tr[data-k='1']")
    page.wait_for_selector("body[data-record='long']")
    page.click("#methods button[data-method='grad_cam']")
    assert page.get_attribute("#methods button[data-method='grad_cam']", "aria-checked") == "true"
    assert "localises poorly" in page.text_content("#verdict")
    assert page.is_visible("#no-channels") and not page.is_visible("#channel-panels")
    assert "not available for grad_cam" in page.text_content("#no-channels")

    k, sequence, structure = 1, explanation.sequences[1], explanation.structures[1]
    scores, spread = table.scores["grad_cam"][k], table.scores["grad_cam:sd"][k]
    limit = symmetric_limit(scores)
    fills = page.eval_on_selector_all(
        "#structure circle.nt", "cs => cs.map(c => c.getAttribute('fill'))"
    )
    assert len(fills) == len(sequence)
    for i, fill in enumerate(fills):  # every nucleotide, NaN (grey) ones included
        expected = _expected_colour(scores[i], limit)
        level = 256 * (0.5 + 0.5 * np.clip(scores[i] / limit, -1, 1))
        # A TSV value written to 9 digits may sit on the other side of a colour step.
        near_step = not math.isnan(level) and abs(level - round(level)) < 1e-4
        assert fill == expected or near_step, (i, fill, expected)
    assert fills.count(NO_SCORE) == int(np.isnan(scores).sum()) > 0

    # Hover a scored nucleotide: the tooltip names it and gives its score +- sd.
    partner, region = pair_table(structure), regions(structure)
    i = int(np.nanargmax(np.abs(scores)))
    box = page.locator(f"#structure circle[data-i='{i}']").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = page.text_content("#tooltip")
    i = int(re.search(r"position (\d+)", tip).group(1)) - 1  # the circle on top, if overlapped
    assert f"position {i + 1} \u00b7 {sequence[i]}" in tip
    j = partner[i]
    assert (f"paired with {j + 1} ({sequence[j]})" if j >= 0 else "unpaired") in tip
    assert f"region: {REGIONS[region[i]]}" in tip
    assert "score \u00b1 sd over 2 members \u00b7 members giving the mean's sign" in tip
    line = re.search(r"\u25b8 grad_cam: (\S+) \u00b1 (\S+) \u00b7 (\d)/2( \(unstable\))?", tip)
    assert float(line.group(1)) == pytest.approx(scores[i], rel=6e-3)
    assert float(line.group(2)) == pytest.approx(spread[i], rel=6e-3)
    agreement = explanation.agreement["grad_cam"][k][i]
    assert int(line.group(3)) == round(2 * agreement)
    assert bool(line.group(4)) == (agreement < MIN_AGREEMENT)

    # A nucleotide with no pixel says so.
    blank = int(np.flatnonzero(np.isnan(scores))[0])
    page.dispatch_event(f"#structure circle[data-i='{blank}']", "mousemove")
    assert "grad_cam: no score (paints no pixel)" in page.text_content("#tooltip")

    # Zoom in, then reset; the per-channel view of a method that has it.
    before = page.get_attribute("#structure svg", "viewBox")
    page.click("#structure button[data-zoom='1.25']")
    after = page.get_attribute("#structure svg", "viewBox")
    assert float(after.split()[2]) == pytest.approx(float(before.split()[2]) / 1.25)
    page.dblclick("#structure svg")
    assert page.get_attribute("#structure svg", "viewBox") == before
    page.click("#methods button[data-method='gradient']")
    assert page.is_visible("#channel-panels") and not page.is_visible("#no-channels")
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert page.errors == [] and page.requests == []


@pytest.mark.browser
def test_a_thousand_records_are_usable(page, tmp_path, big_report):
    _open(page, big_report)
    assert page.text_content("#shown") == "1000 of 1000 shown"
    page.fill("#filter", "mir21_99")
    ids = [f"{('let7', 'long', 'mir21')[i % 3]}_{i}" for i in range(1000)]
    assert _shown_ids(page) == [i for i in ids if "mir21_99" in i]
    page.click("#records tbody tr[data-k='998']")
    page.wait_for_selector("body[data-record='mir21_998']")
    page.screenshot(path=str(tmp_path / "big.png"))
    assert page.errors == [] and page.requests == []


@pytest.mark.browser
def test_one_method_only(page, tmp_path):
    e = _explanation(methods=("grad_cam",), members=("one",), channels=())
    _open(page, e.save_html(tmp_path / "one.html"))
    assert page.eval_on_selector_all("#methods button", "b => b.length") == 1
    assert page.eval_on_selector_all("#track text.row", "t => t.length") == 1
    page.mouse.move(0, 0)
    page.dispatch_event("#structure circle[data-i='3']", "mousemove")
    assert "(one model)" in page.text_content("#tooltip")
    assert page.text_content("#records tbody tr td:nth-child(4)") == "\u2013"  # no sd
    assert page.errors == []


@pytest.mark.browser
def test_a_page_with_only_failures(page, tmp_path):
    e = _explanation({k: RECORDS[k] for k in ("bad", "flat")}, ("gradient",), channels=())
    _open(page, e.save_html(tmp_path / "none.html"))
    assert page.text_content("#record-title") == "no record was explained"
    assert page.is_visible("#failures table")
    assert page.errors == []


# ------------------------------------------ what a reader needs without help (issue 26)


def test_the_guide_names_the_default_and_a_use_for_every_method():
    from mirnamap.pipeline import list_methods, methods_frame
    from mirnamap.saliency import DEFAULT_METHOD

    guide = load_guide()
    assert guide["default"] == DEFAULT_METHOD
    assert set(guide["methods"]) == set(list_methods())
    assert all(entry["use"] for entry in guide["methods"].values())
    # The default is a method the benchmark rates good, with the right sign.
    verdict = load_verdicts()[DEFAULT_METHOD]
    assert verdict["level"] == "good" and verdict["additive_sign"] >= 0.5
    frame = methods_frame()
    assert frame.loc[frame["default"], "method"].tolist() == [DEFAULT_METHOD]
    assert (frame["use"] != "").all()
    data = report_data(_explanation(methods=("grad_cam", "gradient_x_input"), channels=()))
    assert data["default"] == DEFAULT_METHOD
    assert set(data["guide"]) == {"grad_cam", "gradient_x_input"}
    assert data["uncertainty"] == {"min_agreement": MIN_AGREEMENT, "note": UNSTABLE_NOTE}


#: Methods with long names and an ensemble of five: the widest tooltips.
WIDE = ("gradient", "smoothgrad_guided_backprop", "integrated_gradients")


@pytest.mark.browser
def test_the_calibrated_probability_is_beside_the_plain_one(page, tmp_path):
    e = _explanation(methods=WIDE, channels=(), members=tuple(f"m{i}" for i in range(5)))
    _open(page, e.save_html(tmp_path / "r.html"))
    heads = page.eval_on_selector_all("#head th", "ths => ths.map(t => t.textContent)")
    assert heads[2:6] == ["P", "\u00b1 sd", "calibrated", "pre-miRNA"]
    assert "not the calibrated" in page.get_attribute("#head th[data-key='call']", "title")
    cells = page.eval_on_selector_all(
        "#records tbody tr", "rs => rs.map(r => [...r.children].map(c => c.textContent))"
    )
    for k, row in enumerate(cells):
        assert row[2] == f"{e.probabilities[k]:.3f}" and row[4] == f"{e.calibrated[k]:.3f}"
    facts = page.text_content("#record-facts")
    assert f"P(pre-miRNA) = {e.probabilities[0]:.3f}" in facts
    assert f"calibrated P = {e.calibrated[0]:.3f}" in facts
    assert "the call: P >= 0.5, not the calibrated P" in facts
    # Sorting by the calibrated column sorts by it.
    page.click("#head th[data-key='pc']")
    order = [e.ids[k] for k in sorted(range(3), key=lambda k: -e.calibrated[k])]
    assert _shown_ids(page) == order
    assert page.errors == []


@pytest.mark.browser
def test_the_unstable_readings_are_marked_and_the_rule_stated(page, tmp_path):
    e = _explanation(methods=WIDE, channels=(), members=tuple(f"m{i}" for i in range(5)))
    _open(page, e.save_html(tmp_path / "r.html"))
    scores = [e.projections[m].scores[0] for m in WIDE]
    shares = [e.agreement[m][0] for m in WIDE]
    expected = [(~np.isnan(s)) & (a < MIN_AGREEMENT) for s, a in zip(scores, shares, strict=True)]
    dots = page.eval_on_selector_all("#track circle.unstable", "cs => cs.length")
    assert dots == sum(int(x.sum()) for x in expected) > 0
    cells = sum(int((~np.isnan(s)).sum()) for s in scores)
    assert page.text_content("#track-note") == f"{UNSTABLE_NOTE}: {dots} of {cells} cells."
    rings = page.eval_on_selector_all(
        "#structure circle.nt", "cs => cs.map(c => c.classList.contains('unstable'))"
    )
    np.testing.assert_array_equal(rings, expected[0])
    assert page.is_visible("#structure-note")
    # One model: no spread, no marks, no notes.
    one = _explanation(methods=("gradient",), channels=(), members=("one",))
    _open(page, one.save_html(tmp_path / "one.html"))
    assert page.eval_on_selector_all("#track circle.unstable", "cs => cs.length") == 0
    assert not page.is_visible("#track-note") and not page.is_visible("#structure-note")
    assert page.errors == []


@pytest.mark.browser
def test_each_method_has_a_one_line_verdict(page, tmp_path):
    methods = ("gradient_x_input", "grad_cam", "smoothgrad_guided_backprop")
    e = _explanation(methods=methods, channels=())
    _open(page, e.save_html(tmp_path / "r.html"))
    page.click("#verdict-list summary")
    lines = page.eval_on_selector_all("#verdicts li", "ls => ls.map(l => l.textContent)")
    guide, verdicts = load_guide(), load_verdicts()
    assert len(lines) == len(methods)
    for line, m in zip(lines, methods, strict=True):
        assert line.startswith(verdicts[m]["level"] + m)
        assert verdicts[m]["verdict"] in line and guide["methods"][m]["use"] in line
    assert "(default)" in lines[0] and "(default)" not in "".join(lines[1:])
    page.click("#methods button[data-method='grad_cam']")
    assert guide["methods"]["grad_cam"]["use"] in page.text_content("#verdict")


def _tooltip_box(page) -> dict:
    return page.evaluate(
        """() => { const t = document.getElementById('tooltip');
        const r = t.getBoundingClientRect();
        return {left: r.left, right: r.right, scroll: t.scrollWidth, client: t.clientWidth,
                room: document.documentElement.clientWidth, hidden: t.hidden}; }"""
    )


@pytest.mark.browser
@pytest.mark.parametrize("width", [1500, 1000])
def test_the_tooltip_is_not_clipped_at_the_right_edge(browser, tmp_path, width):
    e = _explanation(methods=WIDE, channels=(), members=tuple(f"m{i}" for i in range(5)))
    path = e.save_html(tmp_path / "r.html")
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        _open(page, path)
        # The right-most nucleotide of the drawing, then the last cell of the track.
        rights = page.eval_on_selector_all(
            "#structure circle.nt", "cs => cs.map(c => c.getBoundingClientRect().right)"
        )
        targets = [page.locator(f"#structure circle[data-i='{int(np.argmax(rights))}']")]
        n = len(e.sequences[0])
        targets.append(page.locator(f"#track rect.cell[data-j='2'][data-i='{n - 1}']"))
        for target in targets:
            target.scroll_into_view_if_needed()
            box = target.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            tip = _tooltip_box(page)
            assert not tip["hidden"]
            assert tip["scroll"] <= tip["client"] + 1, tip  # no line runs out of the box
            assert tip["left"] >= 0 and tip["right"] <= tip["room"], tip  # nor off the window
    finally:
        page.close()


@pytest.mark.browser
def test_no_circles_overlap_in_the_report_drawings(page, tmp_path, explanation):
    _open(page, explanation.save_html(tmp_path / "r.html"))
    for k in (0, 2):  # let-7a-1 and mir-21
        page.click(f"#records tbody tr[data-k='{k}']")
        page.wait_for_selector(f"body[data-record='{explanation.ids[k]}']")
        circles = np.array(
            page.eval_on_selector_all(
                "#structure circle.nt",
                "cs => cs.map(c => ['cx', 'cy', 'r'].map(a => Number(c.getAttribute(a))))",
            )
        )
        assert len(circles) == len(explanation.sequences[k])
        apart = np.linalg.norm(circles[:, None, :2] - circles[None, :, :2], axis=-1)
        np.fill_diagonal(apart, np.inf)
        assert apart.min() >= 2 * circles[0, 2], (explanation.ids[k], apart.min())
