"""Request spacing shared by every process that talks to MusicBrainz (the repository's book of slots)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from functools import partial

import pytest

from app.clients.http import RetryPolicy, SharedRateLimiter, Unavailable
from app.clients.musicbrainz import PACING_MARGIN, MusicBrainzClient, pacing_interval
from app.config import load_settings
from app.pipelines import upstream
from app.repository import Repository
from app.repository.pacing import MAX_AHEAD


def test_it_spaces_musicbrainz_requests_with_a_margin():
    assert pacing_interval(1.0) == pytest.approx(1.1)
    assert pacing_interval(50.0) == pytest.approx(PACING_MARGIN / 50)
    assert MusicBrainzClient("http://mb.invalid", 1.0).limiter.min_interval == pytest.approx(1.1)


def test_it_hands_out_slots_one_interval_apart(repository):
    reserve = partial(repository.reserve_slot, "musicbrainz")
    assert reserve(100.0, 1.1) == 100.0
    assert reserve(100.0, 1.1) == pytest.approx(101.1)  # asked at the same moment: the next slot
    assert reserve(100.5, 1.1) == pytest.approx(102.2)
    assert reserve(110.0, 1.1) == 110.0  # the service was idle: at once


def test_a_hold_pushes_every_later_slot_back(repository):
    reserve = partial(repository.reserve_slot, "musicbrainz")
    reserve(100.0, 1.1)
    reserve(100.2, 0.0, hold=5.0)  # a 503 with Retry-After: 5
    assert reserve(100.3, 1.1) == pytest.approx(105.2)


def test_it_ignores_a_slot_left_from_before_a_reboot_and_a_damaged_book(repository, data_dir):
    reserve = partial(repository.reserve_slot, "musicbrainz")
    reserve(50_000.0, 1.1)  # the monotonic clock restarts at boot: this slot is far "ahead" of the new clock
    assert reserve(50_000.0 - MAX_AHEAD - 100, 1.1) == 50_000.0 - MAX_AHEAD - 100
    (data_dir / ".locks" / "musicbrainz.pacing").write_text("12.")  # cut short
    (data_dir / ".locks" / "musicbrainz.pacing").write_bytes(b"\xff\xfe")
    assert reserve(7.0, 1.1) == 7.0


def test_separate_books_for_separate_hosts():
    assert upstream.pacing_name("musicbrainz", "https://musicbrainz.org") == "musicbrainz"
    assert upstream.pacing_name("musicbrainz", "http://127.0.0.1:5000/") == "musicbrainz-127.0.0.1-5000"


def test_the_pipelines_client_books_its_slots_in_the_data_dir(repository, data_dir, requests_mock):
    settings = load_settings(env={"RESONANCE_MUSICBRAINZ__BASE_URL": "http://mb.test:5000",
                                  "RESONANCE_MUSICBRAINZ__RATE_LIMIT": "20"})
    requests_mock.get("http://mb.test:5000/ws/2/release-group/x", json={"id": "x", "title": "Takk..."})
    mb = upstream.musicbrainz(settings, repository)
    assert isinstance(mb.limiter, SharedRateLimiter)
    mb.release_group("x")
    book = data_dir / ".locks" / "musicbrainz-mb.test-5000.pacing"
    assert float(book.read_text()) > 0


def test_a_503_holds_back_every_process(repository, data_dir, requests_mock):
    settings = load_settings(env={"RESONANCE_MUSICBRAINZ__BASE_URL": "http://mb.test:5000"})
    requests_mock.get("http://mb.test:5000/ws/2/release-group/x", [
        {"status_code": 503, "headers": {"Retry-After": "30"}, "json": {"error": "Your requests are exceeding"}},
    ])
    mb = upstream.musicbrainz(settings, repository)
    mb.http.retry = RetryPolicy(max_attempts=1)
    with pytest.raises(Unavailable):
        mb.release_group("x")
    book = data_dir / ".locks" / "musicbrainz-mb.test-5000.pacing"
    assert float(book.read_text()) >= time.monotonic() + 25  # another process reading the book waits too


def test_it_falls_back_to_this_process_when_the_book_cannot_be_used(caplog):
    def broken(now, interval, hold):
        raise OSError("read-only file system")

    slept = []
    limiter = SharedRateLimiter(broken, 1.0, clock=lambda: 10.0, sleep=slept.append)
    limiter.wait()
    limiter.wait()
    assert slept == [1.0]
    assert "spacing this process only" in caplog.text


CHILD = textwrap.dedent("""
    import json, os, sys, time
    from functools import partial
    from app.clients.http import SharedRateLimiter
    from app.repository import Repository

    data_dir, go, interval, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    repository = Repository(data_dir)
    slots = []

    def reserve(now, interval, hold):
        slot = repository.reserve_slot("musicbrainz", now, interval, hold)
        slots.append(slot)
        return slot

    limiter = SharedRateLimiter(reserve, interval)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    for _ in range(count):
        limiter.wait()
    print(json.dumps(slots), flush=True)
""")


def test_processes_asking_at_once_never_share_a_slot(data_dir, tmp_path):
    interval, count, processes = 0.03, 6, 3
    Repository(data_dir).store.ensure_dir()
    go = tmp_path / "go"
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir), str(go), str(interval), str(count)],
                                 stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        go.touch()  # all start asking at the same moment
        slots = sorted(slot for child in children for slot in json.loads(child.communicate(timeout=60)[0]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert len(slots) == processes * count
    gaps = [b - a for a, b in zip(slots, slots[1:])]
    # Every request of every process has its own slot, one interval after the one before.
    assert min(gaps) >= interval - 1e-9


def test_it_waits_for_its_slot(repository):
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = SharedRateLimiter(partial(repository.reserve_slot, "musicbrainz"), 1.1,
                                clock=lambda: now[0], sleep=sleep)
    limiter.wait()
    limiter.wait()
    limiter.wait()
    assert slept == pytest.approx([1.1, 1.1])
