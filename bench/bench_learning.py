"""What learning from decisions costs with a long history (figures, not a test).

A data dir with 100,000 decided albums (``--decisions``) by 5,000 artists, half approved, half
rejected, is written through the repository. Then, each in a fresh ``Repository`` (a new
process's view), and again warm:

- ``decision_records()``: the whole history, read once per catalog-discovery run for its ranking;
- ``recent_rejections()`` + ``block_offers``: what the queue page reads for its block offers
  (only the 1,000 newest reject lines);
- ``similar_tallies`` + ``learn_from_decisions`` over 1,000 candidates: the ranking itself.

    python bench/bench_learning.py [--decisions N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from factories import make_queue_item  # noqa: E402

from app.learning import block_offers, similar_tallies  # noqa: E402
from app.pipelines.catalog import Candidate, learn_from_decisions  # noqa: E402
from app.repository import Repository  # noqa: E402


def timed(what: str, action):
    start = time.perf_counter()
    result = action()
    print(f"{what:<58} {1000 * (time.perf_counter() - start):8.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        repository = Repository(folder)
        library = [f"Library {n}" for n in range(500)]
        items = [make_queue_item(artist=f"Artist {n % 5000}", similar_to=[library[n % 500], library[(n * 7) % 500]])
                 for n in range(args.decisions)]
        repository.add_pending(items)
        step = 10_000
        for start in range(0, len(items), step):
            repository.decide_many("approve" if (start // step) % 2 == 0 else "reject",
                                   [item["mbid"] for item in items[start:start + step]])
        print(f"{args.decisions:,} decisions written")
        fresh = Repository(folder)
        records = timed("decision_records(), fresh process (catalog run)", fresh.decision_records)
        timed("decision_records(), again (unchanged history)", fresh.decision_records)
        fresh = Repository(folder)
        rejections = timed("recent_rejections(), fresh process (queue page)", fresh.recent_rejections)
        timed("recent_rejections(), again", fresh.recent_rejections)
        offers = timed("block_offers() over them", lambda: block_offers(rejections, 3))
        tallies = timed("similar_tallies() over every record", lambda: similar_tallies(records))
        candidates = [Candidate(f"c{n}", f"C {n}", None, 1.0, 0.5, [library[n % 500], library[(n + 1) % 500]],
                                [(library[n % 500], 0.5), (library[(n + 1) % 500], 0.5)]) for n in range(1000)]
        timed("learn_from_decisions() over 1,000 candidates", lambda: learn_from_decisions(candidates, tallies))
        print(f"{len(records):,} records, {len(rejections)} recent rejections, {len(offers)} block offers")


if __name__ == "__main__":
    main()
