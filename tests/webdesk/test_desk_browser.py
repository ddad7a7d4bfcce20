"""The web desk in a real browser (Playwright, Debian's Chromium), next to the chat page: a person
completes the intake on /chat in one context, a counselor signs in to /desk in a second, accepts,
they write to each other both ways, and the counselor closes. Screenshot: docs/screenshots/desk.png.
"""

from __future__ import annotations

import asyncio

from bot.app import SERVICES
from tests.browser import needs_chromium
from tests.web.conftest import INTAKE
from tests.webdesk.conftest import PASSWORD

pytestmark = needs_chromium


async def _until(page, expression: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await page.evaluate(expression):
        if loop.time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        await asyncio.sleep(0.05)


async def test_a_person_and_a_counselor_talk_through_chat_and_desk(browser, desk_service, screenshots):
    url = desk_service.client.make_url
    # 1. the person, on a phone
    phone = await browser.new_context(viewport={"width": 360, "height": 640}, locale="ja-JP")
    person = await phone.new_page()
    await person.goto(str(url("/chat")))
    await person.locator("#status[data-state=online]").wait_for()
    for label in INTAKE:
        before = await person.locator("#log li").count()
        await person.locator("#choices").get_by_role("button", name=label, exact=True).click()
        await _until(person, f"document.querySelectorAll('#log li').length >= {before + 2}")
    await person.get_by_text("相談員を探します").wait_for()
    for _ in range(100):
        queued = await desk_service.app[SERVICES].desk.cases.queued()
        if queued:
            break
        await asyncio.sleep(0.05)
    case = queued[-1]
    name = {"hikari": "あおい", "hoshi": "そら"}[case.org_id]

    # 2. the counselor, in another browser context (own cookies)
    office = await browser.new_context(viewport={"width": 1100, "height": 760}, locale="ja-JP")
    desk = await office.new_page()
    await desk.goto(str(url("/desk")))
    await desk.get_by_label("団体ID / Organization ID").fill(case.org_id)
    await desk.get_by_label("名前 / Name").fill(name)
    await desk.get_by_label("パスワード / Password").fill("wrong password")
    await desk.get_by_role("button", name="サインイン / Sign in").click()
    await desk.get_by_text("一致しません").wait_for()
    await desk.get_by_label("パスワード / Password").fill(PASSWORD)
    await desk.get_by_role("button", name="サインイン / Sign in").click()
    await desk.locator("#desk-view").wait_for()
    assert await desk.evaluate("document.cookie") == "", "the session cookie is HttpOnly"
    await desk.locator(f"#queued button[data-case-id='{case.id}']").click()
    await desk.get_by_role("button", name="対応する / Accept").click()
    await desk.locator(f"#active button[data-case-id='{case.id}']").wait_for()
    await person.get_by_text(name, exact=False).first.wait_for()

    # 3. both ways, HTML shown as text on both sides
    html = "<b>こんにちは</b> 相談員の" + name + "です"
    await desk.locator("#text").fill(html)
    await desk.get_by_role("button", name="送信 / Send").click()
    await person.get_by_text(html).wait_for()
    await person.locator("#text").fill("<i>聞いてください</i>")
    await person.locator("#text").press("Enter")
    await desk.locator("#log li.person", has_text="<i>聞いてください</i>").wait_for()
    await desk.locator("#text").fill("次回フォロー予定")
    await desk.get_by_role(
        "button", name="メモとして保存（相談者には送られません） / Save as note (never sent)"
    ).click()
    await desk.locator("#log li.note").wait_for()
    assert await desk.locator("#log b, #log i").count() == 0
    assert await person.locator("#log b, #log i").count() == 0
    await desk.mouse.move(0, 0)
    await desk.screenshot(path=str(screenshots / "desk.png"))

    # a counselor on a phone can use it too: nothing sticks out sideways at 360 px
    await desk.set_viewport_size({"width": 360, "height": 640})
    assert await desk.evaluate("document.documentElement.scrollWidth") <= 360
    await desk.set_viewport_size({"width": 1100, "height": 760})

    # 4. the counselor closes
    await desk.locator("#outcome").select_option("resolved")
    await desk.get_by_role("button", name="終了する / Close").click()
    await desk.get_by_role("button", name="はい、終了する / Yes, close").click()
    await desk.locator("#case").wait_for(state="hidden")
    await person.get_by_text("相談を終了しました", exact=False).first.wait_for()
    assert (await desk_service.app[SERVICES].desk.cases.case(case.id)).status == "closed"
    assert await person.get_by_text("次回フォロー予定").count() == 0, "a note never reaches the person"
    await office.close()
    await phone.close()
