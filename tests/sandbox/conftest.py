"""Fixtures for the sandbox's own tests: a fresh, fast sandbox per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from app.sandbox import Catalogue, ManualClock, Sandbox, SandboxSettings

USER_AGENT = "ResonanceSandboxTests/1.0 ( https://example.invalid/resonance )"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Short durations and no rate limits; tests switch limits on where they test them."""
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        yield sb


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clocked_sandbox(manual_clock: ManualClock) -> Iterator[Sandbox]:
    """A sandbox whose simulated time only moves with ``manual_clock.advance()``."""
    with Sandbox(settings=SandboxSettings.fast(), clock=manual_clock) as sb:
        yield sb


def mb_get(sb: Sandbox, path: str, **params: Any) -> requests.Response:
    params.setdefault("fmt", "json")
    return requests.get(sb.urls["musicbrainz"] + "/ws/2/" + path, params=params,
                        headers={"User-Agent": USER_AGENT}, timeout=5)


def lb_get(sb: Sandbox, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(sb.urls["listenbrainz"] + path, timeout=5, **kwargs)


def lastfm_get(sb: Sandbox, **params: Any) -> requests.Response:
    params.setdefault("api_key", sb.credentials["lastfm"]["api_key"])
    params.setdefault("format", "json")
    return requests.get(sb.urls["lastfm"], params=params, headers={"User-Agent": USER_AGENT}, timeout=5)


def subsonic_get(sb: Sandbox, method: str, **params: Any) -> requests.Response:
    """A request with password auth unless the test gives its own auth parameters."""
    if not {"t", "p", "apiKey"} & set(params):
        params["p"] = sb.credentials["subsonic"]["password"]
    if "apiKey" not in params:
        params.setdefault("u", sb.credentials["subsonic"]["username"])
    params.setdefault("v", "1.16.1")
    params.setdefault("c", "sandbox-tests")
    params.setdefault("f", "json")
    return requests.get(f"{sb.urls['subsonic']}/rest/{method}.view", params=params, timeout=5)


def subsonic_body(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200
    return response.json()["subsonic-response"]


def slskd_call(sb: Sandbox, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {"X-API-Key": sb.credentials["slskd"]["api_key"]})
    return requests.request(method, f"{sb.urls['slskd']}/api/v0{path}", headers=headers, timeout=5, **kwargs)


# The helpers reach tests as fixtures, so no test module imports conftest by name.


@pytest.fixture
def user_agent() -> str:
    return USER_AGENT


@pytest.fixture
def mb() -> Any:
    return mb_get


@pytest.fixture
def lb() -> Any:
    return lb_get


@pytest.fixture
def lastfm() -> Any:
    return lastfm_get


@pytest.fixture
def subsonic() -> Any:
    return subsonic_get


@pytest.fixture
def subsonic_ok() -> Any:
    return subsonic_body


@pytest.fixture
def slskd() -> Any:
    return slskd_call


class CatalogueFinder:
    """Looks catalogue entities up by name, so tests read like the data (IDs are
    fixed in the data file, so any loaded copy gives the sandbox's IDs)."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat

    def artist(self, name: str) -> Any:
        return next(a for a in self.cat.artists.values() if a.name == name)

    def group(self, artist: str, title: str) -> Any:
        artist_id = self.artist(artist).id
        return next(g for g in self.cat.release_groups.values()
                    if g.title == title and g.credit[0].artist_id == artist_id)

    def release(self, artist: str, title: str, disambiguation: str = "") -> Any:
        return next(r for r in self.cat.releases_of(self.group(artist, title)) if r.disambiguation == disambiguation)

    def recording(self, artist: str, title: str, album: str) -> Any:
        release = self.release(artist, album)
        return next(self.cat.recordings[t.recording_id] for _m, t in release.tracks() if t.title == title)


@pytest.fixture
def find() -> CatalogueFinder:
    return CatalogueFinder(Catalogue.load())
