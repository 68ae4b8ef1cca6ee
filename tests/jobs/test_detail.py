"""Presets on the perception-distortion plane (issue #30): the photo preset reads the damage itself, runs
a clean-up then the detail model as one job (one price, one progress, one refund), and `detail` moves
between its faithful and its detailed end."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from app.catalog.presets import PRESETS
from app.catalog.prices import BUILTIN_TERMS, credits_for_stages
from bench.perception_text import PAGE_FONT, text_page
from models.recipe import run_recipe_to_integers
from models.zoo import builtin
from tests.catalog.test_auto_preset import runs
from tests.jobs.test_lifecycle import refunds, run
from tests.jobs.test_quote import nothing_changes
from tests.jobs.test_submit import assert_nothing_kept, balance
from tests.support import current_runtime

# A held-out photo (the networks never trained on it) that reads clean, small enough for the heavy detail
# model on CPU.
PHOTO = data.chelsea()[60:108, 130:178]


def _encoded(fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(PHOTO).save(buffer, fmt, **options)
    return buffer.getvalue()


def _post(user, path: str, image: bytes, **fields: str):
    files = {"file": ("photo", image, "application/octet-stream")}
    return user.post(path, files=files, data={"scale": "4", **fields})


def test_the_photo_preset_reads_jpeg_damage_itself_and_cleans_up_before_the_detail_model(signup):
    """No `denoise` hint and no `auto`: a JPEG's own quantisation tables say q80, damage level 1, and the
    detailed end runs a 1x clean-up before RealSR; a clean PNG runs RealSR alone."""
    user = signup()
    jpeg = _post(user, "/v1/jobs/quote", _encoded("JPEG", quality=80), preset="photo").json()
    assert jpeg["recipe"] == runs("photo", 1, scale=4), jpeg
    clean_up = jpeg["recipe"][-1]["stages"][0]
    assert (clean_up["model"], clean_up["scale"], clean_up["denoise"]) == ("waifu2x-cunet", 1, 0)
    assert jpeg["reason"].startswith("JPEG quality ~80: preset photo for damage level 1, detail ")
    clean = _post(user, "/v1/jobs/quote", _encoded("PNG"), preset="photo").json()
    assert clean["recipe"] == runs("photo", 0, scale=4), clean
    assert clean["recipe"][-1]["stages"] == [
        {"model": "realsr-df2k", "scale": 4, "denoise": None, "conservative": False}
    ]


@pytest.mark.parametrize("detail", [0, 100])
def test_detail_moves_between_the_ends_and_the_price_follows_what_runs(signup, detail):
    user = signup()
    quote = _post(user, "/v1/jobs/quote", _encoded("PNG"), preset="photo", detail=str(detail)).json()
    assert quote["detail"] == detail and quote["recipe"] == runs("photo", 0, 4, detail), quote
    weights = [branch["weight"] for branch in quote["recipe"]]
    # At 100 the faithful end weighs nothing but runs: the detailed end's colour and shading are its.
    assert weights == ([0.0, 1.0] if detail == 100 else [0.7, 0.3])
    stages = [(BUILTIN_TERMS[s["model"]].pricing, 192 * 192) for b in quote["recipe"] for s in b["stages"]]
    assert quote["credits"] == credits_for_stages(stages)
    default = _post(user, "/v1/jobs/quote", _encoded("PNG"), preset="photo").json()
    assert default["detail"] == PRESETS["photo"].default_detail


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"preset": "photo", "detail": "101"}, "validation_error"),
        ({"preset": "photo", "detail": "-1"}, "validation_error"),
        ({"preset": "photo", "detail": "lots"}, "validation_error"),
        ({"model": "realsr-df2k", "detail": "50"}, "unsupported_option"),
    ],
    ids=["above", "below", "not-a-number", "with-a-model"],
)
def test_a_bad_detail_is_a_422_that_charges_and_keeps_nothing(signup, settings, fields, code):
    user = signup()
    with nothing_changes(user, settings):
        for path in ("/v1/jobs/quote", "/v1/jobs"):
            response = _post(user, path, _encoded("PNG"), **fields)
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == code, response.text
    assert "detail" in response.json()["error"]["message"]
    assert_nothing_kept(user, settings)


def test_a_blend_of_a_pipeline_runs_as_one_job_and_its_result_is_the_recipes(signup, models_dir):
    """A JPEG at detail 50: faithful end (waifu2x photo, denoise 1) mixed with the clean-up then RealSR;
    one charge, one progress reaching 1, the stages listed, and the pixels the recipe makes."""
    user = signup()
    image = _encoded("JPEG", quality=80)
    response = _post(user, "/v1/jobs", image, preset="photo", detail="50", output_format="png")
    assert response.status_code == 202, response.text
    job = response.json()
    assert [len(branch["stages"]) for branch in job["recipe"]] == [1, 2]
    assert balance(user) == 10 - job["credits_charged"]
    run(job["id"])
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert (done["status"], done["progress"], done["recipe"]) == ("succeeded", 1.0, job["recipe"]), done
    result = np.asarray(Image.open(io.BytesIO(user.get(f"/v1/jobs/{job['id']}/result").content)), np.int16)
    decoded = np.asarray(Image.open(io.BytesIO(image)).convert("RGB"), np.float32) / 255
    recipe = PRESETS["photo"].recipe(1, 50)
    expected = run_recipe_to_integers(decoded, recipe, 4, builtin, models_dir, lambda _: None, 8)
    assert result.shape == expected.shape == (192, 192, 3)
    assert np.abs(result - expected).max() <= 1


def test_a_failed_pipeline_refunds_its_one_price_once(signup):
    user = signup()
    job = _post(user, "/v1/jobs", _encoded("JPEG", quality=80), preset="photo").json()
    current_runtime().storage.delete(f"inputs/{job['id']}")  # the worker finds no input: the job fails
    run(job["id"])
    failed = user.get(f"/v1/jobs/{job['id']}").json()
    assert failed["status"] == "failed" and failed["credits_refunded"] == job["credits_charged"]
    assert refunds(job["id"]) == [job["credits_charged"]]
    assert balance(user) == 10


def test_more_detail_costs_psnr_and_brings_texture_back(models_dir):
    """Along the control, on a held-out crop at x4: the high-frequency energy rises from detail 0 to 50 to
    100, and the detailed end is the least faithful. (PSNR falls steadily from 0 over the held-out set,
    docs/benchmarks.md; where on one crop it peaks varies a little, so one crop checks the ends.)"""
    truth = data.astronaut()[40:104, 160:224].astype(np.float32) / 255
    small = np.asarray(
        Image.fromarray(np.rint(truth * 255).astype(np.uint8)).resize((16, 16), Image.Resampling.BICUBIC),
        np.float32,
    )
    psnrs, energy = [], []
    for detail in (0, 50, 100):
        recipe = PRESETS["photo"].recipe(0, detail)
        out = run_recipe_to_integers(small / 255, recipe, 4, builtin, models_dir, lambda _: None, 8) / 255
        psnrs.append(-10 * np.log10(np.mean((out - truth) ** 2)))
        luma = out.mean(axis=2)
        energy.append(float(np.mean(np.abs(np.diff(luma, axis=0))) + np.mean(np.abs(np.diff(luma, axis=1)))))
    assert psnrs[2] < min(psnrs[:2]), psnrs
    assert energy[0] < energy[1] < energy[2], energy


@pytest.mark.skipif(not PAGE_FONT.is_file(), reason="DejaVu fonts (`make fonts`)")
def test_text_beside_a_photo_gets_the_text_step_and_its_price(signup):
    """The photo preset finds the text in an upload and runs waifu2x CUNet there (a detail model draws
    small letters into new ones); the quote and the job say so, and the price counts its box."""
    page = text_page(28)
    side = np.asarray(Image.fromarray(PHOTO).resize((page.shape[0],) * 2), np.float32) / 255
    # 28-px type as uploaded: large enough an upload that the text step's share shows past the minimum.
    small = Image.fromarray(np.rint(np.concatenate([page, side], axis=1) * 255).astype(np.uint8))
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    user = signup()
    quote = _post(user, "/v1/jobs/quote", buffer.getvalue(), preset="photo").json()
    stage = {"model": "waifu2x-cunet", "scale": 4, "denoise": None, "conservative": False}
    assert quote["text_stage"] == stage, quote
    assert quote["reason"].endswith(", text kept"), quote
    plain = _post(user, "/v1/jobs/quote", _encoded("PNG"), preset="photo").json()
    assert plain["text_stage"] is None
    without = credits_for_stages(
        [(BUILTIN_TERMS[s["model"]].pricing, small.width * small.height * 16) for s in _stages(quote)]
    )
    assert quote["credits"] > without  # the text step is paid for


def _stages(quote: dict) -> list[dict]:
    return [stage for branch in quote["recipe"] for stage in branch["stages"]]


def test_a_misused_photo_preset_is_a_422_even_for_an_account_that_cannot_pay(configure, signup, settings):
    """The preset reads the upload before pricing it; its parameters are checked before that read and
    before the balance, so a broke account still learns what is wrong with its request."""
    configure(signup_credits="0")
    user = signup()
    for fields, code in (
        ({"preset": "photo", "model": "bicubic"}, "model_or_preset_required"),
        ({"preset": "photo", "conservative": "true"}, "unsupported_option"),
    ):
        response = _post(user, "/v1/jobs", _encoded("PNG"), **fields)
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), response.text


def test_a_default_detail_that_cannot_finish_here_runs_the_faithful_end(configure, signup):
    """On a CPU the detail model takes about 16 s an output megapixel: where the preset's default detail
    would pass the time limit, the photo preset runs its faithful end alone and says so; a detail the
    request named is refused as asked, naming what would fit."""
    configure(job_soft_time_limit="5")  # 4 s of estimate: the faithful end fits a 1-MP result, RealSR not
    buffer = io.BytesIO()
    Image.fromarray(data.chelsea()[20:276, 100:356]).save(buffer, "PNG")
    user = signup()
    default = _post(user, "/v1/jobs/quote", buffer.getvalue(), preset="photo")
    assert default.status_code == 200, default.text
    quote = default.json()
    [branch] = quote["recipe"]
    assert [stage["model"] for stage in branch["stages"]] in ([p.model] for p in PRESETS["photo"].picks), (
        quote
    )
    assert quote["detail"] is None and "faithful end alone" in quote["reason"], quote
    named = _post(user, "/v1/jobs/quote", buffer.getvalue(), preset="photo", detail="70")
    assert (named.status_code, named.json()["error"]["code"]) == (422, "job_too_slow"), named.text
