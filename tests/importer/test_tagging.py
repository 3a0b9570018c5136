"""Tags written by the import, read back from real files of every format."""

from __future__ import annotations

import pytest
from mediafile import MediaFile

from app.importer.tagging import tag_file
from import_support import FORMATS, make_edition, make_track


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_every_format_gets_the_release_data_and_its_musicbrainz_ids(tmp_path, ext):
    edition = make_edition([[10], [12, 14]])
    track = edition.tracks[2]
    path = make_track(tmp_path / f"a.{ext}", 14)
    tag_file(path, edition, track)
    tags = MediaFile(path)
    assert (tags.album, tags.albumartist, tags.artist, tags.title) == ("Test Album", "Test Artist", "Test Artist",
                                                                       "Song 2-2")
    assert (tags.disc, tags.disctotal, tags.track, tags.tracktotal, tags.year) == (2, 2, 2, 2, 2001)
    assert tags.mb_albumid == edition.mbid
    assert tags.mb_releasegroupid == edition.release_group_mbid
    assert tags.mb_trackid == track.recording_mbid
    assert tags.mb_releasetrackid == track.track_mbid
    assert tags.mb_albumartistids == list(edition.artist_mbids)
