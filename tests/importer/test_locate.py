"""Where slskd puts a finished download (its default layout)."""

from __future__ import annotations

from app.importer.locate import expected_path, locate, locate_all, remote_parts


def test_a_finished_file_lands_under_the_last_remote_folder_name(tmp_path):
    remote = "@@kfmzq\\Music\\Múm\\2002 - Finally We Are No One [FLAC]\\01 - Sleep.flac"
    assert remote_parts(remote) == ("2002 - Finally We Are No One [FLAC]", "01 - Sleep.flac")
    assert expected_path(tmp_path, remote) == tmp_path / "2002 - Finally We Are No One [FLAC]" / "01 - Sleep.flac"


def test_a_disc_subfolder_is_its_own_folder_and_slashes_become_underscores(tmp_path):
    assert expected_path(tmp_path, "@@x\\Album\\CD2\\01.flac") == tmp_path / "CD2" / "01.flac"
    assert expected_path(tmp_path, "@@x\\AC/DC - Back\\01.mp3") == tmp_path / "AC_DC - Back" / "01.mp3"
    assert expected_path(tmp_path, "music/Album/01.mp3") == tmp_path / "Album" / "01.mp3"


def test_it_finds_the_newest_renamed_copy_when_the_name_was_taken(tmp_path):
    folder = tmp_path / "Album"
    folder.mkdir()
    (folder / "01 - Song.flac").write_bytes(b"first")
    (folder / "01 - Song_638700000000000001.flac").write_bytes(b"second")
    (folder / "01 - Song_638700000000000999.flac").write_bytes(b"third")
    assert locate(tmp_path, "@@u\\Album\\01 - Song.flac").read_bytes() == b"third"


def test_a_file_still_in_the_incomplete_folder_is_not_found(tmp_path):
    downloads = tmp_path / "downloads"
    incomplete = tmp_path / "incomplete" / "peer" / "Music" / "Album"
    incomplete.mkdir(parents=True)
    (incomplete / "01.flac").write_bytes(b"partial")
    located = locate_all(downloads, ["@@u\\Music\\Album\\01.flac"])
    assert located[0].path is None
