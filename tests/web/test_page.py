"""The browser page in Debian's Chromium, driven by Playwright, against a real `mindrender serve`."""

from __future__ import annotations

import io
import os
import re
import shutil
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests import support
from tests.e2e.conftest import embedded

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = support.ROOT / "test-artifacts" / "web"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    support.require_server(
        "Chromium (/usr/bin/chromium; `make test` installs it)", shutil.which(CHROMIUM) is not None
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def service(tmp_path):
    with embedded(tmp_path) as running:
        yield running


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def balance(page) -> int:
    return int(page.locator("#balance").inner_text())


def test_sign_up_upscale_compare_download_and_errors(browser, service, tmp_path):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    hosts: set[str] = set()
    schemes: set[str] = set()

    def record(request) -> None:
        url = urlsplit(request.url)
        schemes.add(url.scheme)
        if url.scheme in ("http", "https", "ws", "wss"):
            hosts.add(url.netloc)

    page.on("request", record)
    page.goto(service.url + "/")
    assert page.locator("input[type=file]").count() == 1
    shoot(page, "01-sign-in")

    page.get_by_label("Email").fill("painter@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Create an account").click()
    expect(page.locator("#who-email")).to_have_text("painter@example.com")
    expect(page.locator("#balance")).to_have_text("10")

    photo = tmp_path / "sunset.png"
    photo.write_bytes(support.png_bytes(40, 30, seed=3))
    page.get_by_label("Model").select_option("bicubic")
    page.get_by_label("3x").check()
    page.locator("#files").set_input_files(str(photo))
    expect(page.locator("#quote")).to_contain_text("Price: 1 credit")
    expect(page.locator("#queue")).to_contain_text("1 credit, about 1 s")
    expect(page.locator("#quote")).to_contain_text("Balance 10 → 9")
    shoot(page, "02-priced")
    page.get_by_role("button", name="Upscale").click()

    card = page.locator(".result", has_text="sunset.png")
    expect(card.locator(".status")).to_contain_text("Done: 120\u00d790", timeout=60_000)
    slider = card.get_by_label("Compare original (left) and upscaled (right)")
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    assert int(slider.input_value()) == 45
    clip_width = card.locator(".clip").evaluate("node => node.style.width")
    assert clip_width == "45%"
    expect(page.locator("#balance")).to_have_text("9")
    shoot(page, "03-done")

    with page.expect_download() as download_info:
        card.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "sunset_x3.png"
    saved = tmp_path / "downloaded.png"
    download.save_as(saved)
    assert Image.open(io.BytesIO(saved.read_bytes())).size == (120, 90)

    # Clean-up controls follow what the chosen model has weights for at the chosen scale.
    page.get_by_label("Model").select_option("realcugan-se")
    page.get_by_label("2x").check()
    expect(page.get_by_label("Conservative")).to_be_enabled()
    page.get_by_label("Denoise").select_option("1")
    expect(page.get_by_label("Conservative")).to_be_disabled()  # one or the other
    page.get_by_label("4x").check()  # Real-CUGAN's 4x weights have denoise 3 only
    expect(page.get_by_label("Denoise")).to_have_value("")
    page.get_by_label("Model").select_option("waifu2x-cunet")
    page.get_by_label("1x (clean-up only)").check()
    expect(page.locator("#denoise option[value='']")).to_be_disabled()  # 1x weights all denoise
    page.get_by_label("Denoise").select_option("2")
    scan = tmp_path / "scan.png"
    scan.write_bytes(support.png_bytes(40, 30, seed=4))
    page.locator("#files").set_input_files(str(scan))
    shoot(page, "03b-clean-up")
    page.get_by_role("button", name="Upscale").click()
    cleaned = page.locator(".result", has_text="scan.png")
    expect(cleaned.locator(".status")).to_contain_text("Done: 40\u00d730", timeout=60_000)
    expect(page.locator("#balance")).to_have_text("7")  # 2 credits: the standard networks' minimum

    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    page.locator("#files").set_input_files(str(bad))
    page.get_by_role("button", name="Upscale").click()
    expect(page.locator(".result.failed").first).to_contain_text("isn't an image we can read")
    expect(page.locator("#balance")).to_have_text("7")
    shoot(page, "04-bad-file")

    card.get_by_role("button", name="Delete now").click()
    expect(card.locator(".status")).to_have_text("Deleted from our servers.")

    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key-value")).to_have_text(re.compile(r"^mr_"))
    expect(page.locator("#keys li")).to_have_count(2)

    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "05-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width} px)"

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill("painter@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#notice")).to_have_text("Wrong email or password.")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#balance")).to_have_text("7")
    shoot(page, "06-logged-in-again")

    assert hosts == {urlsplit(service.url).netloc}, f"the page loaded from other hosts: {hosts}"
    assert schemes <= {"http", "blob", "data"}, schemes  # blob: the local preview of the original
    context.close()


def test_the_page_sends_a_strict_content_security_policy(service, http_client_factory):
    response = http_client_factory(service.url).get("/")
    policy = response.headers["content-security-policy"]
    assert (
        "default-src 'self'" in policy
        and "script-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
    )
    assert "http" not in re.sub(r"https:", "", policy)  # no third-party origin on local storage
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", response.text)
    assert os.path.basename(urlsplit(service.url).path) == ""


def test_buying_credits_and_adding_a_webhook_from_the_page(browser, tmp_path):
    from playwright.sync_api import expect

    from tests.billing.fake_stripe import WEBHOOK_SECRET, fake_stripe_api

    with (
        fake_stripe_api() as stripe_api,
        embedded(
            tmp_path,
            stripe_secret_key="sk_test_page",
            stripe_webhook_secret=WEBHOOK_SECRET,
            stripe_api_base=stripe_api.url,
            webhook_allow_private="true",
        ) as service,
    ):
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.route("https://checkout.stripe.com/**", lambda route: route.fulfill(body="Stripe Checkout"))
        page.goto(service.url + "/")
        page.get_by_label("Email").fill("buyer@example.com")
        page.get_by_label("Password").fill("correct horse")
        page.get_by_role("button", name="Create an account").click()
        expect(page.locator("#buy")).to_be_visible()
        expect(page.get_by_role("button", name="Pro: 500 credits a month")).to_be_visible()

        page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hooks")
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.locator("#new-hook-value")).to_have_text(re.compile(r"^whsec_"))
        expect(page.locator("#hook-list li")).to_have_count(1)
        shoot(page, "07-billing-and-webhooks")

        page.get_by_role("button", name="200 credits").click()
        page.wait_for_url("https://checkout.stripe.com/**")
        [checkout] = stripe_api.calls("/v1/checkout/sessions")
        assert checkout["metadata[pack]"] == "pack-200" and checkout["mode"] == "payment"
        context.close()


def test_api_docs_render_every_operation_without_another_host(browser, service):
    """/docs was blank offline (Swagger UI from a CDN); now its assets come from the app itself."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(service.url + "/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    schema = page.evaluate("fetch('/openapi.json').then((r) => r.json())")
    operations = sum(len(methods) for methods in schema["paths"].values())
    expect(page.locator(".opblock")).to_have_count(operations)
    shoot(page, "07-api-docs")
    assert hosts == {urlsplit(service.url).netloc}, hosts
    context.close()
