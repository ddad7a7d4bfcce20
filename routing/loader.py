"""Loading the partner directory file, checking everything a coordinator can get wrong.

All problems are collected and raised together as one DirectoryError, each naming file, line and
field, so that `tsunagu routing check` lists them all in one run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from routing import municipalities as places_jp
from routing.errors import DirectoryError, Problem
from routing.model import ALL, DAY_NAMES, HOLIDAY_MODES, Desk, Directory, ExtraHours, HoursRule, Organization
from routing.places import PREFECTURES, TOPICS, topic_suggestion
from routing.yamlsource import Node, Reporter, block_item_lines, describe, parse_yaml, quote_time

DEFAULT_TIMEZONE = "Asia/Tokyo"
ORG_FIELDS = (
    "id", "name", "name_en", "topics", "regions", "languages", "out_of_area", "crisis", "capacity",
    "desk", "timezone", "hours", "holidays", "closed_dates", "extra_hours", "paused", "response_minutes",
    "accepts_from", "per_counselor",
)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_DAY_INDEX = {name: i for i, name in enumerate(DAY_NAMES)}
T = TypeVar("T")  # what a field reader gives
D = TypeVar("D")  # an optional field's default


def example_directory_path() -> Path:
    """The bundled example directory, which the default `serve` loads."""
    return Path(str(resources.files("routing") / "data" / "example-directory.yaml"))


def load_directory(path: str | Path) -> Directory:
    """Read and check a directory file (the only I/O in this package)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return parse_directory(text, source=str(path))


def parse_directory(text: str, *, source: str = "<directory>") -> Directory:
    report = Reporter(source, text)
    root = Node(parse_yaml(text, source), "", 1, report)
    if not isinstance(root.value, dict):
        raise DirectoryError(
            [Problem(source, 1, "", f"expected a mapping with 'organizations', got {describe(root.value)}")]
        )
    root.check_keys(("timezone", "organizations"))
    default_zone = ZoneInfo(DEFAULT_TIMEZONE)
    tz_node = root.child("timezone")
    if tz_node is not None:
        default_zone = _zone(tz_node) or default_zone
    orgs_node = root.child("organizations")
    organizations: list[Organization] = []
    if orgs_node is None:
        report.add(1, "organizations", "required: the list of partner organizations")
    elif not isinstance(orgs_node.value, list) or not orgs_node.value:
        orgs_node.problem(f"expected a non-empty list of organizations, got {describe(orgs_node.value)}")
    else:
        seen: dict[str, Node] = {}
        starts = block_item_lines(text, "organizations")
        if starts is not None and len(starts) != len(orgs_node.value):
            starts = None
        for i, node in enumerate(orgs_node.items()):
            org = _organization(node, default_zone, line=starts[i] if starts is not None else None)
            id_node = node.child("id") if isinstance(node.value, dict) else None
            if id_node is not None and isinstance(id_node.value, str):
                org_id: str = id_node.value
                if org_id in seen:
                    id_node.problem(f"duplicate id '{org_id}' (first used on line {seen[org_id].line})")
                    continue
                seen[org_id] = node
            if org is not None:
                organizations.append(org)
    report.add_unquoted()
    report.raise_if_any()
    return Directory(organizations=tuple(organizations), timezone=default_zone, source=source)


def _organization(node: Node, default_zone: ZoneInfo, *, line: int | None = None) -> Organization | None:
    if not node.check_keys(ORG_FIELDS):
        return None
    before = len(node.report.problems)
    org_id = _required(node, "id", _org_id)
    name = _required(node, "name", _text)
    name_en = _optional(node, "name_en", _text, None)
    topics = _required(node, "topics", _topics)
    areas = _required(node, "regions", _regions)
    regions, municipal = areas if areas is not None else (None, None)
    accepts = _optional(node, "accepts_from", _accepts_from, frozenset())
    languages = _optional(node, "languages", _languages, ("ja",))
    capacity = _required(node, "capacity", lambda n: _integer(n, minimum=1))
    desk = _required(node, "desk", _desk)
    zone = _optional(node, "timezone", _zone, default_zone)
    hours = _optional(node, "hours", _hours, ())
    holiday_mode = _optional(node, "holidays", _holiday_mode, "open")
    closed = _optional(node, "closed_dates", _dates, frozenset())
    extra = _optional(node, "extra_hours", _extra_hours, ())
    out_of_area = _optional(node, "out_of_area", _flag, False)
    crisis = _optional(node, "crisis", _flag, False)
    paused = _optional(node, "paused", _flag, False)
    response = _optional(node, "response_minutes", lambda n: _integer(n, minimum=1), 10)
    per_counselor = _optional(node, "per_counselor", lambda n: _integer(n, minimum=1), None)
    if hours == () and extra == () and node.child("hours") is None:
        node.report.add(node.line, f"{node.path}.hours", "required: this partner would never be open")
    if len(node.report.problems) > before:
        return None
    # Each None below was reported above, so none is left here; spelled out for the type checker.
    if (org_id is None or name is None or topics is None or regions is None or municipal is None or accepts is None
            or languages is None or capacity is None
            or desk is None or zone is None or hours is None or holiday_mode is None or closed is None
            or extra is None or out_of_area is None or crisis is None or paused is None or response is None):
        return None  # pragma: no cover
    return Organization(
        id=org_id, name=name, name_en=name_en, topics=topics, regions=regions, languages=languages,
        capacity=capacity, timezone=zone, desk=desk, hours=hours, holidays=holiday_mode,
        closed_dates=closed, extra_hours=extra, out_of_area=out_of_area, crisis=crisis,
        paused=paused, response_minutes=response, line=line if line is not None else node.line,
        municipalities=municipal, accepts_from=accepts, per_counselor=per_counselor,
    )


def _required(node: Node, key: str, read: Callable[[Node], T | None]) -> T | None:
    """The field read by `read`; None (and a problem) when it is absent or `read` refused it."""
    child = node.child(key)
    if child is None:
        node.report.add(node.line, f"{node.path}.{key}", "required")
        return None
    return read(child)


def _optional(node: Node, key: str, read: Callable[[Node], T | None], default: D) -> T | D | None:
    """The field read by `read`, `default` when absent or null; None when `read` refused it."""
    child = node.child(key)
    if child is None or child.value is None:
        return default
    return read(child)


def _text(node: Node) -> str | None:
    if not isinstance(node.value, str) or not node.value.strip():
        node.problem(f"expected text, got {describe(node.value)}")
        return None
    return node.value.strip()


def _org_id(node: Node) -> str | None:
    value = _text(node)
    if value is not None and not _ID.match(value):
        node.problem(f"'{value}' is not a usable id: lower-case letters, digits, '-' and '_'")
        return None
    return value


def _flag(node: Node) -> bool | None:
    if not isinstance(node.value, bool):
        node.problem(f"expected true or false, got {describe(node.value)}")
        return None
    return node.value


def _integer(node: Node, *, minimum: int) -> int | None:
    if isinstance(node.value, bool) or not isinstance(node.value, int):
        node.problem(f"expected a whole number, got {describe(node.value)}")
        return None
    if node.value < minimum:
        node.problem(f"must be at least {minimum}, got {node.value}")
        return None
    return int(node.value)


def _list(node: Node, *, allow_empty: bool = False) -> bool:
    if not isinstance(node.value, list):
        node.problem(f"expected a list, got {describe(node.value)}")
        return False
    if not node.value and not allow_empty:
        node.problem("must not be empty")
        return False
    return True


def _topics(node: Node) -> tuple[str, ...] | None:
    if not _list(node):
        return None
    if all(isinstance(value, str) and value in TOPICS for value in node.value):  # the usual case, at speed
        return tuple(dict.fromkeys(node.value))
    out: list[str] = []
    for item in node.items():
        if item.value not in TOPICS:
            close = topic_suggestion(str(item.value))
            hint = f" (did you mean '{close}'?)" if close else f" (known: {', '.join(TOPICS)})"
            item.problem(f"unknown topic id {describe(item.value)}{hint}")
        elif item.value not in out:
            out.append(item.value)
    return tuple(out)


def _regions(node: Node) -> tuple[frozenset[str], frozenset[str]] | None:
    """(prefecture codes, municipality codes): `all`, prefectures "01".."47", municipalities "131016"."""
    if not _list(node):
        return None
    codes: set[str] = set()
    local: set[str] = set()
    for item in node.items():
        value = item.value
        if value == "all":
            if len(node.value) > 1:
                item.problem("'all' already covers every prefecture; list it alone")
            return ALL, frozenset()
        if isinstance(value, int) and not isinstance(value, bool) and value < 100:
            value = f"{value:02d}"
        if isinstance(value, str) and value in PREFECTURES:
            codes.add(value)
            continue
        municipality = _municipality(item, what="region")
        if municipality is not None:
            local.add(municipality)
    return (ALL if codes == ALL else frozenset(codes)), frozenset(local)


def _accepts_from(node: Node) -> frozenset[str] | None:
    """Municipalities whose residents the partner also takes (its neighbours)."""
    if not _list(node, allow_empty=True):
        return None
    found = {code for code in (_municipality(item, what="municipality") for item in node.items()) if code is not None}
    return frozenset(found)


def _municipality(item: Node, *, what: str) -> str | None:
    """A municipality's six-digit code from a code written with or without its check digit; a
    problem that names the code when the name was written instead."""
    code = places_jp.normalize_code(item.value)
    if code is not None:
        return code
    value = item.value
    hint = ""
    if isinstance(value, str) and value.strip():
        named = places_jp.find(value)
        if len(named) == 1:
            hint = f"; for {named[0].full_name} write \"{named[0].code}\""
        elif named:
            hint = "; that name is used by " + ", ".join(
                f"{PREFECTURES[m.prefecture]}{m.full_name} \"{m.code}\"" for m in named[:4])
        elif isinstance(value, str) and value.isdigit() and len(value) == 6:
            hint = " (its check digit is wrong, or the municipality no longer exists)"
    if what == "region" and (isinstance(value, int) or (isinstance(value, str) and len(value.strip()) <= 2)):
        item.problem(f'bad prefecture code {describe(value)}: use JIS codes "01" (北海道) to "47" (沖縄県), or all')
    elif what == "region":
        item.problem(f"bad {what} {describe(value)}: use JIS prefecture codes \"01\" (北海道) to \"47\" (沖縄県), "
                     f"municipality codes such as \"131016\" (千代田区), or all{hint}")
    else:
        item.problem(f"bad {what} {describe(value)}: use a municipality code such as \"131016\" (千代田区){hint}")
    return None


def _languages(node: Node) -> tuple[str, ...] | None:
    if not _list(node):
        return None
    if all(isinstance(value, str) and _LANGUAGE.match(value) for value in node.value):
        return tuple(dict.fromkeys(node.value))
    out: list[str] = []
    for item in node.items():
        if not isinstance(item.value, str) or not _LANGUAGE.match(item.value):
            item.problem(f"expected a language code such as ja, en, zh, vi, got {describe(item.value)}")
        elif item.value not in out:
            out.append(item.value)
    return tuple(out)


def _zone(node: Node) -> ZoneInfo | None:
    if not isinstance(node.value, str):
        node.problem(f"expected an IANA time zone such as Asia/Tokyo, got {describe(node.value)}")
        return None
    try:
        return ZoneInfo(node.value)
    except (ZoneInfoNotFoundError, ValueError):
        node.problem(f"unknown time zone \"{node.value}\" (use an IANA name such as Asia/Tokyo or Europe/London)")
        return None


def _desk(node: Node) -> Desk | None:
    if not node.check_keys(("slack_channel", "web", "supervisors", "web_supervisors")):
        return None
    channel = node.child("slack_channel")
    web = node.child("web")
    slack: str | None = None
    if channel is not None:
        if not isinstance(channel.value, str) or not _SLACK_CHANNEL.match(channel.value):
            channel.problem(f"expected a Slack channel id such as C0123ABCD, got {describe(channel.value)}")
            return None
        slack = channel.value
    use_web = _flag(web) if web is not None else False
    if use_web is None:
        return None
    if slack is None and not use_web:
        node.problem("needs slack_channel or web: true, or cases would have nowhere to go")
        return None
    supervisors = _names(node.child("supervisors"), pattern=_SLACK_USER, example="a Slack user id such as U0123ABCD")
    web_supervisors = _names(node.child("web_supervisors"), pattern=None, example="a web desk account name")
    if supervisors is None or web_supervisors is None:
        return None
    return Desk(slack_channel=slack, web=use_web, supervisors=supervisors, web_supervisors=web_supervisors)


def _names(node: Node | None, *, pattern: re.Pattern[str] | None, example: str) -> frozenset[str] | None:
    """A list of names (empty when absent); None after reporting a problem."""
    if node is None:
        return frozenset()
    if not isinstance(node.value, list):
        node.problem(f"expected a list of names, each {example}")
        return None
    names = []
    for item in node.items():
        if not isinstance(item.value, str) or not item.value.strip() or (
                pattern is not None and not pattern.match(item.value)):
            item.problem(f"expected {example}, got {describe(item.value)}")
            return None
        names.append(item.value.strip())
    return frozenset(names)


def _time(node: Node, *, end: bool) -> int | None:
    value = node.value
    if node.report.unquoted:
        # YAML 1.2 reads 18:00 as text, but YAML 1.1 tools read it as the number 1080: quotes make
        # it a time for every reader.
        unquoted = node.report.take_unquoted(node.line, str(node.keys[-1]) if node.keys else "")
        if unquoted is not None:
            node.report.add(node.line, node.path, quote_time(unquoted[1]), column=unquoted[0])
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        node.problem(f"write times in quotes, like \"18:00\" (YAML read {value!r} as a number)")
        return None
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        node.problem(f"expected a time \"HH:MM\", got {describe(value)}")
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    limit = 24 if end else 23
    if hour > limit or minute > 59 or (hour == 24 and minute != 0):
        node.problem(f"no such time \"{value}\" (use 00:00 to {'24:00' if end else '23:59'})")
        return None
    return hour * 60 + minute


def _span(node: Node) -> tuple[int, int] | None:
    """from/to of a shift as (start, end) minutes; `to` at or before `from` means the next day."""
    start_node, end_node = node.child("from"), node.child("to")
    if start_node is None or end_node is None:
        node.problem("needs both 'from' and 'to'")
        return None
    start = _time(start_node, end=False)
    end = _time(end_node, end=True)
    if start is None or end is None:
        return None
    if end == start:
        end_node.problem(
            f'\'to\' equals \'from\' ("{start_node.value}"); for a whole day write from "00:00" to "24:00"'
        )
        return None
    if end < start:
        end += 1440
    return start, end


def _days(node: Node) -> frozenset[int] | None:
    if node.value == "daily":
        return frozenset(range(7))
    if not _list(node):
        return None
    if all(isinstance(value, str) and value.lower() in _DAY_INDEX for value in node.value):
        return frozenset(_DAY_INDEX[value.lower()] for value in node.value)
    days: set[int] = set()
    for item in node.items():
        if not isinstance(item.value, str) or item.value.lower() not in DAY_NAMES:
            item.problem(f"unknown day {describe(item.value)} (use {', '.join(DAY_NAMES)}, or daily)")
            continue
        days.add(DAY_NAMES.index(item.value.lower()))
    return frozenset(days)


def _hours(node: Node) -> tuple[HoursRule, ...] | None:
    if not _list(node, allow_empty=True):
        return None
    rules: list[HoursRule] = []
    for item in node.items():
        if not item.check_keys(("days", "from", "to")):
            continue
        days_node = item.child("days")
        if days_node is None:
            item.problem("needs 'days' (for example [mon, tue, wed, thu, fri] or daily)")
            continue
        days = _days(days_node)
        span = _span(item)
        if days is not None and span is not None:
            rules.append(HoursRule(days=days, start=span[0], end=span[1]))
    return tuple(rules)


def _holiday_mode(node: Node) -> str | None:
    if node.value not in HOLIDAY_MODES:
        node.problem(f"expected one of {', '.join(HOLIDAY_MODES)}, got {describe(node.value)}")
        return None
    return str(node.value)


def _date(node: Node) -> date | None:
    value = node.value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
        if "T" in value or " " in value.strip():  # an unquoted date and time: YAML's timestamp
            try:
                return datetime.fromisoformat(value).date()
            except ValueError:
                pass
    node.problem(f"expected a date \"YYYY-MM-DD\", got {describe(value)}")
    return None


def _dates(node: Node) -> frozenset[date] | None:
    if not _list(node, allow_empty=True):
        return None
    return frozenset(d for d in (_date(item) for item in node.items()) if d is not None)


def _extra_hours(node: Node) -> tuple[ExtraHours, ...] | None:
    if not _list(node, allow_empty=True):
        return None
    out: list[ExtraHours] = []
    for item in node.items():
        if not item.check_keys(("date", "from", "to")):
            continue
        date_node = item.child("date")
        if date_node is None:
            item.problem("needs 'date'")
            continue
        day = _date(date_node)
        span = _span(item)
        if day is not None and span is not None:
            out.append(ExtraHours(date=day, start=span[0], end=span[1]))
    return tuple(out)
