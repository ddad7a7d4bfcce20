"""Editing a flow while people talk: conversations stay on their version, new ones get the new one."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SERVICES, create_app
from flows import bundled_path
from tests.bot.conftest import Service, event, settings_for

OLD = "どんなことで相談したいですか？"
NEW = "いま、どんなことで困っていますか？"


@pytest.fixture
def flows_dir(tmp_path):
    folder = tmp_path / "flows"
    folder.mkdir()
    shutil.copy(bundled_path("intake"), folder / "intake.yaml")
    assert OLD in (folder / "intake.yaml").read_text(encoding="utf-8")
    return folder


async def _running(tmp_path, fake_line, clock, flows_dir):
    settings = settings_for(tmp_path, fake_line.url, flows_dir=flows_dir, flows_poll_seconds=0.05)
    client = TestClient(TestServer(create_app(settings, clock=clock)))
    await client.start_server()
    return Service(client=client, line=fake_line, clock=clock, db_path=tmp_path / "tsunagu.db")


async def _republished(service, before: str) -> str:
    versions = service.client.server.app[SERVICES].flows
    for _ in range(200):
        if versions.current_version("intake") != before:
            return versions.current_version("intake")
        await asyncio.sleep(0.02)
    raise AssertionError("the edit was not picked up")


async def _say(service, user: str, text: str) -> str:
    await service.send(event(text=text, user=user))
    await service.settle()
    return "\n".join(service.line.calls[-1].texts)


async def test_edit_without_restart_keeps_running_conversations_on_their_version(tmp_path, fake_line, clock, flows_dir):
    service = await _running(tmp_path, fake_line, clock, flows_dir)
    try:
        versions = service.client.server.app[SERVICES].flows
        first = versions.current_version("intake")
        await _say(service, "Uearly", "こんにちは")

        path = flows_dir / "intake.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
        second = await _republished(service, first)
        assert second != first

        assert OLD in await _say(service, "Uearly", "はい")  # started before the edit
        await _say(service, "Ulate", "こんにちは")
        assert NEW in await _say(service, "Ulate", "はい")  # started after it

        # A broken edit is logged and never replaces the working version.
        path.write_text("version: 1\nid: intake\nsteps: [\n", encoding="utf-8")
        assert await service.client.server.app[SERVICES].publisher.reload(), "the broken file's problems"
        assert versions.current_version("intake") == second
        await _say(service, "Unewest", "こんにちは")
        assert NEW in await _say(service, "Unewest", "はい")
    finally:
        await service.client.close()


async def test_a_conversation_keeps_its_version_across_a_restart(tmp_path, fake_line, clock, flows_dir):
    service = await _running(tmp_path, fake_line, clock, flows_dir)
    await _say(service, "Ulong", "こんにちは")
    await service.client.close()

    path = flows_dir / "intake.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    service = await _running(tmp_path, fake_line, clock, flows_dir)
    try:
        assert OLD in await _say(service, "Ulong", "はい")
        await _say(service, "Ufresh", "こんにちは")
        assert NEW in await _say(service, "Ufresh", "はい")
    finally:
        await service.client.close()
