"""What stays of a job's service while nothing is due: a small process that waits, and starts the runner.

``resonance job NAME`` (each job's s6 service) is this. The runner (jobs.runner,
``resonance job NAME --until-idle``) is its child: it runs what is due, follows
downloads between runs, and ends once nothing is due for a while, saying when it
wants to be started again. This process then waits, importing nothing beyond the
standard library: three runners idle at about 12 MB each instead of 24.

It starts the runner again when that time comes, or at once when the web UI asks
for a run ("Run now" rewrites ``run_requests.json``: a stat every two seconds
shows it; the file is never read here). SIGTERM is passed on to a runner at work,
which finishes its item; in standby a last short runner records the stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from app.paths import RUN_REQUESTS_FILE, data_dir_from_env, file_version

POLL_SECONDS = 2.0  # how soon a "Run now" is seen in standby
RETRY_SECONDS = 30.0  # a runner that ended without saying when to come back is started again after this
EXIT_CONFIG = 2  # app.cli's status for wrong settings
#: The environment variable naming the pipe on which the runner says when it wants to be started again.
WAKE_FD_ENV = "RESONANCE_WAKE_FD"


def runner_command(job: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", "job", job]


class Standby:
    def __init__(self, job: str, command: list[str] | None = None, poll_seconds: float = POLL_SECONDS):
        self.job = job
        self.command = command or runner_command(job)
        self.poll_seconds = poll_seconds
        self.requests = data_dir_from_env() / RUN_REQUESTS_FILE
        self.stop = threading.Event()
        self.child: subprocess.Popen | None = None

    def serve(self) -> int:
        first = True
        while not self.stop.is_set():
            wake = self._run_runner([] if first else ["--resume"])
            if self.stop.is_set():
                if self.child.returncode != 0:  # stopped before it could say so itself
                    self._record_stopped()
                return 0
            if first and self.child.returncode == EXIT_CONFIG:
                return EXIT_CONFIG  # wrong settings or an unknown job: the runner said which; s6 reports it
            first = False
            if wake is None:
                # Ended without a word (it crashed, or could not start): s6 would restart a service that died.
                print(f"resonance: the {self.job} runner ended (status {self.child.returncode}); "
                      f"starting it again in {RETRY_SECONDS:.0f} s", file=sys.stderr, flush=True)
                wake = (time.time() + RETRY_SECONDS, file_version(self.requests))
            self._wait(*wake)
        self._record_stopped()  # stopped in standby
        return 0

    def _run_runner(self, extra: list[str]) -> tuple[float, tuple | None] | None:
        """Run the runner until it stands by: (when to start it again, the requests file as it last saw it)."""
        read_end, write_end = os.pipe()
        try:
            self.child = subprocess.Popen([*self.command, "--until-idle", *extra], pass_fds=(write_end,),
                                          env={**os.environ, WAKE_FD_ENV: str(write_end)})
        finally:
            os.close(write_end)
        with os.fdopen(read_end, "r") as said:
            stopping = False
            while self.child.poll() is None:
                if self.stop.wait(0.2) and not stopping:
                    self.child.send_signal(signal.SIGTERM)  # finish the current item, then stop
                    stopping = True
            message = said.read().split()
        if len(message) != 4:
            return None
        wake, *version = message
        seen = None if version == ["-", "-", "-"] else tuple(int(part) for part in version)
        return float(wake), seen

    def _wait(self, until: float, requests_seen: tuple | None) -> None:
        while not self.stop.is_set() and time.time() < until:
            if file_version(self.requests) != requests_seen:
                return  # the web UI asked for a run (or took one back): the runner looks
            self.stop.wait(min(self.poll_seconds, max(0.0, until - time.time())))

    def _record_stopped(self) -> None:
        subprocess.run([*self.command, "--stopped"], check=False, timeout=60)


def say_when_to_wake(seconds: float, requests_seen: tuple | None) -> bool:
    """For the runner: tell the standby that started it when to start it again; False when none did."""
    fd = os.environ.get(WAKE_FD_ENV)
    if not fd:
        return False
    version = " ".join(map(str, requests_seen)) if requests_seen else "- - -"
    try:
        with os.fdopen(int(fd), "w") as pipe:
            pipe.write(f"{time.time() + seconds:.3f} {version}\n")
    except OSError:
        return False
    return True


def serve(job: str) -> int:
    standby = Standby(job)

    def stop(signum, frame):
        standby.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return standby.serve()
