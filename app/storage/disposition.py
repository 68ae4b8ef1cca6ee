"""Content-Disposition for downloads (RFC 6266): an ASCII `filename` every client reads, and the exact
name as `filename*` (RFC 5987, UTF-8) where it is not plain ASCII."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ ()+,=@-]")


def attachment(filename: str) -> str:
    """`attachment; filename="..."` plus `filename*=UTF-8''...` for a name outside plain ASCII."""
    # The fallback keeps what it can of each letter: "Été.png" -> "Ete.png"; "写真.png" -> "__.png".
    decomposed = unicodedata.normalize("NFKD", filename)
    fallback = _NOT_PLAIN.sub("_", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    header = f'attachment; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header
