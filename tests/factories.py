"""Test data with overridable defaults."""

from __future__ import annotations

import itertools
import uuid

from app.records import load_queue_items

_counter = itertools.count(1)


def make_queue_item(**overrides) -> dict:
    n = next(_counter)
    raw = {
        "artist": f"Artist {n}",
        "album": f"Album {n}",
        "mbid": str(uuid.uuid4()),
        "type": "album",
        "score": 50.0 + n % 50,
        "source": "catalog",
        "similar_to": ["Daft Punk", "Kavinsky"],
        "year": 1990 + n % 30,
    }
    raw.update(overrides)
    return load_queue_items([raw])[0]
