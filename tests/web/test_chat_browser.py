"""The chat page in a real browser: Playwright for Python driving Debian's Chromium.

A person completes the intake at a phone-sized viewport by tapping the choice buttons; a
connection lost mid-conversation (offline, or closed by the server) loses nothing; what anyone
types is shown as text. Screenshots go to docs/screenshots/ with --update-golden.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.app import SERVICES
from tests.browser import needs_chromium
from tests.web.conftest import INTAKE

pytestmark = needs_chromium


@pytest.fixture
async def phone(browser, web_service):
    """A new browser context at 360x640 (a small phone), with the chat page open and greeted."""
    context = await browser.new_context(viewport={"width": 360, "height": 640}, locale="ja-JP")
    outside: list[str] = []
    page = await context.new_page()
    origin = str(web_service.client.make_url("/")).rstrip("/")
    page.on(
        "request",
        lambda r: None if r.url.startswith(origin) or r.url.startswith("ws://127.0.0.1") else outside.append(r.url),
    )
    await page.goto(str(web_service.client.make_url("/chat")))
    await page.get_by_text("無料で相談できます").wait_for()
    page.outside_requests = outside  # type: ignore[attr-defined]
    yield context, page
    assert outside == [], f"the page asked another server: {outside}"
    await context.close()


async def _until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll a JavaScript expression until it is true (page.wait_for_function evaluates its
    predicate inside the page, which the page's Content-Security-Policy rightly forbids)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await page.evaluate(expression):
        if loop.time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        await asyncio.sleep(0.05)


async def _answer(page, label: str) -> None:
    before = await page.locator("#log li").count()
    await page.locator("#choices").get_by_role("button", name=label, exact=True).click()
    # the person's line and at least one bot line
    await _until(page, f"document.querySelectorAll('#log li').length >= {before + 2}")


async def test_a_person_completes_the_intake_on_a_phone(phone, web_service, screenshots):
    context, page = phone
    assert await page.evaluate("document.documentElement.lang") == "ja"
    assert await page.get_attribute("#log", "aria-live") == "polite"
    await page.locator("#status[data-state=online]").wait_for()
    for i, label in enumerate(INTAKE):
        await _answer(page, label)
        if i == 3:
            await page.mouse.move(0, 0)
            await page.locator("#text").blur()
            await page.screenshot(path=str(screenshots / "chat.png"))
    await page.get_by_text("相談員を探します").wait_for()
    assert await page.locator("#choices button").count() == 0
    sent = page.locator("#log li.person")
    assert await sent.count() == len(INTAKE)
    await _until(page, "[...document.querySelectorAll('#log li.person')].every(li => li.dataset.state === 'sent')")
    # readable at a phone's width: nothing sticks out sideways, at 360 px or at 320 px
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await page.set_viewport_size({"width": 320, "height": 568})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 320


async def test_keyboard_only_and_html_is_shown_as_text(phone):
    context, page = phone
    await page.locator("#status[data-state=online]").wait_for()
    # Tab order: skip link, language switch, the 110 and 119 links, log, choices, text box, send
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "lang"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.getAttribute('href')") == "tel:110"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.getAttribute('href')") == "tel:119"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "log"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "はい"
    html = "<img src=x onerror=\"window.owned=1\"><b>太字</b><script>window.owned=2</script>"
    await page.locator("#text").fill(html)
    await page.locator("#text").press("Enter")
    mine = page.locator("#log li.person .text").last
    await page.locator("#log li.person[data-state=sent]").wait_for()
    assert await mine.text_content() == html
    assert await page.locator("#log img, #log b, #log script").count() == 0
    assert await page.evaluate("window.owned") is None


async def test_a_lost_connection_mid_conversation_loses_nothing(phone, web_service):
    context, page = phone
    await page.locator("#status[data-state=online]").wait_for()
    await _answer(page, INTAKE[0])

    # 1. the phone goes offline; the person answers anyway; the answer goes out once back online
    await context.set_offline(True)
    await page.locator("#status[data-state=offline]").wait_for()
    await page.locator("#choices").get_by_role("button", name=INTAKE[1], exact=True).click()
    await page.locator("#log li.person[data-state=sending]").wait_for()
    await context.set_offline(False)
    await page.locator("#log li.person[data-state=sending]").wait_for(state="detached")
    await page.get_by_text("ほかにもあれば選んでください").wait_for()

    # 2. the server closes the socket; the page reconnects and an answer sent meanwhile arrives
    await web_service.app[SERVICES].web_chat.drop()
    await page.locator("#choices").get_by_role("button", name=INTAKE[2], exact=True).click()
    await page.get_by_text("年代を教えてください").wait_for(timeout=15_000)

    # 3. a reload shows the same conversation (the browser kept only its token)
    texts = await page.locator("#log li .text").all_text_contents()
    await page.reload()
    await page.get_by_text("年代を教えてください").wait_for()
    await _until(page, f"document.querySelectorAll('#log li').length >= {len(texts)}")
    assert await page.locator("#log li .text").all_text_contents() == texts
    assert [t for t in texts if t in INTAKE[:3]] == INTAKE[:3], "each answer once, in order"
    stored = await page.evaluate("Object.keys(localStorage)")
    assert stored == ["tsunagu.chat.token"]
    assert await page.evaluate("document.cookie") == ""


async def test_the_english_switch_changes_the_page_and_the_bot_follows(phone, screenshots):
    context, page = phone
    await page.locator("#status[data-state=online]").wait_for()
    await page.locator("#lang").click()
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert await page.locator("h1").text_content() == "Tsunagu chat"
    assert await page.get_attribute("#lang", "lang") == "ja"  # the button names the other language in it
    await page.get_by_text("Is this all right with you?").wait_for()
    assert await page.locator("#choices button").all_text_contents() == ["Yes", "No"]
    await page.mouse.move(0, 0)
    await page.screenshot(path=str(screenshots / "chat-en.png"))


async def test_the_embed_snippet_opens_the_chat_in_a_panel(browser, web_service):
    context = await browser.new_context(viewport={"width": 1024, "height": 768}, locale="ja-JP")
    page = await context.new_page()
    script = str(web_service.client.make_url("/static/embed.js"))
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url))
    await page.set_content(f'<main><h1>Partner NPO</h1></main><script src="{script}" data-tsunagu></script>')
    button = page.get_by_role("button", name="相談する（匿名・無料）")
    await button.wait_for()
    assert not [u for u in loaded if "/chat" in u], "nothing of the chat is loaded before the button is pressed"
    await button.click()
    frame = page.frame_locator("iframe[title='相談する（匿名・無料）']")
    await frame.get_by_text("無料で相談できます").wait_for()
    await frame.locator("#choices").get_by_role("button", name="はい", exact=True).click()
    await frame.get_by_text("どんなことで相談したいですか").wait_for()
    await page.get_by_role("button", name="チャットを閉じる").click()
    assert await page.locator("iframe").count() == 0
    await context.close()
