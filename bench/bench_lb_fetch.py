"""lb-fetch: one run resolving 100 recommendations against the sandbox, real rate limits.

Targets: at most 5 upstream requests and under 5 s when ListenBrainz's bulk
metadata resolves everything; about 10 s (not 100) when 10 of 100 recordings
need MusicBrainz at 1 request/s; no MusicBrainz 503s. The same runs with a fifth
of ListenBrainz's and MusicBrainz's requests failing (the sandbox's random faults:
HTTP 500, a reply cut in half, a connection reset, seeded) complete with the same albums.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # app

from app.config import load_settings  # noqa: E402
from app.pipelines import JobContext  # noqa: E402
from app.pipelines.lb_fetch import run_once  # noqa: E402
from app.repository import Repository  # noqa: E402
from app.sandbox import Catalogue, Sandbox, SandboxSettings  # noqa: E402

SERVICES = ("listenbrainz", "musicbrainz", "coverart")
# The sandbox's fault kinds a retry meets at once (no requests held for a "timeout").
FAULT_KINDS = ("500", "truncated", "reset")
# A recorded request's ``fault`` (the plan applied) → the kind it was drawn as.
KIND_OF_FAULT = {"error=500": "500", "malformed": "truncated", "reset": "reset"}


def _on_album(catalogue: Catalogue, mbid: str) -> bool:
    release = catalogue.chosen_release(mbid)
    return release is not None and catalogue.release_group_of(release).primary_type == "Album"


def scenario(name: str, uncached_count: int, fault_rate: float = 0.0) -> None:
    from app.clients.http import stats

    stats.reset()
    catalogue = Catalogue.generate()
    listener = catalogue.listener("rob")
    # The 100 best recommendations that are on an album, so "resolves everything" holds.
    on_album = [rec for rec in listener.recommendations if _on_album(catalogue, rec.recording_mbid)][:100]
    listener.recommendations[:] = on_album
    catalogue.uncached_recordings = {rec.recording_mbid for rec in on_album[:uncached_count]}
    with Sandbox(catalogue, settings=SandboxSettings()) as sandbox, tempfile.TemporaryDirectory() as data:
        urls = sandbox.urls
        if fault_rate:
            for seed, service in enumerate(("listenbrainz", "musicbrainz"), start=1):
                sandbox.faults(service).random(fault_rate, kinds=FAULT_KINDS, seed=seed)
        env = {
            "RESONANCE_CONFIG": os.path.join(data, "none.yaml"),
            "RESONANCE_LISTENBRAINZ__BASE_URL": urls["listenbrainz"],
            "RESONANCE_LISTENBRAINZ__USERNAME": "rob",
            "RESONANCE_LISTENBRAINZ__FETCH_COUNT": "100",
            "RESONANCE_MUSICBRAINZ__BASE_URL": urls["musicbrainz"],
            "RESONANCE_COVERART__BASE_URL": sandbox.urls["coverart"],
            "RESONANCE_GENERAL__CONTACT": "bench@example.invalid",
        }
        ctx = JobContext("lb-fetch", load_settings(env=env), Repository(data))
        start = time.perf_counter()
        result = run_once(ctx)
        wall = time.perf_counter() - start
        # As the services saw them: the requests that met a fault count too.
        calls = {service: len(sandbox.requests(service)) for service in SERVICES}
        refusals = sum(1 for r in sandbox.requests("musicbrainz") if r.status == 503 and not r.fault)
        albums = {(item["artist"], item["album"]) for item in ctx.repository.queue()["pending"]}
        injected = Counter(KIND_OF_FAULT.get(r.fault, r.fault) for service in SERVICES
                           for r in sandbox.requests(service) if r.fault)
    total = sum(calls.values())
    print(f"{name}: {result.outcome}: {result.summary}" + (f" [left: {result.left}]" if result.left else "")
          + (f" [{result.error}]" if result.error else ""))
    print(f"  wall time {wall:.2f} s; upstream requests {total} "
          + ", ".join(f"{s} {n}" for s, n in calls.items())
          + f"; MusicBrainz 503s: {refusals}")
    print("  client side: " + ", ".join(f"{service} {c.get('requests', 0)} requests, {c.get('retries', 0)} retries"
                                        for service, c in sorted(stats.snapshot().items()))
          + (f"; faults injected: {dict(injected)}" if injected else ""))
    return albums


def main() -> None:
    scenario("100 recommendations, all in ListenBrainz's cache (target <= 5 requests, < 5 s)", 0)
    clean = scenario("100 recommendations, 10 need MusicBrainz (target about 10 s)", 10)
    faulty = scenario("the same with 20% of requests failing (target: complete, the same albums)", 10, 0.2)
    print(f"  same albums as without faults: {'yes' if faulty == clean else 'NO'} ({len(faulty)} albums)")


if __name__ == "__main__":
    main()
