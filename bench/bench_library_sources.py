"""library-discovery (new releases, missing albums) against the sandbox with a 1,000-artist library (figures, not a test).

Runs one after the other, each a child process, with the sandbox enforcing the services' real
limits (MusicBrainz 1 request/s, 503 beyond a burst of 2; ListenBrainz 30 requests per 10 s).
Both sources run in the one job and share its MusicBrainz reading (``library_discovery.artists_per_run``
discographies a run); ListenBrainz is asked once a run for the user's fresh releases (new
releases) and once per 1,000 release groups for listen counts (missing albums).

Targets: a later run reads no discography an earlier one read (all were read within
``library_discovery.refresh_days``) and asks ListenBrainz's listen counts only of albums not asked before;
no run is refused by MusicBrainz (503) or ListenBrainz (429).

``--only new_releases`` or ``--only library_gaps`` turns the other source off, for each one's figures.

    python bench/bench_library_sources.py [--artists-per-run N] [--runs N] [--artists N] [--only SOURCE]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_catalog import pacing, peak_rss_kb  # noqa: E402  (the same figures as catalog-discovery's)

JOB = "library-discovery"
SERVICES = ("subsonic", "musicbrainz", "listenbrainz", "coverart")


def child() -> None:
    """One run in this process; prints its result, wall time and peak RSS as JSON."""
    from app.clients.http import stats
    from app.config import load_settings
    from app.pipelines import JobContext, load
    from app.repository import Repository

    started = time.perf_counter()
    result = load(JOB)(JobContext(JOB, load_settings(), Repository()))
    seconds = time.perf_counter() - started
    print(json.dumps({"summary": result.summary, "error": result.error, "left": result.left,
                      "outcome": result.outcome, "seconds": seconds, "peak_rss_mb": peak_rss_kb() / 1024,
                      "http": stats.snapshot()}))


def run_child(env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the run failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artists", type=int, default=1000, help="library artists (default 1000)")
    parser.add_argument("--artists-per-run", type=int, default=100, help="library_discovery.artists_per_run (default 100)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", choices=("new_releases", "library_gaps"), help="run one source alone")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return

    from app.sandbox import Catalogue, Sandbox, SandboxSettings

    started = time.perf_counter()
    catalogue = Catalogue.generate(artists=args.artists, albums=10000, seed=1)
    print(f"generated catalogue in {time.perf_counter() - started:.1f} s: {catalogue.summary()}")
    gc.freeze()  # millions of objects: no collection pauses in the fake servers' threads
    with Sandbox(catalogue, settings=SandboxSettings()) as sb, tempfile.TemporaryDirectory() as tmp:
        urls = sb.urls
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESONANCE_")}
        env.update({
            "PYTHONPATH": str(ROOT), "RESONANCE_DATA_DIR": f"{tmp}/data", "RESONANCE_CONFIG": f"{tmp}/none.yaml",
            "RESONANCE_GENERAL__LOG_LEVEL": "WARNING",
            "RESONANCE_SUBSONIC__BASE_URL": urls["subsonic"],
            "RESONANCE_SUBSONIC__USERNAME": sb.credentials["subsonic"]["username"],
            "RESONANCE_SUBSONIC__PASSWORD": sb.credentials["subsonic"]["password"],
            "RESONANCE_LISTENBRAINZ__BASE_URL": urls["listenbrainz"],
            "RESONANCE_LISTENBRAINZ__USERNAME": "rob",
            "RESONANCE_MUSICBRAINZ__BASE_URL": urls["musicbrainz"],
            "RESONANCE_COVERART__BASE_URL": urls["coverart"],
            "RESONANCE_LIBRARY_DISCOVERY__ARTISTS_PER_RUN": str(args.artists_per_run),
        })
        if args.only:
            other = "library_gaps" if args.only == "new_releases" else "new_releases"
            env[f"RESONANCE_{other.upper()}__ENABLED"] = "false"
            print(f"only {args.only}")
        read_before: set[str] = set()
        counted_before: set[str] = set()
        repeated_total = recounted_total = refused_total = 0
        for number in range(1, args.runs + 1):
            sb.clear_requests()
            result = run_child(env)
            calls = {name: sb.requests(name) for name in SERVICES}
            read = {r.query.get("artist", "") for r in calls["musicbrainz"] if r.path == "/ws/2/release-group"}
            counted = {m for r in calls["listenbrainz"] if r.path == "/1/popularity/release-group"
                       for m in (r.json() or {}).get("release_group_mbids", [])}
            fresh = sum(r.path.endswith("/fresh_releases") for r in calls["listenbrainz"])
            popularity = sum(r.path == "/1/popularity/release-group" for r in calls["listenbrainz"])
            repeated, recounted = len(read & read_before), len(counted & counted_before)
            read_before |= read
            counted_before |= counted
            mb_rate, mb_gap, mb_busiest = pacing(calls["musicbrainz"])
            refused = (sum(r.status == 503 for r in calls["musicbrainz"])
                       + sum(r.status == 429 for r in calls["listenbrainz"]))
            repeated_total += repeated
            recounted_total += recounted
            refused_total += refused
            sources = Path(tmp, "data", "library_sources.json")
            error = f" [{result['error']}]" if result["error"] else ""
            error += f" [left: {result['left']}]" if result["left"] else ""
            print(f"\nrun {number}: {result['outcome']}: {result['summary']}{error}")
            print(f"  wall time {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
                  f"library_sources.json {sources.stat().st_size / 1e6 if sources.exists() else 0:.2f} MB")
            print("  requests per service: " + ", ".join(f"{name} {len(found)}" for name, found in calls.items()))
            print(f"  new releases: ListenBrainz fresh releases {fresh} request(s); missing albums: ListenBrainz "
                  f"listen counts {popularity} request(s) for {len(counted)} albums ({recounted} asked before)")
            print(f"  MusicBrainz: {len(read)} discographies read, {repeated} read in an earlier run; "
                  f"{mb_rate:.2f} requests/s on average (limit 1), smallest gap {mb_gap:.3f} s, "
                  f"at most {mb_busiest} in any second")
            print(f"  refused for going too fast: {refused} (503 from MusicBrainz, 429 from ListenBrainz)")
        print("\ntargets:")
        print(f"  later runs read no discography again and ask no listen count again: "
              f"{'ok' if repeated_total == recounted_total == 0 else 'MISSED'}"
              f" ({repeated_total} discographies, {recounted_total} listen counts asked again)")
        print(f"  no run exceeds MusicBrainz's or ListenBrainz's rate: {'ok' if refused_total == 0 else 'MISSED'}")


if __name__ == "__main__":
    main()
