"""The desk's costs do not grow with the number of people waiting: a handoff and a periodic pass
read (decrypt) the same few cases whether ten or two hundred wait, because places are counted
and ranked in the database and each waiting case says when it is next due."""

from __future__ import annotations

from datetime import timedelta

from storage.cases import CaseStore, NewCard
from tests.desk.conftest import handoff, make_desk


async def _queue_of(cases, clock, n: int) -> None:
    for i in range(n):
        await cases.open_case(
            pseudonym=f"{i:064d}", channel="line", answers={"topics": ["loneliness"]}, urgent=False,
            language="ja", share_consent=True, priority=0, risk_words=[], org_id="alpha", candidates=["alpha"],
            card=NewCard("alpha", "C0ALPHA"), told_position=i + 1, due_at=clock() + timedelta(minutes=30),
            now=clock())


def _counting(keyring) -> list[int]:
    calls = [0]
    decrypt = keyring.decrypt

    def counted(token, *, aad):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return decrypt(token, aad=aad)

    keyring.decrypt = counted
    return calls


async def _costs(cases, keyring, clock, waiting: int) -> tuple[int, int]:
    await _queue_of(cases, clock, waiting)
    desk = make_desk(cases, clock)
    calls = _counting(keyring)
    await desk.run_once(clock())  # nothing due, nobody's place moved
    quiet_pass = calls[0]
    calls[0] = 0
    await desk.handoff(pseudonym="f" * 64, channel="line", handoff=handoff(), now=clock())
    return quiet_pass, calls[0]


async def test_a_quiet_pass_and_a_handoff_read_as_much_with_ten_or_two_hundred_waiting(backend, keyring, clock):
    small = await _costs(CaseStore(await backend.open(), keyring), keyring, clock, 10)
    other = await backend.open()
    async with other.engine.begin() as conn:  # a fresh queue in the same database
        await conn.exec_driver_sql("DELETE FROM cases")
        await conn.exec_driver_sql("DELETE FROM case_cards")
    large = await _costs(CaseStore(other, keyring), keyring, clock, 200)
    assert small == large
    quiet_pass, handoff_cost = large
    assert quiet_pass == 0, "a pass over a quiet queue reads no case"
    assert handoff_cost <= 4, "a handoff reads its own case and its risk marks, not the queue"
