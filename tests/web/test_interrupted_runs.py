"""A run whose process was killed shows as interrupted (Jobs, Downloads, API) until the next run."""

import signal
import subprocess
from pathlib import Path

import pytest
from conditions import wait_for
from job_pipelines import count_run
from websupport import parse

from jobs.runner import JobRunner

SCRIPT = Path(__file__).parent.parent / "job_pipelines.py"
JOB = "slskd-downloader"


@pytest.fixture
def killed_run(python, subprocess_env, repository):
    """A real `resonance job slskd-downloader --once` (its run blocks), killed with SIGKILL midway."""
    env = {**subprocess_env, "BLOCKED_JOB": JOB}
    child = subprocess.Popen([python, str(SCRIPT), "job", JOB, "--once"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: repository.job_running(JOB), timeout=30, what="the run to start")
        started_at = repository.job_statuses()[JOB]["started_at"]
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert repository.job_statuses()[JOB]["state"] == "running"  # what the killed run left behind
    return started_at


def test_it_shows_a_killed_run_as_interrupted(client, repository, killed_run):
    api = client.get("/api/v1/jobs").json["jobs"]
    job = next(j for j in api if j["name"] == JOB)
    assert job["state"] == "interrupted" and job["running"] is False
    assert job["started_at"] == killed_run

    jobs_page = parse(client.get("/jobs").text)
    assert jobs_page.one(f"#job-{JOB} .badge.state-interrupted").text == "interrupted"
    assert "was interrupted" in jobs_page.one(f"#job-{JOB}").text
    assert "was interrupted" in parse(client.get("/downloads").text).one(".dl-job").text
    # Not running: "Run now" can be asked again.
    assert client.form(f"/jobs/{JOB}/run").status_code == 303
    assert repository.job_run_state(JOB) == "interrupted" and not repository.job_running(JOB)


def test_it_clears_the_interruption_with_the_next_run(client, repository, killed_run, caplog):
    result = JobRunner(JOB, repository, run_once=count_run).run()
    assert result.outcome == "ok"
    assert f"the run started at {killed_run} was interrupted" in caplog.text
    assert repository.job_run_state(JOB) is None
    job = next(j for j in client.get("/api/v1/jobs").json["jobs"] if j["name"] == JOB)
    assert job["state"] == "idle" and job["last_run"]["outcome"] == "ok"
    assert "interrupted" not in client.get("/jobs").text
    assert "was interrupted" not in client.get("/downloads").text


def test_it_keeps_showing_the_interruption_when_the_runner_restarts(repository, killed_run):
    runner = JobRunner(JOB, repository, run_once=count_run, poll_seconds=0.05)
    runner.stop_event.set()  # serve sets itself up, then stops at once
    runner.serve(run_on_start=False)
    assert repository.job_run_state(JOB) == "interrupted"
