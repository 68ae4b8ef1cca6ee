"""The page in Debian's Chromium, driven by Playwright, against a real `mindrender serve` (conftest.py)."""

from __future__ import annotations

import io
import re
import time
import zipfile
from urllib.parse import urlsplit

import av
import numpy as np
import pytest
from PIL import Image

from tests import support
from tests.video.clips import Clip, make_clip
from tests.web.conftest import (
    BROKEN_MODEL,
    SIGNUP_CREDITS,
    api_account,
    log_in,
    open_page,
    shoot,
    sign_up,
    write_image,
)

pytestmark = pytest.mark.slow


def balance(page) -> int:
    return int(page.locator("#balance").inner_text())


def test_signed_out_visitors_see_a_real_sample_the_prices_and_the_privacy_promise(browser, service):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    landing = page.locator("#landing")
    expect(landing.get_by_role("heading", name="Sharper images in seconds")).to_be_visible()
    expect(landing).to_contain_text(f"Sign up and get {SIGNUP_CREDITS} free credits")
    # Prices from GET /v1/models and /v1/presets: a clean 1024x768 photo with the photo preset at its
    # default detail, faithful (4 MP a credit) mixed with RealSR (1 MP a credit), their worth rounded once.
    photo = landing.locator("#price-rows tr", has_text="Photo")
    expect(photo.locator("td").nth(0)).to_have_text("4 credits")  # 2x: 3.1 MP, 0.79 + 3.15
    expect(photo.locator("td").nth(1)).to_have_text("16 credits")  # 4x: 12.6 MP, 3.15 + 12.58
    expect(landing.locator("#packs")).to_contain_text("200 for")  # billing is on: the packs are listed
    expect(landing).to_contain_text("deleted after 24 hours")
    expect(landing).to_contain_text("never used to train")

    sample = landing.locator("#sample")
    after, before = sample.locator("img.after"), sample.locator("img.before")
    assert after.evaluate("image => image.naturalWidth") == 480  # the committed 4x result of a 120x80 crop
    assert before.evaluate("image => image.naturalWidth") == 120
    expect(sample.locator(".tag", has_text="Before")).to_be_visible()
    expect(sample.locator(".tag", has_text="After")).to_be_visible()
    handle = sample.get_by_role("slider", name="Before/after split")
    expect(handle).to_have_attribute("aria-valuenow", "50")
    handle.press("End")
    expect(handle).to_have_attribute("aria-valuenow", "100")
    box = sample.locator(".stage").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)  # the split jumps there
    expect(handle).to_have_attribute("aria-valuenow", "25")
    shoot(page, "01-landing")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the landing scrolls sideways"
    expect(page.get_by_role("button", name="Create an account")).to_be_visible()
    shoot(page, "01-landing-phone")
    page.context.close()


def test_three_files_from_the_picker_are_three_jobs_compared_downloaded_and_kept(browser, service, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    hosts: set[str] = set()
    schemes: set[str] = set()

    def record(request) -> None:
        url = urlsplit(request.url)
        schemes.add(url.scheme)
        if url.scheme in ("http", "https", "ws", "wss"):
            hosts.add(url.netloc)

    page.on("request", record)
    sign_up(page, "painter@example.com")
    shoot(page, "02-signed-in-empty")

    sizes = {"sunset.png": (300, 200), "harbour.png": (40, 30), "meadow.png": (40, 30)}  # x3: 900x600, 120x90
    names = list(sizes)
    files = [str(write_image(tmp_path, name, *sizes[name], seed=seed)) for seed, name in enumerate(names)]
    done = {name: f"Done: {w * 3}\u00d7{h * 3}" for name, (w, h) in sizes.items()}
    page.get_by_label("Model").select_option("bicubic")
    page.get_by_label("3x").check()
    page.locator("#files").set_input_files(files)  # one choice in the picker, three files
    expect(page.locator("#queue li")).to_have_count(3)
    expect(page.locator("#queue")).to_contain_text("1 credit, about 1 s")
    expect(page.locator("#quote")).to_contain_text(
        f"Price: 3 credits. Balance {SIGNUP_CREDITS} → {SIGNUP_CREDITS - 3}"
    )
    shoot(page, "02-queue-priced")
    page.get_by_role("button", name="Upscale 3 images").click()

    for name in names:
        card = page.locator(".result", has_text=name)
        expect(card.locator(".status")).to_contain_text(done[name], timeout=60_000)
    expect(page.locator("#queue li")).to_have_count(0)
    listed = page.evaluate("fetch('/v1/jobs').then((r) => r.json())")["jobs"]
    assert len(listed) == 3 and {job["status"] for job in listed} == {"succeeded"}
    expect(page.locator("#balance")).to_have_text(str(SIGNUP_CREDITS - 3))

    # The comparison viewer: a handle on the image, moved by keyboard and by dragging.
    card = page.locator(".result", has_text="sunset.png")
    expect(card.locator(".tag", has_text="Before")).to_be_visible()
    expect(card.locator(".tag", has_text="After")).to_be_visible()
    handle = card.get_by_role("slider", name="Before/after split of sunset.png")
    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    expect(handle).to_have_attribute("aria-valuenow", "45")
    stage = card.locator(".stage")
    box = stage.bounding_box()
    clip = "image => parseFloat(getComputedStyle(image).clipPath.split(' ')[1])"
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    expect(handle).to_have_attribute("aria-valuenow", "80")
    hidden_right = card.locator("img.before").evaluate(clip)  # px of the original clipped on the right
    assert abs(hidden_right - box["width"] * 0.2) < 2, hidden_right
    shoot(page, "03-results-compare")

    # 100 %: one result pixel per CSS pixel, panned by dragging.
    card.get_by_role("button", name="View sunset.png at 100 %").click()
    zoomed = card.get_by_role("region", name="sunset.png at 100 %")
    expect(zoomed).to_be_visible()
    assert card.locator(".canvas").evaluate("node => node.offsetWidth") == 900
    start = zoomed.evaluate("node => [node.scrollLeft, node.scrollTop]")
    box = zoomed.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75 - 60, box["y"] + box["height"] / 2 - 20, steps=4)
    page.mouse.up()
    assert zoomed.evaluate("node => [node.scrollLeft, node.scrollTop]") == [start[0] + 60, start[1] + 20]
    shoot(page, "03b-zoomed")
    # Side by side: the original and the result in two panes, each labelled.
    card.get_by_role("button", name="Side by side").click()
    expect(card.locator(".pane")).to_have_count(2)
    expect(card.locator(".pane").first.locator(".tag")).to_have_text("Before")
    expect(card.get_by_role("slider")).to_have_count(0)
    shoot(page, "03c-zoomed-side-by-side")
    card.get_by_role("button", name="View sunset.png at 100 %").click()
    card.get_by_role("button", name="Side by side").click()
    expect(card.get_by_role("slider")).to_have_count(1)

    with page.expect_download() as download_info:
        card.get_by_role("link", name="Download sunset.png").click()
    download = download_info.value
    assert download.suggested_filename == "sunset_x3.png"
    saved = tmp_path / "downloaded.png"
    download.save_as(saved)
    assert Image.open(io.BytesIO(saved.read_bytes())).size == (900, 600)

    # Batch download: the chosen results, or all of them, as one zip.
    page.get_by_label("Select sunset.png for download").check()
    page.get_by_label("Select meadow.png for download").check()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download selected (2)").click()
    archive = zipfile.ZipFile(download_info.value.path())
    assert len(archive.namelist()) == 2
    assert {Image.open(archive.open(name)).size for name in archive.namelist()} == {(900, 600), (120, 90)}
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download all (3)").click()
    assert len(zipfile.ZipFile(download_info.value.path()).namelist()) == 3

    # Kept 24 hours: after a reload they are all still listed, with their names (remembered by this browser).
    page.reload()
    page.wait_for_selector("body[data-ready]")
    for name in names:
        expect(page.locator(".result", has_text=name).locator(".status")).to_contain_text(done[name])
    page.get_by_role("button", name="View sunset.png", exact=True).click()
    expect(page.locator(".result", has_text="sunset.png").locator("img.after")).to_be_visible()
    shoot(page, "04-history-after-reload")

    page.get_by_role("button", name="Delete now: harbour.png").click()
    expect(page.locator(".result", has_text="harbour.png").locator(".status")).to_have_text(
        "Deleted from our servers."
    )

    # On another device: the same results, the deleted one as expired.
    other = open_page(browser, service)
    log_in(other, "painter@example.com")
    expect(other.locator(".result")).to_have_count(3)
    expect(other.locator(".result.expired")).to_have_count(1)
    expect(other.locator(".result", has_text="Done: ")).to_have_count(2)
    # Named as uploaded: the names come with the jobs, not from the first browser's memory; "Delete now"
    # deleted the name with the files.
    expect(other.locator(".result", has_text="meadow.png")).to_have_count(1)
    expect(other.locator(".result", has_text="harbour.png")).to_have_count(0)
    other.context.close()

    assert hosts == {urlsplit(service.url).netloc}, f"the page loaded from other hosts: {hosts}"
    assert schemes <= {"http", "blob", "data"}, schemes  # blob: the local preview of the original
    page.context.close()


def test_on_a_phone_the_result_comes_into_view(browser, service, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, service, width=390, height=844)
    sign_up(page, "phone@example.com")
    page.get_by_label("Model").select_option("bicubic")
    page.get_by_label("2x").check()
    page.locator("#files").set_input_files(str(write_image(tmp_path, "pocket.png", seed=5)))
    # Tapped where a thumb finds it: at the bottom of the screen, with the results further down.
    page.locator("#start").evaluate("button => button.scrollIntoView({ block: 'end' })")
    page.get_by_role("button", name="Upscale").click()
    card = page.locator(".result", has_text="pocket.png")
    expect(card.locator(".status")).to_contain_text("Done: 80\u00d760", timeout=60_000)
    expect(card.get_by_role("img", name="pocket.png, upscaled")).to_be_in_viewport(ratio=0.9)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    shoot(page, "05-phone-result-on-screen", full_page=False)
    shoot(page, "05-phone-result")
    page.context.close()


def test_model_options_follow_the_model_and_scale(browser, service, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    sign_up(page, "options@example.com")
    page.get_by_label("Model").select_option("realcugan-se")
    page.get_by_label("2x").check()
    expect(page.get_by_label("Conservative")).to_be_enabled()
    page.get_by_label("Denoise").select_option("1")
    expect(page.get_by_label("Conservative")).to_be_disabled()  # one or the other
    page.get_by_label("4x").check()  # Real-CUGAN's 4x weights have denoise 3 only
    expect(page.get_by_label("Denoise")).to_have_value("")
    page.get_by_label("Model").select_option("bicubic")
    expect(page.get_by_label("1x (clean-up only)")).to_be_hidden()
    expect(page.get_by_label("Denoise")).to_be_disabled()
    page.get_by_label("Model").select_option("waifu2x-cunet")
    page.get_by_label("1x (clean-up only)").check()
    expect(page.locator("#denoise option[value='']")).to_be_disabled()  # 1x weights all denoise
    page.get_by_label("Denoise").select_option("2")
    page.locator("#files").set_input_files(str(write_image(tmp_path, "scan.png", seed=4)))
    page.get_by_role("button", name="Upscale").click()
    cleaned = page.locator(".result", has_text="scan.png")
    expect(cleaned.locator(".status")).to_contain_text("Done: 40\u00d730", timeout=60_000)
    expect(cleaned.locator(".meta")).to_contain_text("1\u00d7 (denoise 2)")
    expect(page.locator("#balance")).to_have_text(str(SIGNUP_CREDITS - 2))  # the standard networks' minimum
    page.context.close()


def test_automatic_is_the_default_and_the_service_picks_the_model(browser, service, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    sign_up(page, "auto@example.com")
    expect(page.get_by_label("Model")).to_have_value("auto")
    expect(page.locator("#auto-help")).to_contain_text("runs what that preset runs for it")
    expect(page.get_by_label("Denoise")).to_be_disabled()  # the service chooses it from the image
    page.get_by_label("2x").check()
    page.locator("#files").set_input_files(str(write_image(tmp_path, "unknown.png", seed=8)))
    expect(page.locator("#quote")).to_contain_text(
        re.compile(r"Price: \d+\u2013\d+ credits \(Automatic picks")
    )
    page.get_by_role("button", name="Upscale").click()
    card = page.locator(".result", has_text="unknown.png")
    expect(card.locator(".status")).to_contain_text("Done: 80\u00d760", timeout=90_000)
    expect(card.locator(".meta")).to_contain_text("picked by Automatic (")
    page.get_by_label("Model").select_option(label="Photo")
    expect(page.get_by_label("Model")).to_have_value("preset:photo")
    expect(page.locator("#auto-help")).to_be_hidden()
    page.context.close()


def test_detail_is_a_slider_for_photos_sent_with_the_job_and_the_card_names_the_recipe(
    browser, service, tmp_path
):
    """The Detail slider shows where it applies (Photo, Automatic), starts at the preset's default, changes
    the price range with what runs, and the job runs at the detail it was set to."""
    from playwright.sync_api import expect

    page = open_page(browser, service)
    sign_up(page, "detail@example.com")
    expect(page.locator("#detail-field")).to_be_visible()  # Automatic: detail applies to photos
    page.get_by_label("Model").select_option(label="Anime / illustration")
    expect(page.locator("#detail-field")).to_be_hidden()
    page.get_by_label("Model").select_option(label="Photo")
    detail = page.get_by_label("Detail")
    expect(detail).to_have_value("70")
    page.get_by_label("2x").check()
    page.locator("#files").set_input_files(str(write_image(tmp_path, "cat.png", 48, 48, seed=3)))
    expect(page.locator("#quote")).to_contain_text("Price:")
    detail.fill("100")
    expect(page.locator("#detail-value")).to_have_text("100")
    page.get_by_role("button", name="Upscale").click()
    card = page.locator(".result", has_text="cat.png")
    expect(card.locator(".status")).to_contain_text("Done: 96\u00d796", timeout=120_000)
    expect(card.locator(".meta")).to_contain_text("photo preset, detail 100")
    shoot(page, "12-detail-slider")
    page.context.close()


def test_faithful_is_a_preset_and_the_page_says_it_invents_no_detail(browser, service):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    sign_up(page, "faithful@example.com")
    expect(page.locator("#preset-help")).to_be_hidden()  # Automatic has its own sentence
    page.get_by_label("Model").select_option(label="Faithful")
    expect(page.get_by_label("Model")).to_have_value("preset:faithful")
    expect(page.locator("#preset-help")).to_contain_text("No invented detail")
    expect(page.locator("#preset-help")).to_contain_text("archives, documents and evidence")
    expect(page.locator("#auto-help")).to_be_hidden()
    page.get_by_label("Model").select_option("faithful")  # the model by name: no preset sentence
    expect(page.locator("#preset-help")).to_be_hidden()
    # Two presets run one model (anime and text: waifu2x cunet): each keeps its own sentence.
    page.get_by_label("Model").select_option(label="Text / document")
    expect(page.get_by_label("Model")).to_have_value("preset:text")
    expect(page.locator("#preset-help")).to_contain_text("Scans, screenshots and documents")
    page.get_by_label("Model").select_option(label="Anime / illustration")
    expect(page.locator("#preset-help")).to_contain_text("Line art")
    page.context.close()


def test_a_refused_file_stays_in_the_queue_with_the_reason(browser, service, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    sign_up(page, "refused@example.com")
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    page.get_by_label("Model").select_option("bicubic")
    page.locator("#files").set_input_files(str(bad))
    page.get_by_role("button", name="Upscale").click()
    refused = page.locator("#queue li", has_text="notes.png")
    expect(refused).to_have_count(1)
    expect(refused.locator(".field-error")).to_contain_text(
        "The file is not an image or video in a supported format"  # the API's words
    )
    expect(page.get_by_role("status")).to_have_text(
        "0 images sent; 1 image refused: see the messages in the list."
    )
    expect(page.locator(".result")).to_have_count(0)
    expect(page.locator("#balance")).to_have_text(str(SIGNUP_CREDITS))
    shoot(page, "06-refused-in-queue")
    refused.get_by_role("button", name="Remove notes.png").click()
    expect(page.locator("#queue li")).to_have_count(0)
    page.context.close()


def test_a_balance_too_low_for_the_queue_disables_upscale(browser, service, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    sign_up(page, "short@example.com")
    # 1600x1200 at 4x with Real-ESRGAN x4plus: 31 MP, 31 credits, more than the balance.
    big = tmp_path / "poster.png"
    Image.new("RGB", (1600, 1200), (90, 120, 160)).save(big)
    page.get_by_label("Model").select_option("realesrgan-x4plus")
    page.get_by_label("4x").check()
    page.locator("#files").set_input_files(str(big))
    expect(page.locator("#queue li")).to_have_count(1)
    expect(page.get_by_role("button", name="Upscale")).to_be_disabled()
    expect(page.locator("#quote")).to_contain_text("Not enough credits: 6 more credits needed")
    page.get_by_label("2x").check()  # 7.7 MP: 8 credits
    expect(page.locator("#quote")).to_contain_text("Price: 8 credits")
    expect(page.get_by_role("button", name="Upscale")).to_be_enabled()
    page.context.close()


def test_progress_moves_with_the_estimate_while_the_service_reports_zero(browser, service, tmp_path):
    """A job of one tile reports progress 0 until it is done: the bar follows the estimate meanwhile."""
    from playwright.sync_api import expect

    page = open_page(browser, service)
    sign_up(page, "patient@example.com")
    held: dict[str, float] = {}
    reported: list[float] = []
    hold_seconds, estimate = 4.0, 6.0

    def running_for_a_while(route) -> None:
        # The real job ends within a second; for a few seconds the page is told it is still running at 0.
        response = route.fetch()
        job = response.json()
        started = held.setdefault(job["id"], time.monotonic())
        elapsed = time.monotonic() - started
        if elapsed < hold_seconds:
            output = {**job["output"], "url": None, "expires_at": None}
            job = {**job, "status": "running", "progress": 0.0, "output": output, "error": None,
                   "estimated_seconds": estimate, "eta_seconds": round(estimate - elapsed, 1)}  # fmt: skip
            reported.append(job["progress"])
        route.fulfill(response=response, json=job)

    page.route(re.compile(r".*/v1/jobs/[0-9a-f-]+$"), running_for_a_while)
    page.get_by_label("Model").select_option("bicubic")
    page.locator("#files").set_input_files(str(write_image(tmp_path, "slow.png", seed=6)))
    page.get_by_role("button", name="Upscale").click()
    card = page.locator(".result", has_text="slow.png")
    expect(card.locator(".status")).to_contain_text(re.compile(r"Upscaling… \d+ ?%, about \d s left"))
    page.wait_for_function("() => document.querySelector('.result progress').value >= 0.25", timeout=4_000)
    assert reported and set(reported) == {0.0}, reported
    shoot(page, "07-progress-estimate")
    expect(card.locator(".status")).to_contain_text("Done: 160\u00d7120", timeout=30_000)
    page.context.close()


def _pixels(image) -> np.ndarray:
    """An <img> on the page as RGB pixels, read through a canvas (the page's CSP keeps fetch off blob:)."""
    width, height, data = image.evaluate(
        """image => {
            const canvas = document.createElement("canvas");
            canvas.width = image.naturalWidth;
            canvas.height = image.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(image, 0, 0);
            const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
            return [canvas.width, canvas.height, [...data]];
        }"""
    )
    return np.array(data, dtype=np.float64).reshape(height, width, 4)[..., :3]


def _clip_frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24").astype(np.float64) for frame in container.decode(video=0)]


def test_a_clip_is_previewed_priced_upscaled_and_compared_on_a_paused_frame(browser, service, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    sign_up(page, "director@example.com")
    clip = tmp_path / "dance.mp4"
    clip.write_bytes(make_clip(Clip(frames=12)))  # 64x48, 0.5 s at 24 fps, with AAC audio
    page.get_by_label("Model").select_option("waifu2x-cunet")  # flickers on video (GET /v1/models)
    page.get_by_label("2x").check()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a clip")
    page.locator("#files").set_input_files([str(clip), str(notes)])
    expect(page.locator("#drop-error")).to_have_text(
        "Not sent: notes.txt. This service takes images (PNG, JPEG, WebP, GIF, BMP, TIFF) or videos "
        "(MP4, MOV, WebM)."
    )

    expect(page.locator("#queue li")).to_have_count(1)
    item = page.locator("#queue li", has_text="dance.mp4")
    preview = item.get_by_label("Preview of dance.mp4")
    page.wait_for_function("() => document.querySelector('#queue video')?.videoWidth === 64")
    assert preview.evaluate("video => video.muted && video.controls")
    # A model that flickers gave way to a steady one, and the list says which flicker.
    expect(page.get_by_label("Model")).to_have_value("realesr-animevideov3")
    expect(page.locator("#model option[value=waifu2x-cunet]")).to_contain_text("(flickers on video)")
    expect(page.locator("#model option[value=realesr-animevideov3]")).not_to_contain_text("flickers")
    expect(page.get_by_label("Result format", exact=True)).to_be_hidden()  # image formats
    # Priced by the service (POST /v1/jobs/quote): frames and result size read from the clip.
    expect(item).to_contain_text("64\u00d748 → 128\u00d796, 12 frames (0.5 s) as MP4, 1 credit, about")
    expect(page.locator("#quote")).to_contain_text(
        f"Price: 1 credit. Balance {SIGNUP_CREDITS} → {SIGNUP_CREDITS - 1}"
    )
    # WebM cannot carry the clip's AAC audio: said before anything is sent, and the button waits for a price.
    page.get_by_label("Video result format").select_option("webm")
    expect(item.locator(".field-error")).to_contain_text("cannot carry this clip's AAC")  # the API's words
    page.get_by_label("Video result format").select_option("mp4")
    expect(item).to_contain_text("as MP4, 1 credit")
    expect(page.get_by_role("button", name="Upscale")).to_be_enabled()
    shoot(page, "11-video-queue")

    held: dict[str, float] = {}

    def midway_for_a_while(route) -> None:
        # The real job ends within seconds; for two of them the page is told it is halfway through frame 6.
        response = route.fetch()
        job = response.json()
        if time.monotonic() - held.setdefault(job["id"], time.monotonic()) < 2:
            output = {**job["output"], "url": None, "expires_at": None}
            job = {**job, "status": "running", "progress": 5.5 / 12, "output": output, "error": None}
        route.fulfill(response=response, json=job)

    page.route(re.compile(r".*/v1/jobs/[0-9a-f-]+$"), midway_for_a_while)
    page.get_by_role("button", name="Upscale").click()
    card = page.locator(".result", has_text="dance.mp4")
    expect(card.locator(".status")).to_contain_text("frame 6 of 12")
    expect(card.locator(".status")).to_contain_text("Done: 128\u00d796, 12 frames, 1 credit", timeout=90_000)
    expect(page.locator("#balance")).to_have_text(str(SIGNUP_CREDITS - 1))

    player = card.get_by_label("dance.mp4, upscaled", exact=True)
    played = player.evaluate(
        """async (video) => {
            await video.play();
            await new Promise((resolve) => setTimeout(resolve, 300));
            return [video.currentTime, video.videoWidth, video.videoHeight, video.duration];
        }"""
    )
    assert played[0] > 0 and played[1:3] == [128, 96] and abs(played[3] - 0.5) < 0.05, played
    expect(card.locator(".paused-frame .viewer")).to_have_count(0)  # no comparison while it plays
    player.evaluate("video => { video.pause(); video.currentTime = 0.27; }")  # frame 6 shows from 0.25 s
    expect(card.locator(".frame-caption")).to_contain_text("Paused at 0.27 s")
    viewer = card.locator(".paused-frame .viewer")
    expect(viewer.locator(".tag", has_text="Before")).to_be_visible()
    expect(viewer.get_by_role("slider", name="Before/after split of dance.mp4 at 0.27 s")).to_be_visible()
    before, after = _pixels(viewer.locator("img.before")), _pixels(viewer.locator("img.after"))
    assert before.shape == (48, 64, 3) and after.shape == (96, 128, 3)
    # Both are frame 6: the original's is that frame of the file (moving blocks: a frame apart is far off),
    # and the upscale shrunk back is nearer to it than to any other frame.
    frames = _clip_frames(clip)
    off = {index: np.abs(before - frames[index]).mean() for index in (5, 6, 7)}
    assert off[6] < 4 and off[6] * 4 < min(off[5], off[7]), off
    shrunk = after.reshape(48, 2, 64, 2, 3).mean(axis=(1, 3))
    nearest = min(range(len(frames)), key=lambda index: np.abs(shrunk - frames[index]).mean())
    assert nearest == 6, [round(np.abs(shrunk - frame).mean(), 1) for frame in frames]
    viewer.scroll_into_view_if_needed()
    shoot(page, "12-video-result")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    card.scroll_into_view_if_needed()
    shoot(page, "12-video-result-phone", full_page=False)
    # The paused frames are PNGs held by object URLs: logging out (which clears the results) frees them.
    frames = [viewer.locator(f"img.{side}").get_attribute("src") for side in ("before", "after")]
    assert all(url and url.startswith("blob:") for url in frames), frames
    readable = """url => new Promise((resolve) => {
        const image = new Image();
        image.onload = () => resolve(true);
        image.onerror = () => resolve(false);
        image.src = url;
    })"""
    assert all(page.evaluate(readable, url) for url in frames)
    page.get_by_role("button", name="Log out").click()
    expect(page.locator(".result")).to_have_count(0)
    assert not any(page.evaluate(readable, url) for url in frames)
    page.context.close()

    # On another device the result plays too; the original stayed in the tab that uploaded it.
    page = open_page(browser, service)
    log_in(page, "director@example.com")
    card = page.locator(".result", has_text="dance.mp4")  # named as uploaded, on this device too
    expect(card.locator("video.player")).to_be_visible()
    expect(card).to_contain_text("only the tab that uploaded it can compare")
    page.context.close()


def test_history_pages_with_failed_and_expired_jobs(browser, service, tmp_path):
    from playwright.sync_api import expect

    client = api_account(service, "history@example.com")
    image = support.png_bytes(24, 16, seed=7)
    jobs = []
    for _ in range(11):
        response = client.post(
            "/v1/jobs", files={"file": ("a.png", image)}, data={"model": "bicubic", "scale": "2"}
        )
        assert response.status_code == 202, response.text
        jobs.append(response.json()["id"])
    broken = client.post(
        "/v1/jobs", files={"file": ("b.png", image)}, data={"model": BROKEN_MODEL, "scale": "4"}
    )
    assert broken.status_code == 202, broken.text
    failed = support.wait_job(client, broken.json()["id"], timeout=60)
    assert failed["status"] == "failed", failed
    failed_model_name = next(m["name"] for m in client.get("/v1/models").json() if m["id"] == BROKEN_MODEL)
    for job_id in jobs:
        support.wait_job(client, job_id)
    assert client.delete(f"/v1/jobs/{jobs[0]}").json()["status"] == "expired"  # the oldest, deleted now

    page = open_page(browser, service)
    log_in(page, "history@example.com")
    results = page.locator("#results > li")
    expect(results).to_have_count(10)  # newest first, a page at a time
    expect(page.get_by_role("button", name="Download all listed (9)")).to_be_visible()
    newest = results.first
    expect(newest).to_have_class(re.compile(r"\bfailed\b"))
    expect(newest.locator(".status")).to_have_text(f"Failed: {failed['error']['message']}")
    expect(newest.locator(".meta")).to_contain_text(
        f"{failed_model_name} 4\u00d7 \u00b7 24\u00d716 \u2192 96\u00d764 \u00b7 2 credits refunded"
    )
    page.get_by_role("button", name="Load more").click()
    expect(results).to_have_count(12)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    expect(results.last).to_have_class(re.compile(r"\bexpired\b"))
    expect(results.last.locator(".status")).to_have_text("Expired: the result has been deleted.")
    expect(results.last.get_by_role("link", name=re.compile("Download"))).to_have_count(0)
    expect(page.get_by_role("button", name="Download all (10)")).to_be_visible()
    shoot(page, "08-history-pages")
    client.close()
    page.context.close()


def test_buying_credits_and_webhook_errors_next_to_their_field(browser, service, stripe):
    from playwright.sync_api import expect

    page = open_page(browser, service)
    page.route("https://checkout.stripe.com/**", lambda route: route.fulfill(body="Stripe Checkout"))
    sign_up(page, "buyer@example.com")
    expect(page.locator("#buy")).to_be_visible()
    expect(page.get_by_role("button", name="Pro: 500 credits a month")).to_be_visible()

    url = page.get_by_label("Endpoint URL")
    url.fill("ftp://example.com/hooks")
    page.get_by_role("button", name="Add endpoint").click()
    problem = page.locator("#hook-error")
    expect(problem).to_have_text(
        "Webhook URLs must start with http:// or https:// and name a host."
    )  # the API's
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_attribute("aria-describedby", "hook-error")
    expect(page.locator("#notice")).not_to_contain_text("Webhook")  # not at the top of the page
    url_box, problem_box = url.bounding_box(), problem.bounding_box()
    assert 0 <= problem_box["y"] - (url_box["y"] + url_box["height"]) < 40, "the message is not by its field"

    url.fill("http://127.0.0.1:9/hooks")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#new-hook-value")).to_have_text(re.compile(r"^whsec_"))
    expect(page.locator("#hook-list li")).to_have_count(1)
    expect(problem).to_be_hidden()
    expect(url).not_to_have_attribute("aria-invalid", "true")

    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key-value")).to_have_text(re.compile(r"^mr_"))
    expect(page.locator("#keys li")).to_have_count(2)
    shoot(page, "09-billing-keys-webhooks")

    # Log in errors sit under the form, in the API's words.
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill("buyer@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#auth-error")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    log_in(page, "buyer@example.com")

    page.get_by_role("button", name="200 credits").click()
    page.wait_for_url("https://checkout.stripe.com/**")
    checkout = [call for call in stripe.calls("/v1/checkout/sessions") if call.get("metadata[pack]")]
    assert checkout and checkout[-1]["metadata[pack]"] == "pack-200" and checkout[-1]["mode"] == "payment"
    page.context.close()


def test_the_page_sends_a_strict_content_security_policy(service, http_client_factory):
    response = http_client_factory(service.url).get("/")
    policy = response.headers["content-security-policy"]
    assert (
        "default-src 'self'" in policy
        and "script-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
        and "media-src 'self' blob:;" in policy  # the chosen clip's preview and its paused frame
    )
    assert "http" not in re.sub(r"https:", "", policy)  # no third-party origin on local storage
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", response.text)
    assert "{{" not in response.text, "a placeholder of the page was left unfilled"
    assert "axe" not in response.text


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
    shoot(page, "10-api-docs")
    assert hosts == {urlsplit(service.url).netloc}, hosts
    context.close()
