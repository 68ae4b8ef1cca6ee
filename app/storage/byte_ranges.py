"""The `Range` request header (RFC 9110, section 14), for the one byte range a media player asks for."""

from __future__ import annotations

import re

from app.storage.errors import RangeNotSatisfiable

# At most 19 digits a position (2**63 > 10**18): a longer number is no real position (and int() refuses
# numbers over 4300 digits), so the header is ignored.
_ONE_RANGE = re.compile(r"bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*", re.IGNORECASE)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end) half-open span one `Range: bytes=...` header asks of an object of `size` bytes,
    or None for the whole object.

    A header that is absent, malformed, in another unit or lists several ranges is ignored (the whole
    object, 200: RFC 9110 lets a server do so; players ask for one range); a range starting past the end,
    or an empty suffix, raises RangeNotSatisfiable (416). An end past the object is cut to it.
    """
    found = _ONE_RANGE.fullmatch(header.strip()) if header else None
    if found is None:
        return None
    first, last = found.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - suffix), size
    start = int(first)
    end = size if not last else int(last) + 1
    if last and end <= start:
        return None  # "bytes=5-2" is invalid: ignored, the whole object
    if start >= size:
        raise RangeNotSatisfiable(size)
    return start, min(end, size)
