"""Write the release's data and MusicBrainz ids into every file (mediafile, as beets does).

mediafile speaks FLAC, MP3, M4A, Ogg Vorbis, Opus and WAV alike, with the
same field names for all (``mb_trackid`` is the recording id, as in Picard).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mediafile import MediaFile

from app.clients.musicbrainz import Edition, EditionTrack


def tag_file(path: Path, edition: Edition, track: EditionTrack) -> None:
    per_disc = Counter(t.disc for t in edition.tracks)
    tags = MediaFile(path)
    tags.album = edition.title
    tags.albumartist = edition.artist
    tags.artist = track.artist or edition.artist
    tags.title = track.title
    tags.track = track.position
    tags.tracktotal = per_disc[track.disc]
    tags.disc = track.disc
    tags.disctotal = edition.disc_count
    if edition.year:
        tags.year = edition.year
    tags.mb_albumid = edition.mbid
    tags.mb_releasegroupid = edition.release_group_mbid
    tags.mb_trackid = track.recording_mbid
    tags.mb_releasetrackid = track.track_mbid
    tags.mb_artistids = list(track.artist_mbids) or list(edition.artist_mbids)
    tags.mb_albumartistids = list(edition.artist_mbids)
    tags.save()


def tag_all(pairs: list[tuple[EditionTrack, Path]], edition: Edition) -> None:
    for track, path in pairs:
        tag_file(path, edition, track)
