"""The search governor: every Soulseek search of the process goes through it.

The Soulseek server bans accounts that search in bursts (for half an hour),
so three rules hold for every search, whichever thread or run starts it:

- at most ``max_in_flight`` searches at once (slskd runs two at a time anyway;
  more would only queue inside slskd and skew its timeouts);
- at most ``per_window`` search starts in any ``window`` seconds (34 per 220 s
  is the pace community tools have run at for years without bans); every
  attempted start counts, even one slskd refused, because we cannot know
  whether it reached the server;
- one search start at a time: slskd answers a concurrent ``POST /searches``
  with 429.

A search whose start slskd may have received without our knowing (the reply
to ``POST /searches`` was lost or unreadable), or that we could not follow to
its end or delete, may still be running: its slot is *held* (``hold``) until
slskd confirms it gone (``settle``) or until it must have ended by itself,
so the limit holds even then. The searcher chooses every search's id, so it
can look such a search up, and delete it, by that id.

Queries are deduplicated: a query already running is not started again (the
second caller gets the first one's result), and a finished query's result is
reused for ``reuse_seconds``.

The window survives restarts when a ``ledger`` is given: an object with
``reserve(now, per_window, window) -> float`` that records the start in the
data dir under a file lock (``Repository.reserve_search_slot``) and returns 0,
or returns how long to wait. Several processes sharing a data dir then share
one window too.

The clock is injectable (``clock`` gives epoch seconds, ``sleep`` waits) so
tests drive time by hand.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

DEFAULT_MAX_IN_FLIGHT = 2
DEFAULT_PER_WINDOW = 34
DEFAULT_WINDOW = 220.0
DEFAULT_REUSE_SECONDS = 300.0
WAIT_SLICE = 0.25  # how often a waiting caller checks whether it should stop
ON_WAIT_EVERY = 1.0  # seconds between a waiting caller's ``on_wait`` calls


class Stopped(Exception):
    """The caller asked to stop while waiting for a search slot."""


class Ledger(Protocol):
    def reserve(self, now: float, per_window: int, window: float) -> float:
        """Record a search start at ``now`` and return 0, or return the seconds to wait."""


@dataclass
class Permit:
    """A granted search slot; ``started_at`` is when it was counted in the window."""

    query: str
    started_at: float
    waited: float
    held: bool = False  # the slot outlives the permit (see ``SearchGovernor.hold``)


def query_key(text: str) -> str:
    """Queries that differ only in case, spacing or word order are the same search."""
    return " ".join(sorted(text.casefold().split()))


class SearchGovernor:
    def __init__(
        self,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        per_window: int = DEFAULT_PER_WINDOW,
        window: float = DEFAULT_WINDOW,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        ledger: Ledger | None = None,
        reuse_seconds: float = DEFAULT_REUSE_SECONDS,
    ) -> None:
        if max_in_flight < 1 or per_window < 1 or window <= 0:
            raise ValueError("the governor needs max_in_flight >= 1, per_window >= 1 and window > 0")
        self.max_in_flight = max_in_flight
        self.per_window = per_window
        self.window = float(window)
        self.clock = clock
        self.sleep = sleep or time.sleep
        self.ledger = ledger
        self.reuse_seconds = reuse_seconds
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._starts: deque[float] = deque()
        self._in_flight = 0
        self._held: dict[str, float] = {}  # search id → until when its slot stays taken
        self._start_lock = threading.Lock()
        self._running: dict[str, Future] = {}
        self._finished: dict[str, tuple[float, Any]] = {}
        self.started = 0  # searches granted since creation (for reports)

    def configure(self, *, max_in_flight: int, per_window: int, window: float, ledger: Ledger | None) -> None:
        """Apply the current settings (they can change between runs)."""
        with self._changed:
            self.max_in_flight, self.per_window, self.window = max_in_flight, per_window, float(window)
            self.ledger = ledger
            self._changed.notify_all()

    # -- slots ---------------------------------------------------------------------

    def _window_wait(self, now: float) -> float:
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()
        if len(self._starts) < self.per_window:
            return 0.0
        return self._starts[0] + self.window - now

    def acquire(self, query: str = "", should_stop: Callable[[], bool] | None = None,
                on_wait: Callable[[], None] | None = None) -> Permit:
        """Wait for a free slot within the window limit; raises ``Stopped`` when asked to.

        ``on_wait`` is called about once a second while every slot is taken (the
        searcher then checks on the searches whose slot is held)."""
        should_stop = should_stop or (lambda: False)
        began = self.clock()
        last_call = time.monotonic()
        while True:
            if should_stop():
                raise Stopped()
            if on_wait is not None and time.monotonic() - last_call >= ON_WAIT_EVERY:
                last_call = time.monotonic()
                on_wait()
            with self._changed:
                now = self.clock()
                self._expire_held(now)
                if self._in_flight >= self.max_in_flight:
                    held_until = min(self._held.values(), default=None)
                    if held_until is None:
                        self._changed.wait(WAIT_SLICE)  # a search ends and releases its slot
                        continue
                    # A held slot frees itself at its deadline: time (the injectable clock) must pass.
                    wait = max(min(held_until - now, WAIT_SLICE), 0.0)
                else:
                    wait = self._window_wait(now)
                    if wait <= 0 and self.ledger is not None:
                        wait = self.ledger.reserve(now, self.per_window, self.window)
                    if wait <= 0:
                        self._starts.append(now)
                        self._in_flight += 1
                        self.started += 1
                        return Permit(query, now, now - began)
            # Outside the lock: other threads may release slots meanwhile.
            self.sleep(min(wait, WAIT_SLICE))

    def mark_started(self, permit: Permit) -> None:
        """Re-stamp the permit's start with the time slskd answered the start request.

        The slot was counted before the request went out; the server saw it a
        little later. Counting from the answer keeps the window exact as the
        server sees it, whatever the request's latency.
        """
        with self._changed:
            now = self.clock()
            try:
                self._starts.remove(permit.started_at)
            except ValueError:
                return  # already outside the window
            self._starts.append(now)
            self._starts = deque(sorted(self._starts))
            permit.started_at = now

    def release(self, permit: Permit) -> None:
        with self._changed:
            if permit.held:
                return  # the slot went to ``hold``: freed by ``settle`` or when it expires
            self._in_flight = max(0, self._in_flight - 1)
            self._changed.notify_all()

    def hold(self, permit: Permit, search_id: str, until: float) -> None:
        """Keep the permit's slot taken after the permit ends: the search ``search_id`` may
        still run in slskd. Freed by ``settle(search_id)`` or at ``until`` (when it would have
        ended by itself)."""
        with self._changed:
            if permit.held:
                self._held[search_id] = max(until, self._held.get(search_id, until))
                return
            permit.held = True
            self._held[search_id] = until

    def settle(self, search_id: str) -> bool:
        """slskd confirmed the search finished or gone: its held slot is free again."""
        with self._changed:
            if self._held.pop(search_id, None) is None:
                return False
            self._in_flight = max(0, self._in_flight - 1)
            self._changed.notify_all()
            return True

    def held(self) -> list[str]:
        """Ids of the searches whose slot is held, oldest deadline first."""
        with self._changed:
            self._expire_held(self.clock())
            return sorted(self._held, key=self._held.__getitem__)

    def in_flight(self) -> int:
        with self._changed:
            self._expire_held(self.clock())
            return self._in_flight

    def _expire_held(self, now: float) -> None:
        expired = [search_id for search_id, until in self._held.items() if until <= now]
        for search_id in expired:
            del self._held[search_id]
            self._in_flight = max(0, self._in_flight - 1)
        if expired:
            self._changed.notify_all()

    @contextlib.contextmanager
    def slot(self, query: str = "", should_stop: Callable[[], bool] | None = None,
             on_wait: Callable[[], None] | None = None) -> Iterator[Permit]:
        permit = self.acquire(query, should_stop, on_wait)
        try:
            yield permit
        finally:
            self.release(permit)

    @contextlib.contextmanager
    def starting(self) -> Iterator[None]:
        """Held around ``POST /searches``: slskd accepts one search start at a time."""
        with self._start_lock:
            yield

    # -- deduplication -------------------------------------------------------------

    def search(self, query: str, perform: Callable[[Permit], Any],
               should_stop: Callable[[], bool] | None = None,
               on_wait: Callable[[], None] | None = None) -> tuple[Any, bool]:
        """Run ``perform(permit)`` in a slot unless the same query runs or ran recently.

        Returns ``(result, reused)``. An exception from ``perform`` reaches
        every caller waiting on that query and is not kept for reuse.
        """
        key = query_key(query)
        with self._lock:
            now = self.clock()
            self._finished = {k: v for k, v in self._finished.items() if v[0] > now - self.reuse_seconds}
            if key in self._finished:
                return self._finished[key][1], True
            running = self._running.get(key)
            if running is None:
                future: Future = Future()
                self._running[key] = future
        if running is not None:
            return running.result(), True
        try:
            with self.slot(query, should_stop, on_wait) as permit:
                result = perform(permit)
        except BaseException as exc:
            with self._lock:
                self._running.pop(key, None)
            future.set_exception(exc)
            raise
        with self._lock:
            self._running.pop(key, None)
            self._finished[key] = (self.clock(), result)
        future.set_result(result)
        return result, False

    def forget(self) -> None:
        """Drop the reusable results (the next run searches afresh)."""
        with self._lock:
            self._finished.clear()

    def recent_starts(self) -> list[float]:
        with self._lock:
            self._window_wait(self.clock())
            return list(self._starts)


_shared: SearchGovernor | None = None
_shared_lock = threading.Lock()


def shared_governor(max_in_flight: int = DEFAULT_MAX_IN_FLIGHT, per_window: int = DEFAULT_PER_WINDOW,
                    window: float = DEFAULT_WINDOW, ledger: Ledger | None = None) -> SearchGovernor:
    """The process-wide governor, configured with the current settings."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SearchGovernor(max_in_flight, per_window, window, ledger=ledger)
        else:
            _shared.configure(max_in_flight=max_in_flight, per_window=per_window, window=window, ledger=ledger)
        return _shared
