"""The page's browser tests: Debian's Chromium driven by Playwright against one real `mindrender serve`.

One service for the whole package (starting one takes seconds on the 2-core machine); each test signs up
its own account, so tests share nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import support
from tests.billing.fake_stripe import WEBHOOK_SECRET, FakeStripe, fake_stripe_api
from tests.e2e.conftest import Service, embedded
from tests.orphans import kill_tree

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = support.ROOT / "test-artifacts" / "web"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SIGNUP_CREDITS = 25  # not the default 10, so the landing page is seen to read it from the settings
PASSWORD = "correct horse"
# Its weight file is damaged on purpose: its jobs fail on the worker the way a broken install would.
BROKEN_MODEL = "realesrgan-x4plus"  # a GAN no preset runs


@pytest.fixture(scope="package")
def browser():
    support.require_server(
        "Chromium (/usr/bin/chromium; `make test` installs it)", shutil.which(CHROMIUM) is not None
    )
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        # Whatever of Playwright's driver and its Chromium outlived that (a close that failed) goes now,
        # not when this worker ends.
        left = kill_tree(b"playwright/driver")
        if left:
            print(f"\nkilled {len(left)} Playwright processes left after the browser closed", flush=True)


@pytest.fixture(autouse=True)
def _close_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test's browser profiles close when it ends: a page left open keeps polling its jobs and
    redrawing while the package's other tests run."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            context.close()


@pytest.fixture(scope="package")
def stripe() -> Iterator[FakeStripe]:
    with fake_stripe_api() as fake:
        yield fake


def _models_with_one_broken(folder: Path, models_dir: Path) -> Path:
    """The installed weights, linked, except the broken model's file, which is garbage."""
    folder.mkdir()
    for weights in models_dir.iterdir():
        (folder / weights.name).symlink_to(weights)
    broken = folder / f"{BROKEN_MODEL}.safetensors"
    broken.unlink()
    broken.write_bytes(b"not a safetensors file")
    return folder


@pytest.fixture(scope="package")
def service(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, stripe: FakeStripe
) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("page")
    with embedded(
        folder,
        models_dir=str(_models_with_one_broken(folder / "models", models_dir)),
        signup_credits=str(SIGNUP_CREDITS),
        stripe_secret_key="sk_test_page",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe.url,
        webhook_allow_private="true",
        signup_credit_grants_per_ip_per_day="50",  # every test signs up its own account from 127.0.0.1
        signups_per_ip_per_hour="50",
    ) as running:
        yield running


def shoot(page, name: str, full_page: bool = True) -> None:
    """A screenshot (of the whole page, or of what the screen shows) under test-artifacts/web/."""
    page.wait_for_function("() => [...document.images].every((image) => image.complete)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def open_page(browser, service: Service, width: int = 1200, height: int = 900, axe: bool = False):
    """A fresh browser profile (another device, as far as the service can tell) on the page."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    if axe:
        # An init script runs outside the page's Content-Security-Policy: axe is never served by the app.
        context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto(service.url + "/")
    page.wait_for_selector("body[data-ready]")
    return page


def sign_up(page, email: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create an account").click()
    expect(page.locator("#who-email")).to_have_text(email)
    expect(page.locator("#balance")).to_have_text(str(SIGNUP_CREDITS))


def log_in(page, email: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#who-email")).to_have_text(email)


def api_account(service: Service, email: str) -> httpx.Client:
    """An account made over the API, and a client holding its key."""
    response = httpx.post(f"{service.url}/v1/accounts", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['api_key']}"}
    return httpx.Client(base_url=service.url, headers=headers, timeout=30)


def write_image(folder: Path, name: str, width: int = 40, height: int = 30, seed: int = 0) -> Path:
    path = folder / name
    path.write_bytes(support.png_bytes(width, height, seed=seed))
    return path


@pytest.fixture(scope="package")
def axe() -> Path:
    """axe-core from tests/web/package.json (`make test` runs npm ci): skipped without it, required in CI.

    Ask for it before `browser` and `service`, so a skip starts nothing.
    """
    if AXE.is_file():
        return AXE
    reason = "axe-core is not installed (tests/web/node_modules; `make browser` installs it with npm ci)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, and it is required in CI")
    pytest.skip(reason)


def axe_check(page, state: str) -> list[dict]:
    """Run axe-core on the page as it is; every violation is saved, serious and critical ones returned."""
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }"""
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{state}.json").write_text(json.dumps(violations, indent=2))
    return [v for v in violations if v["impact"] in ("serious", "critical")]
