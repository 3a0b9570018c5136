"""catalog-discovery against the sandbox with a generated library of 1,000 artists (figures, not a test).

Two runs one after the other, with the default settings (50 library artists asked per run,
10 new artists, 2 albums each) and the sandbox enforcing the services' real limits
(MusicBrainz 1 request/s, 503 beyond a burst of 2; Last.fm error 29 above 5 requests/s).
Each run is a child process, so its peak RSS is the pipeline's own, not the sandbox's.

Targets: the second run asks Last.fm only about artists the first did not ask (all were asked
within catalog.refresh_days), and no run is refused by MusicBrainz (503) or Last.fm (29).

With ``--fault-rate 0.2`` the sandbox's random faults (HTTP 500, a reply cut in half, a
connection reset, from a seeded RNG) hit Subsonic, Last.fm and MusicBrainz; the runs should
still complete, with the retries the clients made printed.

    python bench/bench_catalog.py [--artists-per-run N] [--runs N] [--fault-rate F]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

JOB = "catalog-discovery"
# The sandbox's fault kinds a retry meets at once (no requests held for a "timeout").
FAULT_KINDS = ("500", "truncated", "reset")


def child() -> None:
    """One run in this process; prints its result, wall time and peak RSS as JSON."""
    from app.config import load_settings
    from app.pipelines import JobContext, load
    from app.repository import Repository

    from app.clients.http import stats

    started = time.perf_counter()
    result = load(JOB)(JobContext(JOB, load_settings(), Repository()))
    seconds = time.perf_counter() - started
    print(json.dumps({"summary": result.summary, "error": result.error, "left": result.left,
                      "outcome": result.outcome, "seconds": seconds, "peak_rss_mb": peak_rss_kb() / 1024,
                      "http": stats.snapshot()}))


def peak_rss_kb() -> int:
    """This process's peak RSS. VmHWM belongs to the process image; ru_maxrss would also count
    the parent's memory this child had between fork and exec (the sandbox's catalogue)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the run failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def pacing(requests) -> tuple[float, float, int]:
    """Average rate (requests/s), smallest gap between two requests (s) and the most requests
    in any 1-second window, as the server saw them arrive."""
    times = sorted(r.time for r in requests)
    if len(times) < 2:
        return 0.0, 0.0, len(times)
    rate = (len(times) - 1) / (times[-1] - times[0])
    gap = min(b - a for a, b in zip(times, times[1:]))
    busiest, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return rate, gap, busiest


def lastfm_subjects(requests) -> set[str]:
    return {r.query.get("mbid") or r.query.get("artist") or "" for r in requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artists-per-run", type=int, default=50, help="catalog.artists_per_run (default 50)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests failing (default 0)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return

    from app.sandbox import Catalogue, Sandbox

    started = time.perf_counter()
    catalogue = Catalogue.generate(artists=1000, albums=10000, seed=1)
    print(f"generated catalogue in {time.perf_counter() - started:.1f} s: {catalogue.summary()}")
    # The catalogue is millions of objects; without this, collections pause the fake servers'
    # threads and bunch up the arrival times they record.
    gc.freeze()
    with Sandbox(catalogue) as sb, tempfile.TemporaryDirectory() as tmp:
        urls = sb.urls
        if args.fault_rate:
            for seed, name in enumerate(("subsonic", "lastfm", "musicbrainz"), start=1):
                sb.faults(name).random(args.fault_rate, kinds=FAULT_KINDS, seed=seed)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESONANCE_")}
        env.update({
            "PYTHONPATH": str(ROOT), "RESONANCE_DATA_DIR": f"{tmp}/data", "RESONANCE_CONFIG": f"{tmp}/none.yaml",
            "RESONANCE_GENERAL__LOG_LEVEL": "WARNING",
            "RESONANCE_SUBSONIC__BASE_URL": urls["subsonic"],
            "RESONANCE_SUBSONIC__USERNAME": sb.credentials["subsonic"]["username"],
            "RESONANCE_SUBSONIC__PASSWORD": sb.credentials["subsonic"]["password"],
            "RESONANCE_LASTFM__BASE_URL": urls["lastfm"],
            "RESONANCE_LASTFM__API_KEY": sb.credentials["lastfm"]["api_key"],
            "RESONANCE_MUSICBRAINZ__BASE_URL": urls["musicbrainz"],
            "RESONANCE_COVERART__BASE_URL": sb.urls["coverart"],
            "RESONANCE_CATALOG__ARTISTS_PER_RUN": str(args.artists_per_run),
        })
        asked_before: set[str] = set()
        repeated_total = refused_total = 0
        for number in range(1, args.runs + 1):
            sb.clear_requests()
            result = run_child(env)
            # As the services saw them: the requests that met a fault count too.
            calls = {name: sb.requests(name) for name in ("subsonic", "lastfm", "musicbrainz", "coverart")}
            subjects = lastfm_subjects(calls["lastfm"])
            repeated = len(subjects & asked_before)
            asked_before |= subjects
            lastfm_rate, lastfm_gap, lastfm_busiest = pacing(calls["lastfm"])
            mb_rate, mb_gap, mb_busiest = pacing(calls["musicbrainz"])
            # Refusals of the rate limits, not the injected faults.
            refused = (sum(r.status == 503 and not r.fault for r in calls["musicbrainz"])
                       + sum(r.status == 429 and not r.fault for r in calls["lastfm"]))
            repeated_total += repeated
            refused_total += refused
            snapshot = Path(tmp, "data", "catalog_artists.json").stat().st_size
            error = f" [{result['error']}]" if result["error"] else ""
            error += f" [left: {result['left']}]" if result["left"] else ""
            print(f"\nrun {number}: {result['outcome']}: {result['summary']}{error}")
            print(f"  wall time {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
                  f"catalog_artists.json {snapshot / 1e6:.2f} MB")
            print("  upstream calls: " + ", ".join(f"{name} {len(found)}" for name, found in calls.items()))
            print(f"  Last.fm: {len(subjects)} artists asked, {repeated} asked in an earlier run; "
                  f"{lastfm_rate:.2f} requests/s on average (limit 5), smallest gap {lastfm_gap:.3f} s, "
                  f"at most {lastfm_busiest} in any second")
            print(f"  MusicBrainz: {mb_rate:.2f} requests/s on average (limit 1), smallest gap {mb_gap:.3f} s, "
                  f"at most {mb_busiest} in any second")
            print(f"  refused for going too fast: {refused} (503 from MusicBrainz, 429/error 29 from Last.fm)")
            print("  client side: " + ", ".join(f"{name} {c.get('requests', 0)} requests, {c.get('retries', 0)} retries"
                                                for name, c in sorted(result["http"].items())))
        print("\ntargets:")
        print(f"  later runs ask Last.fm only about artists not asked before: "
              f"{'ok' if repeated_total == 0 else f'MISSED ({repeated_total} asked again)'}")
        print(f"  no run exceeds Last.fm's or MusicBrainz's rate: {'ok' if refused_total == 0 else 'MISSED'}")


if __name__ == "__main__":
    main()
