"""Who is on duty, on both databases: duties that run out, that have no end, that are switched off."""

from __future__ import annotations

from datetime import timedelta

from storage.presence import Presence
from tests.fakes.clock import START


async def test_duties_count_per_partner_while_they_run(db):
    presence = Presence(db)
    now = START
    await presence.start("web:1", "alpha", front="web", now=now, until=now + timedelta(minutes=3))
    await presence.start("U1", "alpha", front="slack", now=now, until=now + timedelta(hours=12))
    await presence.start("web:9", "beta", front="web", now=now, until=None)  # the demo: no end
    assert await presence.counts(now) == {"alpha": 2, "beta": 1}
    assert await presence.counts(now + timedelta(minutes=4)) == {"alpha": 1, "beta": 1}, "the tab closed"
    assert await presence.counts(now + timedelta(days=30)) == {"beta": 1}


async def test_a_page_left_open_keeps_duty_and_a_closed_one_does_not(db):
    presence = Presence(db)
    now = START
    first = await presence.start("web:1", "alpha", front="web", now=now, until=now + timedelta(minutes=3))
    later = now + timedelta(minutes=2)
    assert await presence.keep("web:1", "alpha", until=later + timedelta(minutes=3), now=later)
    duty = await presence.duty("web:1", "alpha", later + timedelta(minutes=2))  # past the first end
    assert duty is not None and duty.since == first.since, "the same duty, extended"
    gone = later + timedelta(minutes=10)
    assert not await presence.keep("web:1", "alpha", until=gone + timedelta(minutes=3), now=gone)
    assert await presence.counts(gone) == {}, "a duty that ended is not brought back by a late poll"
    again = await presence.start("web:1", "alpha", front="web", now=gone, until=gone + timedelta(minutes=3))
    assert again.since == gone, "switched on again: a new duty"


async def test_switching_off_and_tidying(db):
    presence = Presence(db)
    now = START
    await presence.start("web:9", "beta", front="web", now=now, until=None)
    assert await presence.keep("web:9", "beta", until=now + timedelta(minutes=3), now=now)
    assert (await presence.duty("web:9", "beta", now + timedelta(days=1))) is not None, "no end stays no end"
    assert await presence.end("web:9", "beta") and not await presence.end("web:9", "beta")
    await presence.start("U1", "alpha", front="slack", now=now, until=now + timedelta(hours=1))
    assert await presence.forget_ended(now + timedelta(hours=2)) == 1
    assert await presence.counts(now) == {}
