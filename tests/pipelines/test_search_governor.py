"""The search governor: in-flight limit, sliding window, deduplication, shared window across restarts."""

from __future__ import annotations

import threading
import time

import pytest
from conditions import wait_for

from app.pipelines.search_governor import SearchGovernor, Stopped, query_key


class FakeClock:
    """Epoch seconds that move only when someone sleeps."""

    def __init__(self, start: float = 1_763_640_000.0) -> None:
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def governor(clock, **overrides):
    values = dict(max_in_flight=2, per_window=34, window=220.0, clock=clock, sleep=clock.sleep)
    values.update(overrides)
    return SearchGovernor(**values)


def max_in_any_window(starts, window):
    starts = sorted(starts)
    return max((sum(1 for t in starts if s <= t < s + window) for s in starts), default=0)


def test_it_lets_34_searches_start_at_once_and_holds_the_35th_until_the_window_moves():
    clock = FakeClock()
    g = governor(clock)
    t0 = clock()
    for _ in range(34):
        g.release(g.acquire())
    assert clock() == t0  # no waiting so far
    permit = g.acquire()
    assert permit.waited == pytest.approx(220.0, abs=0.3)
    assert permit.started_at >= t0 + 220.0


def test_it_never_has_more_than_the_limit_in_any_window():
    clock = FakeClock()
    g = governor(clock, per_window=5, window=30.0)
    starts = []
    for n in range(40):
        with g.slot() as permit:
            starts.append(permit.started_at)
        clock.sleep((n * 7) % 5)  # irregular gaps between searches
    assert max_in_any_window(starts, 30.0) <= 5
    assert g.started == 40


def test_it_keeps_at_most_two_searches_in_flight():
    g = SearchGovernor(max_in_flight=2, per_window=100, window=1.0)
    running, peak, lock = [0], [0], threading.Lock()

    def search():
        with g.slot():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=search) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_it_serialises_search_starts():
    g = SearchGovernor()
    inside, overlaps, lock = [0], [0], threading.Lock()

    def start():
        with g.starting():
            with lock:
                inside[0] += 1
                overlaps[0] += inside[0] > 1
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps[0] == 0


def test_it_lets_a_waiting_caller_stop():
    clock = FakeClock()
    g = governor(clock, per_window=1)
    g.release(g.acquire())
    calls = []

    def stop():
        calls.append(clock())
        return len(calls) > 3

    with pytest.raises(Stopped):
        g.acquire(should_stop=stop)
    assert clock() - calls[0] < 5  # stopped within a few slices, not after the whole window


def test_it_deduplicates_running_queries_and_reuses_results_for_a_while():
    clock = FakeClock()
    g = governor(clock, reuse_seconds=60)
    calls = []
    gate = threading.Event()

    def perform(permit):
        calls.append(permit.query)
        gate.wait(2)
        return f"result of {permit.query}"

    results = []
    threads = [threading.Thread(target=lambda: results.append(g.search("Portishead Dummy", perform)))
               for _ in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: calls, what="the first search")  # the others share it, in flight or finished
    gate.set()
    for t in threads:
        t.join()
    assert calls == ["Portishead Dummy"]
    assert sorted(reused for _, reused in results) == [False, True, True]
    assert g.search("dummy  PORTISHEAD", perform) == ("result of Portishead Dummy", True)
    clock.sleep(61)
    assert g.search("Portishead Dummy", perform) == ("result of Portishead Dummy", False)
    assert len(calls) == 2
    assert query_key("Dummy Portishead") == query_key("portishead   dummy")


def test_it_does_not_reuse_a_failed_search_and_hands_the_error_to_its_caller():
    clock = FakeClock()
    g = governor(clock)

    def broken(permit):
        raise RuntimeError("slskd said no")

    with pytest.raises(RuntimeError):
        g.search("x y", broken)
    assert g.search("x y", lambda permit: "fine") == ("fine", False)


def test_it_forgets_reusable_results():
    clock = FakeClock()
    g = governor(clock)
    g.search("a b", lambda permit: 1)
    g.forget()
    assert g.search("a b", lambda permit: 2) == (2, False)


class RepositoryLedger:
    def __init__(self, repository):
        self.repository = repository

    def reserve(self, now, per_window, window):
        return self.repository.reserve_search_slot(now, per_window, window)


def test_it_keeps_the_window_across_a_restart_through_the_data_dir(repository):
    clock = FakeClock()
    first = governor(clock, per_window=3, window=100.0, ledger=RepositoryLedger(repository))
    for _ in range(3):
        first.release(first.acquire())
    assert len(repository.search_starts()) == 3
    # A new process: empty memory, same data dir.
    second = governor(clock, per_window=3, window=100.0, ledger=RepositoryLedger(repository))
    permit = second.acquire()
    assert permit.waited == pytest.approx(100.0, abs=0.3)
    starts = repository.search_starts()
    assert len(starts) == 1 and starts[0] == permit.started_at  # older starts pruned as the window moved


def test_it_reserves_slots_within_the_window_in_the_repository(repository):
    now = 1000.0
    assert [repository.reserve_search_slot(now + n, 2, 10.0) for n in range(2)] == [0.0, 0.0]
    assert repository.reserve_search_slot(now + 2, 2, 10.0) == pytest.approx(8.0)
    assert repository.reserve_search_slot(now + 10.5, 2, 10.0) == 0.0


def test_it_refuses_nonsense_limits():
    with pytest.raises(ValueError):
        SearchGovernor(max_in_flight=0)


def test_a_held_slot_stays_taken_after_its_permit_ends_until_settled():
    g = SearchGovernor(max_in_flight=1)
    with g.slot() as permit:
        g.hold(permit, "lost-start", until=time.time() + 600.0)
    assert g.in_flight() == 1 and g.held() == ["lost-start"]
    granted = threading.Event()

    def search_next() -> None:
        g.acquire()
        granted.set()

    waiting = threading.Thread(target=search_next)
    waiting.start()
    assert not granted.is_set()
    assert not g.settle("unknown-search")
    assert not granted.is_set() and g.in_flight() == 1
    assert g.settle("lost-start")
    assert granted.wait(10)
    waiting.join(timeout=10)
    assert g.in_flight() == 1 and g.held() == []  # the next search's slot


def test_a_held_slot_is_freed_when_its_search_would_have_ended():
    clock = FakeClock()
    g = governor(clock, max_in_flight=1)
    with g.slot() as permit:
        g.hold(permit, "lost-start", until=clock() + 30.0)
    t0 = clock()
    g.release(g.acquire())  # the fake clock moves only while it waits
    assert clock() - t0 == pytest.approx(30.0, abs=0.3)
    assert g.held() == [] and g.in_flight() == 0


def test_a_caller_waiting_for_a_slot_is_asked_to_check_on_held_searches():
    g = SearchGovernor(max_in_flight=1)
    with g.slot() as permit:
        g.hold(permit, "lost-start", until=time.time() + 600.0)
    checks = []

    def check_on_held() -> None:  # what the searcher does: slskd shows it gone
        checks.append(g.held())
        g.settle("lost-start")

    g.release(g.acquire(on_wait=check_on_held))
    assert checks == [["lost-start"]]
