"""The repository with 10,000 pending albums, with no history and with 100,000 decided (figures, not a test).

Each data dir is written by ``queue_data.make_data_dir`` in today's file layout, so a
version that keeps the history elsewhere converts it first, as on a household's first
start (that first start is not timed). Everything goes through ``Repository``'s public
methods. Reported, median and p95:

- page of 50, warm: a page load in a process that has read the queue before;
- page of 50, cold: a really fresh process, a new interpreter each round
  (``python -c``), timing ``Repository(dir).pending_page(limit=50)`` inside it (the
  figure of the target); the whole process's wall time, interpreter start and imports
  included, is shown beside it;
- approve one album, one after the other;
- 1,000 approves in a row: the total, and the time per approve of the first 100 and
  the last 100, which must be alike (the cost of an approve follows what it changes,
  not the size of the files). With 100,000 decided the run stops at a time budget
  (``--budget``, 45 s) if the approves are slow, and says so.

Targets (on a 2-core machine): queue page p95 < 20 ms at 10k pending whatever the
history; approve p95 < 20 ms; cold p95 < 50 ms at 10k + 100k; 1,000 approves in a row
linear in their count.

    python bench/bench_repository.py [--rounds N] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from queue_data import APPROVED, PENDING, REJECTED, make_data_dir  # noqa: E402

from app.repository import Repository  # noqa: E402

PAGE_TARGET_MS = 20
APPROVE_TARGET_MS = 20
COLD_TARGET_MS = 50

# What runs in each fresh interpreter: the imports, then the timed first page load.
COLD_CHILD = """
import sys, time
started = time.perf_counter()
from app.repository import Repository
imported = time.perf_counter()
Repository(sys.argv[1]).pending_page(limit=50)
done = time.perf_counter()
print(imported - started, done - imported)
"""


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18] if len(times) > 1 else times[0]


def report(name: str, times: list[float], target: float | None, note: str = "") -> None:
    if target is None:
        verdict = "(no target)"
    else:
        verdict = f"(target p95 < {target:.0f} ms: {'ok' if p95(times) < target else 'OVER TARGET'})"
    print(f"  {name:<36} median {statistics.median(times):8.2f} ms   p95 {p95(times):8.2f} ms   {verdict}{note}")


def timed(fn, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def cold_loads(data_dir: Path, rounds: int) -> tuple[list[float], list[float], list[float]]:
    """(first page load inside the process, imports, whole process wall time), in ms, per round."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    inside, imports, wall = [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", COLD_CHILD, str(data_dir)], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        wall.append((time.perf_counter() - start) * 1000)
        imported, loaded = map(float, done.stdout.split())
        imports.append(imported * 1000)
        inside.append(loaded * 1000)
    return inside, imports, wall


def approves_in_a_row(repository: Repository, mbids: list[str], budget: float) -> list[float]:
    """Approve one album at a time, each timed, until all are done or ``budget`` seconds have passed."""
    times = []
    stop = time.perf_counter() + budget
    for mbid in mbids:
        start = time.perf_counter()
        repository.approve([mbid])
        times.append((time.perf_counter() - start) * 1000)
        if time.perf_counter() > stop:
            break
    return times


def bench_case(label: str, decided: int, args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        made = make_data_dir(data_dir, approved=decided // 2, rejected=decided - decided // 2)
        print(f"\n{label}: pending_queue.json {made['bytes'] / 1e6:.1f} MB as written today "
              f"(made in {time.perf_counter() - started:.1f} s)")
        # A first start of this version on that data dir: whatever it converts, it converts now.
        subprocess.run([sys.executable, "-c", COLD_CHILD, str(data_dir)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                       cwd=ROOT, capture_output=True, check=True)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(data_dir.rglob("*"))
                          if p.is_file() and p.stat().st_size > 100_000)
        print(f"  after the first start: {sizes}")

        repository = Repository(data_dir)
        repository.pending_page(limit=50)
        report("page of 50, warm", timed(lambda: repository.pending_page(limit=50), args.rounds), PAGE_TARGET_MS)
        report("page of 50 by score, warm", timed(lambda: repository.pending_page(limit=50, sort="score"),
                                                  args.rounds), PAGE_TARGET_MS)
        inside, imports, wall = cold_loads(data_dir, args.cold_rounds)
        target = COLD_TARGET_MS if decided else None
        report("page of 50, cold (new interpreter)", inside, target)
        report("  its imports", imports, None)
        report("  the whole process, wall time", wall, None)

        pending = [item["mbid"] for item in made["pending"]]
        one_by_one = approves_in_a_row(repository, pending[: args.approves], args.budget)
        note = "" if len(one_by_one) == args.approves else f"   [stopped after {len(one_by_one)}: time budget]"
        report("approve one album", one_by_one, APPROVE_TARGET_MS, note)

        row = approves_in_a_row(repository, pending[args.approves: args.approves + 1000], args.budget)
        total = sum(row) / 1000
        first, last = row[:100], row[-100:]
        stopped = "" if len(row) == 1000 else f" (stopped after {len(row)}: time budget {args.budget:.0f} s)"
        ratio = statistics.mean(last) / statistics.mean(first)
        print(f"  {len(row):,} approves in a row: {total:.1f} s{stopped}; per approve, first 100: "
              f"mean {statistics.mean(first):.2f} ms, last 100: mean {statistics.mean(last):.2f} ms "
              f"(last/first {ratio:.2f}; linear in the count when about 1)")
        size = (data_dir / "pending_queue.json").stat().st_size
        print(f"  pending_queue.json now {size / 1e6:.1f} MB, {repository.pending_count():,} pending")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="warm page loads per case")
    parser.add_argument("--cold-rounds", type=int, default=20, help="fresh interpreters per case")
    parser.add_argument("--approves", type=int, default=100, help="approves timed for the p95")
    parser.add_argument("--budget", type=float, default=45.0,
                        help="seconds at most for each series of approves (default 45)")
    args = parser.parse_args()
    print(f"Repository on a data dir of {PENDING:,} pending albums; times in ms, {os.cpu_count()} CPUs")
    bench_case(f"{PENDING:,} pending + 0 decided", 0, args)
    bench_case(f"{PENDING:,} pending + {APPROVED + REJECTED:,} decided ({APPROVED:,} approved, "
               f"{REJECTED:,} rejected)", APPROVED + REJECTED, args)


if __name__ == "__main__":
    main()
