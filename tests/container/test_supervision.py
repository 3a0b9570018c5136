"""The five services under real s6 (Debian's s6-svscan): up, restarted when killed, stopped cleanly.

How the tree is built from s6-overlay/s6-rc.d is explained in container/harness.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from container.harness import (
    RUNNERS,
    SERVICES,
    marked_pids,
    parse_json_files,
    temp_files,
    wait_for,
)

pytestmark = pytest.mark.s6


def health(tree) -> requests.Response | None:
    try:
        response = requests.get(f"{tree.web_url}/health", timeout=2)
    except requests.ConnectionError:
        return None
    return response if response.status_code == 200 else None


def start_and_wait(tree, stable_seconds: int = 1, run_on_start: bool = False) -> None:
    # Without runs at start the runners idle, and a stop is immediate (the stop test wants them).
    tree.env["RESONANCE_SCHEDULE__RUN_ON_START"] = "true" if run_on_start else "false"
    tree.start()
    wait_for(lambda: tree.all_up(min_seconds=stable_seconds), timeout=30,
             what=f"the five services up for {stable_seconds} s\n{tree.log()}")
    wait_for(lambda: health(tree), timeout=20, what=f"/health\n{tree.log()}")


def test_it_brings_up_the_five_services_and_the_web_answers_health(service_tree):
    start_and_wait(service_tree)
    body = health(service_tree).json()
    assert body["status"] == "ok"
    # The container's HEALTHCHECK command agrees.
    check = subprocess.run([sys.executable, "-m", "app.healthcheck"], env=service_tree.env, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    # Each runner is in its loop, not crash-looping: it has announced itself.
    statuses = wait_for(lambda: (s := service_tree.job_statuses()) and all(
        s.get(job, {}).get("runner_started_at") for job in RUNNERS) and s, timeout=15, what="the runners' status")
    assert set(RUNNERS) <= set(statuses)
    assert "crashed" not in service_tree.log()
    # The runners import only their pipeline: no web stack in them. Flask's templates need
    # markupsafe, whose C extension shows in a process's memory map (pure Python does not).
    web_worker = service_tree.processes()["web-ui"][-1]
    assert "/markupsafe/" in Path(f"/proc/{web_worker}/maps").read_text(encoding="utf-8")
    for job in RUNNERS:
        assert "/markupsafe/" not in Path(f"/proc/{service_tree.pid(job)}/maps").read_text(encoding="utf-8"), \
            f"{job} loaded the web stack"


def test_it_restarts_each_service_killed_with_sigkill(service_tree):
    start_and_wait(service_tree)
    for service in SERVICES:
        killed = service_tree.pid(service)
        os.kill(killed, signal.SIGKILL)
        started = time.monotonic()
        wait_for(lambda s=service, k=killed: (pid := service_tree.pid(s)) and pid != k, timeout=5,
                 what=f"{service} back under a new pid\n{service_tree.log()}")
        assert time.monotonic() - started < 5
        report = f"[{service}] crashed: killed by signal 9 (SIGKILL); s6 restarts it"
        wait_for(lambda r=report: r in service_tree.log(), timeout=5,
                 what=f"{service}'s finish script reporting the crash")
    # gunicorn's orphaned worker lets go of the port; the new master serves again.
    wait_for(lambda: health(service_tree), timeout=15, what=f"/health after the restart\n{service_tree.log()}")
    wait_for(lambda: service_tree.all_up(min_seconds=1), timeout=10, what="the restarted services staying up")


def test_it_stops_every_process_cleanly_with_the_data_files_intact(service_tree):
    start_and_wait(service_tree, run_on_start=True)
    # Stop while the runs at start are in hand (or just done): a stop lets the item finish.
    wait_for(lambda: all(s.get("state") == "running" or s.get("last_run")
                         for s in (service_tree.job_statuses().get(job, {}) for job in RUNNERS)),
             timeout=20, what="the runs at start")
    processes = [pid for pids in service_tree.processes().values() for pid in pids] + service_tree.supervisors()
    assert len(processes) >= 4 + 1 + 1 + 4  # the services, gunicorn's worker(s), s6-svscan, a supervisor each

    service_tree.request_stop()
    assert service_tree.svscan.wait(timeout=45) == 0
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in processes) and not marked_pids(
        service_tree.marker), timeout=10, what="every process of the tree gone")

    log = service_tree.log()
    for service in SERVICES:
        assert f"[{service}] stopped\n" in log, f"{service} did not exit cleanly:\n{log}"
    assert "crashed" not in log, log
    files = parse_json_files(service_tree.data_dir)
    assert not list(temp_files(service_tree.data_dir)), "a write was cut short"
    assert not list(service_tree.data_dir.glob("*.corrupt-*")), "a file was found unreadable"
    for job in RUNNERS:
        status = files["job_status.json"][job]
        assert status["state"] == "stopped", status
        assert status["last_run"]["finished_at"], "the run in hand was finished and recorded"
