"""The perception scores the quality benches rank presets by: NIQE, PIQE and OCR's character error rate."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image, ImageFilter

from training.datasets import VALIDATION_IMAGES, load_rgb
from training.perception import edit_distance, mosaic, niqe, ocr, piqe, read_against, tesseract_available


def _photo() -> np.ndarray:
    return load_rgb(VALIDATION_IMAGES["chelsea"])


def _through_pil(rgb: np.ndarray, change) -> np.ndarray:
    picture = Image.fromarray(np.rint(rgb * 255.0).astype(np.uint8))
    return np.asarray(change(picture), dtype=np.float32) / 255.0


def test_niqe_ranks_a_photo_above_its_blurred_and_resized_copies() -> None:
    photo = _photo()
    height, width = photo.shape[:2]
    blurred = _through_pil(photo, lambda p: p.filter(ImageFilter.GaussianBlur(2)))
    resized = _through_pil(
        photo,
        lambda p: p.resize((width // 4, height // 4), Image.BICUBIC).resize((width, height), Image.BICUBIC),
    )
    original = niqe(photo)
    assert original < 4.0  # a sharp photograph sits near the pristine model
    assert original + 2.0 < niqe(blurred)
    assert original + 2.0 < niqe(resized)


def test_niqe_ignores_where_the_photo_lies_in_a_mosaic() -> None:
    photo = _photo()[:192, :384]
    left, right = photo[:, :192], photo[:, 192:]
    assert niqe(mosaic([left, right], columns=2)) == pytest.approx(niqe(photo), abs=1e-9)
    assert niqe(mosaic([left, right], columns=1)) != pytest.approx(niqe(photo), abs=1e-3)


def test_niqe_refuses_what_holds_no_block() -> None:
    with pytest.raises(ValueError, match="96x96"):
        niqe(np.zeros((95, 300, 3), np.float32))
    with pytest.raises(ValueError, match="flat"):
        niqe(np.full((192, 192, 3), 0.5, np.float32))


def test_piqe_scores_blocking_and_noise_worse_than_the_photo() -> None:
    photo = _photo()
    rng = np.random.default_rng(0)
    noisy = np.clip(photo + rng.normal(0, 0.08, photo.shape), 0, 1).astype(np.float32)
    assert piqe(photo) + 10 < piqe(noisy)


def test_edit_distance_counts_insertions_deletions_and_substitutions() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("same", "same") == 0


def test_ocr_reads_a_clear_page_and_scores_invented_letters() -> None:
    if not tesseract_available():
        if os.environ.get("CI") == "true":
            pytest.fail("tesseract-ocr is required in CI (make test installs it)")
        pytest.skip("tesseract-ocr is not installed")
    from bench.perception_text import text_page

    page = text_page(36)
    reading = ocr(page)
    assert "museum opens" in reading
    assert read_against(reading, page).cer == 0.0
    smeared = _through_pil(page, lambda p: p.filter(ImageFilter.GaussianBlur(6)))
    assert read_against(reading, smeared).cer > 0.3
