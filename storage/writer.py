"""Group commit: write jobs that arrive while a transaction is in flight share the next one.

A commit is the expensive part of a small write (an fsync on SQLite, a round trip and a WAL flush
on PostgreSQL), so under load many webhook requests and worker turns are committed together,
one after another inside one transaction, in arrival order. Each caller gets its own result or
exception, and returns only once the transaction holding its job is committed.

The rule that makes this safe: a job raises an expected error (ConcurrentUpdate) only before it
has written anything, so the group goes on without it. Any other error rolls the whole group back,
and then each job runs again alone, so that only the job at fault fails.

Writes whose result nobody reads (marking rows done, inserting outbox rows) go to a `Batch`
instead of being executed at once: at the end of the group, before the commit, each such
statement runs once for all its rows (executemany). Every statement costs several trips to
aiosqlite's thread, so this is most of what group commit saves besides the fsync.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable

from storage.db import Database
from storage.errors import ConcurrentUpdate

T = TypeVar("T")


class Batch:
    """Statements to run at the end of the transaction, each once with all its parameter sets,
    in the order they were first added (and rows in the order they were added).

    A statement added with `exact=True` must change exactly one row per parameter set (an
    optimistic version check); if the total falls short, `run` raises ConcurrentUpdate, the
    group is rolled back and its jobs run alone, where the conflict lands on the right caller.
    `exact` batching needs a driver that reports executemany row counts (`can_check`); without
    one, such statements have to be executed at once.
    """

    def __init__(self, *, can_check: bool) -> None:
        self.can_check = can_check
        self._statements: dict[int, tuple[Executable, list[dict[str, Any]], bool]] = {}

    def add(self, statement: Executable, params: dict[str, Any], *, exact: bool = False) -> None:
        if exact and not self.can_check:
            raise ValueError("this driver cannot check executemany row counts")
        self._statements.setdefault(id(statement), (statement, [], exact))[1].append(params)

    async def run(self, conn: AsyncConnection) -> None:
        for statement, rows, exact in self._statements.values():
            result = await conn.execute(statement, rows)
            if exact and result.rowcount != len(rows):
                raise ConcurrentUpdate("a session changed meanwhile")


Job = Callable[[AsyncConnection, Batch], Awaitable[Any]]

_GROUP_MAX = 200  # jobs per transaction: bounds how long the write lock is held


class GroupWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: deque[tuple[Job, asyncio.Future[Any], bool]] = deque()
        self._task: asyncio.Task[None] | None = None

    async def run(self, job: Callable[[AsyncConnection, Batch], Awaitable[T]], *,
                  alone: bool = False) -> T:
        """Run `job` in the next group; `alone` gives it a transaction of its own, after every
        job queued before it and before every job queued after it (for deletes, whose order
        against other jobs' batched writes matters)."""
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((job, done, alone))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        # shield: a caller that goes away does not cancel the transaction others wait for.
        return await asyncio.shield(done)

    def _batch(self) -> Batch:
        return Batch(can_check=bool(self._db.engine.dialect.supports_sane_multi_rowcount))

    @property
    def busy(self) -> bool:
        return self._task is not None

    async def flush(self) -> None:
        """Return once every job queued so far is committed (or has failed)."""
        while self._task is not None:
            await asyncio.wait([self._task])

    async def _drain(self) -> None:
        try:
            while self._queue:
                jobs = self._next_group()
                try:
                    outcomes = await self._together(jobs)
                except asyncio.CancelledError:
                    for _, fut in jobs:
                        fut.cancel()
                    raise
                except Exception as exc:
                    if len(jobs) == 1:
                        outcomes = [(False, exc)]
                    else:
                        outcomes = []
                        for index, (job, _) in enumerate(jobs):
                            try:
                                outcomes.append(await self._alone(job))
                            except asyncio.CancelledError:
                                for _, fut in jobs[index:]:
                                    fut.cancel()
                                raise
                for (_, fut), (ok, value) in zip(jobs, outcomes, strict=True):
                    if fut.done():
                        continue
                    if ok:
                        fut.set_result(value)
                    else:
                        fut.set_exception(value)
        finally:
            self._task = None
            while self._queue:  # only when cancelled: nobody is left to write these
                self._queue.popleft()[1].cancel()

    def _next_group(self) -> list[tuple[Job, asyncio.Future[Any]]]:
        if self._queue[0][2]:
            job, fut, _ = self._queue.popleft()
            return [(job, fut)]
        jobs: list[tuple[Job, asyncio.Future[Any]]] = []
        while self._queue and len(jobs) < _GROUP_MAX and not self._queue[0][2]:
            job, fut, _ = self._queue.popleft()
            jobs.append((job, fut))
        return jobs

    async def _together(self, jobs: list[tuple[Job, asyncio.Future[Any]]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        batch = self._batch()
        async with self._db.write() as conn:
            for job, _ in jobs:
                try:
                    outcomes.append((True, await job(conn, batch)))
                except ConcurrentUpdate as exc:  # raised before the job wrote anything
                    outcomes.append((False, exc))
            await batch.run(conn)
        return outcomes

    async def _alone(self, job: Job) -> tuple[bool, Any]:
        try:
            batch = self._batch()
            async with self._db.write() as conn:
                result = await job(conn, batch)
                await batch.run(conn)
            return True, result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return False, exc
