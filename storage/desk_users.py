"""Web desk accounts: counselors of a partner, their sign-in sessions, and failed sign-ins.

Passwords are hashed with scrypt (memory-hard, from `cryptography`) and a random salt; the
parameters are stored with the hash (`scrypt$n$r$p$salt$hash`), so they can be raised later
without breaking old accounts. Verification is constant-time (Scrypt.verify). Hashing runs in a
thread: it takes tens of milliseconds and 32 MiB on purpose, and must not stall the event loop.

A session is a random token held only by the browser (in an HttpOnly cookie); the database keeps
its SHA-256, so a copy of the database does not sign anyone in. The CSRF token is derived from
the session token (a hash under another label): nothing more to store, and a page that cannot
read the cookie cannot compute it.

Sign-in is limited with a backoff that grows, per (account, address) pair, per address, and per
account (a high threshold with a short cap, so that nobody who learns a counselor's nickname can
lock them out for long). Each attempt is recorded, in one transaction with the check, before the
password is looked at: parallel attempts see each other, so a crowd of them gets no more tries
than one at a time. An attempt that succeeds deletes its own rows; a failed one stays as a failure
in the window. Keys are stored hashed (the address is personal data; a hash also has a fixed
length). An unknown account costs the same scrypt as a known one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Index, UniqueConstraint, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field, SQLModel

from storage.db import Database
from storage.errors import StorageError
from storage.tables import UTCDateTime, _Id, table_of

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # 32 MiB per hash
SESSION_TTL = timedelta(hours=8)
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_ORG, MAX_NAME, MAX_PASSWORD = 64, 80, 1024  # longer is refused before anything is looked up


@dataclass(frozen=True)
class Backoff:
    """Failures of one kind of key within FAILURE_WINDOW: the first `free` cost nothing; after
    that each attempt must wait `first` seconds after the last failure, doubling up to `cap`."""

    free: int
    first: float
    cap: float

    def wait(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.cap, self.first * 2 ** (failures - self.free)))


BACKOFF = {
    "pair": Backoff(free=3, first=2.0, cap=900.0),  # one address guessing one account
    "addr": Backoff(free=10, first=2.0, cap=900.0),  # one address guessing many accounts
    "user": Backoff(free=20, first=1.0, cap=60.0),  # many addresses guessing one account
}


class DeskUserError(StorageError):
    """A desk account cannot be created as asked (duplicate name, weak password)."""


class SignInLimited(StorageError):
    """Too many failed sign-ins for this account or from this address; try again later."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after:.0f} s")
        self.retry_after = retry_after


class DeskUserRow(SQLModel, table=True):
    __tablename__ = "desk_users"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_desk_users_org_name"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    org_id: str = Field(max_length=64)
    name: str = Field(max_length=80)  # the counselor's nickname, shown to the person on accept
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # set: cannot sign in
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeskSessionRow(SQLModel, table=True):
    __tablename__ = "desk_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(sa_type=_Id)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DeskFailureRow(SQLModel, table=True):
    __tablename__ = "desk_signin_failures"
    __table_args__ = (Index("ix_desk_signin_failures_key", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    key: str = Field(max_length=200)  # SHA-256 of "pair|<org>/<name>|<address>", "addr|..." or "user|..."
    at: datetime = Field(sa_type=UTCDateTime)


_user = table_of(DeskUserRow)
_session = table_of(DeskSessionRow)
_fail = table_of(DeskFailureRow)


@dataclass(frozen=True)
class DeskUser:
    id: int
    org_id: str
    name: str
    disabled: bool = False
    last_sign_in: datetime | None = None


def _user_of(r: object) -> DeskUser:
    return DeskUser(int(r.id), r.org_id, r.name, r.disabled_at is not None,  # type: ignore[attr-defined]
                    r.last_sign_in_at)  # type: ignore[attr-defined]


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode())
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        Scrypt(salt=base64.b64decode(salt), length=32, n=int(n), r=int(r), p=int(p)).verify(
            password.encode(), base64.b64decode(digest))
        return True
    except (InvalidKey, ValueError):
        return False


_DUMMY_PASSWORD = "not a password: keeps a missing account as slow as a wrong password"


def _key_hash(key: str) -> str:
    return hashlib.sha256(f"desk-signin|{key}".encode()).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(f"desk-session|{token}".encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: derived from it, so it needs no storage."""
    return hashlib.sha256(f"desk-csrf|{session_token}".encode()).hexdigest()


def csrf_ok(session_token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session_token), given or "")


class DeskUsers:
    def __init__(self, db: Database, *, session_ttl: timedelta = SESSION_TTL,
                 scrypt_n: int = SCRYPT_N) -> None:
        self._db = db
        self.session_ttl = session_ttl
        self.scrypt_n = scrypt_n
        self._dummy: str | None = None  # a hash with this instance's cost, made on first need

    async def add(self, org_id: str, name: str, password: str, *, now: datetime) -> DeskUser:
        name = name.strip()
        if not name or len(name) > 80:
            raise DeskUserError("the name must be 1 to 80 characters")
        if len(password) < MIN_PASSWORD:
            raise DeskUserError(f"the password must be at least {MIN_PASSWORD} characters")
        hashed = await asyncio.to_thread(hash_password, password, n=self.scrypt_n)
        async with self._db.write() as conn:
            exists = (await conn.execute(select(_user.c.id).where(
                _user.c.org_id == org_id, _user.c.name == name))).first()
            if exists:
                raise DeskUserError(f"{org_id} already has a desk user named {name}")
            result = await conn.execute(_user.insert().values(
                org_id=org_id, name=name, password_hash=hashed, created_at=now).returning(_user.c.id))
            user_id = int(result.scalar_one())
        return DeskUser(user_id, org_id, name)

    async def count(self) -> int:
        async with self._db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(_user))).scalar_one())

    async def org_ids(self) -> frozenset[str]:
        """The partners with at least one enabled web desk account: someone can sign in to take a case."""
        async with self._db.read() as conn:
            return frozenset(str(r[0]) for r in (await conn.execute(
                select(_user.c.org_id).where(_user.c.disabled_at.is_(None)).distinct())).all())

    async def users(self) -> list[DeskUser]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_user).order_by(_user.c.org_id, _user.c.name))).all()
        return [_user_of(r) for r in rows]

    # -- account changes (an operator's, `tsunagu desk ...`) -----------------------------------

    async def _find(self, conn: AsyncConnection, org_id: str, name: str) -> Any:
        row = (await conn.execute(select(_user).where(_user.c.org_id == org_id,
                                                      _user.c.name == name.strip()))).first()
        if row is None:
            raise DeskUserError(f"{org_id} has no desk user named {name.strip()}")
        return row

    async def set_disabled(self, org_id: str, name: str, disabled: bool, *, now: datetime) -> tuple[DeskUser, int]:
        """Disable an account (it cannot sign in, and its sessions end at once) or enable it again;
        returns the account and the sessions ended."""
        async with self._db.write() as conn:
            row = await self._find(conn, org_id, name)
            await conn.execute(update(_user).where(_user.c.id == row.id).values(disabled_at=now if disabled else None))
            ended = await conn.execute(delete(_session).where(_session.c.user_id == row.id)) if disabled else None
        return replace(_user_of(row), disabled=disabled), int(ended.rowcount or 0) if ended is not None else 0

    async def reset_password(self, org_id: str, name: str, password: str) -> tuple[DeskUser, int]:
        """A new password; every session of the account ends (whoever held the old one is out)."""
        if len(password) < MIN_PASSWORD:
            raise DeskUserError(f"the password must be at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise DeskUserError(f"the password must be at most {MAX_PASSWORD} characters")
        hashed = await asyncio.to_thread(hash_password, password, n=self.scrypt_n)
        async with self._db.write() as conn:
            row = await self._find(conn, org_id, name)
            await conn.execute(update(_user).where(_user.c.id == row.id).values(password_hash=hashed))
            ended = await conn.execute(delete(_session).where(_session.c.user_id == row.id))
        return _user_of(row), int(ended.rowcount or 0)

    async def revoke_sessions(self, org_id: str, name: str) -> tuple[DeskUser, int]:
        """End every session of the account (signed out everywhere); the account stays usable."""
        async with self._db.write() as conn:
            row = await self._find(conn, org_id, name)
            ended = await conn.execute(delete(_session).where(_session.c.user_id == row.id))
        return _user_of(row), int(ended.rowcount or 0)

    async def _attempt(self, keys: dict[str, str], now: datetime) -> list[int]:
        """Check every key's backoff and record this attempt under each, in one transaction;
        returns the rows' ids. Raises SignInLimited (recording nothing) while any key must wait."""
        hashed = {kind: _key_hash(key) for kind, key in keys.items()}
        async with self._db.write() as conn:
            if self._db.dialect == "postgresql":  # SQLite's writes are serialised already
                for key in sorted(hashed.values()):
                    await conn.execute(select(func.pg_advisory_xact_lock(int(key[:15], 16))))
            wait = 0.0
            for kind, key in hashed.items():
                count, last = (await conn.execute(select(func.count(), func.max(_fail.c.at)).where(
                    _fail.c.key == key, _fail.c.at > now - FAILURE_WINDOW))).one()
                if last is not None:
                    wait = max(wait, BACKOFF[kind].wait(int(count)) - (now - last).total_seconds())
            if wait > 0:
                raise SignInLimited(wait)
            await conn.execute(delete(_fail).where(_fail.c.at <= now - FAILURE_WINDOW))
            ids = []
            for key in hashed.values():
                ids.append(int((await conn.execute(
                    _fail.insert().values(key=key, at=now).returning(_fail.c.id))).scalar_one()))
        return ids

    async def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = await asyncio.to_thread(hash_password, _DUMMY_PASSWORD, n=self.scrypt_n)
        return self._dummy

    async def sign_in(self, org_id: str, name: str, password: str, *, address: str,
                      now: datetime) -> tuple[DeskUser, str] | None:
        """(user, session token) for a right password; None for a wrong one. Raises
        SignInLimited, before checking the password, while the backoff of this (account,
        address) pair, this address or this account has not yet passed; DeskUserError for an
        organization, name or password longer than any account can have."""
        name = name.strip()
        if len(org_id) > MAX_ORG or len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
            raise DeskUserError("organization, name or password too long")
        account = f"{org_id}/{name}"
        ids = await self._attempt({"pair": f"pair|{account}|{address}", "addr": f"addr|{address}",
                                   "user": f"user|{account}"}, now)
        async with self._db.read() as conn:
            row = (await conn.execute(select(_user).where(
                _user.c.org_id == org_id, _user.c.name == name))).first()
        stored = row.password_hash if row else await self._dummy_hash()
        ok = await asyncio.to_thread(verify_password, password, stored)
        if row is None or not ok or row.disabled_at is not None:
            return None  # the attempt's rows stay: they are this failure (a disabled account too)
        token = secrets.token_urlsafe(32)
        async with self._db.write() as conn:
            await conn.execute(update(_user).where(_user.c.id == row.id).values(last_sign_in_at=now))
            await conn.execute(delete(_fail).where(_fail.c.id.in_(ids)))
            await conn.execute(delete(_session).where(_session.c.expires_at <= now))
            await conn.execute(_session.insert().values(
                token_hash=_token_hash(token), user_id=row.id, expires_at=now + self.session_ttl,
                created_at=now))
        return DeskUser(row.id, row.org_id, row.name), token

    async def session(self, token: str | None, *, now: datetime) -> DeskUser | None:
        """The signed-in counselor of a session token; None if unknown, forged or expired."""
        if not token or len(token) > 200:
            return None
        async with self._db.read() as conn:
            row = (await conn.execute(select(_user.c.id, _user.c.org_id, _user.c.name, _session.c.expires_at)
                                      .join(_session, _session.c.user_id == _user.c.id)
                                      .where(_session.c.token_hash == _token_hash(token),
                                             _user.c.disabled_at.is_(None)))).first()
        if row is None or row.expires_at <= now:
            return None
        return DeskUser(row.id, row.org_id, row.name)

    async def sign_out(self, token: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(_session).where(_session.c.token_hash == _token_hash(token)))
