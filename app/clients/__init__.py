"""HTTP clients for the outside services Resonance talks to.

One module per service (``listenbrainz``, ``musicbrainz``, ``coverart``,
``lastfm``, ``subsonic``, ``slskd``); all outbound HTTP goes through
``app.clients.http``, which owns timeouts, retries, pacing and the error
classes. Import the submodule you need; this package imports nothing heavy.
"""
