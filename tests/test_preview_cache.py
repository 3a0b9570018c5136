"""The preview cache under cache/previews/: fresh reads, the age bound, the size bound."""

from __future__ import annotations

import os
import time

import pytest

from app.repository.previews import preview_name

MBID = "415c5e7c-035e-528f-9382-6cb208d26629"


def aged(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_fresh_preview_is_read_back_and_an_old_one_is_not(repository):
    cache = repository.preview_cache
    path = cache.put(preview_name(MBID, 1), b"audio", max_bytes=1000, max_age=60)
    assert path == repository.data_dir / "cache" / "previews" / f"{MBID}-1.mp3"
    assert cache.fresh(preview_name(MBID, 1), 60) == b"audio"
    aged(path, 61)
    assert cache.fresh(preview_name(MBID, 1), 60) is None
    assert cache.fresh(preview_name(MBID, 2), 60) is None


def test_trimming_removes_expired_then_oldest_and_keeps_the_new_one(repository):
    cache = repository.preview_cache
    names = [preview_name(MBID.replace("415", f"{n:03d}"), 1) for n in range(4)]
    paths = [cache.put(name, b"x" * 100, max_bytes=10_000, max_age=300) for name in names[:3]]
    for age, path in zip((500, 30, 20), paths):
        aged(path, age)
    assert cache.size() == 300
    cache.put(names[3], b"y" * 150, max_bytes=260, max_age=300)
    # names[0] is expired; then names[1], the oldest left, makes room for the new one.
    remaining = sorted(p.name for p in cache.folder.iterdir())
    assert remaining == sorted([names[2], names[3]])
    assert cache.size() == 250


def test_a_preview_larger_than_the_bound_is_not_kept(repository):
    cache = repository.preview_cache
    cache.put(preview_name(MBID, 1), b"x" * 500, max_bytes=100, max_age=300)
    assert cache.size() == 0


def test_other_files_are_left_alone_and_names_are_checked(repository):
    cache = repository.preview_cache
    cache.folder.mkdir(parents=True)
    (cache.folder / "notes.txt").write_text("mine")
    cache.put(preview_name(MBID, 1), b"x" * 50, max_bytes=10, max_age=300)
    assert (cache.folder / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError):
        preview_name("../../settings", 1)
    with pytest.raises(ValueError):
        preview_name(MBID, 1000)
