"""The database never holds a platform user id, a reply token or what a person wrote, in the clear."""

from __future__ import annotations

from bot.app import SERVICES
from tests.bot.conftest import event

USER = "U1f0a9c3e5b7d2468ace13579bdf02468"
SAID = [
    "誰にも言えない悩みがあって、夜になると苦しくなります",
    "はい",
    "孤独・孤立",
    "これで全部",
    "19〜29歳",
    "関東",
    "東京都",
    "千代田区",
    "いいえ",
    "日本語",
    "はい、地域の外がいい",
]


async def test_completed_intake_leaves_no_id_or_text_in_the_sqlite_file(service, caplog):
    caplog.set_level("DEBUG")
    tokens = []
    for i, text in enumerate(SAID):
        tokens.append(f"reply-token-private-{i:04d}")
        await service.send(event(text=text, user=USER, reply_token=tokens[-1]))
        await service.settle()
    replies = [c for c in service.line.calls]
    assert len(replies) == len(SAID), "every message was answered"
    assert (await service.client.server.app[SERVICES].store.counts())["addresses"] == 1

    raw = b"".join(
        p.read_bytes() for p in service.db_path.parent.iterdir() if p.name.startswith(service.db_path.name)
    )
    assert len(raw) > 10_000
    # SAID[0] is the person's own words; the rest are button labels, which are also in the stored
    # flow script (the coordinators' text), so their absence proves nothing.
    for secret in [USER, *tokens, SAID[0]]:
        assert secret.encode() not in raw, f"{secret!r} found in the database file"
    logged = caplog.text
    assert logged, "the service logged something to check"
    for secret in [USER, *tokens, *SAID[:1]]:
        assert secret not in logged, f"{secret!r} found in the log"
    # what the bot said back, which repeats the person's answers, is encrypted too (the flow
    # scripts themselves are stored in the clear: they are the coordinators' text, not personal data)
    echoed = [m["text"] for c in replies for m in c.messages if "孤独・孤立" in m["text"]]
    assert echoed, "a reply repeats the chosen topic"
    for text in echoed:
        assert text.encode() not in raw
