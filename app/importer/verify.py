"""Check a downloaded folder against the MusicBrainz release it should be.

The folder was matched to a release group; its editions (releases) differ in
discs, track counts and lengths, so the edition checked against is the one
whose tracklist fits the files best: same number of discs and tracks first,
then the smallest total length difference. Then every track of that edition
must have a file, every file must be readable audio whose length is within
``tolerance`` seconds of its track, whose bytes can hold that length and hold
no zero-filled stretch (``app.importer.audio``). Any failure names the track.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from app.clients.musicbrainz import Edition, EditionTrack
from app.importer.audio import AudioInfo, Unreadable, probe, problems_of

_DISC_FOLDER = re.compile(r"\b(?:cd|disc|disk|dvd)\s*[-_ ]?\s*(\d{1,2})\b", re.I)
_LEADING_NUMBER = re.compile(r"^\s*(?:(\d)[-.](?=\d))?(\d{1,3})(?!\d)")


@dataclass
class AudioFile:
    path: Path
    disc: int | None
    number: int | None
    info: AudioInfo | None = None
    unreadable: str | None = None


@dataclass(frozen=True)
class TrackFailure:
    track: str  # "1-03 Title" or the file name
    reason: str

    def __str__(self) -> str:
        return f"{self.track}: {self.reason}"


@dataclass
class Verification:
    edition: Edition | None
    pairs: list[tuple[EditionTrack, AudioFile]] = field(default_factory=list)
    failures: list[TrackFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.edition is not None and not self.failures

    @property
    def reason(self) -> str:
        if not self.failures:
            return ""
        first = str(self.failures[0])
        more = len(self.failures) - 1
        return first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def track_label(track: EditionTrack, disc_count: int) -> str:
    number = f"{track.disc}-{track.position:02}" if disc_count > 1 else f"{track.position:02}"
    return f"{number} {track.title}"


def read_files(paths: list[Path]) -> list[AudioFile]:
    """Each file probed, with the disc and track number its tags or name give."""
    files = []
    for path in paths:
        disc, number = _numbers_from_name(path)
        audio = AudioFile(path, disc, number)
        try:
            audio.info = probe(path)
            tag_disc, tag_number = _numbers_from_tags(path)
            audio.disc = tag_disc or audio.disc
            audio.number = tag_number or audio.number
        except Unreadable as exc:
            audio.unreadable = str(exc)
        files.append(audio)
    return files


def choose_edition(editions: list[Edition], files: list[AudioFile]) -> Edition | None:
    """The edition whose tracklist fits ``files`` best (discs, track count, then lengths)."""
    if not editions:
        return None
    discs = len({f.disc or 1 for f in files})

    def fit(edition: Edition) -> tuple:
        pairs = pair_files(edition, files)
        gap = sum(abs((f.info.length if f.info else 0) - (t.length_s or 0)) for t, f in pairs if f is not None)
        return (abs(len(edition.tracks) - len(files)), abs(edition.disc_count - discs), gap,
                (edition.status or "").lower() != "official", edition.date or "9999", edition.mbid)

    return min(editions, key=fit)


def pair_files(edition: Edition, files: list[AudioFile]) -> list[tuple[EditionTrack, AudioFile | None]]:
    """Each track with its file: by (disc, number) when every file has distinct ones, else in order."""
    multi = edition.disc_count > 1
    keyed = {((f.disc or 1) if multi else 1, f.number): f for f in files if f.number is not None}
    if len(keyed) == len(files):
        return [(t, keyed.get((t.disc if multi else 1, t.position))) for t in edition.tracks]
    ordered = sorted(files, key=lambda f: (f.disc or 1, f.number or 0, f.path.name))
    return [(t, ordered[i] if i < len(ordered) else None) for i, t in enumerate(edition.tracks)]


def verify(editions: list[Edition], paths: list[Path], tolerance: float) -> Verification:
    files = read_files(paths)
    edition = choose_edition(editions, files)
    result = Verification(edition)
    if edition is None:
        result.failures.append(TrackFailure("release", "MusicBrainz has no edition of this release group"))
        return result
    result.notes.append(f"checked against {edition.title} ({edition.country or 'no country'}, "
                        f"{edition.date or 'no date'}, {len(edition.tracks)} tracks, release {edition.mbid})")
    pairs = pair_files(edition, files)
    used = {id(f) for _, f in pairs if f is not None}
    for track, audio in pairs:
        label = track_label(track, edition.disc_count)
        if audio is None:
            result.failures.append(TrackFailure(label, "missing: no file for this track"))
            continue
        result.pairs.append((track, audio))
        if audio.unreadable:
            result.failures.append(TrackFailure(label, f"{audio.path.name} is {audio.unreadable}"))
            continue
        assert audio.info is not None
        if track.length_s is not None and abs(audio.info.length - track.length_s) > tolerance:
            result.failures.append(TrackFailure(label, (
                f"{audio.path.name} lasts {_clock(audio.info.length)}, the tracklist says {_clock(track.length_s)} "
                f"(more than {tolerance:g} s apart: a different or damaged track)")))
            continue
        for problem in problems_of(audio.info):
            result.failures.append(TrackFailure(label, f"{audio.path.name}: {problem}"))
    for audio in files:
        if id(audio) not in used:
            result.failures.append(TrackFailure(audio.path.name, (
                f"not on the release: {len(files)} audio files, the closest edition has {len(edition.tracks)} "
                "tracks")))
    return result


def _numbers_from_name(path: Path) -> tuple[int | None, int | None]:
    disc_match = _DISC_FOLDER.search(path.parent.name)
    disc = int(disc_match.group(1)) if disc_match else None
    match = _LEADING_NUMBER.match(path.stem)
    if not match:
        return disc, None
    if match.group(1):  # "2-05 Title"
        return int(match.group(1)), int(match.group(2))
    number = int(match.group(2))
    if number >= 100 and disc is None:  # "105 Title": disc 1, track 05
        return number // 100, number % 100
    return disc, number


def _numbers_from_tags(path: Path) -> tuple[int | None, int | None]:
    from mediafile import FileTypeError, MediaFile, UnreadableFileError

    try:
        tags = MediaFile(path)
    except (FileTypeError, UnreadableFileError, OSError):
        return None, None
    return (tags.disc or None), (tags.track or None)


def _clock(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"
