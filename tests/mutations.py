"""Byte-level mutations of valid files for the fuzz tests (hypothesis): bit flips, extreme bytes, truncation,
insertion, deletion and, optionally, duplicated runs, a few edits per example."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

_EDITS = ("flip", "set", "truncate", "insert", "delete")


def mutated(seeds: Sequence[bytes], max_edits: int, duplicate: bool = False) -> st.SearchStrategy[bytes]:
    """One of `seeds` with 1 to `max_edits` random edits (`duplicate`: a run may also be repeated)."""
    kinds = (*_EDITS, "duplicate") if duplicate else _EDITS

    @st.composite
    def strategy(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(1, max_edits))):
            kind = draw(st.sampled_from(kinds))
            at = draw(st.integers(0, max(0, len(data) - 1)))
            if kind == "flip" and data:
                data[at] ^= 1 << draw(st.integers(0, 7))
            elif kind == "set" and data:
                data[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
            elif kind == "truncate":
                del data[at:]
            elif kind == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=64))
            elif kind == "delete":
                del data[at : at + draw(st.integers(1, 32))]
            elif kind == "duplicate":
                data[at:at] = data[at : at + draw(st.integers(1, 64))]
        return bytes(data)

    return strategy()
