"""CaseStore reads that front ends rely on, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import CaseStore, Keyring
from storage.cases import NewCard

T0 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


async def test_open_cards_lists_a_partner_s_open_cards_oldest_first(db, keyring: Keyring) -> None:
    cases = CaseStore(db, keyring)

    async def queue(pseudonym: str, org: str):
        return await cases.open_case(
            pseudonym=pseudonym, channel="web", answers={}, urgent=False, language="ja", share_consent=False,
            priority=0, risk_words=[], org_id=org, candidates=[org], card=NewCard(org, ""), now=T0)

    first, other, moved = await queue("p1", "alpha"), await queue("p2", "beta"), await queue("p3", "alpha")
    [moved_card] = await cases.cards(moved.id)
    await cases.transition(moved.id, expect_status=("queued",), values={"org_id": "beta"},
                           card_states={moved_card.id: "moved"}, new_card=NewCard("beta", ""), now=T0)
    last = await queue("p4", "alpha")

    alpha = await cases.open_cards("alpha")
    assert [case_id for _, case_id in alpha] == [first.id, last.id]
    assert [card_id for card_id, _ in alpha] == sorted(card_id for card_id, _ in alpha)
    assert [case_id for _, case_id in await cases.open_cards("beta")] == [other.id, moved.id]
    assert await cases.open_cards("gamma") == []
