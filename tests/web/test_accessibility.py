"""axe-core on every main state of the page, at desktop and phone width: no serious or critical violation.

axe-core is a test-only npm package (tests/web/package.json, installed by `make browser` with npm ci); it
is injected into the test's browser, never served by the app. Every violation found, of any impact, is saved
as test-artifacts/web/axe-<state>.json.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import axe_check, open_page, shoot, sign_up, write_image

pytestmark = pytest.mark.slow


def assert_accessible(page, state: str) -> None:
    serious = axe_check(page, state)
    assert not serious, f"axe-core found serious violations on {state}: {serious}"


def test_no_serious_accessibility_violation_in_any_main_state(axe, browser, service, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, service, axe=True)
    assert_accessible(page, "landing")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page, "landing-phone")
    page.set_viewport_size({"width": 1200, "height": 900})

    sign_up(page, "axe@example.com")
    assert_accessible(page, "signed-in-empty")

    page.get_by_label("Model").select_option("bicubic")
    page.locator("#files").set_input_files(
        [str(write_image(tmp_path, f"axe-{n}.png", seed=n)) for n in range(2)]
    )
    expect(page.locator("#quote")).to_contain_text("Price: 2 credits")
    assert_accessible(page, "queue-priced")

    page.get_by_role("button", name="Upscale 2 images").click()
    expect(page.locator(".result .status", has_text="Done")).to_have_count(2, timeout=60_000)
    assert_accessible(page, "results-compare")
    card = page.locator(".result").first
    card.get_by_role("button", name="at 100 %").click()
    card.get_by_role("button", name="Side by side").click()
    assert_accessible(page, "results-zoomed-side-by-side")

    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator(".result")).to_have_count(2)
    assert_accessible(page, "history")

    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page, "history-phone")
    shoot(page, "11-history-phone")
    page.context.close()


def test_keyboard_alone_reaches_the_upload_and_moves_the_comparison(browser, service, tmp_path):
    """Tab order from the top: sign-up form, then the upload controls; the handle moves with the arrows."""
    from playwright.sync_api import expect

    page = open_page(browser, service)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    focused = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        )
    assert focused.index("email") < focused.index("password") < focused.index("signup"), focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused control shows no focus ring"

    page.get_by_label("Email").fill("keys@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Create an account").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Upscale")).to_be_focused()
    page.keyboard.press("Tab")
    expect(
        page.locator("#files")
    ).to_be_focused()  # "Choose images": the native picker, reachable by keyboard
    page.locator("#files").set_input_files(str(write_image(tmp_path, "keys.png")))
    page.get_by_label("Model").select_option("bicubic")
    page.get_by_role("button", name="Upscale").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("keys.png is ready.", timeout=60_000)
    handle = page.get_by_role("slider", name="Before/after split of keys.png")
    handle.focus()
    page.keyboard.press("Shift+ArrowRight")
    expect(handle).to_have_attribute("aria-valuenow", "60")
    page.keyboard.press("Home")
    expect(handle).to_have_attribute("aria-valuenow", "0")
    page.context.close()
