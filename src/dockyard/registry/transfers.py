"""What every transfer of a pull or push shares: cancellation between parallel transfers, and transfer buffers kept
in malloc's heap. (A module of its own so that a push does not import the extraction machinery.)"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import Any

from dockyard.errors import DockyardError

__all__ = ["Cancelled", "cancel_on_error", "keep_buffers_in_heap"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_tuned = False


def keep_buffers_in_heap() -> None:
    """Have glibc's malloc serve the transfer buffers (64 kB-1 MB bytes objects) from its heap and keep what is freed.

    By default large allocations are mapped and unmapped one by one, and the heap is trimmed as soon as it shrinks,
    so every chunk of a transfer lands in fresh pages: a 200 MB layer costs over 100,000 page faults, which on this
    kind of VM doubles the CPU time of the extraction (``bench/distribution``). Fixed thresholds (mapping from 32 MB,
    trimming above 128 MB free) make the buffers reuse the same memory. Process-wide and idempotent; a no-op where
    the C library is not glibc.
    """
    global _tuned
    if _tuned:
        return
    _tuned = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 128 << 20)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        log.debug("mallopt not available; transfer buffers use the default allocator settings")


class Cancelled(DockyardError):
    """The transfer was stopped because another part of the same operation failed."""


def cancel_on_error(future: Future[Any], cancel: threading.Event) -> None:
    """A ``Future`` done-callback: one failed transfer stops the others of the same operation."""
    if future.cancelled() or future.exception() is not None:
        cancel.set()
