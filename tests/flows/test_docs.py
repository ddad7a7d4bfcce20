"""docs/flows.md shows the bundled intake's diagram; it must be the one `flows graph` draws today."""

from __future__ import annotations

import re
from pathlib import Path

from flows import load_bundled
from flows.graph import mermaid

DOC = Path(__file__).resolve().parents[2] / "docs" / "flows.md"
BLOCK = re.compile(r"(<!-- intake-diagram:[^\n]*-->\n```mermaid\n)(.*?)(```)", re.S)


def test_docs_diagram_is_current(update_golden: bool) -> None:
    text = DOC.read_text(encoding="utf-8")
    match = BLOCK.search(text)
    assert match, "docs/flows.md lost its intake-diagram block"
    drawn = mermaid(load_bundled())
    if update_golden:
        text = text[: match.start(2)] + drawn + text[match.end(2):]
        DOC.write_text(text, encoding="utf-8")
        match = BLOCK.search(text)
        assert match
    assert match.group(2) == drawn, "run pytest tests/flows --update-golden to redraw it"


def test_docs_name_every_step_kind_and_engine_message() -> None:
    from flows.model import STEP_KINDS
    from flows.texts import BUILTIN

    text = DOC.read_text(encoding="utf-8")
    for kind in STEP_KINDS:
        assert f"### {kind}:" in text
    for name in BUILTIN:
        assert f"`{name}`" in text
