import logging
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from conditions import wait_for
from job_pipelines import broken_run, count_run, register_all
from storage_mounts import Filler, read_only, small_tmpfs

from app import pipelines
from app.config import MAX_DURATION, ConfigError
from jobs.runner import JobRunner

SCRIPT = Path(__file__).with_name("job_pipelines.py")


@pytest.fixture(autouse=True)
def registered_test_pipelines(monkeypatch):
    monkeypatch.setattr(pipelines, "PIPELINES", dict(pipelines.PIPELINES))
    register_all()


def start_runner(python, env, *args):
    return subprocess.Popen([python, str(SCRIPT), "job", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_it_runs_a_registered_pipeline_and_records_its_status(repository):
    result = JobRunner("count", repository).run()
    assert result.outcome == "ok" and result.summary == "1 runs so far"
    status = repository.job_statuses()["count"]
    assert status["state"] == "idle"
    assert status["last_run"]["outcome"] == "ok"
    assert status["last_run"]["summary"] == "1 runs so far"
    assert status["last_run"]["error"] is None


def test_it_reports_a_crashed_run_and_lives_on(repository):
    runner = JobRunner("broken", repository, run_once=broken_run)
    result = runner.run()
    assert result.outcome == "failed" and result.error == "ValueError: upstream said no"
    assert repository.job_statuses()["broken"]["last_run"]["error"] == "ValueError: upstream said no"
    assert runner.run().outcome == "failed"  # still usable


def test_it_fails_a_run_with_wrong_settings_without_crashing(repository, monkeypatch):
    monkeypatch.setenv("RESONANCE_WEB__PORT", "nope")
    result = JobRunner("count", repository, run_once=count_run).run()
    assert result.outcome == "failed" and "web.port" in result.error


def test_it_runs_on_request_and_on_schedule_and_keeps_a_log(repository, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("LB_FETCH_INTERVAL", "1")  # the count job uses the default (lb-fetch) interval
    runner = JobRunner("count", repository, poll_seconds=0.1)
    thread = threading.Thread(target=runner.serve, kwargs={"run_on_start": False})
    thread.start()
    try:
        assert wait_for(lambda: repository.job_statuses().get("count", {}).get("next_run"))
        assert wait_for(lambda: len(repository.processed()) >= 2, timeout=30)  # scheduled every second
        before = len(repository.processed())
        repository.request_run("count")
        assert wait_for(lambda: repository.job_statuses()["count"].get("last_run", {}).get("trigger") == "manual")
        assert len(repository.processed()) > before
    finally:
        runner.stop_event.set()
        thread.join(timeout=10)
    assert repository.job_statuses()["count"]["state"] == "stopped"
    messages = [event["message"] for event in repository.job_log("count")]
    assert "counted one run" in messages
    assert any("run ok" in m for m in messages)


def test_it_takes_a_run_asked_for_later_when_it_is_due(repository, monkeypatch):
    monkeypatch.setenv("LB_FETCH_INTERVAL", "3600")
    runner = JobRunner("count", repository, poll_seconds=0.1)
    thread = threading.Thread(target=runner.serve, kwargs={"run_on_start": False})
    thread.start()
    try:
        assert wait_for(lambda: repository.job_statuses().get("count", {}).get("next_run"))
        repository.request_run("count", after_seconds=2)
        due = repository.run_requests()["count"]
        assert wait_for(lambda: repository.job_statuses()["count"].get("last_run", {}).get("trigger") == "manual",
                        timeout=30)
        assert repository.job_statuses()["count"]["last_run"]["started_at"] >= due  # not before
        assert repository.run_requests() == {}
    finally:
        runner.stop_event.set()
        thread.join(timeout=10)


def test_it_runs_each_run_in_a_child_process_when_isolated(python, repository, subprocess_env, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", subprocess_env["PYTHONPATH"])
    runner = JobRunner("whoami", repository, poll_seconds=0.1, isolate=True, child_command=[python, str(SCRIPT), "job"])
    thread = threading.Thread(target=runner.serve, kwargs={"run_on_start": True})
    thread.start()
    try:
        assert wait_for(lambda: repository.processed(), timeout=20)
        repository.request_run("whoami")
        assert wait_for(lambda: len(repository.processed()) == 2, timeout=20)
    finally:
        runner.stop_event.set()
        thread.join(timeout=20)
    child_pids = {int(entry.split(":")[1]) for entry in repository.processed()}
    assert len(child_pids) == 2 and os.getpid() not in child_pids  # a fresh process per run
    status = repository.job_statuses()["whoami"]
    assert status["last_run"]["trigger"] == "manual" and status["last_run"]["outcome"] == "ok"
    assert status["state"] == "stopped"


def test_it_makes_the_check_between_runs_only_when_needed(repository, monkeypatch):
    wanted, asked = threading.Event(), []

    def needed(repo) -> bool:
        asked.append(wanted.is_set())
        return wanted.is_set()

    monkeypatch.setitem(pipelines.BETWEEN_RUNS, "count",
                        pipelines.BetweenRuns("job_pipelines:note_check", needed, every=0.1))
    runner = JobRunner("count", repository, poll_seconds=0.05)
    thread = threading.Thread(target=runner.serve, kwargs={"run_on_start": False})
    thread.start()
    try:
        wait_for(lambda: len(asked) >= 3, timeout=30, what="the runner asking three times")
        assert repository.downloaded() == []  # not needed: never made
        wanted.set()
        assert wait_for(lambda: len(repository.downloaded()) >= 2, timeout=30)  # needed: every 0.1 s
    finally:
        runner.stop_event.set()
        thread.join(timeout=10)
    assert repository.processed() == []  # a check is not a run


def test_it_runs_a_job_once_at_a_time_across_processes(python, subprocess_env, repository):
    first = start_runner(python, subprocess_env, "slow", "--once")
    assert wait_for(lambda: repository.job_statuses().get("slow", {}).get("state") == "running")
    second = start_runner(python, subprocess_env, "slow", "--once")
    out, err = second.communicate(timeout=30)
    assert second.returncode == 3
    assert "slow is already running" in err
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert "slow: ok: 10 items done" in out


def test_it_stops_cleanly_on_sigterm(python, subprocess_env, repository):
    runner = start_runner(python, subprocess_env, "slow")
    assert wait_for(lambda: len(repository.processed()) >= 2)
    runner.send_signal(signal.SIGTERM)
    out, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err
    status = repository.job_statuses()["slow"]
    assert status["state"] == "stopped"
    assert status["last_run"]["summary"].endswith("items done")
    assert len(repository.processed()) < 10  # the run was cut short between items
    assert "stop requested after" in out


def test_it_reports_a_partial_run_with_what_is_left_and_its_own_exit_status(python, subprocess_env, repository):
    runner = start_runner(python, {**subprocess_env, "RESONANCE_LASTFM__API_KEY": "s3cret"}, "partial", "--once")
    out, err = runner.communicate(timeout=30)
    assert runner.returncode == 4
    assert "partial: 1 of 2 items done; left for the next run: 1 item: the service answered 503" in out
    last_run = repository.job_statuses()["partial"]["last_run"]
    assert last_run["outcome"] == "partial" and last_run["error"] is None
    assert last_run["left"].startswith("1 item: the service answered 503") and "s3cret" not in last_run["left"]


def test_it_exits_non_zero_on_a_bad_config(python, subprocess_env):
    env = {**subprocess_env, "SLSKD_INTERVAL": "often"}
    runner = start_runner(python, env, "count", "--once")
    out, err = runner.communicate(timeout=30)
    assert runner.returncode == 2
    assert "schedule.slskd_downloader: Not a duration" in err


def test_it_names_the_known_jobs_for_an_unknown_one(python, subprocess_env):
    runner = start_runner(python, subprocess_env, "nosuch", "--once")
    out, err = runner.communicate(timeout=30)
    assert runner.returncode == 2 and "unknown job 'nosuch'" in err and "count" in err


def test_it_fails_a_run_with_the_plain_reason_when_the_disk_is_full(repository, data_dir, caplog):
    with small_tmpfs(data_dir, size_kb=128):
        filler = Filler(data_dir)
        runner = JobRunner("count", repository, run_once=count_run)
        assert runner.run().outcome == "ok"
        filler.fill()

        result = runner.run()

        reason = f"Cannot write to the data folder {data_dir}: the disk is full (No space left on device)"
        assert result.outcome == "failed" and result.error == reason
        assert len(repository.processed()) == 1  # not run: it could not have recorded what it did
        assert f"could not record the status of count: {reason}" in caplog.text
        assert not [record for record in caplog.records if record.exc_info]  # no traceback
        filler.remove()
        assert runner.run().summary == "2 runs so far"
        assert repository.job_statuses()["count"]["last_run"]["outcome"] == "ok"


def test_it_keeps_serving_without_a_traceback_when_the_data_dir_is_read_only(repository, data_dir, caplog):
    runner = JobRunner("count", repository, run_once=count_run, stop_event=threading.Event())
    runner.run()
    runner.stop_event.set()  # the serve loop ends after its start
    with read_only(data_dir):
        runner.serve(run_on_start=True)  # returns: no crash, so no restart loop under s6

    reason = f"Cannot write to the data folder {data_dir}: it is mounted read-only (Read-only file system)"
    assert f"count not run: {reason}" in caplog.text
    assert f"could not record the status of count: {reason}" in caplog.text
    assert not [record for record in caplog.records if record.exc_info]
    assert len(repository.processed()) == 1


def test_it_reports_a_check_between_runs_that_meets_a_full_disk_without_a_traceback(repository, data_dir, caplog,
                                                                                   monkeypatch):
    monkeypatch.setitem(pipelines.BETWEEN_RUNS, "count",
                        pipelines.BetweenRuns("job_pipelines:note_check", lambda repo: True, every=0.1))
    with small_tmpfs(data_dir, size_kb=128):
        repository.mark_downloaded(["written while there was room"])
        Filler(data_dir).fill()
        result = JobRunner("count", repository).check_between_runs()

    assert result.error == f"Cannot write to the data folder {data_dir}: the disk is full (No space left on device)"
    assert f"count check between runs failed: {result.error}" in caplog.text
    assert not [record for record in caplog.records if record.exc_info]


def test_it_schedules_the_longest_interval_the_settings_take(repository, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("LB_FETCH_INTERVAL", str(MAX_DURATION))  # the count job uses the lb-fetch interval
    runner = JobRunner("count", repository)
    runner.stop_event.set()  # serve schedules, publishes the next run, and stops at its first look
    runner.serve(run_on_start=False)
    assert runner.interval == MAX_DURATION
    assert MAX_DURATION - 60 < runner.scheduler.idle_seconds <= MAX_DURATION
    assert repository.job_statuses()["count"]["state"] == "stopped"
    assert "count runs every 52 weeks 1 day" in caplog.messages
    monkeypatch.setenv("LB_FETCH_INTERVAL", str(MAX_DURATION + 1))  # one second more is refused, not run
    with pytest.raises(ConfigError, match="schedule.lb_fetch: Must be at most 365 days"):
        JobRunner("count", repository).load_settings()
