"""Phone lines to show a person when no partner can answer, or when life is in danger.

Hours are data (routing/data/hotlines.yaml), checked against the lines' own pages before a release;
a line that is closed now is never offered as if it were open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from routing.errors import DirectoryError, Problem
from routing.loader import _flag, _hours, _text, _topics, _zone
from routing.model import ALL, Desk, HoursRule, Organization
from routing.places import TOPICS
from routing.schedule import is_open as _schedule_open
from routing.yamlsource import Node, Reporter, describe, parse_yaml


@dataclass(frozen=True)
class Hotline:
    id: str
    name: str
    name_en: str
    number: str
    hours: str  # readable hours, Japanese first ("24時間 / 24 hours")
    topics: tuple[str, ...]
    emergency: bool = False
    fallback: bool = False
    note: str | None = None
    always: bool = False
    _schedule: Organization | None = None

    def hours_for(self, language: str | None) -> str:
        """The readable hours in one language: the file writes them "日本語 / English"."""
        ja, slash, en = self.hours.rpartition("/")
        if not slash:
            return self.hours
        return en.strip() if language == "en" else ja.strip()

    def is_open(self, now: datetime) -> bool:
        """Open at `now` by its published hours; a line whose hours vary by area counts as not open."""
        if self.always:
            return True
        if self._schedule is None:
            return False
        return _schedule_open(self._schedule, now)

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "number": self.number, "hours": self.hours}


@dataclass(frozen=True)
class Hotlines:
    lines: tuple[Hotline, ...]

    def for_topics(self, topics: tuple[str, ...] | list[str], now: datetime, *, urgent: bool) -> tuple[Hotline, ...]:
        """Lines open at `now` for any of `topics`, in file order; 110/119 first when urgent; the
        general fallback line (よりそいホットライン) when no topic line is open."""
        wanted = frozenset(topics)
        out: list[Hotline] = []
        if urgent:
            out.extend(h for h in self.lines if h.emergency)
        topical = [h for h in self.lines if not h.emergency and not wanted.isdisjoint(h.topics) and h.is_open(now)]
        if not topical:
            topical = [h for h in self.lines if h.fallback and h.is_open(now)]
        out.extend(h for h in topical if h not in out)
        return tuple(out)

    def get(self, line_id: str) -> Hotline | None:
        return next((h for h in self.lines if h.id == line_id), None)


def default_hotlines_path() -> Path:
    return Path(str(resources.files("routing") / "data" / "hotlines.yaml"))


def load_hotlines(path: str | Path | None = None) -> Hotlines:
    """Read a hotlines file (the bundled one by default)."""
    if path is None:
        return _bundled()
    path = Path(path)
    return parse_hotlines(path.read_text(encoding="utf-8"), source=str(path))


@lru_cache(maxsize=1)
def _bundled() -> Hotlines:
    path = default_hotlines_path()
    return parse_hotlines(path.read_text(encoding="utf-8"), source=str(path))


_LINE_FIELDS = ("id", "name", "name_en", "number", "hours", "hours_text", "topics", "emergency", "fallback", "note")


def parse_hotlines(text: str, *, source: str = "<hotlines>") -> Hotlines:
    report = Reporter(source, text)
    root = Node(parse_yaml(text, source), "", 1, report)
    if not isinstance(root.value, dict):
        raise DirectoryError([Problem(source, 1, "", f"expected a mapping with 'lines', got {describe(root.value)}")])
    root.check_keys(("timezone", "lines"))
    zone = ZoneInfo("Asia/Tokyo")
    if (tz := root.child("timezone")) is not None:
        zone = _zone(tz) or zone
    lines_node = root.child("lines")
    lines: list[Hotline] = []
    if lines_node is None or not isinstance(lines_node.value, list):
        report.add(1, "lines", "required: a list of phone lines")
    else:
        for node in lines_node.items():
            line = _line(node, zone)
            if line is not None:
                lines.append(line)
    report.raise_if_any()
    return Hotlines(tuple(lines))


def _line(node: Node, zone: ZoneInfo) -> Hotline | None:
    if not node.check_keys(_LINE_FIELDS):
        return None
    before = len(node.report.problems)
    values: dict[str, str] = {}
    for key in ("id", "name", "name_en", "number", "hours_text"):
        child = node.child(key)
        if child is None:
            node.report.add(node.line, f"{node.path}.{key}", "required")
            continue
        value = _text(child) if not isinstance(child.value, int) else str(child.value)
        if value is not None:  # else _text reported it
            values[key] = value
    hours_node = node.child("hours")
    always, schedule = False, None
    if hours_node is None:
        node.report.add(node.line, f"{node.path}.hours", "required: 24h, varies, or a list of shifts")
    elif hours_node.value == "24h":
        always = True
    elif hours_node.value != "varies":
        rules = _hours(hours_node)
        if rules is not None:
            schedule = _as_schedule(rules, zone)
    topics: tuple[str, ...] = ()
    if (t := node.child("topics")) is not None:
        topics = tuple(TOPICS) if t.value == ["all"] else (_topics(t) or ())
    flags = {k: (_flag(c) if (c := node.child(k)) is not None else False) for k in ("emergency", "fallback")}
    note = _text(n) if (n := node.child("note")) is not None else None
    if len(node.report.problems) > before:
        return None
    return Hotline(
        id=values["id"], name=values["name"], name_en=values["name_en"], number=values["number"],
        hours=values["hours_text"], topics=topics, emergency=bool(flags["emergency"]),
        fallback=bool(flags["fallback"]), note=note, always=always, _schedule=schedule,
    )


def _as_schedule(rules: tuple[HoursRule, ...], zone: ZoneInfo) -> Organization:
    """Reuse the partner schedule code: a phone line's hours are an organization's hours."""
    return Organization(
        id="hotline", name="hotline", topics=(), regions=ALL, languages=("ja",), capacity=1,
        timezone=zone, desk=Desk(web=True), hours=rules,
    )
