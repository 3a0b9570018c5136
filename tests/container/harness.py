"""Runs the container's longrun services under Debian's plain s6, outside any container.

The container gets s6-overlay, which compiles ``s6-overlay/s6-rc.d`` with s6-rc. This
machine has s6 but neither s6-rc nor s6-overlay, so ``ServiceTree`` does what s6-rc
would leave behind for the longruns: a scan directory with one service directory per
longrun, holding copies of its ``run`` and ``finish`` scripts and its s6 settings
(``timeout-kill``). The one change is the interpreter line: ``#!/command/with-contenv sh``
becomes ``#!/bin/sh``. With ``S6_KEEP_ENV`` unset, with-contenv gives the script the
container's environment; under plain ``s6-svscan`` the scripts inherit the environment
the tree is started with, which is the same thing. The oneshot ``init-resonance`` is run
directly first, as s6-rc runs it before the longruns that depend on it.

Every process of a tree carries ``TREE_MARKER`` in its environment, so ``stop()`` finds
them all even though s6-supervise starts each service in a session of its own.
Used by tests/container and bench/bench_memory.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable

from conditions import wait_for  # noqa: F401 (the container tests take it from here)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
S6_OVERLAY = PROJECT_ROOT / "s6-overlay"
S6_RC = S6_OVERLAY / "s6-rc.d"
INIT_SCRIPT = S6_OVERLAY / "scripts" / "init-resonance"
SERVICES = ("lb-fetch", "catalog-discovery", "library-discovery", "slskd-downloader", "web-ui")
RUNNERS = ("lb-fetch", "catalog-discovery", "library-discovery", "slskd-downloader")
CONTENV_SHEBANG = "#!/command/with-contenv sh"
COPIED_SETTINGS = ("timeout-kill", "timeout-finish", "down-signal", "notification-fd", "max-death-tally")
TREE_MARKER = "CONTAINER_TEST_TREE"
# The `resonance` command the services run: the one installed next to this Python.
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_type(service: str) -> str:
    return (S6_RC / service / "type").read_text(encoding="utf-8").strip()


def longruns() -> list[str]:
    return sorted(p.name for p in S6_RC.iterdir() if (p / "type").is_file() and service_type(p.name) == "longrun")


def plain_s6_script(text: str) -> str:
    first, newline, rest = text.partition("\n")
    if first == CONTENV_SHEBANG:
        first = "#!/bin/sh"
    return first + newline + rest


def build_scan_dir(scan_dir: Path) -> None:
    scan_dir.mkdir(parents=True, exist_ok=True)
    for service in longruns():
        target = scan_dir / service
        target.mkdir()
        for script in ("run", "finish"):
            source = S6_RC / service / script
            if source.exists():
                (target / script).write_text(plain_s6_script(source.read_text(encoding="utf-8")), encoding="utf-8")
                (target / script).chmod(0o755)
        for setting in COPIED_SETTINGS:
            if (S6_RC / service / setting).exists():
                (target / setting).write_bytes((S6_RC / service / setting).read_bytes())


def read_proc(pid: int, name: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/{name}").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def parent_pid(pid: int) -> int | None:
    stat = read_proc(pid, "stat")
    if not stat:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children(pid: int) -> list[int]:
    return [p for p in all_pids() if parent_pid(p) == pid]


def marked_pids(marker: str) -> list[int]:
    """Live processes whose environment carries TREE_MARKER=marker."""
    needle = f"{TREE_MARKER}={marker}".encode()
    found = []
    for pid in all_pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        stat = read_proc(pid, "stat") or ""
        state = stat.rpartition(")")[2].split()[:1]
        if needle in environ.split(b"\0") and state != ["Z"]:
            found.append(pid)
    return found


def base_env(root: Path, web_port: int, upstream: dict[str, str], **extra: str) -> dict[str, str]:
    """The container's environment, scaled down to a temp dir: what the Dockerfile sets, the
    credentials a household would configure, and every upstream pointed at ``upstream``."""
    env = {
        "PATH": f"{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(root),
        "LANG": "C.UTF-8",
        # As the Dockerfile sets them (test_dockerfile.py keeps the two in step):
        "PYTHONUNBUFFERED": "1",
        "MALLOC_ARENA_MAX": "2",
        "GUNICORN_CMD_ARGS": "--no-control-socket --worker-tmp-dir /dev/shm",
        "RESONANCE_RUN_AS": "",  # no user switch: see the run scripts
        "RESONANCE_DATA_DIR": str(root / "data"),
        "RESONANCE_CONFIG": str(root / "config.yaml"),
        "RESONANCE_WEB__HOST": "127.0.0.1",
        "RESONANCE_WEB__PORT": str(web_port),
        "RESONANCE_WEB__USERNAME": "household",
        "RESONANCE_WEB__PASSWORD": "correct horse battery staple",
        "RESONANCE_GENERAL__CONTACT": "tests@example.invalid",
        "RESONANCE_LISTENBRAINZ__USERNAME": "sandbox-user",
        "RESONANCE_LASTFM__API_KEY": "sandbox-lastfm-key",
        "RESONANCE_SUBSONIC__USERNAME": "sandbox",
        "RESONANCE_SUBSONIC__PASSWORD": "sandbox-password",
        "RESONANCE_SLSKD__API_KEY": "sandbox-slskd-key",
        "RESONANCE_MUSICBRAINZ__RATE_LIMIT": "100",
    }
    env.update(upstream)
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra)
    return env


class ServiceTree:
    """The five services under ``s6-svscan``, in ``root`` (a temp dir)."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root = root
        self.scan_dir = root / "scan"
        self.data_dir = Path(env["RESONANCE_DATA_DIR"])
        self.log_path = root / "s6.log"
        self.marker = uuid.uuid4().hex
        self.env = {**env, TREE_MARKER: self.marker}
        self.web_url = f"http://{env['RESONANCE_WEB__HOST']}:{env['RESONANCE_WEB__PORT']}"
        self.svscan: subprocess.Popen | None = None

    # --- starting -----------------------------------------------------------------

    def init(self) -> subprocess.CompletedProcess:
        """The oneshot, run as s6-rc runs it before the longruns."""
        return subprocess.run(["sh", str(INIT_SCRIPT)], env=self.env, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        build_scan_dir(self.scan_dir)
        init = self.init()
        assert init.returncode == 0, f"init-resonance failed:\n{init.stdout}{init.stderr}"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.svscan = subprocess.Popen(["s6-svscan", str(self.scan_dir)], env=self.env, stdout=self._log,
                                       stderr=subprocess.STDOUT, start_new_session=True)

    # --- looking ------------------------------------------------------------------

    def status(self, service: str) -> dict | None:
        """s6-svstat's view: up, pid, seconds in that state; None before the supervisor is there."""
        result = subprocess.run(["s6-svstat", "-o", "up,pid,updownfor,exitcode,signal", str(self.scan_dir / service)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            return None
        up, pid, seconds, exitcode, sig = result.stdout.split()
        return {"up": up == "true", "pid": int(pid), "seconds": int(seconds), "exitcode": int(exitcode), "signal": sig}

    def pid(self, service: str) -> int | None:
        status = self.status(service)
        return status["pid"] if status and status["up"] and status["pid"] > 0 else None

    def all_up(self, min_seconds: int = 0) -> bool:
        statuses = [self.status(service) for service in SERVICES]
        return all(s and s["up"] and s["seconds"] >= min_seconds for s in statuses)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def job_statuses(self) -> dict:
        try:
            return json.loads((self.data_dir / "job_status.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def processes(self) -> dict[str, list[int]]:
        """Service -> its process and that process's descendants (gunicorn's workers)."""
        tree = {}
        for service in SERVICES:
            pid = self.pid(service)
            tree[service] = [pid, *descendants(pid)] if pid else []
        return tree

    def supervisors(self) -> list[int]:
        return [self.svscan.pid, *children(self.svscan.pid)] if self.svscan else []

    # --- stopping -----------------------------------------------------------------

    def request_stop(self) -> None:
        """What `docker stop` amounts to: every service gets SIGTERM and its time to finish."""
        subprocess.run(["s6-svscanctl", "-t", str(self.scan_dir)], check=True, timeout=10)

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the tree if it still runs, then make sure nothing of it is left; svscan's status."""
        if self.svscan is None:
            return None
        if self.svscan.poll() is None:
            try:
                self.request_stop()
                self.svscan.wait(timeout=timeout)
            except (subprocess.SubprocessError, OSError):
                pass
        self._kill_leftovers()
        if self.svscan.poll() is None:
            self.svscan.kill()
        status = self.svscan.wait(timeout=10)
        self._log.close()
        return status

    def _kill_leftovers(self) -> None:
        for _ in range(50):
            leftovers = marked_pids(self.marker)
            if not leftovers:
                return
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p in all_pids() if parent_pid(p) in frontier]
        found.extend(kids)
        frontier = kids
    return found


def parse_json_files(directory: Path) -> dict[str, object]:
    """Every JSON file in the data dir, parsed (a ValueError names a broken one)."""
    parsed = {}
    for path in sorted(directory.glob("*.json")):
        try:
            parsed[path.name] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path.name} is not valid JSON after the stop: {exc}") from None
    return parsed


def temp_files(directory: Path) -> Iterable[Path]:
    return directory.glob(".*.tmp")
