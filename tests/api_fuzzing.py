"""A real `resonance web` on 127.0.0.1 over a seeded data dir, and schemathesis run against it.

Used by tests/web/test_api_fuzz.py (a fixed seed and a few examples per operation) and by
bench/fuzz_api.py (as many as you like). The data dir has what the routes act on: pending
albums, wishlist entries, downloads in every state (the document's example key among
them), a job log, a blocked artist. Sign-in settings come from the environment, so the
fuzzer cannot change how it signs in (PATCH /settings answers 409 for them); every outside
service points at a closed port on 127.0.0.1, so nothing leaves the machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from conditions import end_process

from app.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD, API_KEY = "alice", "wonderland-fuzz", "fuzz-api-key-0123456789"
MODES = ("none", "basic", "api_key", "proxy")
PROXY_USER_HEADER = "Remote-User"
PROXY_GROUPS_HEADER = "Remote-Groups"
EXAMPLE_KEY = "Sigur Rós - ( )"  # DOWNLOAD_KEY's example in app/web/api/schemas.py
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance,negative_data_rejection,positive_data_acceptance,"
          "missing_required_header,unsupported_method,use_after_free,ensure_resource_availability,ignored_auth")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(data_dir: Path) -> None:
    """Something for every route to find."""
    sys.path.insert(0, str(ROOT / "tests"))
    from download_factories import seed_download
    from factories import make_queue_item

    repository = Repository(data_dir)
    repository.add_pending([make_queue_item(artist=f"Artist {n}", album=f"Album {n}", source=source)
                            for n, source in enumerate(["catalog", "listenbrainz", "manual"] * 10)])
    repository.add_pending([make_queue_item(artist="Air", album="Moon Safari",
                                            mbid="f5093c06-23e3-404f-aeaa-40f72885ee3a")])  # MBID's example
    seed_download(repository, "Sigur Rós", "( )", state="failed")
    for n, state in enumerate(["downloading", "queued", "completed", "no_result", "wanted", "searching"]):
        seed_download(repository, f"Band {n}", f"Record {n}", state=state)
    repository.block_artist("Nickelback")
    repository.append_job_log("lb-fetch", [{"time": "2026-01-11T10:00:00Z", "level": "INFO", "logger": "lb_fetch",
                                            "message": "fetched 3 recommendations"}], 100)


def environment(mode: str, data_dir: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESONANCE_")}
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there: no request leaves the machine
    env.update({
        "PYTHONPATH": str(ROOT), "RESONANCE_DATA_DIR": str(data_dir), "RESONANCE_CONFIG": str(config),
        "RESONANCE_WEB__AUTH": mode, "RESONANCE_WEB__WORKERS": "1", "RESONANCE_WEB__THREADS": "8",
        "RESONANCE_WEB__HOST": "127.0.0.1",
        # Wrong credentials are part of the run: the limit on failed sign-ins must not lock it out.
        "RESONANCE_WEB__LOGIN_ATTEMPTS": "1000",
        "RESONANCE_WEB__USERNAME": USER if mode == "basic" else "",
        "RESONANCE_WEB__PASSWORD": PASSWORD if mode == "basic" else "",
        "RESONANCE_WEB__PASSWORD_HASH": "",
        "RESONANCE_WEB__API_KEY": API_KEY if mode == "api_key" else "",
        "RESONANCE_WEB__PROXY_USER_HEADER": PROXY_USER_HEADER,
        "RESONANCE_WEB__TRUSTED_PROXIES": "127.0.0.1/32",
        "RESONANCE_WEB__SECRET_KEY": "fuzz-secret-key",
        "RESONANCE_WEB__LOGIN_WINDOW": "300",
        "RESONANCE_WEB__PORT": "8080",
    })
    for section in ("listenbrainz", "musicbrainz", "coverart", "lastfm", "subsonic", "slskd"):
        env[f"RESONANCE_{section.upper()}__BASE_URL"] = closed
    return env


def credentials(mode: str) -> dict[str, str]:
    """Headers that sign in in ``mode``."""
    import base64

    if mode == "basic":
        return {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    if mode == "api_key":  # (in Authorization, schemathesis knows it for the credentials it removes in ignored_auth)
        return {"Authorization": f"Bearer {API_KEY}"}
    if mode == "proxy":  # an admin by group, as Authelia says it, so PATCH /settings is allowed
        return {PROXY_USER_HEADER: USER, PROXY_GROUPS_HEADER: "admins"}
    return {}


@dataclass
class Server:
    mode: str
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def document_url(self) -> str:
        return f"{self.url}/api/v1/openapi.json"

    def __enter__(self) -> "Server":
        data_dir = self.folder / "data"
        seed(data_dir)
        self.log = open(self.folder / "server.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "web", "--host", "127.0.0.1", "--port", str(self.port)],
            env=environment(self.mode, data_dir, self.folder / "config.yaml"), stdout=self.log,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:  # up when /health answers (gunicorn takes a few seconds on a busy machine)
            try:
                requests.get(f"{self.url}/health", timeout=5)
                return self
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"resonance web did not start: {self.server_log()}") from None
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        end_process(self.process)
        self.log.close()

    def server_log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")[-5000:]

    def schemathesis(self, *, examples: int, seed: int, phases: str = "examples,coverage,fuzzing",
                     extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        """``schemathesis run`` against this server; its exit status is 0 when no check failed."""
        command = [sys.executable, "-m", "schemathesis.cli", "run", self.document_url,
                   "--seed", str(seed), "--max-examples", str(examples), "--phases", phases,
                   "--checks", CHECKS, "--workers", "1", "--no-shrink", "--request-timeout", "30",
                   "--suppress-health-check", "all", "--warnings", "off"]
        for name, value in credentials(self.mode).items():
            command += ["--header", f"{name}: {value}"]
        env = {**os.environ, "NO_COLOR": "1"}
        return subprocess.run([*command, *extra], capture_output=True, text=True, env=env, cwd=self.folder,
                              timeout=600)
