"""Queue page load and approve with 10,000 pending items (figures, not a test).

Targets: page load p95 < 50 ms, approve p95 < 100 ms on a 2-core machine.
"warm" is a page load in a process whose cache already holds the file (the
common case); "cold" is the first load after another process wrote it.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queue_data import make_items  # noqa: E402

from app.repository import Repository  # noqa: E402

PENDING = 10_000


def timed(fn, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float], target: float) -> None:
    p95 = statistics.quantiles(times, n=20)[18]
    verdict = "ok" if p95 < target else "OVER TARGET"
    print(f"{name:<34} median {statistics.median(times):7.2f} ms   p95 {p95:7.2f} ms   (target p95 < {target:.0f} ms: {verdict})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repository = Repository(tmp)
        items = make_items(PENDING + 200)
        repository.add_pending(items)
        size = (Path(tmp) / "pending_queue.json").stat().st_size
        print(f"pending_queue.json with {len(items):,} items: {size / 1e6:.1f} MB")

        report("page of 50, warm (cached)", timed(lambda: repository.pending_page(limit=50), 200), 50)
        report("page of 50, sorted by score", timed(lambda: repository.pending_page(limit=50, sort="score"), 200), 50)
        report("page of 50, text search", timed(lambda: repository.pending_page(limit=50, text="number 99"), 200), 50)
        report("page of 50, cold (fresh process)", timed(lambda: Repository(tmp).pending_page(limit=50), 50), 50)

        mbids = iter(item["mbid"] for item in items)
        report("approve one item", timed(lambda: repository.approve([next(mbids)]), 100), 100)
        report("reject one item", timed(lambda: repository.reject([next(mbids)]), 100), 100)


if __name__ == "__main__":
    main()
