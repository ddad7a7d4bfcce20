"""The audit trail on both databases: appends chain by SHA-256, an edited or removed entry is
found (in the middle or at the end), details hold codes only, and appends from two processes at
once (two engines, their own connections) stay one unbroken chain."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from storage.audit import AuditLog, describe
from tests.fakes.clock import START


async def _some(audit: AuditLog, n: int = 5) -> None:
    for i in range(n):
        await audit.record(action="view", actor="web:1", org_id="alpha", front="web", case_id=i + 1,
                           detail="ok", now=START + timedelta(minutes=i))


async def test_the_chain_verifies_and_lists_by_org_case_and_time(db):
    audit = AuditLog(db)
    await _some(audit)
    await audit.record(action="sign_in_failed", actor="?", org_id="beta", front="web", now=START + timedelta(hours=1))
    assert await audit.verify() == (6, None)
    assert [e.case_id for e in await audit.entries(org_id="alpha", since=START + timedelta(minutes=3))] == [4, 5]
    assert [e.action for e in await audit.entries(case_id=2)] == ["view"]
    [line] = describe(await audit.entries(org_id="beta"))
    assert line.split("\t")[2:6] == ["web", "beta", "?", "sign_in_failed"]


@pytest.mark.parametrize("tamper, found", [
    ("UPDATE audit_log SET detail = 'refused' WHERE id = 3", "entry 3 was edited"),
    ("UPDATE audit_log SET at = at + interval '1 hour' WHERE id = 2", "entry 2 was edited"),
    ("DELETE FROM audit_log WHERE id = 3", "entry 3 is missing"),
    ("DELETE FROM audit_log WHERE id = 5", "entries 5 to 5 are missing"),
])
async def test_an_edited_or_removed_entry_is_found(db, backend, tamper, found):
    if "interval" in tamper and backend.name == "sqlite":
        tamper = "UPDATE audit_log SET actor = 'U0OTHER' WHERE id = 2"
    audit = AuditLog(db)
    await _some(audit)
    await backend.sql(db, tamper)
    checked, problem = await audit.verify()
    assert problem is not None and problem.startswith(found), problem


async def test_details_hold_codes_only(db):
    audit = AuditLog(db)
    with pytest.raises(ValueError):
        await audit.record(action="note", actor="U1", org_id="alpha", front="slack", detail="父親の件", now=START)
    with pytest.raises(ValueError):
        await audit.record(action="read everything", actor="U1", front="slack", now=START)
    entry = await audit.record(action="note", actor="not an id\n", org_id="alpha", front="slack", now=START)
    assert entry.actor == "?"
    assert await audit.verify() == (1, None)


async def test_a_purge_keeps_a_chain_that_verifies(db):
    audit = AuditLog(db)
    await _some(audit)
    assert await audit.purge(START + timedelta(minutes=2)) == 2
    assert [e.id for e in await audit.entries()] == [3, 4, 5]
    assert await audit.verify() == (3, None)
    await audit.record(action="close", actor="U1", org_id="alpha", front="slack", now=START + timedelta(hours=1))
    assert await audit.verify() == (4, None)


async def test_two_processes_appending_at_once_make_one_chain(backend):
    first, second = await backend.open(), await backend.open()  # two engines, as two processes have

    async def append(db, who: str) -> None:
        audit = AuditLog(db)
        for i in range(25):
            await audit.record(action="say", actor=who, org_id="alpha", front="web", case_id=i, now=START)

    await asyncio.gather(append(first, "web:1"), append(second, "web:2"), append(first, "web:3"))
    audit = AuditLog(second)
    assert await audit.verify() == (75, None)
    assert [e.id for e in await audit.entries()] == list(range(1, 76))


async def test_an_erasure_is_the_persons_own_entry(db):
    audit = AuditLog(db)
    entry = await audit.erased(channel="line", org_id="alpha", case_id=7, now=START)
    assert (entry.action, entry.actor, entry.front, entry.org_id, entry.case_id) == ("erase", "person", "line",
                                                                                     "alpha", 7)
    assert await audit.verify() == (1, None)
