"""slskd-downloader against the sandbox's benchmark catalogue (figures, not a test).

A wishlist of 20 albums (approved from the queue, so their release groups are known), each
shared by one to six Soulseek peers in mixed qualities and behaviours, searched with 5 s
searches at concurrency 1 and 2. Reported: wall time of the run, requests per album
(slskd and MusicBrainz), and the share of albums whose chosen folder is a right one.

"Right" is computed from the catalogue, not from the scorer: a share of the wanted
release group, with no track missing, no locked file, not a 128 kbps rip, from a peer
that is online. "Preferred" also asks for the best format among those (FLAC over MP3).

Targets: every chosen folder right; at concurrency 2 about half the wall time of 1 (the
searches dominate; MusicBrainz at 1 request/s runs ahead on its own thread).
"""

from __future__ import annotations

import logging
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import load_settings  # noqa: E402
from app.pipelines import JobContext, search_governor  # noqa: E402
from app.pipelines.downloader import run_once  # noqa: E402
from app.records import load_queue_items  # noqa: E402
from app.repository import Repository  # noqa: E402
from app.sandbox import Catalogue, Sandbox  # noqa: E402
from app.sandbox.generate import generate_catalogue_data  # noqa: E402

ALBUMS = 20
SEARCH_SECONDS = 5.0
LOSSLESS = ("flac16", "flac24", "flac24-48", "flac24-192")


def pick_albums(data: dict, count: int, seed: int = 7) -> tuple[list[dict], dict[str, set[tuple[str, str]]], dict]:
    """Albums with at least one right share (most with decoys), and the right (user, folder) pairs per group."""
    groups = {g["id"]: g for g in data["release_groups"]}
    group_of = {r["id"]: g["id"] for g in data["release_groups"] for r in g["releases"]}
    artists = {a["id"]: a for a in data["artists"]}
    shares: dict[str, list[tuple[dict, dict]]] = {}
    for user in data["slskd"]["users"]:
        for share in user["shares"]:
            shares.setdefault(group_of[share["release"]], []).append((user, share))
    right: dict[str, set[tuple[str, str]]] = {}
    preferred: dict[str, set[tuple[str, str]]] = {}
    for group_id, found in shares.items():
        ok = [(u, s) for u, s in found if not s.get("missing") and not s.get("locked")
              and s["quality"] != "mp3-128" and u["behaviour"] != "offline"]
        if ok:
            right[group_id] = {(u["username"], s["folder"]) for u, s in ok}
            best = [(u, s) for u, s in ok if s["quality"] in LOSSLESS] or ok
            preferred[group_id] = {(u["username"], s["folder"]) for u, s in best}
    eligible = sorted(g for g in right if groups[g]["primary_type"] == "Album" and not groups[g]["secondary_types"])
    # Mostly albums with several copies (decoys and choices), a few with a single one.
    crowded = [g for g in eligible if len(shares[g]) >= 2]
    rng = random.Random(seed)
    chosen = rng.sample(crowded, count - count // 4) + rng.sample([g for g in eligible if g not in crowded], count // 4)
    def credit(group: dict) -> str:
        return "".join(artists[c if isinstance(c, str) else c["artist"]]["name"] for c in group["credit"])

    albums = [{"artist": credit(groups[g]), "album": groups[g]["title"], "mbid": g, "copies": len(shares[g])}
              for g in chosen]
    return albums, right, preferred


def run(sb: Sandbox, albums: list[dict], concurrency: int) -> dict:
    search_governor._shared = None  # a fresh process as far as the window is concerned
    sb.clear_requests()
    with tempfile.TemporaryDirectory() as tmp:
        repository = Repository(tmp)
        items = load_queue_items([{"artist": a["artist"], "album": a["album"], "mbid": a["mbid"], "source": "manual"}
                                  for a in albums])
        repository.add_pending(items)
        repository.approve([a["mbid"] for a in albums])
        env = {"RESONANCE_CONFIG": str(Path(tmp) / "absent.yaml"),
               "RESONANCE_SLSKD__BASE_URL": sb.urls["slskd"],
               "RESONANCE_SLSKD__API_KEY": sb.credentials["slskd"]["api_key"],
               "RESONANCE_SLSKD__SEARCH_TIMEOUT": "5",
               "RESONANCE_SLSKD__MAX_CONCURRENT_SEARCHES": str(concurrency),
               "RESONANCE_MUSICBRAINZ__BASE_URL": sb.urls["musicbrainz"]}
        ctx = JobContext("slskd-downloader", load_settings(env=env), repository)
        started = time.perf_counter()
        result = run_once(ctx)
        seconds = time.perf_counter() - started
        records = {r["key"]: r for r in repository.download_records()}
        history_bytes = (Path(tmp) / "download_history.json").stat().st_size
    slskd = sb.requests("slskd")
    kinds = Counter()
    for r in slskd:
        if r.path == "/api/v0/searches" and r.method == "POST":
            kinds["search starts"] += 1
        elif r.path.startswith("/api/v0/searches/") and r.method == "GET":
            kinds["search polls/reads"] += 1
        elif r.path.startswith("/api/v0/transfers/downloads/") and r.method == "POST":
            kinds["enqueues"] += 1
        else:
            kinds["other"] += 1
    return {"seconds": seconds, "result": result, "records": records, "slskd": len(slskd), "kinds": kinds,
            "musicbrainz": len(sb.requests("musicbrainz")), "history_bytes": history_bytes}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    data = generate_catalogue_data()
    albums, right, preferred = pick_albums(data, ALBUMS)
    copies = Counter(a["copies"] for a in albums)
    print(f"{ALBUMS} albums from the benchmark catalogue ({sum(len(u['shares']) for u in data['slskd']['users']):,} "
          f"shared folders, {len(data['slskd']['users'])} peers); copies per album: "
          + ", ".join(f"{n}: {copies[n]}" for n in sorted(copies)))
    print(f"searches of {SEARCH_SECONDS:g} s, MusicBrainz at 1 request/s, governor 34 searches / 220 s\n")
    with Sandbox(Catalogue.from_dict(data), slskd_search_seconds=SEARCH_SECONDS) as sb:
        figures = {}
        for concurrency in (1, 2):
            outcome = run(sb, albums, concurrency)
            figures[concurrency] = outcome
            records = outcome["records"]
            good = best = queued = 0
            wrong = []
            for album in albums:
                key = f"{album['artist']} - {album['album']}"
                record = records.get(key) or {}
                download = (record.get("downloads") or [{}])[0]
                pair = (download.get("user"), download.get("folder"))
                if download:
                    queued += 1
                good += pair in right[album["mbid"]]
                best += pair in preferred[album["mbid"]]
                if pair not in right[album["mbid"]]:
                    wrong.append(f"{key}: {record.get('state')} {pair} {record.get('reason') or ''}")
            n = len(albums)
            print(f"concurrency {concurrency}: {outcome['seconds']:6.1f} s wall   "
                  f"{outcome['slskd'] / n:4.1f} slskd + {outcome['musicbrainz'] / n:3.1f} MusicBrainz requests"
                  " per album   "
                  f"right folder {good}/{n}   preferred format {best}/{n}   queued {queued}/{n}")
            print("    slskd requests: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome["kinds"].items()))
                  + f"   run: {outcome['result'].summary}")
            print(f"    download_history.json: {outcome['history_bytes'] / 1024:.0f} KB "
                  f"({outcome['history_bytes'] / 1024 / n:.1f} KB per album)")
            for line in wrong:
                print("    not right: " + line)
        ratio = figures[2]["seconds"] / figures[1]["seconds"]
        print(f"\nconcurrency 2 takes {ratio:.0%} of concurrency 1's time (target ≈ 50-60 %); "
              "target: every chosen folder right")


if __name__ == "__main__":
    main()
