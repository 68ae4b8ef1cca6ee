"""The process heap under CPU inference: keep freed blocks for the next window's maps, give them back after.

Jobs run on the worker's main thread, whose heap (glibc's main arena) this governs.
"""

from __future__ import annotations

import ctypes
import platform
from functools import lru_cache


def reuse_freed_memory() -> None:
    """Keep freed memory in the process heap for the next activation map instead of returning it (glibc).

    glibc returns every block above 32 MiB to the kernel when it is freed, so each large map of the next
    layer is fresh memory, faulted in and zeroed page by page. In an RRDB block on this CPU that made
    concatenation 7-15x and convolutions 1.5-2x slower per pixel on 384-pixel windows than on 128-pixel
    ones, whose maps stay below the threshold; with the heap kept, a 384 window ran per pixel as fast as a
    128 one (docs/benchmarks.md). `release_freed_memory` gives the memory back after each pass and each job.
    Jobs run on the worker's main thread, whose heap (glibc's main arena) this governs.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_MAX, 0)
        libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)


def release_freed_memory() -> None:
    """Return the heap's free pages to the kernel (glibc): a finished pass or job leaves no resident peak."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameters, from glibc's malloc.h


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL("libc.so.6")
