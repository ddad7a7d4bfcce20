"""The web desk's HTTP API: sign-in, the partner's queue, a case, and the counselor's actions.

Every action calls the same Desk as Slack's buttons do (bot/desk): accept goes through the
race-safe CaseStore.accept, relay and notes through Desk.say / Desk.note. This module checks who
may do what and turns results into JSON; it never decides a case.

Rules: a request without a valid, unexpired session gets 401; every POST but sign-in needs the
session's CSRF token in the X-CSRF-Token header (403 otherwise) and, when the browser sends an
Origin, this origin (403 otherwise); a case that has no open card at the counselor's own
partner is 404, whether it exists elsewhere or not, so ids reveal nothing.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from storage.cases import Card, Case
from storage.desk_users import DeskUser, DeskUsers, SignInLimited, csrf_ok, csrf_token

from ..desk import Desk, effective_priority
from ..desk.desk import OUTCOMES, has_desk
from ..desk.summary import answer_text, topics_text
from ..desk.texts import OUTCOMES as OUTCOME_LABELS

COOKIE = "tsunagu_desk"
MAX_TEXT = 4000
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

USERS = web.AppKey("desk_users", DeskUsers)


def _clock(request: web.Request) -> datetime:
    from ..app import CLOCK

    return request.app[CLOCK]()


def _desk(request: web.Request) -> Desk:
    from ..app import DESK

    return request.app[DESK]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


async def _user(request: web.Request) -> tuple[DeskUser, str] | None:
    token = request.cookies.get(COOKIE)
    user = await request.app[USERS].session(token, now=_clock(request))
    return (user, token) if user and token else None


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return origin == f"{request.scheme}://{request.host}"


async def _post_guard(request: web.Request) -> tuple[DeskUser, str] | web.Response:
    signed = await _user(request)
    if signed is None:
        return _error(401, "signed_out", "サインインしてください / Please sign in")
    if not _same_origin(request) or not csrf_ok(signed[1], request.headers.get("X-CSRF-Token")):
        return _error(
            403, "csrf", "リクエストを確認できません。再読み込みしてください / Request refused: reload the page"
        )
    return signed


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# -- sign-in ---------------------------------------------------------------------------------------


async def sign_in(request: web.Request) -> web.Response:
    if request.content_type != "application/json" or not _same_origin(request):
        return _error(403, "csrf", "リクエストを確認できません / Request refused")
    body = await _json(request)
    org, name, password = (str(body.get(k) or "") for k in ("org", "name", "password"))
    if not org or not name or not password or max(len(org), len(name), len(password)) > 200:
        return _error(
            400, "missing", "団体ID・名前・パスワードを入力してください / Enter organization, name and password"
        )
    try:
        result = await request.app[USERS].sign_in(
            org, name, password, address=request.remote or "-", now=_clock(request)
        )
    except SignInLimited:
        return _error(
            429,
            "limited",
            "失敗が続いたため15分間サインインできません / Too many failed sign-ins: try again in 15 minutes",
        )
    if result is None:
        return _error(401, "wrong", "団体ID・名前・パスワードが一致しません / Organization, name or password is wrong")
    user, token = result
    response = web.json_response(_me(request, user, token))
    response.set_cookie(COOKIE, token, path="/desk", httponly=True, samesite="Strict", secure=request.secure,
                        max_age=int(request.app[USERS].session_ttl.total_seconds()))
    return response


async def sign_out(request: web.Request) -> web.Response:
    signed = await _post_guard(request)
    if isinstance(signed, web.Response):
        return signed
    await request.app[USERS].sign_out(signed[1])
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/desk")
    return response


def _me(request: web.Request, user: DeskUser, token: str) -> dict[str, Any]:
    org = _desk(request).directory.get(user.org_id)
    return {"name": user.name, "org": user.org_id, "org_name": org.name if org else user.org_id,
            "org_name_en": getattr(org, "name_en", None) if org else None, "csrf": csrf_token(token)}


async def me(request: web.Request) -> web.Response:
    signed = await _user(request)
    if signed is None:
        return _error(401, "signed_out", "サインインしてください / Please sign in")
    return web.json_response(_me(request, *signed))


# -- the queue and a case --------------------------------------------------------------------------


_LABELS = {
    "topics": "テーマ / Topics", "age_band": "年代 / Age", "prefecture": "都道府県 / Prefecture",
    "danger": "命の危険 / Danger now", "language": "言語 / Language",
    "avoid_own_area": "地域外を希望 / Outside own area", "share_consent": "引継ぎ同意 / Consent to share",
}
_HIDDEN = {"agreed", "urgent"}


def _summary(case: Case, card: Card, now: datetime) -> dict[str, Any]:
    """What a card shows on Slack (bot/slack/cards.py), as data: after a transfer without the
    person's consent, the topics only."""
    full = card.via != "transfer" or case.share_consent
    answers = []
    if full:
        answers = [[_LABELS.get(k, k), answer_text(k, v)] for k, v in case.answers.items()
                   if k not in _HIDDEN and k != "topics"
                   and not (k == "prefecture" and case.answers.get("avoid_own_area"))]
    return {
        "id": case.id, "label": case.label, "status": case.status, "topics": topics_text(case),
        "urgent": case.urgent, "risk_words": list(case.risk_words), "language": case.language,
        "waited_minutes": int(case.waited(now).total_seconds() // 60),
        "priority": round(effective_priority(case, now), 1), "via": card.via,
        "counselor": case.counselor_name, "answers": answers, "full": full,
    }


async def _open_cases(request: web.Request, user: DeskUser) -> list[tuple[Card, Case]]:
    desk = _desk(request)
    found = []
    for card_id, case_id in await desk.cases.open_cards(user.org_id):
        card, case = await desk.cases.card(card_id), await desk.cases.case(case_id)
        if card and case and case.org_id == user.org_id and case.status in ("queued", "active"):
            found.append((card, case))
    return found


async def queue(request: web.Request) -> web.Response:
    signed = await _user(request)
    if signed is None:
        return _error(401, "signed_out", "サインインしてください / Please sign in")
    now = _clock(request)
    found = await _open_cases(request, signed[0])
    waiting = sorted((x for x in found if x[1].status == "queued"),
                     key=lambda x: (-effective_priority(x[1], now), x[1].queued_at, x[1].id))
    active = sorted((x for x in found if x[1].status == "active"), key=lambda x: x[1].id)
    return web.json_response({"queued": [_summary(c, k, now) for k, c in waiting],
                              "active": [_summary(c, k, now) for k, c in active]})


async def _case(request: web.Request, user: DeskUser) -> tuple[Card, Case] | None:
    try:
        case_id = int(request.match_info["case_id"])
    except ValueError:
        return None
    for card, case in await _open_cases(request, user):
        if case.id == case_id:
            return card, case
    return None


_NOT_FOUND = ("not_found", "この相談は見つかりません / No such case here")


async def case_view(request: web.Request) -> web.Response:
    signed = await _user(request)
    if signed is None:
        return _error(401, "signed_out", "サインインしてください / Please sign in")
    found = await _case(request, signed[0])
    if found is None:
        return _error(404, *_NOT_FOUND)
    card, case = found
    desk, now = _desk(request), _clock(request)
    messages = [{"id": m.id, "from": m.direction, "text": m.text, "at": m.created_at.isoformat()}
                for m in await desk.cases.messages(case.id)]
    options = await desk.transfer_options(card.id, now=now) if case.status == "active" else []
    return web.json_response({"case": _summary(case, card, now), "messages": messages,
                              "transfer_to": [{"id": i, "name": n} for i, n in options],
                              "outcomes": [{"id": k, "label": OUTCOME_LABELS[k]} for k in OUTCOMES]})


async def action(request: web.Request) -> web.Response:
    signed = await _post_guard(request)
    if isinstance(signed, web.Response):
        return signed
    user = signed[0]
    found = await _case(request, user)
    if found is None:
        return _error(404, *_NOT_FOUND)
    card, case = found
    desk, now, body = _desk(request), _clock(request), await _json(request)
    who = {"counselor_id": f"web:{user.id}"}
    named = {**who, "counselor_name": user.name}
    kind = request.match_info["action"]
    if kind in ("say", "note"):
        text = str(body.get("text") or "").strip()
        if not text or len(text) > MAX_TEXT:
            return _error(400, "text", f"1〜{MAX_TEXT}文字で入力してください / Write 1 to {MAX_TEXT} characters")
        client_id = str(body.get("id") or "")
        key = f"webdesk:{user.id}:{client_id if _CLIENT_ID.match(client_id) else uuid.uuid4().hex}"
        call = desk.say if kind == "say" else desk.note
        result = await call(card.id, **who, text=text, source_key=key, now=now)
    elif (
        case.status == "active"
        and case.counselor_id != who["counselor_id"]
        and kind in ("close", "transfer", "release")
    ):
        return _error(409, "not_yours", f"{case.counselor_name} さんが対応中です / {case.counselor_name} has this case")
    elif kind == "accept":
        result = await desk.accept(card.id, **named, now=now)
    elif kind == "release":
        result = await desk.release(card.id, **named, now=now)
    elif kind == "close":
        outcome = str(body.get("outcome") or "")
        if outcome not in OUTCOMES:
            return _error(400, "outcome", "終了の理由を選んでください / Choose an outcome")
        try:
            days = int(body.get("followup_days") or 0)
        except (TypeError, ValueError):
            days = 0
        days = days if days in (0, 3, 7) else 0
        result = await desk.close(card.id, **named, outcome=outcome, followup_days=days, now=now)
    elif kind == "transfer":
        target = desk.directory.get(str(body.get("to") or ""))
        if not has_desk(target):
            return _error(400, "to", "引継ぎ先を選んでください / Choose a partner")
        result = await desk.transfer(card.id, **named, to_org=target.id, now=now)  # type: ignore[union-attr]
    else:
        return _error(404, "no_action", "そのような操作はありません / No such action")
    if not result.ok:
        return web.json_response({"ok": False, "message": result.notice}, status=409)
    return web.json_response({"ok": True})
