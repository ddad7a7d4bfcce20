"""The web desk in a real browser at a desktop size and at 360×640: answers in words, Close asked
twice, a new case or message announced (title badge, notification), the partner's closed cases
searched and read, a transfer list of partners that can take the case now, and no axe-core
violation on the sign-in, queue and case views. Screenshots with --update-golden."""

from __future__ import annotations

import asyncio

import pytest

from tests.a11y import AXE, explain, violations
from tests.browser import needs_chromium
from tests.webdesk.conftest import PASSWORD, intake

pytestmark = needs_chromium

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 360, "height": 640}}
NAMES = {"hikari": "あおい", "hoshi": "そら"}


async def _until(page, expression: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await page.evaluate(expression):
        if loop.time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        await asyncio.sleep(0.05)


async def no_violations(page) -> None:
    if not AXE.exists():
        return  # the check skips where axe-core is not installed (tests/a11y; .ci/run installs it)
    found = await violations(page)
    assert found == [], explain(found)


async def sign_in(browser, desk_service, org: str, size: str):
    context = await browser.new_context(viewport=SIZES[size], locale="ja-JP")
    page = await context.new_page()
    await page.goto(str(desk_service.client.make_url("/desk")))
    await page.locator("#signin").wait_for()
    await no_violations(page)
    await page.get_by_label("団体ID / Organization ID").fill(org)
    await page.get_by_label("名前 / Name").fill(NAMES[org])
    await page.get_by_label("パスワード / Password").fill(PASSWORD)
    await page.get_by_role("button", name="サインイン / Sign in").click()
    await page.locator("#desk-view").wait_for()
    return context, page


@pytest.mark.parametrize("size", SIZES)
async def test_a_counselor_works_a_case_from_arrival_to_history(browser, desk_service, screenshots, size):
    chat, case = await intake(desk_service)
    context, page = await sign_in(browser, desk_service, case.org_id, size)
    # a page that is not being looked at: what arrives is announced
    await page.evaluate("""() => {
        window.__notes = [];
        Object.defineProperty(document, "visibilityState", { get: () => "hidden" });
        window.Notification = class { constructor(title, options) { window.__notes.push(title + " " + options.body); }
                                      static get permission() { return "granted"; } };
    }""")
    button = page.locator(f"#queued button[data-case-id='{case.id}']")
    await button.wait_for()
    await no_violations(page)  # the queue view
    _, second = await intake(desk_service)
    if second.org_id == case.org_id:
        await _until(page, "document.title.startsWith('(1) ')")
        await _until(page, "window.__notes.some(n => n.startsWith('新しい相談'))")
    await button.click()
    await page.get_by_role("button", name="対応する / Accept").click()
    await page.locator(f"#active button[data-case-id='{case.id}']").wait_for()
    summary = await page.locator("#summary").inner_text()
    assert "19〜29歳 / 19–29" in summary and "日本語 / Japanese" in summary and "孤独・孤立 / Loneliness" in summary
    assert "19_29" not in summary and "\tja\n" not in summary

    # the person writes: the page says so
    before = await page.evaluate("window.__notes.length")
    await chat.acked(await chat.say("聞いてほしいことがあります"))
    await _until(page, f"window.__notes.length > {before}")
    assert "メッセージ" in (await page.evaluate("window.__notes"))[-1]
    await page.locator("#log li.person", has_text="聞いてほしいことがあります").wait_for()

    # the transfer list: only the other partner, which can take the case now
    options = await page.locator("#to option").evaluate_all("opts => opts.map(o => o.value)")
    assert options == [{"hikari": "hoshi", "hoshi": "hikari"}[case.org_id]]
    await no_violations(page)  # the case view
    await page.mouse.move(0, 0)
    await page.screenshot(path=str(screenshots / f"desk-case-{size}.png"), full_page=True)

    # Close is asked twice; "keep it open" keeps it open
    await page.locator("#outcome").select_option("resolved")
    await page.get_by_role("button", name="終了する / Close").click()
    await page.get_by_role("button", name="はい、終了する / Yes, close").wait_for()
    await no_violations(page)
    await page.get_by_role("button", name="やめる / Keep it open").click()
    assert (await desk_service.app_services().desk.cases.case(case.id)).status == "active"
    await page.get_by_role("button", name="終了する / Close").click()
    await page.get_by_role("button", name="はい、終了する / Yes, close").click()
    await page.locator("#case").wait_for(state="hidden")
    assert (await desk_service.app_services().desk.cases.case(case.id)).status == "closed"

    # the partner's history: found by its handle, read, nothing to act on
    await page.get_by_label("相談者の番号 / Handle").fill(case.handle.lower())
    await page.get_by_role("button", name="検索 / Search").click()
    found = page.locator(f"#found button[data-case-id='{case.id}']")
    await found.wait_for()
    await found.click()
    await page.locator("#case-status", has_text="終了").wait_for()
    assert await page.locator("#compose").is_hidden() and await page.locator("#actions").is_hidden()
    await page.locator("#log li.person", has_text="聞いてほしいことがあります").wait_for()
    await no_violations(page)
    assert await page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    await page.mouse.move(0, 0)
    await page.screenshot(path=str(screenshots / f"desk-history-{size}.png"), full_page=True)
    await chat.close()
    await context.close()
