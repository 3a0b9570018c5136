"""Clients built from the settings, so every pipeline configures them the same way."""

from __future__ import annotations

from app.config import Settings


def listenbrainz(settings: Settings):
    from app.clients.listenbrainz import ListenBrainzClient

    lb = settings.listenbrainz
    return ListenBrainzClient(lb.base_url, lb.token or None, contact=settings.general.contact or None)


def musicbrainz(settings: Settings):
    from app.clients.musicbrainz import MusicBrainzClient

    mb = settings.musicbrainz
    return MusicBrainzClient(mb.base_url, mb.rate_limit, contact=settings.general.contact or None)


def lastfm(settings: Settings):
    from app.clients.lastfm import LastFmClient

    return LastFmClient(settings.lastfm.base_url, settings.lastfm.api_key, contact=settings.general.contact or None)


def subsonic(settings: Settings):
    from app.clients.subsonic import SubsonicClient

    s = settings.subsonic
    return SubsonicClient(s.base_url, s.username, s.password, legacy_auth=s.legacy_auth, verify_tls=s.verify_tls,
                          contact=settings.general.contact or None)


def slskd(settings: Settings):
    from app.clients.slskd import SlskdClient

    s = settings.slskd
    return SlskdClient(s.base_url, s.api_key, url_base=s.url_base, contact=settings.general.contact or None)


def cover_url(settings: Settings, release_group_mbid: str) -> str:
    from app.clients.coverart import release_group_front_url

    return release_group_front_url(settings.coverart.base_url, release_group_mbid, 250)
