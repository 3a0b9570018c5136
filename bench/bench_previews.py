"""Previews through the web app and the sandbox's fake Deezer (figures, not a test).

For N pending albums: the first play (track list from Deezer, then the MP3 fetched, cached
and sent), a replay (from the disk cache, Deezer not asked) and the track list again (from
memory). Times are the app's own (Flask test client, sandbox on 127.0.0.1), so they show
Resonance's overhead, not the internet's. The plays follow one another at once, so the first
play's time is mostly the spacing kept under Deezer's quota (0.11 s between requests).

    python bench/bench_previews.py [--albums N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from app import create_app  # noqa: E402
from app.records import load_queue_items  # noqa: E402
from app.repository import Repository  # noqa: E402
from app.sandbox import Sandbox, SandboxSettings  # noqa: E402
from app.sandbox.catalogue import credit_text  # noqa: E402


def ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albums", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, Sandbox(settings=SandboxSettings.fast()) as sandbox:
        config = Path(folder) / "config.yaml"
        config.write_text(yaml.safe_dump({"web": {"auth": "none"},
                                          "previews": {"deezer_url": sandbox.urls["deezer"]}}))
        os.environ["RESONANCE_CONFIG"] = str(config)
        repository = Repository(Path(folder) / "data")
        groups = [g for g in sandbox.catalogue.release_groups.values()
                  if sandbox.catalogue.front_release(g)][:args.albums]
        repository.add_pending(load_queue_items([
            {"artist": credit_text(g.credit), "album": g.title, "mbid": g.id, "type": "album", "source": "catalog"}
            for g in groups]))
        client = create_app({"REPOSITORY": repository, "SETTINGS_TTL": 5}).test_client()
        first, replay, listed = [], [], []
        for group in groups:
            started = time.perf_counter()
            tracks = client.get(f"/previews/{group.id}").get_json()["tracks"]
            audio = client.get(tracks[0]["url"])
            first.append(time.perf_counter() - started)
            assert audio.mimetype == "audio/mpeg"
        asked = len(sandbox.requests("deezer"))
        for group in groups:
            started = time.perf_counter()
            client.get(f"/previews/{group.id}").get_json()
            listed.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.get(f"/previews/{group.id}/1.mp3")
            replay.append(time.perf_counter() - started)
        print(f"albums: {len(groups)}")
        print(f"first play (list + audio, Deezer asked 3 times): {ms(first)}")
        print(f"track list again (memory): {ms(listed)}")
        print(f"replay (disk cache): {ms(replay)}")
        print(f"Deezer requests: {asked} for the first plays, {len(sandbox.requests('deezer')) - asked} for the replays")
        print(f"cache on disk: {repository.preview_cache.size() / 1024:.0f} KB")


if __name__ == "__main__":
    main()
