"""Filing into the library: template, safe names, never overwriting, move/copy/hardlink, a second filesystem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.importer.filing import FilingError, Owner, plan, safe_name, track_path, transfer
from import_support import make_album, make_edition
from storage_mounts import small_tmpfs

TEMPLATE = "{albumartist}/{year} - {album}/{disc}{track:02} {title}.{ext}"


def test_the_default_template_puts_a_disc_prefix_only_on_multi_disc_albums():
    single = make_edition([10, 20])
    double = make_edition([[10], [20, 30]])
    assert track_path(TEMPLATE, single, single.tracks[1], ".FLAC") == Path("Test Artist/2001 - Test Album/02 Song 1-2.flac")
    assert track_path(TEMPLATE, double, double.tracks[2], ".mp3") == Path("Test Artist/2001 - Test Album/2-02 Song 2-2.mp3")


@pytest.mark.parametrize("text, safe", [
    ("AC/DC", "AC_DC"), ("What?: A <Tale>", "What__ A _Tale_"), ("Ends with a dot.", "Ends with a dot"),
    ("CON", "_CON"), ("nul.txt", "_nul.txt"), (".hidden", "_hidden"), ("", "_"), ("tab\there", "tab_here"),
])
def test_names_are_safe_on_every_filesystem(text, safe):
    assert safe_name(text) == safe


def test_a_long_title_is_cut_to_what_filesystems_accept():
    assert len(safe_name("é" * 300).encode("utf-8")) <= 240


def test_a_slash_in_a_title_never_makes_a_folder():
    edition = make_edition([10], title="Either/Or")
    assert track_path(TEMPLATE, edition, edition.tracks[0], ".mp3").parts[1] == "2001 - Either_Or"


def test_it_never_overwrites_an_existing_album_folder(tmp_path):
    edition = make_edition([12, 13])
    files = make_album(tmp_path / "downloads", [12, 13])
    existing = tmp_path / "library" / "Test Artist" / "2001 - Test Album"
    existing.mkdir(parents=True)
    with pytest.raises(FilingError, match="already exists"):
        plan(tmp_path / "library", TEMPLATE, edition, list(zip(edition.tracks, files)))
    assert list(existing.iterdir()) == []
    assert all(f.exists() for f in files)


def test_a_move_on_one_filesystem_is_a_rename(tmp_path):
    edition = make_edition([12, 13])
    files = make_album(tmp_path / "downloads", [12, 13])
    inodes = [f.stat().st_ino for f in files]
    moves = plan(tmp_path / "library", TEMPLATE, edition, list(zip(edition.tracks, files)))
    transfer(moves, "move")
    assert [d.stat().st_ino for _, d in moves] == inodes
    assert not any(f.exists() for f in files)


def test_copy_keeps_the_source_and_hardlink_shares_the_file(tmp_path):
    edition = make_edition([12])
    source = make_album(tmp_path / "downloads", [12])
    copy = plan(tmp_path / "copies", TEMPLATE, edition, list(zip(edition.tracks, source)))
    transfer(copy, "copy")
    link = plan(tmp_path / "links", TEMPLATE, edition, list(zip(edition.tracks, source)))
    transfer(link, "hardlink")
    assert source[0].exists()
    assert copy[0][1].read_bytes() == source[0].read_bytes()
    assert copy[0][1].stat().st_ino != source[0].stat().st_ino
    assert link[0][1].stat().st_ino == source[0].stat().st_ino


def test_a_move_across_filesystems_copies_checks_then_deletes(tmp_path):
    edition = make_edition([12, 13])
    files = make_album(tmp_path / "downloads", [12, 13])
    contents = [f.read_bytes() for f in files]
    with small_tmpfs(tmp_path / "other", size_kb=4096) as library:
        moves = plan(library, TEMPLATE, edition, list(zip(edition.tracks, files)))
        transfer(moves, "move")
        assert [d.read_bytes() for _, d in moves] == contents
        assert os.stat(library).st_dev != os.stat(tmp_path).st_dev
        assert not any(f.exists() for f in files)
        assert not list(library.rglob(".*resonance-part"))


def test_a_hardlink_across_filesystems_is_refused_and_nothing_is_left_behind(tmp_path):
    edition = make_edition([12])
    files = make_album(tmp_path / "downloads", [12])
    with small_tmpfs(tmp_path / "other", size_kb=4096) as library:
        moves = plan(library, TEMPLATE, edition, list(zip(edition.tracks, files)))
        with pytest.raises(FilingError, match="one filesystem"):
            transfer(moves, "hardlink")
        assert list(library.iterdir()) == []
    assert files[0].exists()


def test_a_full_library_disk_takes_back_what_was_placed(tmp_path):
    edition = make_edition([12, 13])
    files = make_album(tmp_path / "downloads", [12, 13], ext="wav")  # ~2 MB each
    with small_tmpfs(tmp_path / "other", size_kb=3000) as library:
        moves = plan(library, TEMPLATE, edition, list(zip(edition.tracks, files)))
        with pytest.raises(FilingError):
            transfer(moves, "move")
        assert list(library.iterdir()) == []
    assert all(f.exists() for f in files)


def test_files_and_folders_get_the_container_user(tmp_path):
    edition = make_edition([12])
    files = make_album(tmp_path / "downloads", [12])
    owner = Owner.from_env({"PUID": "1234", "PGID": "5678"})
    moves = plan(tmp_path / "library", TEMPLATE, edition, list(zip(edition.tracks, files)))
    transfer(moves, "move", owner)
    placed = moves[0][1]
    for path in (placed, placed.parent, placed.parent.parent):
        assert (path.stat().st_uid, path.stat().st_gid) == (1234, 5678)
    assert Owner.from_env({}) is None
