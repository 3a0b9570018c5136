"""MusicBrainz pacing across processes: three processes asking at once, as lb-fetch,
catalog-discovery and the downloader may (figures, not a test).

Each process builds its client the way the pipelines do (``upstream.musicbrainz``, the
book of slots in the shared data dir) and looks up 10 release groups; the sandbox enforces
MusicBrainz's real limit (1 request/s, 503 beyond a burst of 2) and records when each
request arrived. For comparison the same runs with each process spacing only its own
requests (the pacing before it was shared).

Targets: no 503, never two requests in one second, the smallest gap between two arrivals
at least 1 s.

Latest figures (2-core machine, idle): shared: 30 lookups in 31.9 s, 0 503s, at most 1 in any
second, smallest gap 1.07-1.09 s; per-process: 17-27 503s, 3 in one second, gaps of 1 ms, up to 3
lookups given up.

    python bench/bench_mb_pacing.py [--processes N] [--requests N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = """
import os, sys, time
from app.config import load_settings
from app.pipelines import upstream
from app.repository import Repository
from app.clients.musicbrainz import MusicBrainzClient

groups = sys.argv[1].split(",")
shared = sys.argv[2] == "shared"
settings = load_settings()
if shared:
    mb = upstream.musicbrainz(settings, Repository())
else:
    mb = MusicBrainzClient(settings.musicbrainz.base_url, settings.musicbrainz.rate_limit)
print("ready", flush=True)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.005)
failed = 0
for mbid in groups:
    try:
        mb.release_group(mbid)
    except Exception:
        failed += 1  # gave up after its retries
print(failed, flush=True)
"""


def arrivals(requests) -> tuple[float, int]:
    times = sorted(r.time for r in requests)
    gap = min((b - a for a, b in zip(times, times[1:])), default=0.0)
    busiest, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return gap, busiest


def scenario(sb, groups: list[str], processes: int, count: int, mode: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESONANCE_")}
        env.update({"PYTHONPATH": str(ROOT), "RESONANCE_DATA_DIR": f"{tmp}/data",
                    "RESONANCE_CONFIG": f"{tmp}/none.yaml", "RESONANCE_MUSICBRAINZ__BASE_URL": sb.urls["musicbrainz"]})
        go = Path(tmp, "go")
        sb.clear_requests()
        children = []
        for n in range(processes):
            mine = groups[n * count:(n + 1) * count]
            children.append(subprocess.Popen([sys.executable, "-c", CHILD, ",".join(mine), mode, str(go)],
                                             env=env, stdout=subprocess.PIPE, text=True))
        for child in children:
            child.stdout.readline()
        started = time.perf_counter()
        go.touch()
        failed = sum(int(child.communicate(timeout=600)[0].strip() or 0) for child in children)
        wall = time.perf_counter() - started
        seen = sb.requests("musicbrainz")
    gap, busiest = arrivals(seen)
    refused = sum(r.status == 503 for r in seen)
    print(f"{mode}: {processes} processes x {count} lookups in {wall:.1f} s; {len(seen)} requests arrived "
          f"(retries included), MusicBrainz 503s {refused}, at most {busiest} in any second, smallest gap {gap:.3f} s, "
          f"{failed} lookups given up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10, help="lookups per process")
    args = parser.parse_args()

    from app.sandbox import Sandbox, SandboxSettings

    with Sandbox(settings=SandboxSettings()) as sb:
        groups = list(sb.catalogue.release_groups)[: args.processes * args.requests]
        scenario(sb, groups, args.processes, args.requests, "shared")
        scenario(sb, groups, args.processes, args.requests, "per-process")


if __name__ == "__main__":
    main()
