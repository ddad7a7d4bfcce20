"""docs/architecture.md names the path of one LINE message as `module:function`; each must exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
NAMED = re.compile(r"`((?:bot|flows|routing|storage)(?:\.\w+)+):(\w+(?:\.\w+)?)`")


def test_every_function_the_architecture_page_names_exists():
    names = NAMED.findall(PAGE.read_text(encoding="utf-8"))
    assert len(names) >= 15, "the page names the path's steps"
    missing = []
    for module_name, attribute in names:
        target: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part, None)
            if target is None:
                missing.append(f"{module_name}:{attribute}")
                break
        else:
            if not callable(target):
                missing.append(f"{module_name}:{attribute} (not callable)")
    assert missing == []
