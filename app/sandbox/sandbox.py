"""``Sandbox``: all seven fake services in one process, one port each.

    with Sandbox(slskd_search_seconds=0.5) as sb:
        requests.get(sb.urls["musicbrainz"] + "/ws/2/artist/…?fmt=json",
                     headers={"User-Agent": "test/1 ( me@example.org )"})
        sb.faults("lastfm").set(error=503)
        sb.inject_faults(0.2, seed=1)   # 20 % of every service's requests misbehave
        sb.requests("musicbrainz")   # what the service saw
"""

from __future__ import annotations

import threading
from typing import Any

from app.sandbox import coverart, deezer, lastfm, listenbrainz, musicbrainz, slskd, subsonic
from app.sandbox.catalogue import Catalogue
from app.sandbox.core import (
    FAULT_KINDS,
    Faults,
    PathPrefix,
    RecordedRequest,
    RequestLog,
    SandboxSettings,
    ServiceMiddleware,
    ServiceServer,
    SystemClock,
)

# deezer last: the ports of the others stay where they were with a fixed port_base.
SERVICES = ("listenbrainz", "musicbrainz", "coverart", "lastfm", "subsonic", "slskd", "deezer")
_MODULES = {"listenbrainz": (listenbrainz, listenbrainz.ListenBrainzState),
            "musicbrainz": (musicbrainz, musicbrainz.MusicBrainzState),
            "coverart": (coverart, coverart.CoverArtState),
            "lastfm": (lastfm, lastfm.LastfmState),
            "subsonic": (subsonic, subsonic.SubsonicState),
            "slskd": (slskd, slskd.SlskdState),
            "deezer": (deezer, deezer.DeezerState)}


class Sandbox:
    """Fake ListenBrainz, MusicBrainz, Cover Art Archive, Last.fm, Subsonic, slskd and Deezer.

    catalogue: the world to serve (default: the small bundled one, or the
        generated benchmark one with ``size="bench"``). It is used as is, so
        a test may keep a reference and change it.
    host / port_base: where to listen; port_base=0 picks free ports, N gives
        N, N+1, … in the order of ``SERVICES``.
    clock: anything with ``time() -> float`` (``ManualClock`` to step time by hand).
    settings / **overrides: ``SandboxSettings`` fields, e.g. ``slskd_search_seconds=0.5``.
    """

    def __init__(self, catalogue: Catalogue | None = None, *, size: str = "small", host: str = "127.0.0.1",
                 port_base: int = 0, clock: Any = None, settings: SandboxSettings | None = None,
                 **overrides: Any) -> None:
        if catalogue is None:
            if size not in ("small", "bench"):
                raise ValueError(f"size must be 'small' or 'bench', not {size!r}")
            catalogue = Catalogue.generate() if size == "bench" else Catalogue.load()
        self.catalogue = catalogue
        self.settings = settings if settings is not None else SandboxSettings()
        self.settings.update(**overrides)
        self.clock = clock if clock is not None else SystemClock()
        self.host = host
        self._stopping = threading.Event()
        self._logs = {name: RequestLog() for name in SERVICES}
        self._faults = {name: Faults(name) for name in SERVICES}
        # fixed for the sandbox's life: changing them later would not move the routes
        self._prefixes = {"subsonic": self.settings.subsonic_prefix.rstrip("/"),
                          "slskd": self.settings.slskd_url_base.rstrip("/")}
        self._states: dict[str, Any] = {}
        self._servers: dict[str, ServiceServer] = {}
        for index, name in enumerate(SERVICES):
            module, state_class = _MODULES[name]
            state = state_class(self.catalogue, self.settings, self.clock)
            app = PathPrefix(module.create_app(state), self._prefixes.get(name, ""))
            wsgi = ServiceMiddleware(name, app, self._logs[name], self._faults[name], self.clock, self.settings,
                                     self._stopping)
            server = ServiceServer(name, wsgi, host, port_base + index if port_base else 0)
            self._faults[name].on_refuse_change(self._refuse_listener(server))
            self._states[name], self._servers[name] = state, server
        self.listenbrainz_state: listenbrainz.ListenBrainzState = self._states["listenbrainz"]
        self.musicbrainz_state: musicbrainz.MusicBrainzState = self._states["musicbrainz"]
        self.lastfm_state: lastfm.LastfmState = self._states["lastfm"]
        self.subsonic_state: subsonic.SubsonicState = self._states["subsonic"]
        self.slskd_state: slskd.SlskdState = self._states["slskd"]
        self.deezer_state: deezer.DeezerState = self._states["deezer"]
        self._started = False

    # ------------------------------------------------------------------ life cycle

    def start(self) -> "Sandbox":
        try:
            for server in self._servers.values():
                server.start()
        except Exception:
            self.stop()
            raise
        self._started = True
        return self

    def stop(self) -> None:
        """Stop every server; requests held by a ``timeout`` fault are released."""
        self._stopping.set()
        for faults in self._faults.values():
            faults.clear()
        # In parallel: each server needs up to one poll interval to notice.
        stoppers = [threading.Thread(target=server.stop) for server in self._servers.values()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        self._started = False

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def _refuse_listener(server: ServiceServer) -> Any:
        def changed(refusing: bool) -> None:
            if refusing:
                server.refuse()
            else:
                server.resume()
        return changed

    # ------------------------------------------------------------------ what clients need

    @property
    def ports(self) -> dict[str, int]:
        return {name: server.port for name, server in self._servers.items()}

    @property
    def urls(self) -> dict[str, str]:
        """Base URLs as a client would configure them."""
        root = {name: f"http://{self.host}:{port}" for name, port in self.ports.items()}
        return {
            "listenbrainz": root["listenbrainz"],
            "musicbrainz": root["musicbrainz"],
            "coverart": root["coverart"],
            "lastfm": root["lastfm"] + "/2.0/",
            "subsonic": root["subsonic"] + self._prefixes["subsonic"],
            "slskd": root["slskd"] + self._prefixes["slskd"],
            "deezer": root["deezer"],
        }

    @property
    def credentials(self) -> dict[str, dict[str, str]]:
        cat = self.catalogue
        listener = next(iter(cat.listeners.values()), None)
        subsonic_user = next((u for u in cat.subsonic_users.values() if u.admin),
                             next(iter(cat.subsonic_users.values()), None))
        credentials: dict[str, dict[str, str]] = {
            "listenbrainz": {"user": listener.user_name, "token": listener.token} if listener else {},
            "lastfm": {"api_key": cat.lastfm_api_keys[0]} if cat.lastfm_api_keys else {},
            "subsonic": ({"username": subsonic_user.username, "password": subsonic_user.password}
                         if subsonic_user else {}),
            "slskd": {"api_key": cat.slskd_api_keys[0]} if cat.slskd_api_keys else {},
        }
        if subsonic_user and subsonic_user.api_key:
            credentials["subsonic"]["api_key"] = subsonic_user.api_key
        return credentials

    def resonance_environment(self) -> dict[str, str]:
        """Resonance's settings (as environment variables) pointing every outside service here."""
        urls, credentials = self.urls, self.credentials
        return {
            "RESONANCE_LISTENBRAINZ__BASE_URL": urls["listenbrainz"],
            "RESONANCE_LISTENBRAINZ__USERNAME": credentials["listenbrainz"]["user"],
            "RESONANCE_LISTENBRAINZ__TOKEN": credentials["listenbrainz"]["token"],
            "RESONANCE_MUSICBRAINZ__BASE_URL": urls["musicbrainz"],
            "RESONANCE_COVERART__BASE_URL": urls["coverart"],
            "RESONANCE_LASTFM__BASE_URL": urls["lastfm"],
            "RESONANCE_LASTFM__API_KEY": credentials["lastfm"]["api_key"],
            "RESONANCE_SUBSONIC__BASE_URL": urls["subsonic"],
            "RESONANCE_SUBSONIC__USERNAME": credentials["subsonic"]["username"],
            "RESONANCE_SUBSONIC__PASSWORD": credentials["subsonic"]["password"],
            "RESONANCE_SLSKD__BASE_URL": urls["slskd"],
            "RESONANCE_SLSKD__API_KEY": credentials["slskd"]["api_key"],
            "RESONANCE_PREVIEWS__DEEZER_URL": urls["deezer"],
        }

    def describe(self) -> dict[str, Any]:
        """What ``python -m app.sandbox`` prints."""
        return {"urls": self.urls, "credentials": self.credentials, "catalogue": self.catalogue.summary()}

    # ------------------------------------------------------------------ test controls

    def faults(self, name: str) -> Faults:
        """Run-time fault switch of one service: ``.set(latency=…, error=…, timeout=…,
        malformed=…, refuse=…, count=…)`` and ``.clear()``."""
        return self._faults[_known(name)]

    def inject_faults(self, rate: float, kinds: tuple[str, ...] | str | None = FAULT_KINDS,
                      seed: int | None = None, services: tuple[str, ...] = SERVICES) -> None:
        """Random faults on ``services``: a share ``rate`` (0..1) of their requests gets one of
        ``kinds`` (``FAULT_KINDS``: 500, timeout, truncated, unreadable201, reset). With a seed,
        each service draws from its own RNG seeded from it, so a run is repeatable."""
        for index, name in enumerate(SERVICES):
            if name in services:
                self.faults(name).random(rate, kinds, None if seed is None else seed * 100 + index)

    def figures(self) -> dict[str, Any]:
        """What the sandbox counted: requests and injected faults per service, MusicBrainz
        503s from its rate limit, and slskd's search and enqueue figures (``SlskdState.figures``)."""
        requests = {name: self._logs[name].list() for name in SERVICES}
        return {
            "requests": {name: len(records) for name, records in requests.items()},
            "faults": {name: self._faults[name].injected for name in SERVICES},
            "musicbrainz_503s": sum(1 for r in requests["musicbrainz"] if r.status == 503 and not r.fault),
            **self.slskd_state.figures(),
        }

    def requests(self, name: str) -> list[RecordedRequest]:
        return self._logs[_known(name)].list()

    def clear_requests(self, name: str | None = None) -> None:
        for service in [_known(name)] if name else SERVICES:
            self._logs[service].clear()

    def state(self, name: str) -> Any:
        return self._states[_known(name)]


def _known(name: str) -> str:
    if name not in SERVICES:
        raise KeyError(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
    return name


def start_sandbox(**kwargs: Any) -> Sandbox:
    """Build and start a sandbox (call ``stop()`` when done)."""
    return Sandbox(**kwargs).start()
