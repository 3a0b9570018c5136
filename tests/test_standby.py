"""A job's service stands by between runs: a small process that starts the runner when a run is due or asked for."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from conditions import wait_for
from container.harness import children


def start_service(python, env, job="lb-fetch"):
    """``resonance job JOB`` as s6 starts it, standing by half a second after the runner is quiet."""
    return subprocess.Popen([python, "-m", "app.launcher", "job", job], env={**env, "RESONANCE_STANDBY_AFTER": "0.5"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def standing_by(service, repository, job="lb-fetch") -> bool:
    status = repository.job_statuses().get(job, {})
    return not children(service.pid) and status.get("state") == "idle" and bool(status.get("next_run"))


def test_it_stands_by_between_runs_and_starts_the_runner_for_a_run_now(python, subprocess_env, repository):
    service = start_service(python, subprocess_env)
    try:
        wait_for(lambda: standing_by(service, repository), timeout=60, what="the runner standing by after its start")
        status = repository.job_statuses()["lb-fetch"]
        assert status["last_run"]["trigger"] == "start"
        # Nothing of the app beyond the standard library stays: no orjson, no YAML parser, no portalocker.
        maps = Path(f"/proc/{service.pid}/maps").read_text(encoding="utf-8")
        assert "orjson" not in maps and "_yaml" not in maps
        modules = subprocess.run([python, "-c", "import sys, jobs.standby; print(sorted(m for m in "
                                  "('marshmallow', 'yaml', 'orjson', 'portalocker', 'app.repository', 'app.config') "
                                  "if m in sys.modules))"], env=subprocess_env, capture_output=True, text=True)
        assert modules.stdout.strip() == "[]", modules.stderr

        repository.request_run("lb-fetch")  # "Run now" in the web UI
        wait_for(lambda: repository.job_statuses()["lb-fetch"]["last_run"]["trigger"] == "manual", timeout=60,
                 what="the run asked for")
        wait_for(lambda: standing_by(service, repository), timeout=60, what="the runner standing by again")
        # The schedule went on from where it was: a run asked for does not move the next one.
        assert repository.job_statuses()["lb-fetch"]["next_run"] == status["next_run"]
        assert repository.job_statuses()["lb-fetch"]["runner_started_at"] == status["runner_started_at"]
    finally:
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=60)
    assert service.returncode == 0, output
    assert repository.job_statuses()["lb-fetch"]["state"] == "stopped"
    assert repository.job_statuses()["lb-fetch"].get("next_run") is None


def test_it_passes_a_stop_on_to_a_runner_at_work(python, subprocess_env, repository):
    service = start_service(python, subprocess_env)
    wait_for(lambda: children(service.pid) and repository.job_statuses().get("lb-fetch", {}).get("runner_started_at"),
             timeout=30, what="the runner at work")
    service.send_signal(signal.SIGTERM)
    output, _ = service.communicate(timeout=60)
    assert service.returncode == 0, output
    assert "lb-fetch runner stopped" in output
    assert repository.job_statuses()["lb-fetch"]["state"] == "stopped"


def test_it_says_which_jobs_there_are_for_an_unknown_one(python, subprocess_env):
    service = start_service(python, subprocess_env, job="nosuch")
    output, _ = service.communicate(timeout=60)
    assert service.returncode == 2
    assert "unknown job 'nosuch'" in output
