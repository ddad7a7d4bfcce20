"""A simulated month of the network through the real service (issue 14, "Done when").

People arrive through the day (busiest in the evening), with topics, prefectures and municipalities
drawn from weights, and are handed to the real desk (`open_services`: storage, routing, the desk and
its sweeps, on SQLite, with an injected clock) as the intake would hand them; counselors accept,
write first, and close with outcomes and follow-ups; some people give up while waiting. The
directory has municipal partners in Kanagawa (Yokohama takes Zushi's residents too), a nationwide
daytime team, a Tokyo evening team and a crisis line, and no one at all from 02:00 to 09:00, so the
month leaves unmet demand where the directory has gaps. Afterwards the real commands run on it:
`tsunagu stats cases`, `tsunagu stats demand`, `tsunagu export cases`.

    .venv/bin/python bench/network_month.py               # 30 days (a few minutes)
    .venv/bin/python bench/network_month.py --days 7 --keep /tmp/month   # keep the database and reports

Last line: `network month: <cases> cases, <unmet> unanswered, <s> s`. tests/bot/test_network_month.py
runs a short version in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# bench/routing.py would shadow the routing package: keep this folder off the path, the repository on it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bot.clock import Clock  # noqa: E402
from bot.desk import Actor  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from flows.engine import Handoff  # noqa: E402
from storage import open_storage  # noqa: E402

JST = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 11, 2, tzinfo=JST)  # a Monday
YOKOHAMA, ZUSHI, KAWASAKI, SAGAMIHARA, YOKOSUKA = "141003", "142085", "141305", "141500", "142018"

DIRECTORY = """\
timezone: Asia/Tokyo
organizations:
  - id: zenkoku-hiru
    name: 全国ひるまの窓
    topics: [loneliness, family, work, money, health, school, other]
    regions: [all]
    out_of_area: true
    capacity: 4
    desk: {web: true}
    hours: [{days: daily, from: "09:00", to: "22:00"}]
    response_minutes: 10
  - id: tokyo-yoru
    name: 東京よるの相談
    topics: [loneliness, suicide, family, health, other]
    regions: ["13", "11", "12"]
    capacity: 3
    desk: {web: true}
    hours: [{days: daily, from: "18:00", to: "02:00"}]
    response_minutes: 10
  - id: yokohama-city
    name: 横浜市こころの相談
    topics: [loneliness, family, money, health, dv, abuse, other]
    regions: ["141003"]
    accepts_from: ["142085"]
    out_of_area: true
    capacity: 2
    desk: {web: true}
    hours: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "21:00"}]
    response_minutes: 10
  - id: kawasaki-city
    name: 川崎市くらし相談
    topics: [loneliness, family, money, dv, other]
    regions: ["141305"]
    out_of_area: true
    capacity: 1
    desk: {web: true}
    hours: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]
    response_minutes: 10
  - id: inochi-line
    name: いのちの夜間窓口
    topics: [suicide]
    regions: [all]
    crisis: true
    out_of_area: true
    capacity: 2
    desk: {web: true}
    hours: [{days: daily, from: "20:00", to: "02:00"}]
    response_minutes: 5
"""

TOPICS = {"loneliness": 30, "family": 18, "money": 12, "suicide": 10, "health": 10, "work": 7, "dv": 6,
          "school": 4, "other": 3}
PLACES = {("13", None): 30, ("14", YOKOHAMA): 22, ("14", ZUSHI): 6, ("14", KAWASAKI): 10, ("14", SAGAMIHARA): 4,
          ("14", YOKOSUKA): 4, ("11", None): 8, ("27", None): 8, ("01", None): 4, (None, None): 4}
AGES = {"19_29": 30, "30s": 22, "40s": 18, "16_18": 10, "50s": 9, None: 6, "60s": 5}
# Arrivals per hour of the day (relative): quiet in the morning, busiest from 20:00 to midnight.
HOURLY = [4, 3, 2, 2, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4, 4, 5, 5, 6, 7, 8, 10, 11, 10, 7]
PATIENCE = (20, 90)  # minutes a person waits before giving up
OUTCOMES = {"resolved": 55, "referred": 20, "no_reply": 10, "other": 15}


def pick(rng: random.Random, weights: dict) -> object:  # type: ignore[type-arg]
    return rng.choices(list(weights), list(weights.values()))[0]


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    action: Callable[[], object] = field(compare=False)


@dataclass
class Result:
    days: int
    cases: int
    unmet: int
    seconds: float
    folder: Path
    settings: Settings


async def simulate(folder: Path, *, days: int, per_day: int, seed: int = 7) -> Result:
    """Run `days` of arrivals (about `per_day` a day) through the service; the database stays in `folder`."""
    rng = random.Random(seed)
    directory = folder / "directory.yaml"
    directory.write_text(DIRECTORY, encoding="utf-8")
    settings = Settings(database_url=f"sqlite+aiosqlite:///{folder / 'tsunagu.db'}", key_file=folder / "tsunagu.key",
                        directory=directory, desk_poll_seconds=3600.0, timer_poll_seconds=3600.0,
                        sender_poll_seconds=0.2, flows_poll_seconds=3600.0)
    now = START.astimezone(UTC)
    clock: Clock = lambda: now  # noqa: E731
    events: list[Event] = []
    seq = itertools.count()
    started = time.perf_counter()
    people = itertools.count(1)

    def at(moment: datetime, action: Callable[[], object]) -> None:
        heapq.heappush(events, Event(moment, next(seq), action))

    # Arrivals: an inhomogeneous Poisson process by hour of day.
    scale = per_day / sum(HOURLY)
    for day in range(days):
        for hour in range(24):
            base = (START + timedelta(days=day, hours=hour)).astimezone(UTC)
            for _ in range(_poisson(rng, HOURLY[hour] * scale)):
                at(base + timedelta(seconds=rng.randrange(3600)), lambda: None)  # placeholder, set below
    arrivals = sorted(e.at for e in events)
    events.clear()

    async with open_services(settings, clock) as services:
        desk = services.desk
        for org in services.directory.organizations:  # each partner's counselors keep their desk's hours
            for n in (1, 2, 3):
                await desk.go_on_duty(Actor(id=f"web:{org.id}-{n}", name="はな", org_id=org.id, front="web"),
                                      now=now, until=None)

        async def arrive() -> None:
            n = next(people)
            pseudonym = f"{n:064x}"
            pref, muni = pick(rng, PLACES)  # type: ignore[misc]
            topic = str(pick(rng, TOPICS))
            answers = {"agreed": True, "topics": [topic], "age_band": pick(rng, AGES), "prefecture": pref,
                       "municipality": muni, "danger": "no", "language": "ja",
                       "avoid_own_area": rng.random() < 0.08, "share_consent": rng.random() < 0.7}
            urgent = topic == "suicide" and rng.random() < 0.3
            await desk.handoff(pseudonym=pseudonym, channel="web",
                               handoff=Handoff(answers=answers, urgent=urgent, language="ja"), now=now)
            give_up = now + timedelta(minutes=rng.randint(*PATIENCE))
            at(now + timedelta(minutes=rng.randint(1, 8)), lambda: try_accept(pseudonym, give_up))

        async def try_accept(pseudonym: str, give_up: datetime) -> None:
            case = await desk.cases.latest_case(pseudonym)
            if case is None or case.status != "queued":
                return
            if now >= give_up:
                await desk.from_person(pseudonym=pseudonym, channel="web", source_key=f"stop:{pseudonym}",
                                       text="やめる", media=None, command="stop", language="ja", now=now)
                return
            if case.org_id is not None:
                cards = [c for c in await desk.cases.cards(case.id) if c.state == "open" and c.org_id == case.org_id]
                if cards:
                    counselor = Actor(id=f"web:{case.org_id}-{rng.randint(1, 3)}", name="はな",
                                      org_id=case.org_id, front="web")
                    result = await desk.accept(cards[-1].id, actor=counselor, now=now)
                    if result.ok:
                        at(now + timedelta(minutes=rng.randint(1, 4)), lambda: say(cards[-1].id, counselor))
                        return
            at(now + timedelta(minutes=rng.randint(3, 12)), lambda: try_accept(pseudonym, give_up))

        async def say(card_id: int, counselor: Actor) -> None:
            await desk.say(card_id, actor=counselor, text="こんばんは。お話を聞かせてください。",
                           source_key=f"say:{card_id}", now=now)
            at(now + timedelta(minutes=rng.randint(10, 70)), lambda: close(card_id, counselor))

        async def close(card_id: int, counselor: Actor) -> None:
            followup = 3 if rng.random() < 0.25 else 0
            result = await desk.close(card_id, actor=counselor, outcome=str(pick(rng, OUTCOMES)),
                                      followup_days=followup, now=now)
            if result.ok and followup and result.case is not None:
                answer = "はい" if rng.random() < 0.6 else "いいえ"
                pseudonym = result.case.pseudonym
                at(now + timedelta(minutes=rng.randint(1, 30)),
                   lambda: desk.from_person(pseudonym=pseudonym, channel="web", source_key=f"fu:{card_id}",
                                            text=answer, media=None, command=None, language="ja", now=now))

        for moment in arrivals:
            at(moment, arrive)
        sweep_every = timedelta(minutes=5)
        next_sweep = now
        while events:
            event = heapq.heappop(events)
            while next_sweep <= event.at:  # the desk's periodic pass, on the simulated clock
                now = next_sweep
                await desk.run_once(now)
                next_sweep += sweep_every
            now = event.at
            outcome = event.action()
            if asyncio.iscoroutine(outcome):
                await outcome
    storage = await open_storage(settings.database_url, settings.key_file)
    try:
        rows = await storage.demand.between(START, START + timedelta(days=days))
    finally:
        await storage.close()
    return Result(days=days, cases=next(people) - 1, unmet=len(rows), seconds=time.perf_counter() - started,
                  folder=folder, settings=settings)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; means here are small."""
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def reports(result: Result) -> list[str]:
    """Run the real commands on the month's database; returns what they printed."""
    import contextlib
    import io
    import os

    from bot.cli import main

    end = (START + timedelta(days=result.days - 1)).date().isoformat()
    env = {"TSUNAGU_DATABASE_URL": result.settings.database_url, "TSUNAGU_KEY_FILE": str(result.settings.key_file),
           "TSUNAGU_DIRECTORY": str(result.settings.directory)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    printed = []
    try:
        period = ["--from", START.date().isoformat(), "--to", end]
        for argv in (["stats", "cases", *period, "--by", "topic,prefecture",
                      "--html", str(result.folder / "stats-cases.html")],
                     ["stats", "demand", *period, "--html", str(result.folder / "stats-demand.html")],
                     ["stats", "demand", *period, "--prefecture", "14",
                      "--html", str(result.folder / "stats-demand-14.html")],
                     ["export", "cases", "--org", "yokohama-city", *period, "--out", str(result.folder)]):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(argv)
            if code != 0:
                raise RuntimeError(f"tsunagu {' '.join(argv)} exited {code}")
            printed.append(out.getvalue())
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return printed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="keep the database and the reports in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(simulate(folder, days=args.days, per_day=args.per_day))
        for text in reports(result):
            sys.stdout.write(text)
        print(f"network month: {result.cases} cases, {result.unmet} unanswered, {result.seconds:.0f} s "
              f"({args.days} days simulated)")


if __name__ == "__main__":
    main()
