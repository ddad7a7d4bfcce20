"""Small builders shared by the routing tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from routing import Directory, parse_directory

JST = ZoneInfo("Asia/Tokyo")
LONDON = ZoneInfo("Europe/London")
LA = ZoneInfo("America/Los_Angeles")
GOLDEN = Path(__file__).parent / "golden"


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def org_yaml(org_id: str = "a", **fields: str) -> str:
    """One organization in directory YAML; fields given as YAML snippets override the defaults."""
    base = {
        "name": "テスト相談室",
        "topics": "[loneliness]",
        "regions": "[all]",
        "languages": "[ja]",
        "capacity": "2",
        "desk": "{web: true}",
        "hours": '[{days: daily, from: "00:00", to: "24:00"}]',
    }
    base.update(fields)
    lines = [f"  - id: {org_id}"] + [f"    {k}: {v}" for k, v in base.items() if v is not None]
    return "\n".join(lines) + "\n"


def directory(*orgs: str, timezone: str = "Asia/Tokyo") -> Directory:
    return parse_directory(f"timezone: {timezone}\norganizations:\n" + "".join(orgs), source="test.yaml")


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}; run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8"), (
        f"output differs from {path.name} (pytest --update-golden rewrites it)"
    )
