""""Test connection" for ListenBrainz, Last.fm, Subsonic and slskd.

Each check makes one or two quick requests with the settings given (the saved
ones with the form's changes on top) and answers ``(ok, message)``. Messages
come from the clients, which keep keys and query strings out of them; every
configured secret is masked once more, in every form (app.masking), before a message is shown.
The clients are imported when a check runs, so the web app starts without them.
"""

from __future__ import annotations

import logging

from app.config import Settings

log = logging.getLogger("resonance.web")

TIMEOUT = (3.0, 10.0)  # connect, read: a person is waiting for the answer


def _quick():
    from app.clients.http import NO_RETRY

    return {"timeout": TIMEOUT, "retry": NO_RETRY}


def check_listenbrainz(settings: Settings) -> tuple[bool, str]:
    from app.clients.listenbrainz import ListenBrainzClient

    lb = settings.listenbrainz
    client = ListenBrainzClient(lb.base_url, lb.token or None, contact=settings.general.contact or None, **_quick())
    if lb.token:
        status = client.validate_token()
        if not status.valid:
            return False, "ListenBrainz says the token is not valid."
        user = f" for {status.user_name}" if status.user_name else ""
        return True, f"The token is valid{user}."
    if not lb.username:
        return False, "Set your ListenBrainz user name (and a token, if you have one)."
    recommendations = client.recommendations(lb.username, count=1)
    if not recommendations.available:
        return True, f"Reached ListenBrainz; it has no recommendations for {lb.username} yet."
    return True, f"Reached ListenBrainz; {lb.username} has recommendations."


def check_lastfm(settings: Settings) -> tuple[bool, str]:
    from app.clients.lastfm import LastFmClient

    if not settings.lastfm.api_key:
        return False, "Set a Last.fm API key first."
    client = LastFmClient(settings.lastfm.base_url, settings.lastfm.api_key,
                          contact=settings.general.contact or None, **_quick())
    client.similar_artists("Daft Punk", limit=1)
    return True, "Last.fm accepted the API key."


def check_subsonic(settings: Settings) -> tuple[bool, str]:
    from app.clients.subsonic import SubsonicClient

    sub = settings.subsonic
    if not sub.base_url or not sub.username:
        return False, "Set the server address and the user name first."
    client = SubsonicClient(sub.base_url, sub.username, sub.password, legacy_auth=sub.legacy_auth,
                            verify_tls=sub.verify_tls, contact=settings.general.contact or None, **_quick())
    info = client.ping()
    server = " ".join(part for part in (info.type, info.server_version) if part) or "a Subsonic server"
    return True, f"Signed in to {server} (API {info.api_version or 'unknown'})."


def check_slskd(settings: Settings) -> tuple[bool, str]:
    from app.pipelines import upstream

    if not settings.slskd.base_url:
        return False, "Set the slskd address first."
    client = upstream.slskd(settings, upstream.SLSKD_CHECK)
    client.check_session()
    state = client.server_state()
    if state.ready:
        return True, "slskd accepted the API key and is logged in to Soulseek."
    return False, f"slskd accepted the API key, but is not logged in to Soulseek ({state.state or 'disconnected'})."


CHECKS = {
    "listenbrainz": check_listenbrainz,
    "lastfm": check_lastfm,
    "subsonic": check_subsonic,
    "slskd": check_slskd,
}


def run_check(service: str, settings: Settings) -> tuple[bool, str]:
    """(ok, message) for one service; never raises, never shows a secret."""
    from app.clients.http import UpstreamError, scrub

    try:
        ok, message = CHECKS[service](settings)
    except UpstreamError as exc:
        ok, message = False, exc.message
    except ValueError as exc:  # a client refusing its arguments, e.g. an empty key
        ok, message = False, str(exc)
    except Exception:  # the person gets a message; the details go to the log
        log.exception("the %s connection check crashed", service)
        ok, message = False, "The check failed unexpectedly; the server log has the details."
    return ok, scrub(message, settings.secret_values())
