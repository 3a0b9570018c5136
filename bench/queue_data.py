"""Queue data for the benchmarks: items of the shape the pipelines write, and whole data dirs.

``make_data_dir`` writes a data dir as a household's looks after years of use, in the
layout of the files as they are written today (``pending_queue.json`` holding the pending
albums and every decided one). It writes the files itself, not through the repository,
so that a version that keeps them differently meets a real data dir from before, and
converts it on its first start as it would for a household.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import orjson

from app.records import load_queue_items
from app.wishlist import entry_for_item

#: The realistic data dir of the targets: 10,000 pending, 100,000 decided (half each way).
PENDING, APPROVED, REJECTED = 10_000, 50_000, 50_000
#: Approved albums still on the wishlist: the rest were downloaded and taken off long ago.
ON_WISHLIST = 200


def make_items(count: int, seed: int | None = None) -> list[dict]:
    rng = random.Random(seed)

    def mbid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    raw = [
        {"artist": f"Artist {n % 1500}", "album": f"Album number {n}", "mbid": mbid(),
         "score": float(n % 100), "source": "catalog" if n % 2 else "listenbrainz",
         "similar_to": ["Daft Punk", "Kavinsky"], "year": 1960 + n % 60,
         "cover_url": f"https://coverartarchive.org/release-group/{mbid()}/front-250",
         "added_at": f"2026-01-{1 + n % 28:02d}T10:00:00Z"}
        for n in range(count)
    ]
    return load_queue_items(raw)


def make_data_dir(data_dir: str | Path, pending: int = PENDING, approved: int = APPROVED,
                  rejected: int = REJECTED) -> dict:
    """Write ``pending_queue.json`` (and a short wishlist) into ``data_dir`` in today's layout.

    Decided albums keep their full records: approved ones with ``approved_at``, rejected
    ones as MBIDs with their details in ``rejected_info``, as the app writes them. Returns
    what it wrote: ``pending``, ``approved`` and ``rejected`` item lists, and ``bytes``.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    items = make_items(pending + approved + rejected, seed=13)
    decided, waiting = items[: approved + rejected], items[approved + rejected:]
    approved_items = [{**item, "approved_at": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T09:00:00Z"}
                      for n, item in enumerate(decided[:approved])]
    rejected_items = [{**item, "rejected_at": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T09:30:00Z"}
                      for n, item in enumerate(decided[approved:])]
    queue = {
        "pending": waiting,
        "approved": approved_items,
        "rejected": [item["mbid"] for item in rejected_items],
        "rejected_info": {item["mbid"]: item for item in rejected_items},
    }
    raw = orjson.dumps(queue, option=orjson.OPT_INDENT_2) + b"\n"
    (data_dir / "pending_queue.json").write_bytes(raw)
    wishlist = "".join(f"{entry_for_item(item).to_line()}\n" for item in approved_items[-ON_WISHLIST:])
    (data_dir / "wishlist.txt").write_text(wishlist, encoding="utf-8")
    return {"pending": waiting, "approved": approved_items, "rejected": rejected_items, "bytes": len(raw)}
