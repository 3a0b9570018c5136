"""A large pending queue for the benchmarks (same shape as the pipelines write)."""

from __future__ import annotations

import uuid

from app.records import load_queue_items


def make_items(count: int) -> list[dict]:
    raw = [
        {"artist": f"Artist {n % 1500}", "album": f"Album number {n}", "mbid": str(uuid.uuid4()),
         "score": float(n % 100), "source": "catalog" if n % 2 else "listenbrainz",
         "similar_to": ["Daft Punk", "Kavinsky"], "year": 1960 + n % 60,
         "cover_url": f"https://coverartarchive.org/release-group/{uuid.uuid4()}/front-250",
         "added_at": f"2026-01-{1 + n % 28:02d}T10:00:00Z"}
        for n in range(count)
    ]
    return load_queue_items(raw)
