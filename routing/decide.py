"""The routing decision: which partners may take a case now, in what order, and why the others may not.

Policy (docs/routing.md explains it for coordinators):
  1. Topic, language and region must match. Nationwide partners match every region. A person who
     gave no prefecture matches only nationwide partners. A partner whose regions name municipalities
     matches a person who gave one of them (or a ward of a city it names); one that lists the person's
     municipality in `accepts_from` (a neighbour) matches too. A person who gave no municipality
     matches only partners of the whole prefecture. A person who avoids their own area matches
     only partners that take `out_of_area` and whose own area (prefectures and municipalities in
     `regions`, not `accepts_from`) does not contain them: a partner of the prefecture is their own
     area; so is one of their municipality, and, when they gave none, any partner of a municipality
     of their prefecture (nationwide partners, which are nobody's local office, qualify when they take
     `out_of_area`).
  2. A matching partner must not be paused, must be open now, must have somebody on duty (where
     presence is known) and must have room (load < capacity; with `per_counselor`, at most that
     many conversations for each counselor on duty).
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

import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from routing import municipalities as places_jp
from routing.errors import RoutingError
from routing.hotlines import Hotline, Hotlines, load_hotlines
from routing.model import Directory, Organization
from routing.places import PREFECTURES, TOPICS
from routing.schedule import Moment, open_at, opening_from, require_aware


class RequestError(RoutingError):
    """A route request that cannot be routed as written (unknown topic or prefecture)."""


@dataclass(frozen=True)
class RouteRequest:
    topics: tuple[str, ...]
    prefecture: str | None
    language: str = "ja"
    urgent: bool = False
    avoid_own_area: bool = False
    municipality: str | None = None  # six-digit code (routing/municipalities.py); a ward's is allowed

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
        if self.municipality is not None:
            code = places_jp.normalize_code(self.municipality)
            if code is None:
                raise RequestError(f"unknown municipality code '{self.municipality}' (six digits, e.g. \"131016\")")
            if self.prefecture is None:
                object.__setattr__(self, "prefecture", code[:2])
            elif code[:2] != self.prefecture:
                raise RequestError(f"municipality {code} is not in prefecture {self.prefecture}")
            object.__setattr__(self, "municipality", code)

    @property
    def areas(self) -> frozenset[str]:
        """The person's municipality and, for a ward, its city: what a partner's codes are matched with."""
        if self.municipality is None:
            return frozenset()
        return frozenset({self.municipality, places_jp.city_of(self.municipality)})


@dataclass(frozen=True)
class Candidate:
    org: Organization
    load: int
    capacity: int
    via_crisis: bool = False


@dataclass(frozen=True)
class Exclusion:
    org: str
    reason: str  # topic | language | region | out_of_area | paused | closed | nobody_on_duty | capacity
    detail: str
    opens_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """Where a case may go, and why not elsewhere.

    `excluded` is worked out when first read (then kept): the server only needs the candidates to
    offer a case, and saying when each closed partner opens next costs more than the decision itself.
    Build one by hand with `Decision(..., explain=lambda: (exclusion, ...))`."""

    request: RouteRequest
    at: datetime
    candidates: tuple[Candidate, ...]
    next_open: datetime | None
    hotlines: tuple[Hotline, ...]
    explain: Callable[[], tuple[Exclusion, ...]] = field(default=tuple, repr=False, compare=False)

    @cached_property
    def excluded(self) -> tuple[Exclusion, ...]:
        return tuple(self.explain())

    @property
    def routable(self) -> bool:
        return bool(self.candidates)

    def to_json(self) -> dict[str, object]:
        tz = self.at.tzinfo

        def stamp(moment: datetime | None) -> str | None:
            return moment.astimezone(tz).isoformat() if moment is not None else None

        return {
            "at": stamp(self.at),
            "request": {
                "topics": list(self.request.topics),
                "prefecture": self.request.prefecture,
                "municipality": self.request.municipality,
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


_OPEN_RUN = re.compile(b"\x01+")


class _Entry:
    """Per-organization facts and ready-made exclusions, built once per directory (see _Index)."""

    __slots__ = (
        "org", "id", "topics", "languages", "regions", "nationwide", "out_of_area", "paused", "capacity",
        "timezone", "pos", "candidates", "per_counselor", "ex_unstaffed", "ex_topic", "ex_language",
        "ex_region", "ex_out", "ex_paused", "crc",
        "municipal", "accepts", "municipal_prefs", "municipal_cities",
    )

    def __init__(self, org: Organization, pos: int) -> None:
        self.org = org
        self.pos = pos
        self.candidates: dict[tuple[int, int, bool], Candidate] = {}  # (load, room, via_crisis) -> value
        self.id = org.id
        self.topics = frozenset(org.topics)
        self.languages = frozenset(org.languages)
        self.regions = org.regions
        self.municipal = org.municipalities  # own area, besides whole prefectures
        self.accepts = org.accepts_from
        self.municipal_prefs = frozenset(code[:2] for code in org.municipalities)
        self.municipal_cities = frozenset(places_jp.city_of(code) for code in org.municipalities)
        self.nationwide = org.nationwide
        self.out_of_area = org.out_of_area
        self.paused = org.paused
        self.capacity = org.capacity
        self.per_counselor = org.per_counselor
        self.timezone = org.timezone
        self.ex_topic = Exclusion(org.id, "topic", f"takes {', '.join(org.topics)}")
        self.ex_language = Exclusion(org.id, "language", f"speaks {', '.join(org.languages)}")
        self.ex_region = Exclusion(org.id, "region", f"serves {regions_text(org)}")
        self.ex_out = Exclusion(org.id, "out_of_area", "does not take people who avoid their own area")
        self.ex_paused = Exclusion(org.id, "paused", "paused by a coordinator")
        self.ex_unstaffed = Exclusion(org.id, "nobody_on_duty", "open, but nobody on duty")
        self.crc = zlib.crc32(f"{org.id}:".encode())

    def room(self, on_duty: Mapping[str, int] | None) -> int:
        """How many conversations the partner may hold now: its capacity, or with presence known,
        none when nobody is on duty and at most per_counselor for each counselor who is."""
        if on_duty is None:
            return self.capacity
        staff = on_duty.get(self.id, 0)
        if staff <= 0:
            return 0
        return self.capacity if self.per_counselor is None else min(self.capacity, staff * self.per_counselor)


# (survivors, exclusions of the others that take the topic, bit mask of the survivors)
_Split = tuple[tuple[_Entry, ...], tuple[Exclusion, ...], int]
# How a partner that may take the case sorts: (topic rank, load share, tie-break, position, load, room).
_Key = tuple[int, float, int, int, int, int]


class _Index:
    """Partners pre-sorted by topic and region, so that a decision examines only the partners that
    could take the case; everyone else's exclusion is a ready-made tuple.

    For each topic and each (prefecture or None, avoid own area) it keeps the partners that pass the
    topic, region and paused rules ("survivors", directory order) and the exclusions of those that take
    the topic but fail region, out_of_area or paused. Built per topic on first use."""

    def __init__(self, directory: Directory) -> None:
        self.entries = tuple(_Entry(org, i) for i, org in enumerate(directory.organizations))
        self.position = {e.id: e.pos for e in self.entries}
        # Bit i stands for entries[i]. week_open[w]: partners whose plain weekly pattern has them open
        # at local week minute w (Monday 00:00 = 0), each read with its own zone's week minute.
        self.zone_masks: dict[ZoneInfo, int] = {}
        self.dated_masks: dict[int, int] = {}  # local date ordinal -> partners with a dated change then
        self.holiday_rule_mask = 0  # partners whose hours change on holidays
        toggles = [0] * (7 * 1440 + 1)
        for entry in self.entries:
            bit = 1 << entry.pos
            self.zone_masks[entry.timezone] = self.zone_masks.get(entry.timezone, 0) | bit
            for run in _OPEN_RUN.finditer(entry.org._week):
                toggles[run.start()] ^= bit
                toggles[run.end()] ^= bit
            if entry.org.holidays != "open":
                self.holiday_rule_mask |= bit
            for ordinal in entry.org._dated:
                self.dated_masks[ordinal] = self.dated_masks.get(ordinal, 0) | bit
        self.week_open: list[int] = []
        current = 0
        for minute in range(7 * 1440):
            current ^= toggles[minute]
            self.week_open.append(current)
        self._languages: dict[str, int] = {}
        self._topics: dict[frozenset[str], tuple[tuple[Exclusion, ...], tuple[_Entry, ...]]] = {}
        self._regional: dict[str, dict[tuple[str | None, bool], _Split]] = {}
        self._local: dict[tuple[str, str | None, frozenset[str], bool], _Split] = {}
        # Whether any partner names municipalities: if none does, a person's municipality changes
        # nothing and the per-prefecture tables answer.
        self.municipal = any(e.municipal or e.accepts for e in self.entries)

    def language_mask(self, language: str) -> int:
        mask = self._languages.get(language)
        if mask is None:
            mask = sum(1 << e.pos for e in self.entries if language in e.languages)
            if len(self._languages) < 256:
                self._languages[language] = mask
        return mask

    def others(self, wanted: frozenset[str]) -> tuple[tuple[Exclusion, ...], tuple[_Entry, ...]]:
        """(topic exclusions of partners taking none of `wanted`, crisis partners among them)."""
        found = self._topics.get(wanted)
        if found is None:
            rest = [e for e in self.entries if e.topics.isdisjoint(wanted)]
            found = (tuple(e.ex_topic for e in rest), tuple(e for e in rest if e.org.crisis))
            if len(self._topics) < 4096:
                self._topics[wanted] = found
        return found

    def survivors(self, topic: str, pref: str | None, avoid: bool, areas: frozenset[str] = frozenset()) -> _Split:
        if areas and self.municipal:
            key = (topic, pref, areas, avoid)
            found = self._local.get(key)
            if found is None:
                if len(self._local) >= 8192:
                    self._local.clear()
                entries = [e for e in self.entries if topic in e.topics]
                found = self._local[key] = self._split(entries, pref, avoid, areas)
            return found
        table = self._regional.get(topic)
        if table is None:
            entries = [e for e in self.entries if topic in e.topics]
            table = self._regional[topic] = {
                (p, a): self._split(entries, p, a, frozenset()) for p in (None, *PREFECTURES) for a in (False, True)
            }
        return table[(pref, avoid)]

    @staticmethod
    def _split(entries: list[_Entry], pref: str | None, avoid: bool, areas: frozenset[str]) -> _Split:
        keep: list[_Entry] = []
        drop: list[Exclusion] = []
        mask = 0
        for entry in entries:
            failure = static_failure(entry, pref, avoid, areas)
            if failure is None:
                keep.append(entry)
                mask |= 1 << entry.pos
            else:
                drop.append(failure)
        return tuple(keep), tuple(drop), mask


def static_failure(entry: _Entry, pref: str | None, avoid: bool, areas: frozenset[str] = frozenset()
                   ) -> Exclusion | None:
    """The region, out_of_area or paused rule the partner fails for this request, if any. `areas` is
    the person's municipality (and a ward's city), empty when they gave none."""
    if avoid:
        if not entry.out_of_area:
            return entry.ex_out
        if not entry.nationwide:
            if pref is None:
                return Exclusion(entry.id, "region", "regional partner; the person gave no prefecture")
            if pref in entry.regions:
                return Exclusion(entry.id, "region", f"serves the person's own area ({pref} {PREFECTURES[pref]})")
            own = areas & (entry.municipal | entry.municipal_cities)  # a ward's partner is its city's too
            if own:
                code = min(own)
                return Exclusion(entry.id, "region", f"serves the person's own area ({code} {_place(code)})")
            if not areas and pref in entry.municipal_prefs:
                return Exclusion(entry.id, "region", f"serves municipalities in {pref} {PREFECTURES[pref]}; "
                                                     "the person gave no municipality")
    elif not entry.nationwide and (pref is None or pref not in entry.regions) and (
            areas.isdisjoint(entry.municipal) and areas.isdisjoint(entry.accepts)):
        return entry.ex_region
    if entry.paused:
        return entry.ex_paused
    return None


def _place(code: str) -> str:
    found = places_jp.get(code)
    return found.full_name if found else code


def regions_text(org: Organization) -> str:
    if org.nationwide:
        return "all of Japan"
    codes = sorted(org.regions)
    text = ", ".join(codes) if len(codes) <= 8 else f"{len(codes)} prefectures ({', '.join(codes[:4])}, …)"
    local = sorted(org.municipalities)
    if local:
        names = ", ".join(f"{c} {_place(c)}" for c in local[:3]) + (", …" if len(local) > 3 else "")
        text = f"{text}; {names}" if text else names
    if org.accepts_from:
        text += f"; accepts from {', '.join(_place(c) for c in sorted(org.accepts_from)[:3])}"
        text += ", …" if len(org.accepts_from) > 3 else ""
    return text


def _index(directory: Directory) -> _Index:
    index = directory.__dict__.get("_route_index")
    if index is None:
        index = _Index(directory)
        object.__setattr__(directory, "_route_index", index)
    return index


def route(
    request: RouteRequest,
    directory: Directory,
    load: Mapping[str, int],
    now: datetime,
    *,
    hotlines: Hotlines | None = None,
    on_duty: Mapping[str, int] | None = None,
) -> Decision:
    """Decide where a case may go at `now` (aware). `load` maps org id to open conversations (absent = 0);
    `hotlines` defaults to the bundled file; `on_duty` maps org id to counselors on duty now (absent
    = 0), or is None where presence is not known (then capacity alone counts).

    Rules are applied in this order and an excluded partner carries the first it fails: topic, region
    (or out_of_area), paused, language, closed, nobody_on_duty, capacity. `excluded` lists first the partners that
    take a requested topic (directory order), then those that take none (directory order)."""
    require_aware(now)
    topics = request.topics
    primary = topics[0]
    pref, avoid, language = request.prefecture, request.avoid_own_area, request.language
    areas = request.areas
    index = _index(directory)
    static_excluded = index.survivors(primary, pref, avoid, areas)[1] if len(topics) == 1 else None
    survivors_mask = 0
    for topic in topics:
        survivors_mask |= index.survivors(topic, pref, avoid, areas)[2]

    minute_key = str(int(now.timestamp() // 60)).encode()
    moments: dict[ZoneInfo, Moment] = {}
    pool: list[_Key] = []
    full: dict[int, tuple[int, int]] = {}  # position -> (load, room), for partners open but at capacity
    unstaffed: set[int] = set()  # positions of partners open with nobody on duty
    entries = index.entries

    def available(entry: _Entry) -> _Key | str:
        """The sort key when the partner may take the case, else the name of the rule it fails."""
        if language not in entry.languages:
            return "language"
        zone = entry.timezone
        moment = moments.get(zone)
        if moment is None:
            moment = moments[zone] = Moment(now, zone)
        if not open_at(entry.org, moment) and opening_from(entry.org, moment) != "now":
            return "closed"
        room = entry.room(on_duty)
        if room == 0:
            return "nobody_on_duty"
        used = load.get(entry.id, 0)
        if used >= room:
            return "capacity"
        return (
            0 if primary in entry.topics else 1,
            used / room,
            zlib.crc32(minute_key, entry.crc),
            entry.pos,
            used,
            room,
        )

    # Which survivors speak the language and are open: whole sets at once, as bit masks. Partners
    # with a holiday rule or a dated change today or yesterday are checked one by one.
    eligible = survivors_mask & index.language_mask(language)
    open_mask = 0
    for zone, zone_mask in index.zone_masks.items():
        here = eligible & zone_mask
        if not here:
            continue
        moment = moments[zone] = Moment(now, zone)
        special = here & (
            index.dated_masks.get(moment.ordinal, 0)
            | index.dated_masks.get(moment.ordinal - 1, 0)
            | (index.holiday_rule_mask if moment.holiday_near else 0)
        )
        open_mask |= index.week_open[moment.week_minute] & here & ~special
        while special:
            low = special & -special
            special ^= low
            if open_at(entries[low.bit_length() - 1].org, moment):
                open_mask |= low
    remaining = open_mask
    single = len(topics) == 1
    while remaining:
        low = remaining & -remaining
        remaining ^= low
        entry = entries[low.bit_length() - 1]
        used = load.get(entry.id, 0)
        room = entry.capacity if on_duty is None else entry.room(on_duty)
        if room == 0:
            unstaffed.add(entry.pos)
        elif used >= room:
            full[entry.pos] = (used, room)
        else:  # plain tuples of numbers sort fast; pos is unique, so entries are never compared
            pool.append((0 if single or primary in entry.topics else 1, used / room,
                         zlib.crc32(minute_key, entry.crc), entry.pos, used, room))

    def bits(mask: int) -> list[_Entry]:
        found = []
        while mask:
            low = mask & -mask
            mask ^= low
            found.append(entries[low.bit_length() - 1])
        return found

    via_crisis = False
    taken: set[str] = set()
    if not pool and request.urgent:
        for entry in index.others(frozenset(topics))[1]:
            if static_failure(entry, pref, avoid, areas) is None and type(key := available(entry)) is tuple:
                pool.append(key)
        if pool:
            via_crisis = True
            taken = {entries[k[3]].id for k in pool}
    pool.sort()
    candidates = tuple(_candidate(entries[k[3]], k[4], k[5], via_crisis) for k in pool)

    openings: dict[str, datetime | None] = {}

    def opening(entry: _Entry) -> datetime | None:
        if entry.id not in openings:
            moment = moments[entry.timezone]
            opens = opening_from(entry.org, moment)
            openings[entry.id] = now if isinstance(opens, str) else opens
        return openings[entry.id]

    closed_mask = eligible & ~open_mask
    next_open = None
    if not candidates:
        times = [t for entry in bits(closed_mask) if (t := opening(entry)) is not None]
        next_open = min(times) if times else None

    def explain() -> tuple[Exclusion, ...]:
        out: list[Exclusion] = []
        for entry in bits(survivors_mask):  # ascending bits: directory order
            bit = 1 << entry.pos
            if not eligible & bit:
                out.append(entry.ex_language)
            elif closed_mask & bit:
                opens = opening(entry)
                if opens is None:
                    out.append(Exclusion(entry.id, "closed", "closed; no opening in the next 14 days"))
                else:
                    out.append(Exclusion(entry.id, "closed", _closed_detail(opens, now.tzinfo), opens))
            elif entry.pos in unstaffed:
                out.append(entry.ex_unstaffed)
            elif entry.pos in full:
                used, room = full[entry.pos]
                detail = f"at capacity ({used}/{room})" if room == entry.capacity else \
                    f"at capacity ({used}/{room}: {on_duty.get(entry.id, 0) if on_duty else 0} on duty)"
                out.append(Exclusion(entry.id, "capacity", detail))
        if static_excluded is not None:
            out.extend(static_excluded)
        else:
            kept = {e.id for e in bits(survivors_mask)}
            first: dict[str, Exclusion] = {}
            for topic in topics:
                for exclusion in index.survivors(topic, pref, avoid, areas)[1]:
                    if exclusion.org not in kept:
                        first.setdefault(exclusion.org, exclusion)
            out.extend(sorted(first.values(), key=lambda x: index.position[x.org]))
        topic_exclusions = index.others(frozenset(topics))[0]
        if taken:  # crisis partners that became candidates are not excluded
            topic_exclusions = tuple(e for e in topic_exclusions if e.org not in taken)
        out.extend(topic_exclusions)
        return tuple(out)

    lines = (hotlines if hotlines is not None else load_hotlines()).for_topics(topics, now, urgent=request.urgent)
    return Decision(
        request=request, at=now, candidates=candidates, next_open=next_open, hotlines=lines, explain=explain
    )


def _candidate(entry: _Entry, used: int, room: int, via_crisis: bool) -> Candidate:
    """Candidates are values: the same partner at the same load is the same Candidate, so reuse it."""
    found = entry.candidates.get((used, room, via_crisis))
    if found is None:
        found = Candidate(entry.org, used, room, via_crisis)
        if len(entry.candidates) < 64:
            entry.candidates[(used, room, via_crisis)] = found
    return found


@lru_cache(maxsize=4096)
def _closed_detail(opens: datetime, tz: tzinfo | None) -> str:
    return f"closed; opens {_when(opens, tz)}"


def _when(moment: datetime, tz: tzinfo | None) -> str:
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")
