"""Pictures of the HTML reports for docs/coordinators.md, taken with Debian's Chromium (Playwright).

    .venv/bin/python bench/network_month.py --keep /tmp/month       # a month of cases and its reports
    .venv/bin/python tools/screenshot_reports.py /tmp/month         # -> docs/screenshots/stats-*.png

Takes every stats-*.html in the folder, full page at 1100 px wide, and refuses a page that asks for
anything over the network.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


async def shoot(folder: Path, *, width: int = 1100) -> list[Path]:
    from playwright.async_api import async_playwright

    taken = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                           args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for page_file in sorted(folder.glob("stats-*.html")):
                page = await browser.new_page(viewport={"width": width, "height": 800})
                outside: list[str] = []
                page.on("request", lambda r, seen=outside: None if r.url.startswith("file:") else seen.append(r.url))
                await page.goto(page_file.resolve().as_uri())
                if outside:
                    raise SystemExit(f"{page_file.name} asked the network for {outside[0]}")
                target = OUT / f"{page_file.stem}.png"
                await page.screenshot(path=str(target), full_page=True)
                taken.append(target)
                await page.close()
        finally:
            await browser.close()
    return taken


if __name__ == "__main__":
    for path in asyncio.run(shoot(Path(sys.argv[1]))):
        print(path.relative_to(ROOT))
