"""Clients built from the settings, so every pipeline configures them the same way."""

from __future__ import annotations

import re

from app.config import Settings


def listenbrainz(settings: Settings):
    from app.clients.listenbrainz import ListenBrainzClient

    lb = settings.listenbrainz
    return ListenBrainzClient(lb.base_url, lb.token or None, contact=settings.general.contact or None)


def musicbrainz(settings: Settings, repository=None):
    """The MusicBrainz client, its requests spaced together with every other process using the data dir.

    ``repository`` defaults to the data dir of the environment, the one every runner uses.
    """
    from functools import partial

    from app.clients.http import SharedRateLimiter
    from app.clients.musicbrainz import MusicBrainzClient, pacing_interval
    from app.repository import Repository

    mb = settings.musicbrainz
    repository = repository if repository is not None else Repository()
    limiter = SharedRateLimiter(partial(repository.reserve_slot, pacing_name("musicbrainz", mb.base_url)),
                                pacing_interval(mb.rate_limit))
    return MusicBrainzClient(mb.base_url, mb.rate_limit, contact=settings.general.contact or None, limiter=limiter)


def pacing_name(service: str, base_url: str) -> str:
    """One book of slots per service and host: ``musicbrainz`` for musicbrainz.org, ``musicbrainz-mirror-5000`` else."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host in ("musicbrainz.org", "") and not parts.port:
        return service
    return re.sub(r"[^a-z0-9.]+", "-", f"{service}-{host}-{parts.port or ''}").strip("-")


def lastfm(settings: Settings):
    from app.clients.lastfm import LastFmClient

    return LastFmClient(settings.lastfm.base_url, settings.lastfm.api_key, contact=settings.general.contact or None)


def subsonic(settings: Settings):
    from app.clients.subsonic import SubsonicClient

    s = settings.subsonic
    return SubsonicClient(s.base_url, s.username, s.password, legacy_auth=s.legacy_auth, verify_tls=s.verify_tls,
                          contact=settings.general.contact or None)


# slskd's retry policies, by what the client is used for. Every slskd client is built by ``slskd`` below.
def _slskd_policies():
    from app.clients.http import NO_RETRY, RetryPolicy

    return {
        # Transfers, searches' results, enqueues: the HTTP layer's default (five attempts, bounded backoff).
        "TRANSFERS": (None, None),
        # Search starts are never retried by the HTTP layer: each one counts against Soulseek's window.
        "SEARCH_START": (NO_RETRY, None),
        # The downloader's health probe retries once, briefly: slskd down means "skip this run", not "wait".
        "PROBE": (RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=1.0, max_total_wait=2.0, jitter=0.0),
                  (5.0, 30.0)),
        # The Downloads page's probe: a slskd that is down must not hold the page up.
        "PAGE_PROBE": (NO_RETRY, (2.0, 5.0)),
        # Settings' "Test connection": one quick try, a person is waiting for the answer.
        "CHECK": (NO_RETRY, (3.0, 10.0)),
    }


#: Names of slskd's retry policies (``slskd(settings, SLSKD_SEARCH_START)``).
SLSKD_TRANSFERS = "TRANSFERS"
SLSKD_SEARCH_START = "SEARCH_START"
SLSKD_PROBE = "PROBE"
SLSKD_PAGE_PROBE = "PAGE_PROBE"
SLSKD_CHECK = "CHECK"


def slskd(settings: Settings, policy: str = SLSKD_TRANSFERS):
    """The slskd client for ``policy`` (its retries and timeouts; see ``_slskd_policies``)."""
    from app.clients.slskd import SlskdClient

    retry, timeout = _slskd_policies()[policy]
    s = settings.slskd
    return SlskdClient(s.base_url, s.api_key or None, url_base=s.url_base, contact=settings.general.contact or None,
                       retry=retry, timeout=timeout)


def cover_url(settings: Settings, release_group_mbid: str) -> str:
    from app.clients.coverart import release_group_front_url

    return release_group_front_url(settings.coverart.base_url, release_group_mbid, 250)
