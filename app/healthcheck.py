"""``python -m app.healthcheck``: exit 0 when the web UI answers ``/health`` with "ok".

Exit 1, with the reason on stderr, when it does not answer, or answers 503 because
the data folder cannot be written (disk full, read-only, permission denied).

The container's HEALTHCHECK. It asks the address the web UI listens on, from the
same settings ``resonance web`` uses (a wildcard address is asked on loopback),
and imports neither Flask nor requests: it runs every 30 seconds.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from app.config import ConfigError, load_settings
from app.repository import Repository

TIMEOUT_SECONDS = 4.0
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "::": "::1", "[::]": "::1"}


def health_url(host: str, port: int) -> str:
    host = _LOOPBACK.get(host, host).strip("[]")
    return f"http://[{host}]:{port}/health" if ":" in host else f"http://{host}:{port}/health"


def check(url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when healthy, else what is wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our own URL)
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        reason = _problem_in(exc)
        return f"{url} answered {exc.code}" + (f": {reason}" if reason else "")
    except (OSError, ValueError) as exc:
        return f"{url} did not answer: {exc}"
    if body.get("status") != "ok":
        return f"{url} says {body.get('status')!r}"
    return None


def _problem_in(error: urllib.error.HTTPError) -> str | None:
    """What a 503 from /health says is wrong (the data folder not writable), if it says."""
    try:
        body = json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        return None
    data_dir = body.get("data_dir") if isinstance(body, dict) else None
    return data_dir.get("problem") if isinstance(data_dir, dict) else None


def main() -> int:
    try:
        settings = load_settings(Repository().saved_settings())
    except ConfigError as exc:
        print(f"unhealthy: the settings are wrong: {exc}", file=sys.stderr)
        return 1
    problem = check(health_url(settings.web.host, settings.web.port))
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
