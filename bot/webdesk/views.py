"""The web desk's HTTP API: sign-in, the partner's queue, a case, and the counselor's actions.

Every action is a call on the same Desk as Slack's buttons, with the signed-in counselor as the
`Actor`; who may do what is decided there (bot/desk/policy.py). This module checks the session,
the CSRF token and the request's shape, and turns results into JSON.

Rules: a request without a valid, unexpired session gets 401; every POST but sign-in needs the
session's CSRF token in the X-CSRF-Token header (403 otherwise) and, when the browser sends an
Origin, this origin (403 otherwise); a case that the counselor's partner may not read is 404,
whether it exists elsewhere or not, so ids reveal nothing.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from aiohttp import web

from routing import TOPICS
from storage.audit import AuditLog
from storage.cases import Card, Case
from storage.desk_users import DeskUser, DeskUserError, DeskUsers, SignInLimited, csrf_ok, csrf_token

from ..desk import FOLLOWUP_DAYS, OUTCOMES, ActionResult, Actor, Desk, has_desk
from ..desk.duty import WEB_DUTY_IDLE, DutyState
from ..desk.summary import summarize
from ..desk.texts import OUTCOMES as OUTCOME_LABELS
from ..web.limits import address_key, origin_of
from .texts import TEXTS as T

COOKIE = "tsunagu_desk"
MAX_TEXT = 4000
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_HANDLE = re.compile(r"^[^<>\x00-\x1f]{1,20}$")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # JSON can carry a lone one; UTF-8 cannot
_NOT_FOUND = ("not_found", T["not_found"])
_SIGNED_OUT = ("signed_out", T["signed_out"])
# A refusal the desk gives, as an HTTP status.
_STATUS = {"unknown": 404, "not_yours": 409, "taken": 409, "capacity": 409, "moved": 409, "closed": 409,
           "not_active": 409, "not_supervisor": 403, "already_yours": 409, "no_transfer": 409}


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def _duty(state: DutyState) -> dict[str, Any]:
    return {"on": state.on, "since": state.since.isoformat() if state.since else None,
            "until": state.until.isoformat() if state.until else None}


class WebDeskApi:
    def __init__(self, *, desk: Desk, users: DeskUsers, clock: Callable[[], datetime],
                 public_url: str | None = None, audit: AuditLog | None = None) -> None:
        self.desk = desk
        self.audit = audit
        self.users = users
        self.clock = clock
        # Behind a proxy the request says http and the proxy's own host: the origin browsers see
        # is TSUNAGU_PUBLIC_URL's, and its cookie must be Secure when that is https.
        self.public_origin = origin_of(public_url) if public_url else None

    def actor(self, user: DeskUser) -> Actor:
        """The signed-in counselor as the desk sees them (a supervisor if the directory says so)."""
        org = self.desk.directory.get(user.org_id)
        supervisor = org is not None and user.name in org.desk.web_supervisors
        return Actor(id=f"web:{user.id}", name=user.name, org_id=user.org_id, front="web", supervisor=supervisor)

    # -- sessions ----------------------------------------------------------------------------------

    async def _user(self, request: web.Request) -> tuple[DeskUser, str] | None:
        token = request.cookies.get(COOKIE)
        user = await self.users.session(token, now=self.clock())
        return (user, token) if user and token else None

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            return origin is None
        return origin_of(origin) == (self.public_origin or origin_of(f"{request.scheme}://{request.host}"))

    async def _post_guard(self, request: web.Request) -> tuple[DeskUser, str] | web.Response:
        signed = await self._user(request)
        if signed is None:
            return _error(401, *_SIGNED_OUT)
        if not self._same_origin(request) or not csrf_ok(signed[1], request.headers.get("X-CSRF-Token")):
            return _error(403, "csrf", T["csrf_reload"])
        return signed

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    async def _me(self, user: DeskUser, token: str) -> dict[str, Any]:
        org = self.desk.directory.get(user.org_id)
        duty = await self.desk.duty_state(self.actor(user), self.clock())
        return {"name": user.name, "org": user.org_id, "org_name": org.name if org else user.org_id,
                "org_name_en": org.name_en if org else None, "csrf": csrf_token(token), "duty": _duty(duty)}

    async def sign_in(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json" or not self._same_origin(request):
            return _error(403, "csrf", T["csrf"])
        body = await self._json(request)
        fields = [body.get(k) for k in ("org", "name", "password")]
        if not all(isinstance(f, str) and f and not _SURROGATE.search(f) for f in fields):
            return _error(400, "missing", T["missing"])  # (a lone surrogate can be in no account)
        org, name, password = (str(f) for f in fields)
        try:
            result = await self.users.sign_in(org, name, password, address=address_key(request.remote),
                                              now=self.clock())
        except DeskUserError:
            await self._audit_sign_in(None, org, "too_long")
            return _error(400, "too_long", T["too_long"])
        except SignInLimited as exc:
            await self._audit_sign_in(None, org, "limited")
            seconds = max(1, math.ceil(exc.retry_after))
            response = _error(429, "limited", T["limited"].format(seconds=seconds))
            response.headers["Retry-After"] = str(seconds)
            return response
        if result is None:
            await self._audit_sign_in(None, org, "wrong")
            return _error(401, "wrong", T["wrong"])
        user, token = result
        await self._audit_sign_in(user, user.org_id, "ok")
        response = web.json_response(await self._me(user, token))
        response.set_cookie(COOKIE, token, path="/desk", httponly=True, samesite="Strict",
                            secure=request.secure or (self.public_origin or "").startswith("https://"),
                            max_age=int(self.users.session_ttl.total_seconds()))
        return response

    async def _audit_sign_in(self, user: DeskUser | None, org: str, outcome: str) -> None:
        """A sign-in in the audit trail: the account if it is one, the partner typed (kept only if
        it looks like an id), never the name or password typed."""
        if self.audit is not None:
            await self.audit.record(action="sign_in" if user else "sign_in_failed",
                                    actor=f"web:{user.id}" if user else "?", org_id=org[:64], front="web",
                                    detail=outcome, now=self.clock())

    async def sign_out(self, request: web.Request) -> web.Response:
        signed = await self._post_guard(request)
        if isinstance(signed, web.Response):
            return signed
        if self.audit is not None:
            await self.audit.record(action="sign_out", actor=f"web:{signed[0].id}", org_id=signed[0].org_id,
                                    front="web", now=self.clock())
        await self.desk.go_off_duty(self.actor(signed[0]), now=self.clock())  # signing out ends duty
        await self.users.sign_out(signed[1])
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/desk")
        return response

    async def me(self, request: web.Request) -> web.Response:
        signed = await self._user(request)
        if signed is None:
            return _error(401, *_SIGNED_OUT)
        return web.json_response(await self._me(*signed))

    async def duty(self, request: web.Request) -> web.Response:
        """The on-duty switch: {"on": true} or {"on": false}. A web duty lasts while the desk's page
        is open (each poll of the queue keeps it for WEB_DUTY_IDLE more)."""
        signed = await self._post_guard(request)
        if isinstance(signed, web.Response):
            return signed
        on = (await self._json(request)).get("on")
        if not isinstance(on, bool):
            return _error(400, "duty", T["duty"])
        actor, now = self.actor(signed[0]), self.clock()
        if on:
            state = await self.desk.go_on_duty(actor, now=now, until=now + WEB_DUTY_IDLE)
        else:
            state = await self.desk.go_off_duty(actor, now=now)
        return web.json_response({"duty": _duty(state)})

    # -- the queue and a case ------------------------------------------------------------------------

    @staticmethod
    def _summary(case: Case, card: Card, now: datetime) -> dict[str, Any]:
        s = summarize(case, card, now)
        data = asdict(s)
        data["id"] = data.pop("case_id")
        data["answers"] = [list(pair) for pair in s.answers]
        data["risk_words"] = list(s.risk_words)
        data["closed_at"] = case.closed_at.isoformat() if case.closed_at else None
        data["outcome"] = OUTCOME_LABELS.get(case.outcome or "", case.outcome)
        # The consent on record: which terms the person accepted, and when (issue 11).
        data["terms"] = ({"version": case.terms_version, "accepted_at": case.terms_accepted_at.isoformat()}
                         if case.terms_version and case.terms_accepted_at else None)
        return data

    async def queue(self, request: web.Request) -> web.Response:
        """The partner's waiting and active cases; `last_person_id` per case lets the page notice
        that a case arrived or that a person wrote."""
        signed = await self._user(request)
        if signed is None:
            return _error(401, *_SIGNED_OUT)
        now = self.clock()
        actor = self.actor(signed[0])
        duty = await self.desk.keep_on_duty(actor, now=now)  # the page is open: duty goes on
        waiting, active = await self.desk.open_cases(actor, now)
        last = await self.desk.last_person_message_ids([c.id for _, c in (*waiting, *active)])

        def listed(card: Card, case: Case) -> dict[str, Any]:
            return {**self._summary(case, card, now), "last_person_id": last.get(case.id, 0)}

        return web.json_response({"queued": [listed(k, c) for k, c in waiting],
                                  "active": [listed(k, c) for k, c in active], "duty": _duty(duty)})

    async def history(self, request: web.Request) -> web.Response:
        """The partner's closed cases (while the retention period keeps them), found by handle,
        topic and the days they closed: ?handle=K7-3F&topic=dv&from=2026-01-01&to=2026-01-31."""
        signed = await self._user(request)
        if signed is None:
            return _error(401, *_SIGNED_OUT)
        query = request.query
        handle = query.get("handle", "").strip()
        topic = query.get("topic", "").strip()
        if handle and not _HANDLE.match(handle):
            return _error(400, "handle", T["handle"])
        if topic and topic not in TOPICS:
            return _error(400, "topic", T["topic"])
        try:
            days = [date.fromisoformat(query[k]) if query.get(k) else None for k in ("from", "to")]
        except ValueError:
            return _error(400, "date", T["date"])
        now = self.clock()
        found = await self.desk.history(self.actor(signed[0]), now=now, handle=handle or None, topic=topic or None,
                                        day_from=days[0], day_to=days[1])
        return web.json_response({
            "cases": [self._summary(c, k, now) for k, c in found],
            "topics": [{"id": t, "label": f"{ja} / {en}"} for t, (ja, en) in TOPICS.items()],
        })

    async def closed_case(self, request: web.Request) -> web.Response:
        """One case of the partner's history, to read (nothing can be done to it any more)."""
        signed = await self._user(request)
        if signed is None:
            return _error(401, *_SIGNED_OUT)
        actor = self.actor(signed[0])
        try:
            case_id = int(request.match_info["case_id"])
        except ValueError:
            return _error(404, *_NOT_FOUND)
        now = self.clock()
        card = await self.desk.closed_card(actor, case_id, now=now)
        view = await self.desk.view(actor, card.id) if card else None
        if view is None:
            return _error(404, *_NOT_FOUND)
        messages = [{"id": m.id, "from": m.direction, "text": m.text, "at": m.created_at.isoformat()}
                    for m in view.messages]
        return web.json_response({"case": self._summary(view.case, view.card, now), "messages": messages})

    async def _card(self, request: web.Request, actor: Actor) -> Card | None:
        """The actor's partner's open card of the case in the URL."""
        try:
            case_id = int(request.match_info["case_id"])
        except ValueError:
            return None
        waiting, active = await self.desk.open_cases(actor, self.clock())
        return next((card for card, case in (*waiting, *active) if case.id == case_id), None)

    async def case_view(self, request: web.Request) -> web.Response:
        signed = await self._user(request)
        if signed is None:
            return _error(401, *_SIGNED_OUT)
        actor = self.actor(signed[0])
        card = await self._card(request, actor)
        view = await self.desk.view(actor, card.id) if card else None
        if view is None:
            return _error(404, *_NOT_FOUND)
        now = self.clock()
        messages = [{"id": m.id, "from": m.direction, "text": m.text, "at": m.created_at.isoformat()}
                    for m in view.messages]
        options = await self.desk.transfer_options(view.card.id, actor=actor, now=now)
        return web.json_response({"case": self._summary(view.case, view.card, now), "messages": messages,
                                  "transfer_to": [{"id": i, "name": n} for i, n in options],
                                  "outcomes": [{"id": k, "label": OUTCOME_LABELS[k]} for k in OUTCOMES],
                                  "followup_days": list(FOLLOWUP_DAYS)})

    async def action(self, request: web.Request) -> web.Response:
        signed = await self._post_guard(request)
        if isinstance(signed, web.Response):
            return signed
        user = signed[0]
        actor = self.actor(user)
        card = await self._card(request, actor)
        if card is None:
            return _error(404, *_NOT_FOUND)
        desk, now, body = self.desk, self.clock(), await self._json(request)
        kind = request.match_info["action"]
        result: ActionResult
        if kind in ("say", "note"):
            text = _SURROGATE.sub("\ufffd", str(body.get("text") or "")).strip()
            if not text or len(text) > MAX_TEXT:
                return _error(400, "text", T["text"].format(max=MAX_TEXT))
            client_id = str(body.get("id") or "")
            key = f"webdesk:{user.id}:{client_id if _CLIENT_ID.match(client_id) else uuid.uuid4().hex}"
            call = desk.say if kind == "say" else desk.note
            result = await call(card.id, actor=actor, text=text, source_key=key, now=now)
        elif kind == "accept":
            result = await desk.accept(card.id, actor=actor, now=now)
        elif kind == "release":
            result = await desk.release(card.id, actor=actor, now=now)
        elif kind == "take_over":
            result = await desk.take_over(card.id, actor=actor, now=now)
        elif kind == "close":
            outcome = str(body.get("outcome") or "")
            if outcome not in OUTCOMES:
                return _error(400, "outcome", T["outcome"])
            try:
                days = int(body.get("followup_days") or 0)
            except (TypeError, ValueError):
                days = 0
            result = await desk.close(card.id, actor=actor, outcome=outcome, followup_days=days, now=now)
        elif kind == "transfer":
            target = desk.directory.get(str(body.get("to") or ""))
            if target is None or not has_desk(target):
                return _error(400, "to", T["to"])
            result = await desk.transfer(card.id, actor=actor, to_org=target.id, now=now)
        else:
            return _error(404, "no_action", T["no_action"])
        if not result.ok:
            status = _STATUS.get(result.reason or "", 409)
            if status == 404:
                return _error(404, *_NOT_FOUND)
            return web.json_response({"ok": False, "error": result.reason, "message": result.notice}, status=status)
        return web.json_response({"ok": True})
