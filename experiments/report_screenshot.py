"""The README's screenshot of the HTML report (issue 14), from the demo data.

Explains ``data/examples/hairpins.fa`` with the bundled model as ``make run`` does (plus
the per-channel maps), writes ``out/demo/report.html`` and, in headless Chromium driven
by playwright, opens one record, picks a method, hovers a nucleotide and saves
``docs/report.png``.

    python experiments/report_screenshot.py [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mirnamap.pipeline import explain_hairpins
from mirnamap.report import HEADLESS_CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
METHODS = ["gradient", "grad_cam", "smoothgrad_guided_backprop"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--record", default="human_pos_9")
    parser.add_argument("--method", default="gradient")
    parser.add_argument("--html", type=Path, default=ROOT / "out" / "demo" / "report.html")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "report.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    result = explain_hairpins(ROOT / "data" / "examples" / "hairpins.fa", METHODS, channels=True)
    path = result.save_html(args.html, title="mirnamap: data/examples/hairpins.fa")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, args=list(HEADLESS_CHROMIUM_ARGS)
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.click("#head th[data-key='p']")
        page.click(f"#records tbody tr:has(td:text-is('{args.record}'))")
        page.wait_for_selector(f"body[data-record='{args.record}']")
        page.click(f"#methods button[data-method='{args.method}']")
        box = page.locator("#structure circle[data-i='30']").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        args.png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.png))
        browser.close()
    print(f"{path} ({path.stat().st_size / 1e6:.2f} MB) -> {args.png}")


if __name__ == "__main__":
    main()
