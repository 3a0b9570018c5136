"""The three pipelines against a misbehaving world: 0 % and 20 % of upstream requests failing (figures, not a test).

Each rate gets a fresh sandbox (benchmark catalogue, the services' real rate limits) and a fresh
data dir, and runs, with their real command (``resonance job NAME --once``, a child process):

- lb-fetch (listener "rob", 100 recommendations);
- catalog-discovery (``--artists-per-run`` library artists, default 20);
- slskd-downloader on 20 approved albums (5 s searches, two at a time, governor 34 / 220 s).

Faults (``Sandbox.inject_faults``, seeded) hit every service alike, each one of, equally
likely: HTTP 500, timeout (held 5 s, then the connection closes), truncated body, reply lost
after a write was done (POST/PUT/DELETE only), connection reset. Reported per job: outcome (exit status 0 ok,
4 partial, 1 failed), requests per service, retries (a request sent again after the same one
failed), MusicBrainz 503s (target 0); for the downloader, the most searches unfinished in slskd
at once (target <= 2), the most started in any 220 s (target <= 34), searches never deleted
(target 0), duplicate enqueues (target 0), albums queued from two folders (target 0), and
wishlist lines lost over the three runs (target 0).

    python bench/bench_faults.py [--rates 0,0.2] [--seed 1] [--artists-per-run 20]

Latest figures (2-core machine, seed 1; MB503 = MusicBrainz 503s, in-flight = most searches
unfinished in slskd at once, per-220s = most search starts in any 220 s, dup-enq = duplicate
enqueues, 2-folders = albums queued from two folders, wish-lost = wishlist lines lost):

    while the HTTP layer did not retry 500s and cut JSON yet:
     rate  lb-fetch  catalog  downloader  MB503  retries  in-flight  per-220s  not-deleted  dup-enq  2-folders  wish-lost
       0%  ok        ok       ok 20/20        0        0          2        20            0        0          0          0
      20%  failed    failed   ok 20/20        0       44          2        21            0        0          0          0
    with the HTTP layer retrying them (and MusicBrainz paced across processes):
       0%  ok        ok       ok 20/20        0        0          2        20            0        0          0          0
      20%  ok        ok       ok 20/20        0       47          2        20            0        0          0          0
      40%  ok        ok       ok 20/20        0      152          2        20            0        0          0          0
                                                                                      (--rates 0.4 --seed 2)

At 20 % the downloader run took 93-115 s instead of 64 s (43-50 faults on its ~250 requests);
at 40 %, 211 s (147 faults on 362 requests).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.records import load_queue_items  # noqa: E402
from app.repository import Repository  # noqa: E402
from app.sandbox import SERVICES, Catalogue, Sandbox, SandboxSettings  # noqa: E402
from bench_downloader import pick_albums  # noqa: E402

JOBS = ("lb-fetch", "catalog-discovery", "slskd-downloader")
OUTCOMES = {0: "ok", 4: "partial", 1: "failed"}
ALBUMS = 20
SEARCH_SECONDS = 5.0
HANG_SECONDS = 5.0


def run_job(name: str, env: dict[str, str]) -> tuple[str, str, float]:
    """``resonance job NAME --once`` in a child process: (outcome, its closing line, seconds)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app.cli", "job", name, "--once"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith(f"{name}:")]
    outcome = OUTCOMES.get(done.returncode, f"exit {done.returncode}")
    if lines:
        return outcome, lines[-1], seconds
    errors = done.stderr.strip().splitlines()
    return outcome, errors[-1] if errors else "?", seconds


def retries(records) -> int:
    """Requests sent again after the same request (method, path, query, body) failed."""
    failed: Counter = Counter()
    again = 0
    for r in sorted(records, key=lambda r: r.time):
        key = (r.method, r.path, tuple(sorted(r.query.items())), r.body)
        if failed[key]:
            again += 1
            failed[key] -= 1
        if r.fault or r.status is None or r.status >= 500 or r.status == 429:
            failed[key] += 1
    return again


def albums_from_two_folders(sb: Sandbox, folder_group: dict[tuple[str, str], str]) -> int:
    """Release groups slskd was asked to download from more than one (user, folder)."""
    copies: dict[str, set[tuple[str, str]]] = {}
    with sb.slskd_state.lock:
        transfers = list(sb.slskd_state.transfers.values())
    for t in transfers:
        for (user, folder), group in folder_group.items():
            if t.username == user and t.filename.startswith(folder + "\\"):
                copies.setdefault(group, set()).add((user, folder))
                break
    return sum(1 for found in copies.values() if len(found) > 1)


def one_rate(catalogue: Catalogue, data: dict, albums: list[dict], rate: float, seed: int,
             artists_per_run: int) -> dict:
    settings = SandboxSettings(slskd_search_seconds=SEARCH_SECONDS, hang_seconds=HANG_SECONDS)
    group_of = {r["id"]: g["id"] for g in data["release_groups"] for r in g["releases"]}
    folder_group = {(u["username"], s["folder"]): group_of[s["release"]]
                    for u in data["slskd"]["users"] for s in u["shares"]}
    report: dict = {"rate": rate, "jobs": {}}
    with Sandbox(catalogue, settings=settings) as sb, tempfile.TemporaryDirectory() as tmp:
        sb.inject_faults(rate, seed=seed)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESONANCE_")}
        env.update(sb.resonance_environment())
        env.update({
            "PYTHONPATH": str(ROOT), "RESONANCE_DATA_DIR": f"{tmp}/data", "RESONANCE_CONFIG": f"{tmp}/none.yaml",
            "RESONANCE_GENERAL__LOG_LEVEL": "ERROR", "RESONANCE_GENERAL__CONTACT": "bench@example.invalid",
            "RESONANCE_LISTENBRAINZ__FETCH_COUNT": "100",
            "RESONANCE_CATALOG__ARTISTS_PER_RUN": str(artists_per_run),
            "RESONANCE_SLSKD__SEARCH_TIMEOUT": str(int(SEARCH_SECONDS)),
            "RESONANCE_SLSKD__MAX_CONCURRENT_SEARCHES": "2",
        })
        repository = Repository(f"{tmp}/data")
        items = load_queue_items([{"artist": a["artist"], "album": a["album"], "mbid": a["mbid"], "source": "manual"}
                                  for a in albums])
        repository.add_pending(items)
        repository.approve([a["mbid"] for a in albums])
        wishlist_before = {e.text for e in repository.wishlist_entries()}
        for job in JOBS:
            sb.clear_requests()
            outcome, line, seconds = run_job(job, env)
            logs = {name: sb.requests(name) for name in SERVICES}
            report["jobs"][job] = {
                "outcome": outcome, "line": line, "seconds": seconds,
                "requests": {name: len(found) for name, found in logs.items() if found},
                "faults": sum(1 for found in logs.values() for r in found if r.fault),
                "retries": sum(retries(found) for found in logs.values()),
                "musicbrainz_503s": sum(1 for r in logs["musicbrainz"] if r.status == 503 and not r.fault),
            }
        figures = sb.figures()
        report["slskd"] = {key: figures[key] for key in (
            "searches_started", "peak_searches_in_flight", "most_searches_in_window", "searches_not_deleted",
            "enqueue_requests", "duplicate_enqueues")}
        report["slskd"]["albums_from_two_folders"] = albums_from_two_folders(sb, folder_group)
        records = {r["key"]: r for r in repository.download_records()}
        report["queued"] = sum(1 for r in records.values() if r.get("state") in ("queued", "downloading", "completed"))
        wishlist_after = {e.text for e in repository.wishlist_entries()}
        report["wishlist_lost"] = len(wishlist_before - wishlist_after)
    return report


def print_report(report: dict) -> None:
    print(f"\n== faults on {report['rate']:.0%} of upstream requests ==")
    for job, found in report["jobs"].items():
        print(f"{job}: {found['outcome']} in {found['seconds']:.0f} s — {found['line']}")
        print("    requests " + ", ".join(f"{k} {v}" for k, v in found["requests"].items())
              + f"; faults injected {found['faults']}; retries {found['retries']}; "
              f"MusicBrainz 503s {found['musicbrainz_503s']}")
    s = report["slskd"]
    print(f"slskd: {s['searches_started']} searches, at most {s['peak_searches_in_flight']} in flight, "
          f"at most {s['most_searches_in_window']} in any 220 s, {s['searches_not_deleted']} never deleted; "
          f"{s['enqueue_requests']} enqueues, {s['duplicate_enqueues']} duplicate, "
          f"{s['albums_from_two_folders']} albums from two folders; "
          f"{report['queued']} of {ALBUMS} albums queued; wishlist lines lost {report['wishlist_lost']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="0,0.2", help="fault rates to run, comma-separated (default 0,0.2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--artists-per-run", type=int, default=20)
    args = parser.parse_args()

    from app.sandbox.generate import generate_catalogue_data

    started = time.perf_counter()
    data = generate_catalogue_data()
    catalogue = Catalogue.from_dict(data)
    gc.freeze()  # millions of catalogue objects: keep collections from pausing the fake servers
    albums, _right, _preferred = pick_albums(data, ALBUMS)
    print(f"benchmark catalogue ready in {time.perf_counter() - started:.0f} s; {ALBUMS} albums to download")
    reports = []
    for rate in (float(r) for r in args.rates.split(",")):
        report = one_rate(catalogue, data, albums, rate, args.seed, args.artists_per_run)
        print_report(report)
        reports.append(report)
    print("\nfigures (targets: MusicBrainz 503s 0, searches in flight <= 2, duplicate enqueues 0, "
          "wishlist lines lost 0):")
    header = f"{'rate':>5} " + " ".join(f"{job:>18}" for job in JOBS) + \
        "  MB503  retries  in-flight  per-220s  not-deleted  dup-enq  2-folders  wish-lost"
    print(header)
    for report in reports:
        jobs = report["jobs"]
        print(f"{report['rate']:>5.0%} " + " ".join(f"{jobs[job]['outcome']:>18}" for job in JOBS)
              + f"  {sum(j['musicbrainz_503s'] for j in jobs.values()):>5}"
              + f"  {sum(j['retries'] for j in jobs.values()):>7}"
              + f"  {report['slskd']['peak_searches_in_flight']:>9}"
              + f"  {report['slskd']['most_searches_in_window']:>8}"
              + f"  {report['slskd']['searches_not_deleted']:>11}"
              + f"  {report['slskd']['duplicate_enqueues']:>7}"
              + f"  {report['slskd']['albums_from_two_folders']:>9}"
              + f"  {report['wishlist_lost']:>9}")


if __name__ == "__main__":
    main()
