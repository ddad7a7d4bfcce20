"""The desk routes by the intake's municipality: a neighbour's partner by accepts_from, never the
person's own municipality when they avoid their own area (issue 14, "Done when")."""

from __future__ import annotations

from tests.desk.conftest import handoff, make_desk

DIRECTORY = """\
timezone: Asia/Tokyo
organizations:
  - id: yokohama
    name: 横浜市こころの相談
    topics: [dv]
    regions: ["141003"]
    accepts_from: ["142085"]
    out_of_area: true
    capacity: 2
    desk: {slack_channel: C0YOKOHAMA}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
  - id: kawasaki
    name: 川崎市くらし相談
    topics: [dv]
    regions: ["141305"]
    out_of_area: true
    capacity: 2
    desk: {slack_channel: C0KAWASAKI}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
"""


async def test_a_neighbour_is_taken_and_the_own_municipality_avoided(cases, clock):
    desk = make_desk(cases, clock, DIRECTORY)
    people = {
        "zushi": dict(prefecture="14", municipality="142085"),
        "yokohama-avoids": dict(prefecture="14", municipality="141003", avoid_own_area=True),
        "kawasaki": dict(prefecture="14", municipality="141305"),
        "no-municipality": dict(prefecture="14", municipality=None),
    }
    where = {}
    for name, answers in people.items():
        pseudonym = name.ljust(64, "x")
        await desk.handoff(pseudonym=pseudonym, channel="line", handoff=handoff(topics=("dv",), **answers),
                           now=clock())
        where[name] = (await cases.latest_case(pseudonym)).org_id
    assert where == {"zushi": "yokohama", "yokohama-avoids": "kawasaki", "kawasaki": "kawasaki",
                     "no-municipality": None}
