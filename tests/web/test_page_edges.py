"""The page's rough edges (issue #34): quiet loads, one model control, honest quote ranges, a clip's poster
frame, the phone layout and the credit history, in Debian's Chromium against a real `mindrender serve`."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from tests.video.clips import Clip, make_clip
from tests.web.conftest import SIGNUP_CREDITS, shoot, sign_up, write_image

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def watched_page(browser, service, viewport: dict[str, int]):
    """A fresh profile on the page, with every console error, failed request and error answer recorded
    from the first request on."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda message: message.type == "error" and problems.append(f"console: {message.text}")
    )
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
    page.on(
        "response",
        lambda response: response.status >= 400 and problems.append(f"{response.status}: {response.url}"),
    )
    page.goto(service.url + "/")
    page.wait_for_selector("body[data-ready]")
    return page, problems


def test_a_fresh_load_logged_out_and_logged_in_has_no_console_error_nor_failed_request(browser, service):
    from playwright.sync_api import expect

    page, problems = watched_page(browser, service, DESKTOP)
    expect(page.get_by_role("button", name="Create an account")).to_be_visible()
    assert problems == [], problems  # GET /v1/account is not asked: this browser never signed in
    sign_up(page, "quiet@example.com")
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#who-email")).to_have_text("quiet@example.com")
    page.get_by_role("button", name="Log out").click()
    # Reloaded only once the logout is answered, or the reload itself aborts its DELETE /v1/sessions.
    expect(page.get_by_role("button", name="Create an account")).to_be_visible()
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.get_by_role("button", name="Create an account")).to_be_visible()
    assert problems == [], problems
    page.context.close()


def test_the_phone_landing_shows_the_sign_up_form_without_scrolling(browser, service):
    from playwright.sync_api import expect

    for viewport in (PHONE, {"width": 360, "height": 740}):
        page, _ = watched_page(browser, service, viewport)
        expect(page.get_by_role("button", name="Create an account")).to_be_in_viewport()
        expect(page.get_by_label("Password")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shoot(page, f"edges-landing-phone-{viewport['width']}", full_page=False)
        page.context.close()


def _top(locator) -> float:
    box = locator.bounding_box()
    return box["y"] + box["height"] / 2


def test_on_a_phone_the_header_keeps_one_line_and_a_new_key_is_not_broken(browser, service):
    from playwright.sync_api import expect

    page, _ = watched_page(browser, service, PHONE)
    sign_up(page, "a.rather.long.address.for.a.phone@example.com")
    header = page.locator("header.bar")
    log_out = page.get_by_role("button", name="Log out")
    assert abs(_top(log_out) - _top(header.locator(".brand"))) < 4, "Log out wrapped onto its own line"
    assert abs(_top(page.locator("#balance")) - _top(log_out)) < 4
    page.get_by_label("Key name").fill("phone")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key-value")
    expect(key).to_be_visible()
    line = key.evaluate("code => parseFloat(getComputedStyle(code).lineHeight) || 20")
    rects = key.evaluate("code => { const r = document.createRange(); r.selectNodeContents(code); "
                         "return r.getClientRects().length; }")  # fmt: skip
    assert rects == 1, f"the key is broken across {rects} lines"
    assert key.evaluate("code => code.textContent.startsWith('mr_')")
    assert key.bounding_box()["height"] < 2 * line + 12
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "edges-phone-signed-in", full_page=False)
    page.context.close()


def test_one_control_chooses_automatic_a_content_preset_or_a_model(browser, service, tmp_path):
    from playwright.sync_api import expect

    page, _ = watched_page(browser, service, DESKTOP)
    sign_up(page, "chooser@example.com")
    expect(page.get_by_role("group", name="What is in the image?")).to_have_count(0)
    choice = page.get_by_label("Model")
    expect(choice).to_have_value("auto")
    assert choice.locator("optgroup").evaluate_all("groups => groups.map((g) => g.label)") == [
        "By content",
        "Models",
    ]
    choice.select_option(label="Photo")
    expect(page.locator("#preset-help")).to_be_visible()
    expect(page.get_by_label("Conservative")).to_be_disabled()  # the preset picks its variant
    page.get_by_label("2x").check()
    page.locator("#files").set_input_files(str(write_image(tmp_path, "street.png", seed=3)))
    page.get_by_role("button", name="Upscale").click()
    expect(page.locator(".result", has_text="street.png").locator(".status")).to_contain_text(
        "Done: 80\u00d760", timeout=60_000
    )
    job = page.evaluate("fetch('/v1/jobs').then((r) => r.json())")["jobs"][0]
    assert job["preset"] == "photo"  # sent as the preset, not as its model
    choice.select_option("bicubic")
    expect(page.locator("#preset-help")).to_be_hidden()
    page.context.close()


def test_a_price_range_that_may_exceed_the_balance_says_so_and_blocks_upscale(browser, service, tmp_path):
    from playwright.sync_api import expect

    page, _ = watched_page(browser, service, DESKTOP)
    sign_up(page, "ranger@example.com")
    # 2200x1650 at 4x is 58 MP: some models Automatic may pick cost less than the balance, some more.
    poster = tmp_path / "poster.png"
    Image.new("RGB", (2200, 1650), (90, 120, 160)).save(poster)
    page.get_by_label("4x").check()
    page.locator("#files").set_input_files(str(poster))
    quote = page.locator("#quote")
    expect(quote).to_contain_text("Automatic picks the model for each image")
    least, most = (
        int(n) for n in quote.inner_text().split("Price: ")[1].split(" credits")[0].split("\u2013")
    )
    assert least <= SIGNUP_CREDITS < most, (least, most)
    expect(quote).to_contain_text(
        f"That may be more than your balance of {SIGNUP_CREDITS}: up to {most - SIGNUP_CREDITS} more credits"
    )
    assert "\u2192 -" not in quote.inner_text()  # no negative balance shown
    expect(page.get_by_role("button", name="Upscale")).to_be_disabled()
    shoot(page, "edges-quote-range-short")
    page.get_by_label("2x").check()  # 14.5 MP: within the balance whichever model is picked
    expect(quote).to_contain_text(f"Balance {SIGNUP_CREDITS} \u2192 ")
    expect(page.get_by_role("button", name="Upscale")).to_be_enabled()
    page.context.close()


def test_a_chosen_clip_shows_a_frame_before_it_is_played(browser, service, tmp_path):
    from playwright.sync_api import expect

    page, _ = watched_page(browser, service, DESKTOP)
    sign_up(page, "poster@example.com")
    clip = tmp_path / "wave.mp4"
    clip.write_bytes(make_clip(Clip(frames=12)))
    page.locator("#files").set_input_files(str(clip))
    preview = page.get_by_label("Preview of wave.mp4")
    expect(preview).to_be_visible()
    # A frame is decoded and on screen (the clip is coloured squares), the clip still unplayed.
    page.wait_for_function("() => document.querySelector('#queue video')?.readyState >= 2", timeout=10_000)
    page.wait_for_timeout(500)  # what a person sees once it has settled
    shown = Image.open(io.BytesIO(preview.screenshot())).convert("RGB")
    width, height = shown.size
    middle = np.asarray(shown.crop((width // 3, height // 8, 2 * width // 3, height // 2)), dtype=np.float64)
    assert middle.mean() > 40, f"the preview is a black box (mean level {middle.mean():.0f})"
    # Shown from a moment in (a first frame is often black: a fade in), and not played.
    assert preview.evaluate("video => video.paused && video.currentTime > 0")
    shoot(page, "edges-clip-poster")
    page.context.close()


def test_credit_history_names_the_file_in_the_page_s_one_date_format(browser, service, tmp_path):
    from playwright.sync_api import expect

    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page, _ = watched_page(browser, service, viewport)
        sign_up(page, f"ledger-{name}@example.com")
        page.get_by_label("Model").select_option("bicubic")
        page.get_by_label("2x").check()
        page.locator("#files").set_input_files(str(write_image(tmp_path, f"receipt-{name}.png", seed=2)))
        page.get_by_role("button", name="Upscale").click()
        card = page.locator(".result", has_text=f"receipt-{name}.png")
        expect(card.locator(".status")).to_contain_text("Done: 80\u00d760", timeout=60_000)
        row = page.locator("#ledger tr", has_text="Upscale")
        expect(row).to_contain_text(f"Upscale: receipt-{name}.png")
        # One format on the whole page: the row's time is written as the result's "made" and "kept until".
        expect(row.locator("td").first).to_have_text(re.compile(r"^today \d{1,2}:\d\d( [AP]M)?$"))
        expect(card.locator(".meta")).to_contain_text(re.compile(r"today \d{1,2}:\d\d( [AP]M)?$"))
        expect(card.locator(".status")).to_contain_text(
            re.compile(r"Kept until .*, \d{1,2}:\d\d( [AP]M)?\.$")
        )
        shoot(page, f"edges-signed-in-{name}")
        page.context.close()
