"""The bundled intake through the real LINE path matches the flows' golden transcripts.

The same answer files that pin the engine down (tests/flows/golden/intake) are sent as LINE
webhook events; the replies the fake LINE API receives, rendered the same way, must equal the
golden transcript (minus the effect and session lines, which a person never sees).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.transcript import parse_line
from tests.bot.conftest import event

GOLDEN = Path(__file__).resolve().parents[1] / "flows" / "golden" / "intake"


def _cases() -> list[str]:
    names = []
    for path in sorted(GOLDEN.glob("*.answers")):
        transcript = path.with_suffix(".transcript").read_text(encoding="utf-8")
        # Over LINE a conversation always starts in Japanese, and a message after the end starts a
        # new one; files that rely on something else belong to the engine tests only.
        if (
            transcript.startswith("# flow intake, language ja")
            and "(wait" not in transcript
            and "(the conversation is over" not in transcript
        ):
            names.append(path.stem)
    return names


def _render(messages: list[dict]) -> list[str]:
    lines = []
    for message in messages:
        first, *rest = message["text"].split("\n")
        lines.append(f"bot: {first}")
        lines += [f"     {part}" for part in rest]
        items = (message.get("quickReply") or {}).get("items") or []
        if items:
            lines.append("     " + "  ".join(f"[{i}] {item['action']['label']}" for i, item in enumerate(items, 1)))
    return lines


def _media(kind: str) -> dict:
    """A media message event body with the fields LINE sends for that kind."""
    message: dict = {"id": "1", "type": kind, "quoteToken": "q"}
    if kind == "sticker":
        message.update(packageId="1", stickerId="1", stickerResourceType="STATIC")
    elif kind in ("image", "video", "audio"):
        message.update(contentProvider={"type": "line"}, duration=1000)
    elif kind == "file":
        message.update(fileName="a.pdf", fileSize=1000)
    elif kind == "location":
        message.update(title="x", address="東京都", latitude=35.0, longitude=139.0)
    return message


def test_there_are_golden_files_to_compare():
    assert len(_cases()) >= 4, _cases()


@pytest.mark.parametrize("name", _cases())
async def test_intake_over_line_matches_golden_transcript(service, name):
    user = f"Ugolden{name}"
    expected = [
        line
        for line in (GOLDEN / f"{name}.transcript").read_text(encoding="utf-8").splitlines()[1:]
        if not line.startswith(("effect:", "session:", "        answers:"))
    ]
    await service.send(event("follow", user=user))
    await service.settle()
    got = _render(service.line.calls[-1].messages)
    for raw in (GOLDEN / f"{name}.answers").read_text(encoding="utf-8").splitlines():
        action = parse_line(raw)
        if action is None:
            continue
        before = len(service.line.calls)
        if action.kind == "media":
            await service.send(event(user=user, message=_media(action.media)))
            got.append(f"you: [{action.media}]")
        else:
            await service.send(event(user=user, text=action.text))
            got.append(f"you: {action.text}")
        await service.settle()
        for call in service.line.calls[before:]:
            got += _render(call.messages)
    assert got == expected
