"""AcoustID web service v2: which recordings a Chromaprint fingerprint belongs to.

``POST /v2/lookup`` (form-encoded: fingerprints are long) with ``client`` (the
application key), ``duration``, ``fingerprint`` and ``meta=recordingids``
answers ``{"status": "ok", "results": [{"id", "score", "recordings": [{"id"}]}]}``;
a failure is ``{"status": "error", "error": {"code", "message"}}`` (code 4:
invalid API key). AcoustID asks for at most 3 requests a second. A lookup
changes nothing, so it is retried like a GET.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests

from app.clients.http import (
    AuthError,
    BadRequest,
    HttpClient,
    RateLimiter,
    RetryPolicy,
    as_float,
    as_str,
    body_json_or_none,
    shared_limiter,
)

SERVICE = "acoustid"
DEFAULT_BASE_URL = "https://api.acoustid.org"
#: 3 requests a second at most, with a margin.
MIN_INTERVAL = 0.34
INVALID_KEY = 4


@dataclass(frozen=True, slots=True)
class Match:
    """One AcoustID track the fingerprint matched, with every recording linked to it."""

    acoustid: str
    score: float
    recording_mbids: tuple[str, ...]


class AcoustIdClient:
    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, http: HttpClient | None = None,
                 limiter: RateLimiter | None = None, sleep: Callable[[float], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.http = http or HttpClient(SERVICE, retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=10.0),
                                       sleep=sleep)
        self.http.add_secret(api_key)
        self.http.rate_limiter = limiter or shared_limiter(SERVICE, self.base_url, MIN_INTERVAL)

    def _check(self, response: requests.Response):
        body = body_json_or_none(response)
        if isinstance(body, dict) and body.get("status") == "error":
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            message = self.http.scrub(as_str(error.get("message")) or "error")
            if error.get("code") == INVALID_KEY:
                return AuthError(SERVICE, f"the AcoustID key was refused: {message}", response.status_code)
            if response.status_code in (400, 200):
                return BadRequest(SERVICE, message, response.status_code)
        return self.http.default_check(response)

    def lookup(self, fingerprint: str, duration: float) -> list[Match]:
        """Every AcoustID track matching the fingerprint, best score first, with their recordings."""
        response = self.http.request(
            "POST", f"{self.base_url}/v2/lookup",
            data={"client": self.api_key, "format": "json", "meta": "recordingids",
                  "duration": str(int(duration)), "fingerprint": fingerprint},
            check=self._check, expect_json=True, retry_unsafe=True,
        )
        body = self.http.json(response)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise self.http.bad_shape(response, "no 'results' list")
        matches = []
        for row in body["results"]:
            if not isinstance(row, dict) or not as_str(row.get("id")):
                continue
            recordings = tuple(as_str(r.get("id")) for r in row.get("recordings") or []
                               if isinstance(r, dict) and as_str(r.get("id")))
            matches.append(Match(row["id"], as_float(row.get("score")) or 0.0, recordings))
        return sorted(matches, key=lambda m: -m.score)
