"""Shared by the slskd-downloader and transfer tests: a fast sandbox, settings pointing at it, helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.config import load_settings
from app.pipelines import JobContext, search_governor
from app.pipelines import downloader as downloader_module
from app.sandbox import Sandbox, SandboxSettings
from app.wishlist import WishlistEntry


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(settings=SandboxSettings.fast(slskd_search_seconds=0.3, slskd_transfer_seconds=0.1)) as sb:
        yield sb


@pytest.fixture(autouse=True)
def fresh_governor(monkeypatch):
    """Each test gets its own process-wide governor (the real one outlives runs on purpose)."""
    monkeypatch.setattr(search_governor, "_shared", None)
    monkeypatch.setattr(downloader_module, "TIMING", downloader_module.Timing(poll_first=0.1, poll_max=0.25,
                                                                               round_pause=0.2, cancel_wait=1.0))


def settings_for(sb: Sandbox, tmp_path, **slskd: Any):
    env = {
        "RESONANCE_CONFIG": str(tmp_path / "absent.yaml"),
        "RESONANCE_SLSKD__BASE_URL": sb.urls["slskd"],
        "RESONANCE_SLSKD__API_KEY": sb.credentials["slskd"]["api_key"],
        "RESONANCE_SLSKD__SEARCH_TIMEOUT": "5",
        "RESONANCE_SLSKD__RETRY_DELAY": "1",
        "RESONANCE_MUSICBRAINZ__BASE_URL": sb.urls["musicbrainz"],
        "RESONANCE_MUSICBRAINZ__RATE_LIMIT": "100",
    }
    for key, value in slskd.items():
        env[f"RESONANCE_SLSKD__{key.upper()}"] = str(value)
    return load_settings(env=env)


@pytest.fixture
def slskd_context(sandbox, repository, tmp_path):
    """``slskd_context(**slskd_settings)``: a JobContext for slskd-downloader against the sandbox."""

    def make(stop=lambda: False, **slskd: Any) -> JobContext:
        return JobContext("slskd-downloader", settings_for(sandbox, tmp_path, **slskd), repository, stop)

    return make


def wish(repository, *albums: tuple[str, str]) -> list[WishlistEntry]:
    entries = [WishlistEntry.create(artist, title) for artist, title in albums]
    repository.add_to_wishlist(entries)
    return entries


def enqueues(sb: Sandbox) -> list[tuple[str, list[str]]]:
    """(user, filenames) of every accepted enqueue, in order."""
    found = []
    for r in sb.requests("slskd"):
        if r.method == "POST" and r.path.startswith("/api/v0/transfers/downloads/") and r.status == 201:
            found.append((r.path.rsplit("/", 1)[-1], [f["filename"] for f in r.json()]))
    return found


def folders_of(filenames: list[str]) -> set[str]:
    from app.pipelines.folder_scoring import album_folder

    return {album_folder(name.rsplit("\\", 1)[0]) for name in filenames}


def events(record) -> list[str]:
    return [event["text"] for event in record.events]
