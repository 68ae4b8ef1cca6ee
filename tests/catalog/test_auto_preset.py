"""`preset=auto`: the service reads the image and picks the model and denoise level, before charging."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data

from app.catalog.presets import PRESETS
from bench.ground_truth import ILLUSTRATION_DIR, rendered_text
from tests.hardening.test_upload_costs import _png_claiming
from tests.jobs.test_submit import submit


def _encoded(rgb: np.ndarray, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


PHOTO = data.coffee()[100:284, 200:384]
TEXT = np.rint(rendered_text(184) * 255).astype(np.uint8)
LINE_ART = np.asarray(Image.open(ILLUSTRATION_DIR / "line-art-cat.png").convert("RGB"))


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
        assert (job["model"], job["denoise"], job["conservative"]) == (PRESETS[preset].model, None, False), (
            job
        )
        assert job["reason"].startswith(f"clean; {preset}:")


def test_a_q25_jpeg_gets_a_denoise_level_and_the_reason_says_why(signup):
    user = signup()
    for rgb in (PHOTO, LINE_ART):
        job = _auto(user, _encoded(rgb, "JPEG", quality=25))
        pick = next(p for p in PRESETS.values() if p.id in job["reason"]).pick(3)
        assert (job["model"], job["denoise"]) == (pick.model, pick.denoise), job
        assert "JPEG quality ~25" in job["reason"]
    photo = _auto(user, _encoded(PHOTO, "JPEG", quality=25))
    anime = _auto(user, _encoded(LINE_ART, "JPEG", quality=25))
    assert anime["denoise"] is not None and anime["denoise"] >= 1
    assert photo["model"] == PRESETS["photo"].pick(3).model


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
