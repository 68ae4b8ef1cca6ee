"""The model library over HTTP: every model and scale, its options, and what denoise does to real damage."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from models.spec import Options
from models.zoo import VARIANTS, builtin_models, find_variant
from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import submit
from tests.models.test_ncnn_families import ncnn_reference

NEW_FAMILIES = (
    "realcugan-se",
    "realcugan-pro",
    "waifu2x-cunet",
    "waifu2x-photo",
    "waifu2x-anime",
    "realsr-df2k",
)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _result(user, job_id: str) -> np.ndarray:
    run(job_id)
    done = user.get(f"/v1/jobs/{job_id}").json()
    assert done["status"] == "succeeded", done
    return np.asarray(Image.open(io.BytesIO(user.get(f"/v1/jobs/{job_id}/result").content)))


def _psnr(ours: np.ndarray, truth: np.ndarray, border: int = 4) -> float:
    error = ours[border:-border, border:-border].astype(np.float64) - truth[border:-border, border:-border]
    return float(10 * np.log10(255**2 / np.mean(error**2)))


def test_the_new_families_are_listed_with_their_options(signup):
    listed = {m["id"]: m for m in signup().get("/v1/models").json()}
    assert set(NEW_FAMILIES) <= set(listed)
    se = listed["realcugan-se"]
    assert se["native_scales"] == [2, 3, 4] and se["scales"] == [2, 3, 4, 8]
    at = {o["scale"]: o for o in se["options"]}
    assert at[2] == {"scale": 2, "native_scale": 2, "plain": True, "denoise": [1, 2, 3], "conservative": True}
    assert at[8]["native_scale"] == 4 and at[8]["denoise"] == [3]
    cunet = listed["waifu2x-cunet"]
    assert cunet["scales"] == [1, 2, 3, 4, 8]
    assert {o["scale"]: o["plain"] for o in cunet["options"]}[1] is False  # 1x weights all denoise
    assert listed["bicubic"]["options"][0]["denoise"] == [] and all(m["available"] for m in listed.values())


def test_every_option_maps_to_its_own_weight_file():
    families = {spec.id: spec for spec in builtin_models() if spec.variants}
    seen = set()
    for variant in VARIANTS:
        file = families[variant.family].weights_for(
            variant.scale, Options(variant.denoise, variant.conservative)
        )
        assert file == variant.file_name
        seen.add(file)
    assert len(seen) == len(VARIANTS)  # no two options share a file


@pytest.mark.parametrize("model", [spec.id for spec in builtin_models()])
def test_every_model_gives_exactly_scale_times_the_size_over_http(signup, model):
    user = signup()
    spec = next(s for s in builtin_models() if s.id == model)
    pixels = np.random.default_rng(1).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    for scale in spec.scales:
        options = {} if spec.options_at(scale).plain else {"denoise": str(spec.options_at(scale).denoise[0])}
        job = submit(user, _png(pixels), model=model, scale=scale, **options).json()
        assert _result(user, job["id"]).shape == (10 * scale, 12 * scale, 3), (model, scale)


@pytest.mark.parametrize(
    ("fields", "message_names"),
    [
        ({"model": "realcugan-se", "scale": "4", "denoise": "1"}, "x4 denoise 3"),
        ({"model": "realcugan-pro", "scale": "2", "denoise": "2"}, "x2 denoise 3"),
        ({"model": "waifu2x-photo", "scale": "2", "conservative": "true"}, "x2 denoise 0"),
        ({"model": "realcugan-se", "scale": "2", "denoise": "1", "conservative": "true"}, "exclude"),
        ({"model": "waifu2x-cunet", "scale": "1"}, "x1 denoise 0"),
        ({"model": "bicubic", "scale": "2", "denoise": "1"}, "no denoise levels"),
    ],
)
def test_a_combination_without_weights_is_refused_before_charging(signup, fields, message_names):
    user = signup()
    files = {"file": ("in.png", _png(np.zeros((8, 8, 3), np.uint8)), "image/png")}
    response = user.post("/v1/jobs", files=files, data=fields)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "unsupported_option"
    assert message_names in response.json()["error"]["message"]
    assert user.get("/v1/account").json()["credits_balance"] == 10
    assert user.get("/v1/jobs").json()["jobs"] == []


def test_scale_1_is_only_for_models_with_1x_weights(signup):
    response = submit(signup(), _png(np.zeros((8, 8, 3), np.uint8)), model="realcugan-se", scale=1)
    assert response.status_code == 422 and response.json()["error"]["code"] == "unsupported_scale"


def test_realcugan_se_x2_over_http_equals_the_ncnn_runtime(signup):
    """The official weights in ncnn's own runtime, pre-padded as realcugan-ncnn-vulkan does, against the
    whole service (a 64 px image runs in one window, so the tiling's shared means change nothing)."""
    pixels = data.astronaut()[120:184, 180:244]
    user = signup()
    job = submit(user, _png(pixels), model="realcugan-se", scale=2, denoise="1").json()
    assert (job["denoise"], job["conservative"]) == (1, False)
    ours = _result(user, job["id"])
    reference = ncnn_reference(
        find_variant("realcugan-se", 2, 1), pixels.transpose(2, 0, 1) / np.float32(255)
    )
    expected = np.rint(np.clip(reference, 0, 1) * 255).transpose(1, 2, 0)
    assert ours.shape == expected.shape == (128, 128, 3)
    assert _psnr(ours, expected) >= 40


def test_denoise_3_removes_jpeg_damage_that_the_plain_model_keeps(signup):
    truth = data.coffee()[:128, :128]
    low = np.asarray(Image.fromarray(truth).resize((64, 64), Image.Resampling.BICUBIC))
    damaged = _jpeg(low, 30)
    user = signup()
    plain = _result(user, submit(user, damaged, model="waifu2x-photo", scale=2).json()["id"])
    cleaned = _result(user, submit(user, damaged, model="waifu2x-photo", scale=2, denoise="3").json()["id"])
    gain = _psnr(cleaned, truth) - _psnr(plain, truth)
    assert gain >= 0.5, gain  # measured 1.4 dB


def test_scale_1_with_denoise_cleans_up_a_q20_jpeg(signup):
    truth = data.coffee()[:128, :128]
    damaged = _jpeg(truth, 20)
    user = signup()
    job = submit(user, damaged, model="waifu2x-cunet", scale=1, denoise="2").json()
    cleaned = _result(user, job["id"])
    assert cleaned.shape == truth.shape
    before = np.asarray(Image.open(io.BytesIO(damaged)))
    gain = _psnr(cleaned, truth) - _psnr(before, truth)
    assert gain >= 0.5, gain  # measured 1.8 dB
