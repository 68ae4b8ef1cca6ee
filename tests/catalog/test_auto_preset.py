"""`preset=auto`: the service reads the image and picks the model and denoise level, before charging."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from app.catalog.presets import PRESETS
from app.jobs.representation import recipe_out
from bench.ground_truth import ILLUSTRATION_DIR, rendered_text
from tests.hardening.test_upload_costs import _png_claiming
from tests.jobs.test_quote import nothing_changes
from tests.jobs.test_submit import assert_nothing_kept, submit


def _encoded(rgb: np.ndarray, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


PHOTO = data.coffee()[100:284, 200:384]
TEXT = np.rint(rendered_text(184) * 255).astype(np.uint8)
LINE_ART = np.asarray(Image.open(ILLUSTRATION_DIR / "line-art-cat.png").convert("RGB"))


def runs(preset: str, level: int, scale: int = 2, detail: int | None = None) -> list[dict]:
    """The `recipe` a job shows for what the preset runs at this damage level (its default detail)."""
    return [b.model_dump() for b in recipe_out(PRESETS[preset].recipe(level, detail), scale)]


def _auto(user, image: bytes) -> dict:
    files = {"file": ("upload", image, "application/octet-stream")}
    response = user.post("/v1/jobs", files=files, data={"preset": "auto", "scale": "2"})
    assert response.status_code == 202, response.text
    return response.json()


def test_clean_images_run_the_content_presets_model_without_denoise(signup):
    user = signup()
    for rgb, preset in ((PHOTO, "photo"), (TEXT, "text"), (LINE_ART, "anime")):
        job = _auto(user, _encoded(rgb, "PNG"))
        assert job["preset"] == "auto"
        assert job["recipe"] == runs(preset, 0), job
        assert job["model"] == job["recipe"][-1]["stages"][-1]["model"]
        assert job["reason"].startswith(f"clean; {preset}: preset {preset}")


def test_a_q25_jpeg_gets_a_denoise_level_and_the_reason_says_why(signup):
    user = signup()
    for rgb in (PHOTO, LINE_ART):
        job = _auto(user, _encoded(rgb, "JPEG", quality=25))
        preset = next(p for p in PRESETS if f"; {p}:" in job["reason"])
        assert job["recipe"] == runs(preset, 3), job
        assert job["reason"].startswith("JPEG quality ~25;") and "damage level 3" in job["reason"]
    photo = _auto(user, _encoded(PHOTO, "JPEG", quality=25))
    anime = _auto(user, _encoded(LINE_ART, "JPEG", quality=25))
    assert anime["denoise"] is not None and anime["denoise"] >= 1
    # A heavily damaged photo is cleaned up at 1x before the detail model, and mixed with the faithful end.
    stages = [stage for branch in photo["recipe"] for stage in branch["stages"]]
    assert {"model": "waifu2x-cunet", "scale": 1, "denoise": 2, "conservative": False} in stages, photo


def test_auto_at_scale_1_cleans_up_with_the_1x_model(signup):
    user = signup()
    files = {"file": ("old.jpg", _encoded(PHOTO, "JPEG", quality=25), "image/jpeg")}
    job = user.post("/v1/jobs", files=files, data={"preset": "auto", "scale": "1"}).json()
    assert (job["model"], job["scale"]) == ("waifu2x-cunet", 1) and job["denoise"] >= 1


def test_auto_is_refused_before_any_decode_when_nothing_it_could_pick_is_affordable(configure, signup):
    configure(signup_credits="0")
    user = signup()
    # Damaged after its header: decoding would answer corrupt_image; the balance is checked first.
    response = submit(user, _png_claiming(2000, 2000), model=None, preset="auto", scale=2)
    assert response.status_code == 402, response.text


def test_presets_list_auto_and_what_each_picks_by_damage(signup):
    presets = {p["id"]: p for p in signup().get("/v1/presets").json()}
    assert next(iter(presets)) == "auto" and presets["auto"]["model"] is None
    assert len(presets["anime"]["picks"]) == 4


def _auto_form(path: str, user, image: bytes, **fields: str):
    files = {"file": ("in.png", image, "image/png")}
    return user.post(path, files=files, data={"preset": "auto", "scale": "2", **fields})


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"model": "realesrgan-x4plus"}, "model_or_preset_required"),
        ({"conservative": "true"}, "unsupported_option"),
    ],
    ids=["with-a-model", "conservative"],
)
def test_auto_refuses_what_it_would_drop_before_reading_or_charging(signup, settings, fields, code):
    """`auto` picks the model and its variant from the image: a model named beside it (ignored before) is
    refused as beside any preset, and so is `conservative`, which none of auto's picks has."""
    user = signup()
    with nothing_changes(user, settings):
        for path in ("/v1/jobs/quote", "/v1/jobs"):
            response = _auto_form(path, user, _encoded(PHOTO, "PNG"), **fields)
            assert response.status_code == 422, (path, response.text)
            assert response.json()["error"]["code"] == code
    if code == "unsupported_option":
        assert "conservative" in response.json()["error"]["message"]
    assert_nothing_kept(user, settings)


def test_a_denoise_hint_on_auto_names_the_damage_as_on_a_content_preset(signup, settings):
    """Auto dropped `denoise` without a word. It reads the content from the image and takes the damage from
    the hint, as the content presets do (0 light, 1 medium, 2 and 3 heavy): stronger or weaker than it
    would read, in the quote and in the job alike."""
    user = signup()
    clean, damaged = _encoded(PHOTO, "PNG"), _encoded(PHOTO, "JPEG", quality=25)
    photo = PRESETS["photo"]
    for image, hint, level in ((clean, "2", 3), (damaged, "0", 1)):
        priced = _auto_form("/v1/jobs/quote", user, image, denoise=hint).json()
        job = _auto_form("/v1/jobs", user, image, denoise=hint).json()
        for answer in (priced, job):
            assert answer["recipe"] == runs("photo", level), answer
            assert answer["reason"].startswith(f"photo; damage level {level} from denoise {hint}:"), answer
    unhinted = _auto(user, clean)
    assert unhinted["recipe"] == runs("photo", 0)
    detail = photo.default_detail
    on_faces = f" ({photo.face_detail} on faces)"
    assert unhinted["reason"] == f"clean; photo: preset photo, detail {detail}{on_faces}", unhinted
