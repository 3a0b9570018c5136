"""Pausing Python's cyclic garbage collector around bulk object creation."""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Building many small dicts at once (a parsed 10,000-item queue, a generated catalogue)
    makes the collector scan them again and again for nothing: JSON has no cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # The new objects would still be young: the next collections would scan them all
        # (twice, as they age), costing a page load more than the parse itself. Move every
        # tracked object to the oldest generation unscanned: they are long-lived data, looked
        # at again only by the rare full collection.
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()
