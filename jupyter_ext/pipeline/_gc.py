"""Pausing the cycle collector while building many small acyclic values."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Building tens of thousands of values makes no reference cycles, yet wakes
    the cycle collector again and again, and each full pass walks every live
    object. Pause it meanwhile, as large parsers do; the previous state returns."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
