"""The byte-level checks of a downloaded file, on real files of every format."""

from __future__ import annotations

import pytest

from app.importer.audio import Unreadable, probe, problems_of, zero_run_at
from app.importer.tagging import tag_file
from import_support import FORMATS, make_edition, make_track, truncate, zero_fill



@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_it_reads_the_length_of_a_whole_file_and_finds_nothing_wrong(tmp_path, ext):
    info = probe(make_track(tmp_path / f"a.{ext}", 12))
    assert info.kind == ext
    assert abs(info.length - 12) < 0.2
    assert problems_of(info) == []


@pytest.mark.parametrize("ext", ["flac", "mp3", "wav"])
def test_it_finds_a_file_cut_short_even_when_its_header_claims_the_full_length(tmp_path, ext):
    info = probe(truncate(make_track(tmp_path / f"a.{ext}", 12), keep=0.5))
    assert abs(info.length - 12) < 0.2  # the header still says 12 s
    assert any("cut short" in p or "too small" in p for p in problems_of(info))


@pytest.mark.parametrize("ext", ["ogg", "opus"])
def test_a_cut_ogg_file_reports_the_shorter_length(tmp_path, ext):
    info = probe(truncate(make_track(tmp_path / f"a.{ext}", 12), keep=0.5))
    assert info.length < 8


@pytest.mark.parametrize("ext", ["flac", "mp3", "m4a", "ogg", "opus"])
def test_it_finds_a_zero_filled_stretch(tmp_path, ext):
    info = probe(zero_fill(make_track(tmp_path / f"a.{ext}", 40)))  # long enough for a 16 KiB hole in Ogg
    assert any("zero-filled" in p for p in problems_of(info))


@pytest.mark.parametrize("ext", ["flac", "mp3", "m4a", "ogg", "opus"])
def test_tag_padding_is_not_taken_for_a_zero_filled_stretch(tmp_path, ext):
    path = make_track(tmp_path / f"a.{ext}", 12)
    tag_file(path, make_edition([12]), make_edition([12]).tracks[0])
    assert problems_of(probe(path)) == []


def test_a_file_that_is_all_zeros_is_not_audio(tmp_path):
    path = tmp_path / "a.flac"
    path.write_bytes(bytes(500_000))
    with pytest.raises(Unreadable):
        probe(path)


def test_the_zero_scan_finds_a_run_across_read_blocks_without_reading_the_file_whole(tmp_path):
    path = tmp_path / "x.bin"
    block = 1 << 20
    data = bytearray(b"\x01" * (3 * block))
    data[block - 10_000:block + 10_000] = bytes(20_000)  # straddles the first block boundary
    path.write_bytes(bytes(data))
    assert zero_run_at(path, 0, len(data)) == block - 10_000
    assert zero_run_at(path, 0, len(data), run=30_000) is None
