"""Verification of a folder of real files against the editions of its release group."""

from __future__ import annotations

from app.importer.verify import choose_edition, read_files, verify
from import_support import make_album, make_edition, make_track, truncate, zero_fill

LENGTHS = [21, 34, 27, 30]


def test_a_whole_album_passes_against_its_edition(tmp_path):
    files = make_album(tmp_path / "Album", LENGTHS)
    result = verify([make_edition(LENGTHS)], files, tolerance=5)
    assert result.ok, result.reason
    assert [f.path for _, f in result.pairs] == files


def test_it_chooses_the_edition_whose_tracklist_fits_the_files(tmp_path):
    files = make_album(tmp_path / "Album", LENGTHS)
    standard = make_edition(LENGTHS[:3], mbid="standard")
    deluxe = make_edition([*LENGTHS, 25, 26], mbid="deluxe")
    remaster = make_edition([length + 9 for length in LENGTHS], mbid="remaster")
    same_count = make_edition(LENGTHS, mbid="original")
    assert choose_edition([standard, deluxe, remaster, same_count], read_files(files)).mbid == "original"
    assert verify([standard, deluxe, remaster, same_count], files, tolerance=5).ok


def test_it_chooses_by_disc_count_when_track_counts_tie(tmp_path):
    files = [make_track(tmp_path / "Album" / "CD1" / f"0{n}.mp3", length, 200 + 50 * n)
             for n, length in enumerate(LENGTHS[:2], start=1)]
    files += [make_track(tmp_path / "Album" / "CD2" / f"0{n}.mp3", length, 400 + 50 * n)
              for n, length in enumerate(LENGTHS[2:], start=1)]
    one_disc = make_edition(LENGTHS, mbid="one")
    two_discs = make_edition([LENGTHS[:2], LENGTHS[2:]], mbid="two")
    result = verify([one_disc, two_discs], files, tolerance=5)
    assert result.edition.mbid == "two"
    assert result.ok, result.reason


def test_a_missing_track_is_named(tmp_path):
    files = make_album(tmp_path / "Album", LENGTHS)
    files[2].unlink()
    result = verify([make_edition(LENGTHS)], [f for f in files if f.exists()], tolerance=5)
    assert not result.ok
    assert result.failures[0].track == "03 Song 1-3"
    assert "missing" in result.failures[0].reason


def test_a_wrong_track_under_the_right_name_fails_on_its_length(tmp_path):
    files = make_album(tmp_path / "Album", LENGTHS)
    make_track(files[1], 50)  # another song, named as track 2
    result = verify([make_edition(LENGTHS)], files, tolerance=5)
    assert [f.track for f in result.failures] == ["02 Song 1-2"]
    assert "0:50" in result.failures[0].reason and "0:34" in result.failures[0].reason


def test_a_length_within_the_tolerance_passes_and_one_beyond_it_fails(tmp_path):
    files = make_album(tmp_path / "Album", LENGTHS)
    assert verify([make_edition([LENGTHS[0] + 4, *LENGTHS[1:]])], files, tolerance=5).ok
    assert not verify([make_edition([LENGTHS[0] + 7, *LENGTHS[1:]])], files, tolerance=5).ok


def test_truncated_and_zero_filled_files_fail_with_their_track(tmp_path):
    files = make_album(tmp_path / "Album", LENGTHS, ext="flac")
    truncate(files[0])
    zero_fill(files[3])
    result = verify([make_edition(LENGTHS)], files, tolerance=5)
    assert [f.track for f in result.failures] == ["01 Song 1-1", "04 Song 1-4"]
    assert "cut short" in result.failures[0].reason
    assert "zero-filled" in result.failures[1].reason


def test_files_of_an_edition_musicbrainz_does_not_have_fail(tmp_path):
    files = make_album(tmp_path / "Album", [*LENGTHS, 22])  # a bonus track no edition lists
    result = verify([make_edition(LENGTHS)], files, tolerance=5)
    assert not result.ok
    assert "not on the release" in result.reason


def test_an_unreadable_file_fails(tmp_path):
    files = make_album(tmp_path / "Album", LENGTHS)
    files[1].write_bytes(b"<html>not audio</html>" * 100)
    result = verify([make_edition(LENGTHS)], files, tolerance=5)
    assert "not readable as audio" in result.reason
