"""The accessibility check of the browser tests: axe-core (from the npm registry, installed by
`.ci/run` from tests/a11y/package-lock.json) run inside the page by Playwright.

The page's own Content-Security-Policy stays on: the script is evaluated through the browser's
DevTools protocol, as Playwright's `evaluate` does, not added to the page. Tests skip with the
reason where axe-core is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"

needs_axe = pytest.mark.skipif(
    not AXE.exists(), reason="axe-core is not installed (cd tests/a11y && npm ci; .ci/run does this)"
)

_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n").join(" ")),
  }));
}"""


async def violations(page: Any) -> list[dict[str, Any]]:
    """What axe-core finds wrong on the page as it is now (every WCAG rule it runs by default)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(_RUN)
    return found


def explain(found: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in found)
