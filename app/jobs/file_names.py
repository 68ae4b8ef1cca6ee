"""The uploaded file's name as a job keeps it, and the names its result downloads under.

The name is only ever shown and offered as a download name, never used as a path on our side, but it
comes from the client: it is cut to its last path part, stripped of characters that hide or reorder text,
and capped, keeping letters of every script.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_NAME_CHARS = 200
# Control characters, and format characters such as U+202E (right-to-left override, which can make
# "gpj.exe" read as "exe.jpg"), zero-width joiners and byte-order marks; line and paragraph separators.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_PATH_SEPARATORS = re.compile(r"[/\\]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")
# Characters Windows refuses in file names: replaced in download and zip entry names only.
_NOT_ON_WINDOWS = re.compile(r'[<>:"|?*]')
_LONGEST_EXTENSION = 16
_SUFFIXES = {"jpeg": "jpg"}


def clean_upload_name(raw: str | None) -> str | None:
    """The name to keep: the last path part (some clients send C:\\Users\\...\\photo.png), NFC, without
    hidden characters or surrounding spaces and dots, at most MAX_NAME_CHARS with its extension kept;
    None when nothing is left."""
    if not raw:
        return None
    name = _PATH_SEPARATORS.split(unicodedata.normalize("NFC", raw))[-1]
    name = _LINE_BREAKS.sub(" ", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _HIDDEN_CATEGORIES)
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= _LONGEST_EXTENSION:
            name = f"{stem[: MAX_NAME_CHARS - len(extension) - 1].rstrip(' .')}.{extension}"
        else:
            name = name[:MAX_NAME_CHARS].rstrip(" .")
    return name or None


def _stem(name: str) -> str:
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def result_name(upload_name: str | None, job_id: str, scale: int, output_format: str) -> str:
    """What a result downloads as: `photo_x4.png` for photo.jpg upscaled 4x into PNG; the job id when the
    upload had no name."""
    stem = _NOT_ON_WINDOWS.sub("_", _stem(clean_upload_name(upload_name) or job_id))
    return f"{stem}_x{scale}.{_SUFFIXES.get(output_format, output_format)}"


def requested_name(requested: str, output_format: str) -> str | None:
    """A name the client asked to save as (`?filename=`), cleaned, with the result's extension."""
    suffix = _SUFFIXES.get(output_format, output_format)
    cleaned = clean_upload_name(requested)
    if cleaned is None:
        return None
    stem = re.sub(rf"\.({re.escape(suffix)}|{re.escape(output_format)})$", "", cleaned, flags=re.IGNORECASE)
    stem = _NOT_ON_WINDOWS.sub("_", stem).strip(" .")[: MAX_NAME_CHARS - len(suffix) - 1].rstrip(" .")
    return f"{stem}.{suffix}" if stem else None


def distinct_names(names: Iterable[str]) -> list[str]:
    """The names made distinct for one zip, ignoring case (as Windows and macOS do): a second
    `photo_x4.png` becomes `photo_x4 (2).png`."""
    taken: set[str] = set()
    out = []
    for name in names:
        stem, dot, extension = name.rpartition(".")
        if not (dot and stem):
            stem, dot, extension = name, "", ""
        candidate, count = name, 1
        while candidate.casefold() in taken:
            count += 1
            candidate = f"{stem} ({count}){dot}{extension}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out
