"""Keep the server's resident memory close to what it really uses.

Welcomes (the whole roster), history pages and join bursts are large, short-
lived buffers built in many threads. glibc keeps freed memory of that size in
per-thread arenas, so after a join storm of 5,000 users about a third of the
resident memory was free but never returned. Serving buffers of 64 KiB and more
straight from ``mmap`` returns them on free. glibc only; elsewhere nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Final

__all__ = ["tune_allocator"]

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD: Final = -3
MMAP_THRESHOLD_BYTES: Final = 64 * 1024


def tune_allocator() -> bool:
    """Make large allocations come from mmap; True if the C library allowed it."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:  # not glibc
        return False
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    log.debug("mmap threshold set to %d bytes: %s", MMAP_THRESHOLD_BYTES, done)
    return done
