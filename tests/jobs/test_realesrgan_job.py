"""Real-ESRGAN through the whole service gives what the official weights give in ncnn's own runtime."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import submit
from tests.models.test_ncnn_convert import ncnn_files, run_ncnn


def test_realesrgan_x4plus_over_http_matches_the_ncnn_runtime(signup, settings):
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    user = signup()

    job = submit(user, buffer.getvalue(), model="realesrgan-x4plus", scale=4).json()
    assert job["credits_charged"] == 2
    run(job["id"])
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded", done
    ours = np.asarray(
        Image.open(io.BytesIO(user.get(f"/v1/jobs/{job['id']}/result").content)), dtype=np.int16
    )

    reference = run_ncnn(*ncnn_files("realesrgan-x4plus"), pixels.transpose(2, 0, 1).astype(np.float32) / 255)
    expected = np.rint(np.clip(reference, 0, 1) * 255).transpose(1, 2, 0).astype(np.int16)
    assert ours.shape == expected.shape == (80, 96, 3)
    assert np.abs(ours - expected).max() <= 1  # the same image to within rounding
