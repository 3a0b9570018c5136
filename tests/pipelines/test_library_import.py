"""The import stage inside slskd-downloader, against the sandbox: a download completes, is verified, tagged, filed
and shown by the Subsonic server; a damaged folder is quarantined, its peer trusted less, and the next candidate
folder is downloaded and imported instead."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from downloader_support import events, fresh_governor, sandbox, wish  # noqa: F401

from app.config import load_settings
from app.library import load_library
from app.pipelines import JobContext
from app.pipelines.downloader import run_once
from app.pipelines.library_import import import_completed
from app.pipelines.transfers import follow_transfers

KEY = "Slowdive - Souvlaki"
RELEASE = "4e3e04db-fb36-506d-91be-395543c5d3ab"


@pytest.fixture
def folders(sandbox, tmp_path) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("downloads", "library")}
    for path in paths.values():
        path.mkdir()
    sandbox.settings.slskd_downloads_dir = str(paths["downloads"])
    sandbox.settings.subsonic_library_dir = str(paths["library"])
    return paths


def context(sandbox, repository, tmp_path, folders, mode: str = "import") -> JobContext:
    env = {**sandbox.resonance_environment(),
           "RESONANCE_CONFIG": str(tmp_path / "absent.yaml"),
           "RESONANCE_SLSKD__SEARCH_TIMEOUT": "5", "RESONANCE_SLSKD__RETRY_DELAY": "1",
           "RESONANCE_SLSKD__STALL_TIMEOUT": "30",
           "RESONANCE_MUSICBRAINZ__RATE_LIMIT": "100",
           "RESONANCE_LIBRARY__MODE": mode,
           "RESONANCE_LIBRARY__DOWNLOADS_DIR": str(folders["downloads"]),
           "RESONANCE_LIBRARY__LIBRARY_DIR": str(folders["library"]),
           "RESONANCE_LIBRARY__SCAN_TIMEOUT": "30"}
    return JobContext("slskd-downloader", load_settings(env=env), repository, lambda: False)


def until(ctx, done, timeout=30.0):
    """Follow transfers and import, as the downloader's runs do, until ``done(record)``."""
    deadline = time.monotonic() + timeout
    while True:
        follow_transfers(ctx)
        import_completed(ctx, None)
        record = ctx.repository.download_record(KEY)
        if done(record):
            return record
        assert time.monotonic() < deadline, f"still {record.state}: {events(record)[-3:]}"
        time.sleep(0.2)


def test_a_completed_download_is_imported_and_shown_in_the_library(sandbox, repository, tmp_path, folders):
    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = context(sandbox, repository, tmp_path, folders)
    run_once(ctx)
    record = until(ctx, lambda r: r.state in ("in_library", "quarantined", "failed"))
    assert record.state == "in_library", events(record)
    album = Path(record.library_path)
    assert album.parent.parent == folders["library"]
    assert len(list(album.glob("*.flac"))) == 10
    assert record.library_url.startswith(sandbox.urls["subsonic"] + "/app/#/album/")
    assert record.fallbacks == []
    story = " | ".join(events(record))
    assert story.index("completed:") < story.index("verifying:") < story.index("importing") \
        < story.index("in_library:")
    assert load_library(repository).has_album("Slowdive", "Souvlaki", RELEASE)


def test_a_damaged_folder_is_quarantined_and_the_next_candidate_is_imported(sandbox, repository, tmp_path, folders):
    user = sandbox.catalogue.soulseek_users["stalled_sam"]
    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    next(f for f in user.files if "03 - " in f.filename).defect = "truncated"
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = context(sandbox, repository, tmp_path, folders)
    run_once(ctx)
    assert repository.download_record(KEY).current_download["user"] == "stalled_sam"
    quarantined = until(ctx, lambda r: r.import_reason is not None)
    assert "cut short" in quarantined.import_reason
    assert quarantined.import_failed_track.startswith("03 ")
    assert "mp3hoarder" in quarantined.import_note
    assert repository.download_users()["stalled_sam"]["recent_failures"] == 1
    held = list((folders["downloads"] / "_quarantine").iterdir())
    assert len(held) == 1 and (held[0] / "REASON.txt").exists()
    record = until(ctx, lambda r: r.state in ("in_library", "failed"))
    assert record.state == "in_library", events(record)
    assert [d["user"] for d in record.downloads[-2:]] == ["stalled_sam", "mp3hoarder"]
    assert len(list(Path(record.library_path).glob("*.mp3"))) == 10
    assert not list(Path(record.library_path).glob("*.flac"))  # nothing of the damaged folder
    assert "quarantined: stalled_sam: " in " | ".join(events(record))
    assert record.downloads[-2]["state"] == "quarantined"


def test_when_every_candidate_is_damaged_it_stays_quarantined_on_the_wishlist(sandbox, repository, tmp_path, folders):
    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    for name, track in (("stalled_sam", "03 - "), ("mp3hoarder", "05 - ")):
        user = sandbox.catalogue.soulseek_users[name]
        next(f for f in user.files if track in f.filename).defect = "zeros"
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = context(sandbox, repository, tmp_path, folders)
    run_once(ctx)
    record = until(ctx, lambda r: r.state == "quarantined" and len(r.downloads) == 2)
    assert "zero-filled" in record.import_reason and record.import_failed_track.startswith("05 ")
    assert record.import_note.startswith("no other candidate folder is left")
    run_once(ctx)  # not searched again by itself: Retry decides
    assert repository.download_record(KEY).state == "quarantined"
    assert list(folders["library"].iterdir()) == []
    assert len(list((folders["downloads"] / "_quarantine").iterdir())) == 2


def test_with_import_off_a_download_ends_completed_and_nothing_moves(sandbox, repository, tmp_path, folders):
    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = context(sandbox, repository, tmp_path, folders, mode="off")
    run_once(ctx)
    record = until(ctx, lambda r: r.state == "completed")
    run_once(ctx)
    assert repository.download_record(KEY).state == "completed"
    assert list(folders["library"].iterdir()) == []
    assert len(list(folders["downloads"].rglob("*.flac"))) == 10
    assert record.fallbacks == [] and "import" not in record.current_download  # today's behaviour


def test_an_album_the_server_does_not_show_yet_stays_importing_and_is_looked_for_again(
        sandbox, repository, tmp_path, folders):
    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    sandbox.settings.subsonic_library_dir = ""  # the server's scan does not reach the library folder yet
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = context(sandbox, repository, tmp_path, folders)
    run_once(ctx)
    record = until(ctx, lambda r: r.state == "importing" and r.library_path)
    assert "does not show the album" in record.import_note
    assert len(list(Path(record.library_path).glob("*.flac"))) == 10
    sandbox.settings.subsonic_library_dir = str(folders["library"])
    run_once(ctx)
    record = repository.download_record(KEY)
    assert record.state == "in_library"
    assert record.library_url.startswith(sandbox.urls["subsonic"] + "/app/#/album/")


def test_the_check_between_runs_imports_an_album_as_soon_as_it_completes(sandbox, repository, tmp_path, folders):
    from app.pipelines import BETWEEN_RUNS, load

    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = context(sandbox, repository, tmp_path, folders)
    run_once(ctx)
    check = load("slskd-downloader", between_runs=True)
    needed = BETWEEN_RUNS["slskd-downloader"].needed
    deadline = time.monotonic() + 30
    while repository.download_record(KEY).state != "completed":  # as the page's check does: no import there
        assert time.monotonic() < deadline, events(repository.download_record(KEY))[-3:]
        follow_transfers(ctx)
        time.sleep(0.1)
    assert repository.downloads_to_import() and needed(repository)
    result = check(ctx)
    assert "1 imported into the library" in result.summary
    assert repository.download_record(KEY).state == "in_library"
    assert not needed(repository)


def test_an_imported_album_is_told_as_in_the_library_not_as_downloaded(sandbox, repository, tmp_path, folders):
    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = context(sandbox, repository, tmp_path, folders)
    run_once(ctx)
    until(ctx, lambda r: r.state in ("in_library", "quarantined", "failed"))
    told = [(n.event, n.subject, n.detail) for n in ctx.notices if n.event == "album_ready"]
    assert told == [("album_ready", KEY, "in the library")]  # once, and never "downloaded" while importing


class Stopped(BaseException):
    """The process importing is stopped (SIGKILL, power cut): nothing after this point runs."""


def stop_after_placing(monkeypatch, count: int) -> None:
    from app.importer import filing

    placed = []
    real_place = filing._place

    def place(source, destination, mode):
        if len(placed) == count:
            raise Stopped()
        real_place(source, destination, mode)
        placed.append(destination)
    monkeypatch.setattr(filing, "_place", place)


def stopped_while_importing(sandbox, repository, tmp_path, folders, monkeypatch, stop):
    sandbox.slskd_state.set_behaviour("stalled_sam", "normal")
    wish(repository, ("Slowdive", "Souvlaki"))
    ctx = context(sandbox, repository, tmp_path, folders)
    run_once(ctx)
    until_stopped = pytest.raises(Stopped)
    stop()
    with until_stopped:
        until(ctx, lambda r: r.state in ("in_library", "quarantined", "failed"))
    monkeypatch.undo()
    record = repository.download_record(KEY)
    assert record.state == "importing" and not record.library_path
    return ctx


def test_a_filing_cut_off_half_way_is_taken_back_and_imported_again(sandbox, repository, tmp_path, folders,
                                                                    monkeypatch):
    ctx = stopped_while_importing(sandbox, repository, tmp_path, folders, monkeypatch,
                                  lambda: stop_after_placing(monkeypatch, 4))
    assert len(list(folders["library"].rglob("*.flac"))) == 4  # four tracks reached the library, six did not

    record = until(ctx, lambda r: r.state in ("in_library", "quarantined", "failed"))

    assert record.state == "in_library", events(record)
    assert len(list(Path(record.library_path).glob("*.flac"))) == 10
    assert len(list(folders["library"].rglob("*.flac"))) == 10  # one album folder, no half-copy beside it
    assert not list(folders["downloads"].rglob("*.flac"))
    assert "cut off by a stop" in " | ".join(events(record))


def test_a_filing_cut_off_after_its_last_file_goes_on_to_the_rescan(sandbox, repository, tmp_path, folders,
                                                                   monkeypatch):
    from app.importer import Importer

    def stop_before_the_cover(self, *args):
        raise Stopped()
    ctx = stopped_while_importing(
        sandbox, repository, tmp_path, folders, monkeypatch,
        lambda: monkeypatch.setattr(Importer, "_save_cover", stop_before_the_cover))
    assert len(list(folders["library"].rglob("*.flac"))) == 10

    record = until(ctx, lambda r: r.state in ("in_library", "quarantined", "failed"))

    assert record.state == "in_library", events(record)
    assert len(list(folders["library"].rglob("*.flac"))) == 10
    assert record.library_url.startswith(sandbox.urls["subsonic"] + "/app/#/album/")
