"""`/tsunagu on|off` on Slack: a counselor says they are on duty for the partner whose desk channel
they type it in, and Slack shows them (only them) the answer at once.

    /tsunagu on        on duty for a shift (8 hours), or `/tsunagu on 4` for four
    /tsunagu off       off duty; the partner's waiting cases move on if nobody else is on
    /tsunagu           whether you are on duty, and until when

Duty is a desk matter like the web desk's switch (bot/desk/duty.py), written at once rather than
through the inbox: nothing a person wrote is in it, and the counselor must see the answer now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..desk import Actor, Desk
from ..desk.duty import SLACK_SHIFT, DutyState

COMMAND = "/tsunagu"
MAX_HOURS = 24
_TOKYO = ZoneInfo("Asia/Tokyo")

USAGE = ("使い方: `/tsunagu on`（対応開始、8時間）・`/tsunagu on 4`（4時間）・"
         "`/tsunagu off`（対応終了）・`/tsunagu`（いまの状態）\n"
         "Usage: `/tsunagu on` (on duty for 8 hours), `/tsunagu on 4` (4 hours), `/tsunagu off`, `/tsunagu` (status)")
NOT_A_DESK = ("このコマンドは、団体の相談チャンネル（カードが届くチャンネル）で使ってください。\n"
              "Use this command in your partner's desk channel (where the cards arrive).")


def _until(state: DutyState) -> str:
    if state.until is None:
        return "終了時刻なし / no end set"
    return state.until.astimezone(_TOKYO).strftime("%H:%M")


def answer(state: DutyState, org_name: str, *, changed: bool) -> str:
    if state.on:
        head = "対応中になりました" if changed else "対応中です"
        return (f"{head}（{org_name}、{_until(state)}まで）。新しい相談がこのチャンネルに届きます。\n"
                f"You are on duty for {org_name} until {_until(state)}: new cases come to this channel.")
    head = "休止にしました" if changed else "休止中です"
    return (f"{head}（{org_name}）。`/tsunagu on` で対応を始めます。\n"
            f"You are off duty for {org_name}. `/tsunagu on` to start.")


class SlackDuty:
    def __init__(self, *, desk: Desk, clock: Callable[[], datetime]) -> None:
        self.desk = desk
        self.clock = clock

    async def handle(self, command: dict[str, Any]) -> str:
        """What to tell the counselor for one `/tsunagu` command."""
        channel, user = str(command.get("channel_id", "")), str(command.get("user_id", ""))
        org = next((o for o in self.desk.directory.organizations if o.desk.slack_channel == channel), None)
        if org is None or not user:
            return NOT_A_DESK
        actor = Actor(id=user, name="", org_id=org.id, front="slack", supervisor=user in org.desk.supervisors)
        words = str(command.get("text", "")).split()
        now = self.clock()
        if not words:
            return answer(await self.desk.duty_state(actor, now), org.name, changed=False)
        if words[0].lower() in ("on", "オン", "開始") and len(words) <= 2:
            shift = SLACK_SHIFT
            if len(words) == 2:
                if not words[1].isdigit() or not 1 <= int(words[1]) <= MAX_HOURS:
                    return USAGE
                shift = timedelta(hours=int(words[1]))
            return answer(await self.desk.go_on_duty(actor, now=now, until=now + shift), org.name, changed=True)
        if words[0].lower() in ("off", "オフ", "終了") and len(words) == 1:
            return answer(await self.desk.go_off_duty(actor, now=now), org.name, changed=True)
        return USAGE
