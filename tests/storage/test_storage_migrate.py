"""Schema migrations on SQLite and PostgreSQL (a schema per test, via search_path): from empty to
head, adopting a database of the release before migrations with its rows, refusing what cannot
be upgraded, the schema policy of open_database, and one migrator at a time."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import SQLModel

from flows.engine import Message
from storage import (
    CaseStore,
    DeskUsers,
    FlowVersionStore,
    Keyring,
    NewEvent,
    SchemaMismatch,
    SchemaOutOfDate,
    Store,
    WebMailbox,
    decode_messages,
    migrate,
    open_database,
)
from tests.backends import Backend
from tests.storage import previous_release
from tests.storage.previous_release import P1, P2, T0

LATER = "feedc0ffee01"
THIS_RELEASE = migrate.head()  # the next release's revision follows this one


async def up(backend: Backend) -> migrate.Upgraded:
    return await migrate.upgrade(backend.url, search_path=backend.search_path)


async def status(backend: Backend) -> migrate.SchemaStatus:
    return await migrate.status(backend.url, search_path=backend.search_path)


async def differences_from_models(db) -> list[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: migrate.differences(c, SQLModel.metadata))


def previous_release_tables() -> list[str]:
    return list(migrate._baseline().tables)


async def row_counts(backend: Backend, db, tables: list[str]) -> dict[str, int]:
    return {name: (await backend.sql(db, f"SELECT count(*) FROM {name}"))[0][0] for name in tables}


async def test_an_empty_database_upgraded_to_head_equals_the_models(backend: Backend) -> None:
    assert await status(backend) == (None, migrate.head())
    assert await up(backend) == migrate.Upgraded(before=None, after=migrate.head(), adopted=False)
    assert (await status(backend)).up_to_date

    db = await backend.open(schema="check")
    assert await differences_from_models(db) == []
    if backend.search_path is not None:  # the revision is kept in the test's own schema
        assert await backend.sql(db, "SELECT table_schema FROM information_schema.tables "
                                     "WHERE table_name = 'alembic_version'") == [(backend.search_path,)]
    # The comparison does see a difference when there is one.
    await backend.sql(db, "DROP INDEX ix_inbox_pseudonym")
    assert await differences_from_models(db) == ["index ix_inbox_pseudonym missing"]


async def test_a_database_of_the_release_before_migrations_is_adopted_with_every_row(
        backend: Backend, keyring: Keyring) -> None:
    # The previous release opened its database with create_all and no revision.
    db = await backend.open(schema="create")
    await previous_release.make(db, keyring)
    before = await row_counts(backend, db, previous_release_tables())
    assert all(before.values()), f"every table should hold a row: {before}"
    await db.close()
    backend.opened.remove(db)

    assert await status(backend) == (None, migrate.head())
    with pytest.raises(SchemaOutOfDate, match="made by a release before migrations"):
        await backend.open(schema="check")
    assert await up(backend) == migrate.Upgraded(before=None, after=migrate.head(), adopted=True)
    assert (await status(backend)).up_to_date

    db = await backend.open(schema="check")
    assert await row_counts(backend, db, previous_release_tables()) == before
    assert await differences_from_models(db) == []
    store, cases = Store(db, keyring), CaseStore(db, keyring)
    assert [(e.event_id, e.payload) for e in await store.pending_events()] == [("e2", b'{"text": "second"}')]
    assert await store.address_of(P1) == ("line", "U-alice")
    session = await store.load_session(P1)
    assert session is not None and session.state == {"node": "ask", "answers": {"a": 1}} and session.wake_at == T0
    heads = await store.due_outbox(T0)
    assert [decode_messages(i.payload) for i in heads] == [[Message("hi")]]
    assert heads[0].reply_token == "tok"
    waiting = await cases.case(1)
    assert waiting is not None and waiting.status == "queued" and waiting.answers == {"topics": ["family"]}
    assert waiting.risk_words == ("w",) and waiting.priority == 100
    assert [m.text for m in await cases.messages(1)] == ["help me"]
    followup = await cases.pending_followup(P1)
    assert followup is not None and followup.days == 3
    assert await cases.take_risk(P2) == (5, ["word"])
    assert [i.payload for i in await WebMailbox(db, keyring).since(P1, 0)] == [b'{"line": 1}']
    signed = await DeskUsers(db).session(previous_release.TOKEN, now=T0)
    assert signed is not None and signed.name == "Aki"
    assert await DeskUsers(db, scrypt_n=2**10).sign_in("alpha", "Aki", previous_release.PASSWORD, address="a2",
                                                      now=T0) is not None
    versions = FlowVersionStore(db)
    assert await versions.current() == {"intake": "v1"}
    assert await versions.source("intake", "v1") == "id: intake"
    # New rows after the old ones: the ids go on from where the previous release left them.
    [new] = await store.accept_events([NewEvent("line", "e3", P1, b"third", T0)])
    assert new.id > 2


async def test_tables_that_differ_from_the_baseline_are_refused_and_left_alone(
        backend: Backend, keyring: Keyring) -> None:
    db = await backend.open(schema="create")
    await previous_release.make(db, keyring)
    await backend.sql(db, "ALTER TABLE follow_ups ADD COLUMN extra INTEGER")
    await backend.sql(db, "DROP INDEX ix_inbox_pseudonym")
    with pytest.raises(SchemaMismatch) as caught:
        await up(backend)
    message = str(caught.value)
    assert "\n" not in message and "no migration revision" in message
    assert "follow_ups.extra not expected" in message and "index ix_inbox_pseudonym missing" in message
    assert await status(backend) == (None, migrate.head())  # nothing stamped, nothing changed
    async with db.engine.connect() as conn:
        columns = await conn.run_sync(lambda c: [col["name"] for col in inspect(c).get_columns("follow_ups")])
    assert "extra" in columns


async def test_a_revision_this_release_does_not_know_is_refused(backend: Backend) -> None:
    await up(backend)
    db = await backend.open(schema="check")
    await backend.sql(db, "UPDATE alembic_version SET version_num = 'ffffffffffff'")
    for attempt in (up(backend), status(backend), backend.open(schema="check")):
        with pytest.raises(SchemaMismatch, match="revision ffffffffffff, which this release does not know"):
            await attempt


async def test_check_refuses_an_empty_database_in_one_line(backend: Backend) -> None:
    with pytest.raises(SchemaOutOfDate) as caught:
        await backend.open(schema="check")
    assert str(caught.value) == (f"database has no Tsunagu tables yet, this release needs revision "
                                 f"{migrate.head()}; run: tsunagu db upgrade")


async def test_open_database_upgrades_sqlite_and_checks_postgresql_by_default(backend: Backend) -> None:
    if backend.name == "sqlite":
        await backend.open(schema="auto")  # the embedded default: `tsunagu serve` upgrades by itself
        assert (await status(backend)).up_to_date
        return
    with pytest.raises(SchemaOutOfDate, match="run: tsunagu db upgrade"):
        await backend.open(schema="auto")  # several instances: migrating is the operator's step
    assert (await status(backend)).current is None
    await up(backend)
    await backend.open(schema="auto")


async def test_concurrent_upgrades_migrate_once(backend: Backend) -> None:
    # Without the lock they would collide creating the same tables (or wait on each other).
    results = await asyncio.wait_for(asyncio.gather(up(backend), up(backend), up(backend)), timeout=60)
    assert sorted(r.before is None for r in results) == [False, False, True]
    assert {r.after for r in results} == {migrate.head()}
    db = await backend.open(schema="check")
    assert await backend.sql(db, "SELECT version_num FROM alembic_version") == [(migrate.head(),)]


async def test_in_memory_sqlite_is_upgraded_on_its_one_connection() -> None:
    db = await open_database("sqlite+aiosqlite://")
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(lambda c: migrate.differences(c, SQLModel.metadata)) == []
        await migrate.check_engine(db.engine)
    finally:
        await db.close()


async def test_status_of_a_missing_sqlite_file_creates_no_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'absent.db'}"
    assert await migrate.status(url) == (None, migrate.head())
    assert not (tmp_path / "absent.db").exists()


# --- a later revision, as the next release will bring ---------------------------------------------

_LATER = '''"""test: a revision after the baseline"""

import sqlalchemy as sa
from alembic import op

revision = "feedc0ffee01"
down_revision = "HEAD"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On SQLite a change of type recreates the table (batch mode): rows are copied across.
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("note", sa.String(16)))
        batch.alter_column("error", existing_type=sa.String(200), type_=sa.String(300))
        batch.create_index("ix_inbox_note", ["note"])
    FAIL


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_note")
        batch.drop_column("note")
'''


@pytest.fixture
def next_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Makes this release's migrations plus one more revision the code's, as the next release's
    will be; `upgrade_tail` ends that revision's upgrade()."""

    def install(upgrade_tail: str = "") -> None:
        folder = tmp_path / "migrations"
        shutil.copytree(migrate.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
        later = _LATER.replace("    FAIL\n", upgrade_tail).replace('"HEAD"', repr(THIS_RELEASE))
        (folder / "versions" / f"v20270101_{LATER}_later.py").write_text(later)
        migrate._script.cache_clear()
        monkeypatch.setattr(migrate, "MIGRATIONS", folder)

    yield install
    migrate._script.cache_clear()  # before monkeypatch puts this release's folder back


async def test_a_later_revision_upgrades_a_database_at_the_baseline_and_keeps_its_rows(
        backend: Backend, keyring: Keyring, next_release: Callable[[str], None]) -> None:
    await up(backend)  # this release's head
    db = await backend.open(schema="check")
    await Store(db, keyring).accept_events([NewEvent("line", "e1", P1, b"kept", T0)])

    next_release("")
    assert await status(backend) == (THIS_RELEASE, LATER)
    with pytest.raises(SchemaOutOfDate) as caught:
        await backend.open(schema="check")
    assert str(caught.value) == (f"database schema is at revision {THIS_RELEASE}, this release needs "
                                 f"{LATER}; run: tsunagu db upgrade")
    assert await up(backend) == migrate.Upgraded(before=THIS_RELEASE, after=LATER)
    assert (await status(backend)).up_to_date
    db = await backend.open(schema="check")
    assert [e.payload for e in await Store(db, keyring).pending_events()] == [b"kept"]
    async with db.engine.connect() as conn:
        indexes = await conn.run_sync(lambda c: {i["name"] for i in inspect(c).get_indexes("inbox")})
    assert {"ix_inbox_note", "ix_inbox_pseudonym", "ix_inbox_status_id"} <= indexes


async def test_a_revision_that_fails_half_way_leaves_the_database_as_it_was(
        backend: Backend, next_release: Callable[[str], None]) -> None:
    await up(backend)
    db = await backend.open(schema="check")

    async def tables_and_inbox_columns() -> tuple[set[str], set[str]]:
        async with db.engine.connect() as conn:
            return await conn.run_sync(lambda c: (set(inspect(c).get_table_names()),
                                                  {col["name"] for col in inspect(c).get_columns("inbox")}))

    before = await tables_and_inbox_columns()
    next_release('    raise RuntimeError("stopped half-way")\n')
    with pytest.raises(RuntimeError, match="stopped half-way"):
        await up(backend)
    assert await status(backend) == (THIS_RELEASE, LATER)
    # SQLite too: its DDL ran inside the one transaction (no column added, no batch copy left over).
    assert await tables_and_inbox_columns() == before
