"""How fast the HTML report is usable in a real browser, against the size of the report.

Builds reports of 1, 100 and 1,000 records (the example hairpins, repeated, explained by
three methods of a small network), opens each from ``file://`` in headless Chromium
(Debian's, through playwright) and times it until the page is usable (the table drawn,
the first record shown). Prints a table of records, MB, seconds and the ratio to the
1-record page; the target is a 1,000-record report usable within 3 s on a quiet machine.

    python benchmarks/report.py            # also writes benchmarks/results/report.md
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "report.md"
METHODS = ("gradient", "gradient_x_input", "deconvnet")


def _report(folder: Path, n: int) -> Path:
    from mirnamap.datasets import load_fasta
    from mirnamap.model import build_model
    from mirnamap.pipeline import explain_hairpins

    records = load_fasta(ROOT / "data" / "examples" / "hairpins.fa")
    pairs = [(i, s) for i, s in zip(records.ids, records.sequences, strict=True) if "N" not in s]
    chosen = {f"{pairs[k % len(pairs)][0]}_{k}": pairs[k % len(pairs)][1] for k in range(n)}
    model = build_model(filters=(4, 4, 4), dense_units=8, seed=0)
    explanation = explain_hairpins(chosen, METHODS, model, workers=2, progress=False)
    return explanation.save_html(folder / f"report_{n}.html")


def main() -> int:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        print("no Chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        for n in (1, 100, 1000):
            path = _report(Path(folder), n)
            times = []
            for _ in range(3):
                page = browser.new_page(viewport={"width": 1500, "height": 950})
                start = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_selector("body[data-ready='1']", timeout=120_000)
                times.append(time.perf_counter() - start)
                page.close()
            rows.append((n, path.stat().st_size / 1e6, min(times)))
        browser.close()
    base = rows[0][2]
    table = [
        "| records | MB | seconds to usable (best of 3) | x the 1-record page |",
        "|---|---|---|---|",
        *(f"| {n} | {mb:.1f} | {s:.2f} | {s / base:.1f} |" for n, mb, s in rows),
    ]
    print("\n".join(table))
    RESULTS.write_text(
        "# The HTML report in a real browser (`benchmarks/report.py`)\n\n"
        "Reports of the example hairpins, repeated, explained by three methods; opened from "
        "file:// in headless Chromium until usable. Absolute times swing with the machine's "
        "load: read the ratio.\n\n" + "\n".join(table) + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
