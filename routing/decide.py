"""The routing decision: which partners may take a case now, in what order, and why the others may not.

Policy (docs/routing.md explains it for coordinators):
  1. Topic, language and region must match. Nationwide partners match every region. A person who
     gave no prefecture matches only nationwide partners. A person who avoids their own area matches
     only partners that take `out_of_area` and do not serve that prefecture (nationwide partners,
     which are nobody's local office, qualify when they take `out_of_area`).
  2. A matching partner must not be paused, must be open now, and must have room (load < capacity).
  3. Order: partners that take the first (primary) topic before those that take only a later one;
     then the least loaded relative to capacity; then a fair tie-break, described below.
  4. An urgent case with no candidate goes to open `crisis` partners with room, on any topic
     (language and region still apply); they are marked `via_crisis`.
  5. With no candidate at all, the decision gives the earliest opening among matching partners.

Fair tie-break: among equal (primary, load ratio), order by CRC-32 of "<org id>:<UTC minute of now>".
It is deterministic for the same inputs (tests and `explain` are reproducible) but the order among
equals changes every minute, so no partner is always first or always last.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from routing.errors import RoutingError
from routing.hotlines import Hotline, Hotlines, load_hotlines
from routing.model import Directory, Organization
from routing.places import PREFECTURES, TOPICS
from routing.schedule import local_position, next_opening, open_at_local, require_aware


class RequestError(RoutingError):
    """A route request that cannot be routed as written (unknown topic or prefecture)."""


@dataclass(frozen=True)
class RouteRequest:
    topics: tuple[str, ...]
    prefecture: str | None
    language: str = "ja"
    urgent: bool = False
    avoid_own_area: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.topics, str):
            object.__setattr__(self, "topics", (self.topics,))
        elif not isinstance(self.topics, tuple):
            object.__setattr__(self, "topics", tuple(self.topics))
        if not self.topics:
            raise RequestError("a route request needs at least one topic")
        for topic in self.topics:
            if topic not in TOPICS:
                raise RequestError(f"unknown topic '{topic}' (known: {', '.join(TOPICS)})")
        if self.prefecture is not None and self.prefecture not in PREFECTURES:
            raise RequestError(f"unknown prefecture code '{self.prefecture}' (use \"01\" to \"47\")")


@dataclass(frozen=True)
class Candidate:
    org: Organization
    load: int
    capacity: int
    via_crisis: bool = False


@dataclass(frozen=True)
class Exclusion:
    org: str
    reason: str  # topic | language | region | out_of_area | paused | closed | capacity
    detail: str
    opens_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    request: RouteRequest
    at: datetime
    candidates: tuple[Candidate, ...]
    excluded: tuple[Exclusion, ...]
    next_open: datetime | None
    hotlines: tuple[Hotline, ...]

    @property
    def routable(self) -> bool:
        return bool(self.candidates)

    def to_json(self) -> dict[str, object]:
        tz = self.at.tzinfo
        stamp = lambda d: d.astimezone(tz).isoformat() if d is not None else None  # noqa: E731
        return {
            "at": stamp(self.at),
            "request": {
                "topics": list(self.request.topics),
                "prefecture": self.request.prefecture,
                "language": self.request.language,
                "urgent": self.request.urgent,
                "avoid_own_area": self.request.avoid_own_area,
            },
            "candidates": [
                {
                    "org": c.org.id,
                    "name": c.org.name,
                    "load": c.load,
                    "capacity": c.capacity,
                    "via_crisis": c.via_crisis,
                    "response_minutes": c.org.response_minutes,
                    "desk": {"slack_channel": c.org.desk.slack_channel, "web": c.org.desk.web},
                }
                for c in self.candidates
            ],
            "excluded": [
                {"org": e.org, "reason": e.reason, "detail": e.detail, "opens_at": stamp(e.opens_at)}
                for e in self.excluded
            ],
            "next_open": stamp(self.next_open),
            "hotlines": [h.to_json() for h in self.hotlines],
        }


class _Entry:
    """Per-organization facts and ready-made exclusions, built once per directory (see _index)."""

    __slots__ = ("org", "topics", "languages", "ex_topic", "ex_language", "ex_region", "ex_out", "ex_paused", "crc")

    def __init__(self, org: Organization) -> None:
        self.org = org
        self.topics = frozenset(org.topics)
        self.languages = frozenset(org.languages)
        self.ex_topic = Exclusion(org.id, "topic", f"takes {', '.join(org.topics)}")
        self.ex_language = Exclusion(org.id, "language", f"speaks {', '.join(org.languages)}")
        self.ex_region = Exclusion(org.id, "region", f"serves {regions_text(org)}")
        self.ex_out = Exclusion(org.id, "out_of_area", "does not take people who avoid their own area")
        self.ex_paused = Exclusion(org.id, "paused", "paused by a coordinator")
        self.crc = zlib.crc32(f"{org.id}:".encode())


def regions_text(org: Organization) -> str:
    if org.nationwide:
        return "all of Japan"
    codes = sorted(org.regions)
    if len(codes) <= 8:
        return ", ".join(codes)
    return f"{len(codes)} prefectures ({', '.join(codes[:4])}, …)"




def _index(directory: Directory) -> tuple[_Entry, ...]:
    entries = directory.__dict__.get("_route_index")
    if entries is None:
        entries = tuple(_Entry(org) for org in directory.organizations)
        object.__setattr__(directory, "_route_index", entries)
    return entries


def route(
    request: RouteRequest,
    directory: Directory,
    load: Mapping[str, int],
    now: datetime,
    *,
    hotlines: Hotlines | None = None,
) -> Decision:
    """Decide where a case may go at `now` (aware). `load` maps org id to open conversations (absent = 0);
    `hotlines` defaults to the bundled file."""
    require_aware(now)
    topics = request.topics
    primary = topics[0]
    wanted = frozenset(topics)
    language = request.language
    pref = request.prefecture
    avoid = request.avoid_own_area
    urgent = request.urgent
    positions: dict[object, tuple[int, int]] = {}
    minute_key = str(int(now.timestamp() // 60)).encode()

    matched: list[tuple[int, float, int, _Entry, int]] = []
    crisis: list[tuple[int, float, int, _Entry, int]] = []
    crisis_slots: list[tuple[int, _Entry]] = []
    excluded: list[Exclusion | None] = []
    closed_opening: list[datetime] = []

    for entry in _index(directory):
        org = entry.org
        topic_ok = not entry.topics.isdisjoint(wanted)
        if not topic_ok and not (urgent and org.crisis):
            excluded.append(entry.ex_topic)
            continue
        failure: Exclusion | None = None
        if language not in entry.languages:
            failure = entry.ex_language
        elif avoid:
            if not org.out_of_area:
                failure = entry.ex_out
            elif pref is not None and not org.nationwide and pref in org.regions:
                failure = Exclusion(org.id, "region", f"serves the person's own area ({pref} {PREFECTURES[pref]})")
            elif pref is None and not org.nationwide:
                failure = Exclusion(org.id, "region", "regional partner; the person gave no prefecture")
        elif not org.nationwide and (pref is None or pref not in org.regions):
            failure = entry.ex_region
        if failure is None and org.paused:
            failure = entry.ex_paused
        if failure is None:
            zone = org.timezone
            position = positions.get(zone)
            if position is None:
                position = positions[zone] = local_position(now, zone)
            if not open_at_local(org, *position):
                if topic_ok:
                    opens = next_opening(org, now)
                    if opens is not None:
                        closed_opening.append(opens)
                    detail = f"closed; opens {_when(opens, now)}" if opens else "closed; no opening in the next 14 days"
                    failure = Exclusion(org.id, "closed", detail, opens)
                else:
                    failure = entry.ex_topic
            else:
                used = load.get(org.id, 0)
                if used >= org.capacity:
                    failure = Exclusion(org.id, "capacity", f"at capacity ({used}/{org.capacity})") if topic_ok else entry.ex_topic
                else:
                    key = (0 if primary in entry.topics else 1, used / org.capacity, zlib.crc32(minute_key, entry.crc), entry, used)
                    if topic_ok:
                        matched.append(key)
                    else:
                        crisis.append(key)
                        crisis_slots.append((len(excluded), entry))
                        excluded.append(None)
                    continue
        excluded.append(failure if topic_ok else entry.ex_topic)

    via_crisis = False
    if matched:
        pool = matched
    elif urgent and crisis:
        pool, via_crisis = crisis, True
    else:
        pool = []
    if not via_crisis:
        for slot, entry in crisis_slots:
            excluded[slot] = entry.ex_topic
    pool.sort(key=lambda k: k[:3])
    candidates = tuple(Candidate(k[3].org, k[4], k[3].org.capacity, via_crisis) for k in pool)
    lines = (hotlines if hotlines is not None else load_hotlines()).for_topics(topics, now, urgent=urgent)
    return Decision(
        request=request,
        at=now,
        candidates=candidates,
        excluded=tuple(e for e in excluded if e is not None),
        next_open=None if candidates else (min(closed_opening) if closed_opening else None),
        hotlines=lines,
    )


def _when(moment: datetime, now: datetime) -> str:
    local = moment.astimezone(now.tzinfo)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")
