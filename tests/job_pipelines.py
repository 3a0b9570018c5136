"""Trivial pipelines that prove the job runtime (registered by the tests)."""

import os
import sys
import time
import uuid

from app import pipelines
from app.pipelines import RunResult


def count_run(ctx):
    ctx.repository.mark_processed([str(uuid.uuid4())])
    ctx.log.info("counted one run")
    return RunResult(f"{len(ctx.repository.processed())} runs so far")


def slow_run(ctx):
    """Ten items of 0.3 s; stops between items when asked."""
    done = 0
    for n in range(10):
        if ctx.stop_requested():
            ctx.log.info("stop requested after %d items", done)
            break
        time.sleep(0.3)
        ctx.repository.mark_processed([f"item-{n}"])
        done += 1
    return RunResult(f"{done} items done")


def whoami_run(ctx):
    ctx.repository.mark_processed([f"pid:{os.getpid()}"])
    return RunResult("noted the process id")


def note_check(ctx):
    ctx.repository.mark_downloaded([f"check-{len(ctx.repository.downloaded())}"])
    return RunResult("checked")


def blocked_run(ctx):
    """Holds its run until asked to stop: for tests that kill a run midway."""
    ctx.log.info("blocked until stopped")
    while not ctx.stop_requested():
        time.sleep(0.05)
    return RunResult("stopped while blocked")


def partial_run(ctx):
    ctx.repository.mark_processed(["half"])
    return RunResult("1 of 2 items done", left="1 item: the service answered 503 (api_key=s3cret)")


def broken_run(ctx):
    raise ValueError("upstream said no")


TEST_PIPELINES = {"count": "job_pipelines:count_run", "slow": "job_pipelines:slow_run", "broken": "job_pipelines:broken_run",
                  "whoami": "job_pipelines:whoami_run", "blocked": "job_pipelines:blocked_run",
                  "partial": "job_pipelines:partial_run"}


def register_all():
    for name, target in TEST_PIPELINES.items():
        pipelines.register(name, target)


if __name__ == "__main__":
    # The resonance command with the test pipelines registered: job_pipelines.py job NAME [--once]
    register_all()
    if os.environ.get("BLOCKED_JOB"):  # a real job name whose runs block, e.g. slskd-downloader
        pipelines.register(os.environ["BLOCKED_JOB"], "job_pipelines:blocked_run")
    from app import cli

    cli.RUN_COMMAND = [sys.executable, __file__, "job"]  # runs happen in children like this one
    sys.exit(cli.main(sys.argv[1:]))
