"""Benchmark of routing: 1,000 generated partners with 10 hour rules each.

Prints the time to load (parse and check) the directory file, route decisions per second and latency
percentiles, then the time of a coverage report over 30 days × 47 prefectures × 16 topics. Last line:
`routing: p99 <x> ms, coverage <y> s, load <z> s`. Targets: p99 under 1 ms, coverage under 2 s, load
under 1 s (what `serve` start-up and every `routing` command pay).  Run: .venv/bin/python bench/routing.py
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# This file is itself called routing.py: keep its folder off the path so `import routing` is the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
import routing  # noqa: E402

ORGS = 1000
RULES = 10
DECISIONS = 20000
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def generate(rng: random.Random) -> str:
    topics = list(routing.TOPICS)
    codes = list(routing.PREFECTURES)
    lines = ["timezone: Asia/Tokyo", "organizations:"]
    for i in range(ORGS):
        zone = rng.choices(["Asia/Tokyo", "Europe/London", "America/Los_Angeles"], [8, 1, 1])[0]
        regions = (
            "[all]"
            if rng.random() < 0.3
            else "[" + ", ".join(f'"{c}"' for c in rng.sample(codes, rng.randint(1, 5))) + "]"
        )
        rules = []
        for _ in range(RULES):
            days = ", ".join(rng.sample(DAY_NAMES, rng.randint(1, 5)))
            start = rng.randrange(0, 48) * 30
            end = (start + rng.randrange(1, 20) * 30) % 1440 or 1440
            rules.append(
                f'{{days: [{days}], from: "{start // 60:02d}:{start % 60:02d}", to: "{end // 60:02d}:{end % 60:02d}"}}'
            )
        lines += [
            f"  - id: org-{i:04d}",
            f"    name: 相談団体{i}",
            f"    topics: [{', '.join(rng.sample(topics, rng.randint(1, 4)))}]",
            f"    regions: {regions}",
            f"    languages: [{'ja, en' if rng.random() < 0.3 else 'ja'}]",
            f"    out_of_area: {str(rng.random() < 0.5).lower()}",
            f"    crisis: {str(rng.random() < 0.1).lower()}",
            f"    capacity: {rng.randint(1, 6)}",
            f"    desk: {{slack_channel: C{i:06d}}}",
            f"    timezone: {zone}",
            f"    hours: [{', '.join(rules)}]",
            f"    holidays: {rng.choice(['open', 'closed', 'as_sunday'])}",
            f'    closed_dates: ["2027-01-0{rng.randint(1, 3)}"]',
            '    extra_hours: [{date: "2026-12-30", from: "10:00", to: "16:00"}]',
            f"    paused: {str(rng.random() < 0.05).lower()}",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    rng = random.Random(3)
    text = generate(rng)
    t0, c0 = time.perf_counter(), time.thread_time()
    directory = routing.parse_directory(text, source="bench.yaml")
    load_s, load_cpu = time.perf_counter() - t0, time.thread_time() - c0
    print(f"directory: {len(directory)} organizations × {RULES} rules ({len(text) // 1024} KiB), "
          f"loaded in {load_s:.2f} s ({load_cpu:.2f} s CPU of this thread)")

    tokyo = ZoneInfo("Asia/Tokyo")
    base = datetime(2026, 12, 20, tzinfo=tokyo)
    topics = list(routing.TOPICS)
    codes = list(routing.PREFECTURES)
    hotlines = routing.load_hotlines()
    requests = []
    for _ in range(DECISIONS):
        request = routing.RouteRequest(
            topics=tuple(rng.sample(topics, rng.choice([1, 1, 2]))),
            prefecture=None if rng.random() < 0.1 else rng.choice(codes),
            language="en" if rng.random() < 0.1 else "ja",
            urgent=rng.random() < 0.1,
            avoid_own_area=rng.random() < 0.1,
        )
        now = base + timedelta(minutes=rng.randrange(30 * 1440))
        load = {f"org-{rng.randrange(ORGS):04d}": rng.randint(0, 6) for _ in range(200)}
        requests.append((request, now, load))
    for request, now, load in requests[:200]:  # warm caches (topic index, zone segments, holiday years)
        routing.route(request, directory, load, now, hotlines=hotlines)
    # A server loads the directory once and keeps it: move it out of the collector's way, as a
    # long-running process should (gc.freeze), so collections do not walk a thousand partners.
    gc.collect()
    gc.freeze()

    timings = []
    cpu = []
    candidates = 0
    started = time.perf_counter()
    for request, now, load in requests:
        t, c = time.perf_counter_ns(), time.thread_time_ns()
        decision = routing.route(request, directory, load, now, hotlines=hotlines)
        cpu.append(time.thread_time_ns() - c)
        timings.append(time.perf_counter_ns() - t)
        candidates += len(decision.candidates)
    total = time.perf_counter() - started
    timings.sort()
    ms = lambda ns: ns / 1e6  # noqa: E731
    p99 = ms(timings[int(len(timings) * 0.99) - 1])
    print(
        f"route: {DECISIONS} decisions in {total:.2f} s = {DECISIONS / total:,.0f}/s; "
        f"p50 {ms(statistics.median(timings)):.3f} ms, p99 {p99:.3f} ms, max {ms(timings[-1]):.3f} ms; "
        f"{candidates / DECISIONS:.1f} candidates per decision"
    )
    cpu.sort()
    print(
        f"route, CPU time of this thread only (excludes waiting for a core on a shared machine): "
        f"p50 {ms(statistics.median(cpu)):.3f} ms, p99 {ms(cpu[int(len(cpu) * 0.99) - 1]):.3f} ms"
    )
    # The same decisions with every exclusion read too (what `explain` and a log of reasons pay).
    explained = []
    for request, now, load in requests:
        t = time.perf_counter_ns()
        decision = routing.route(request, directory, load, now, hotlines=hotlines)
        excluded = len(decision.excluded)
        explained.append(time.perf_counter_ns() - t)
    explained.sort()
    print(
        f"route + all exclusions read: p50 {ms(statistics.median(explained)):.3f} ms, "
        f"p99 {ms(explained[int(len(explained) * 0.99) - 1]):.3f} ms ({excluded} exclusions in the last one)"
    )

    t = time.perf_counter()
    report = routing.coverage(directory, start=date(2026, 12, 15), days=30)
    cov_s = time.perf_counter() - t
    t = time.perf_counter()
    page = routing.render_coverage_html(report)
    html_s = time.perf_counter() - t
    print(
        f"coverage: 30 days × {len(report.regions)} prefectures × {len(report.topics)} topics in {cov_s:.2f} s, "
        f"{len(report.gaps)} gaps; HTML heatmap {len(page) // 1024} KiB in {html_s:.2f} s"
    )
    print(f"routing: p99 {p99:.3f} ms, coverage {cov_s:.2f} s, load {load_s:.2f} s")


if __name__ == "__main__":
    main()
