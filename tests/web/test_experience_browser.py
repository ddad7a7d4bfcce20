"""The person's page in a real browser at a phone's 360×640 and at a desktop's 1280×800: a risk
topic never takes the buttons away (1), one language at a time (4), danger = yes hands off at once
with phone numbers to tap that never break (7), and no axe-core violation on /chat.
Screenshots go to docs/screenshots/ with --update-golden."""

from __future__ import annotations

import asyncio

import pytest

from tests.a11y import explain, needs_axe, violations
from tests.browser import needs_chromium

pytestmark = needs_chromium

SIZES = {"phone": {"width": 360, "height": 640}, "desktop": {"width": 1280, "height": 800}}


async def _until(page, expression: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await page.evaluate(expression):
        if loop.time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        await asyncio.sleep(0.05)


async def _page(browser, web_service, size: str, *, locale: str = "ja-JP", path: str = "/chat"):
    context = await browser.new_context(viewport=SIZES[size], locale=locale)
    page = await context.new_page()
    await page.goto(str(web_service.client.make_url(path)))
    await page.locator("#status[data-state=online]").wait_for()
    await _until(page, "document.querySelectorAll('#log li.bot').length >= 2")
    return context, page


async def _tap(page, label: str) -> None:
    before = await page.locator("#log li").count()
    await page.locator("#choices").get_by_role("button", name=label, exact=True).click()
    await _until(page, f"document.querySelectorAll('#log li').length >= {before + 2}")


async def _type(page, text: str) -> None:
    before = await page.locator("#log li").count()
    await page.locator("#text").fill(text)
    await page.locator("#text").press("Enter")
    await _until(page, f"document.querySelectorAll('#log li').length >= {before + 2}")


@pytest.mark.parametrize("size", SIZES)
async def test_typing_shinitai_at_the_topics_shows_the_lines_and_the_person_can_still_finish(
        browser, web_service, screenshots, size):
    context, page = await _page(browser, web_service, size)
    await _tap(page, "はい")
    await _type(page, "死にたい")
    bubbles = page.locator("#log li.bot .text")
    texts = await bubbles.all_text_contents()
    assert "110" in texts[-2] and "よりそいホットライン" in texts[-2]
    assert texts[-1].startswith("選んだもの：死にたい気持ち")
    assert not any("うまく受け取れません" in t for t in texts)
    done = page.locator("#choices").get_by_role("button", name="これで全部", exact=True)
    await done.scroll_into_view_if_needed()
    assert await done.is_visible()
    assert await page.locator("#log li.bot").nth(-2).locator("a.tel").count() >= 3  # 110, 119, よりそい
    assert await page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    # only the conversation scrolls: the header with 110/119 and the message box stay on screen
    assert await page.evaluate("document.documentElement.scrollTop") == 0
    await page.mouse.move(0, 0)
    await page.locator("#text").blur()
    await page.screenshot(path=str(screenshots / f"chat-risk-{size}.png"))
    await _tap(page, "これで全部")
    await page.get_by_text("年代を教えてください。").wait_for()
    await context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_danger_yes_hands_off_at_once_with_numbers_to_tap(browser, web_service, screenshots, size):
    context, page = await _page(browser, web_service, size)
    for label in ("はい", "孤独・孤立", "これで全部", "19〜29歳", "答えたくない", "はい"):
        await _tap(page, label)
    await page.get_by_text("ほかの質問はやめて、いますぐ相談員を呼びます").wait_for()
    assert await page.locator("#choices button").count() == 0, "no more questions"
    last = page.locator("#log li.bot").last
    hrefs = await last.locator("a.tel").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["tel:110", "tel:119", "tel:0120279338", "tel:0120061338"]
    for link in await last.locator("a.tel").all():
        assert await link.evaluate("a => getComputedStyle(a).whiteSpace") == "nowrap"
        lines = await link.evaluate("a => a.getClientRects().length")
        assert lines == 1, f"{await link.text_content()} breaks over {lines} lines"
    await page.mouse.move(0, 0)
    assert await page.evaluate("document.documentElement.scrollTop") == 0, "the header stays on screen"
    await page.screenshot(path=str(screenshots / f"chat-danger-{size}.png"))
    await context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_one_language_at_a_time(browser, web_service, screenshots, size):
    # ?lang=en: the page and the greeting in English (it used to greet in Japanese)
    context, page = await _page(browser, web_service, size, path="/chat?lang=en")
    assert await page.locator("h1").text_content() == "Tsunagu chat"
    bot = await page.locator("#log li.bot .text").all_text_contents()
    assert bot[0].startswith("Hello, this is Tsunagu.") and "Is this all right with you?" in bot[1]
    assert not any("こんにちは" in t for t in bot)
    await page.mouse.move(0, 0)
    await page.screenshot(path=str(screenshots / f"chat-en-{size}.png"))
    await context.close()

    # an English browser without ?lang= gets English too
    context, page = await _page(browser, web_service, size, locale="en-US")
    assert (await page.locator("#log li.bot .text").first.text_content()).startswith("Hello, this is Tsunagu.")
    await context.close()

    # switching to English and reloading: the labels follow the conversation
    context, page = await _page(browser, web_service, size)
    await page.locator("#lang").click()
    await page.get_by_text("Is this all right with you?").wait_for()
    await page.reload()
    await page.locator("#status[data-state=online]").wait_for()
    await _until(page, "document.documentElement.lang === 'en'")
    assert await page.locator("#compose-label").text_content() == "Message (or answer in your own words)"
    assert await page.evaluate("Object.keys(localStorage)") == ["tsunagu.chat.token"], "nothing else is kept"
    await context.close()


@needs_axe
@pytest.mark.parametrize("size", SIZES)
async def test_the_chat_has_no_accessibility_violation(browser, web_service, size):
    context, page = await _page(browser, web_service, size)
    await _tap(page, "はい")
    await _type(page, "死にたい")
    found = await violations(page)
    assert found == [], explain(found)
    front = await context.new_page()
    await front.goto(str(web_service.client.make_url("/")))
    found = await violations(front)
    assert found == [], explain(found)
    await context.close()
