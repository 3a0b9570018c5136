"""Fixtures for the HTTP client tests: a fake clock/sleep and deterministic retry policies."""

from __future__ import annotations

import pytest

from app.clients.http import RateLimiter, RetryPolicy


class FakeClock:
    """A monotonic clock that only moves when ``sleep`` is called; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    """Delays requested by a client's retry loop (use ``sleeps.append`` as the sleep function)."""
    return []


@pytest.fixture
def retry() -> RetryPolicy:
    """Four attempts, 1 s doubling backoff, no jitter: waits are 1, 2, 4."""
    return RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, max_total_wait=60.0, jitter=0.0)


@pytest.fixture
def free_limiter(clock: FakeClock) -> RateLimiter:
    """A limiter that never waits (for tests not about pacing)."""
    return RateLimiter(0.0, clock=clock, sleep=clock.sleep)
