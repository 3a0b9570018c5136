"""Waiting for a condition, never for a fixed time: tests must pass on a busy machine."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.05,
             what: str = "condition") -> T:
    """Poll until ``condition()`` is truthy and return its value; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def end_process(process, timeout: float = 30.0) -> None:
    """Ask a process to stop (SIGTERM) and wait for it; kill it if it has not ended within ``timeout``."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
