"""Uploaded file names: cleaned to keep, turned into download and zip entry names."""

from __future__ import annotations

import pytest

from app.jobs.file_names import MAX_NAME_CHARS, clean_upload_name, distinct_names, requested_name, result_name
from app.storage.disposition import attachment


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("photo.png", "photo.png"),
        ("C:\\Users\\me\\Pictures\\holiday.jpg", "holiday.jpg"),  # a browser on Windows, or a careless client
        ("../../etc/passwd", "passwd"),
        ("dir/", None),
        ("写真 2024.png", "写真 2024.png"),  # every script is kept
        ("Cafe\u0301.png", "Café.png"),  # NFC: one code point for é
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # a right-to-left override would show "exe.png"
        ("a\x00b\x1fc\x7f.png", "abc.png"),
        ("line\nbreak\t.png", "line break .png"),
        ("  spaced out.png  ", "spaced out.png"),
        ("...", None),
        ("", None),
        (None, None),
    ],
)
def test_upload_names_are_cleaned(raw, kept):
    assert clean_upload_name(raw) == kept


def test_long_names_are_capped_keeping_their_extension():
    name = clean_upload_name("é" * 500 + ".webm")
    assert name is not None and len(name) == MAX_NAME_CHARS and name.endswith("é.webm")
    assert len(clean_upload_name("x" * 500) or "") == MAX_NAME_CHARS


def test_result_names_say_the_scale_and_the_result_format():
    assert result_name("photo.jpeg", "job-1", 4, "png") == "photo_x4.png"
    assert result_name("clip.mov", "job-1", 2, "mp4") == "clip_x2.mp4"
    assert result_name("scan", "job-1", 2, "jpeg") == "scan_x2.jpg"
    assert result_name("a:b?.png", "job-1", 2, "png") == "a_b__x2.png"  # Windows refuses : and ?
    assert result_name(None, "job-1", 3, "webp") == "job-1_x3.webp"


def test_a_requested_name_gets_the_results_extension_once():
    assert requested_name("sunset_x3.png", "png") == "sunset_x3.png"
    assert requested_name("sunset_x3", "jpeg") == "sunset_x3.jpg"
    assert requested_name("über/straße.JPEG", "jpeg") == "straße.jpg"
    assert requested_name("\x00", "png") is None
    assert requested_name("a" * 195 + " " + "b" * 20, "png") == "a" * 195 + ".png"  # cut, then trimmed


def test_zip_entries_are_distinct_ignoring_case():
    names = ["a_x2.png", "A_x2.png", "a_x2.png", "a_x2 (2).png", "b_x2.mp4", "noext", "noext"]
    assert distinct_names(names) == [
        "a_x2.png",
        "A_x2 (2).png",
        "a_x2 (3).png",
        "a_x2 (2) (2).png",
        "b_x2.mp4",
        "noext",
        "noext (2)",
    ]


def test_content_disposition_carries_any_name():
    assert attachment("photo_x4.png") == 'attachment; filename="photo_x4.png"'
    assert attachment("Été_x2.png") == (
        "attachment; filename=\"Ete_x2.png\"; filename*=UTF-8''%C3%89t%C3%A9_x2.png"
    )
    assert attachment('写真 "1"_x2.mp4') == (
        "attachment; filename=\"__ _1__x2.mp4\"; filename*=UTF-8''%E5%86%99%E7%9C%9F%20%221%22_x2.mp4"
    )
