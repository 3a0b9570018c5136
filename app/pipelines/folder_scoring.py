"""Choosing a folder: rank the folders of a Soulseek search for one album.

Pure: no I/O, no clock. Inputs are the search responses, what the album should
look like (``ExpectedAlbum``, from MusicBrainz when it knows the album), the
download preferences and what we know of each uploader; the output is every
candidate folder, best first, each with a score from 0 to 1 and one
human-readable reason per factor. ``docs/downloading.md`` explains the model;
in short::

    score = completeness × title × preference × bitrate gate

- **completeness**: the expected tracks are all there (titles, and lengths
  within a few seconds where both sides know them). A folder missing any track
  scores at most 0.55; extra files (a deluxe edition's bonus tracks) cost a
  little, far more files than expected a lot.
- **title**: the folder path names the album (and the artist); words like
  "live", "remix", "single" that the wanted title lacks halve it.
- **preference**: 1 minus a weighted shortfall on format/quality, free upload
  slot, upload speed, queue length and the uploader's record with us
  (``WEIGHTS``).
- **bitrate gate**: lossy files below the minimum bitrate multiply the score by
  0.3, so such a folder ranks last and falls below the default ``min_score``.

Soulseek paths use backslashes; ``CD1``/``Disc 2`` subfolders are merged into
their album folder; locked files are left out; non-audio files (cover, .cue,
.log, .nfo) can come along but never decide anything.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from app.clients.slskd import SearchFile, SearchResponse
from app.matching import artist_key, fold, title_key, title_keys
from app.vocabulary import AUDIO_EXTENSIONS

# --------------------------------------------------------------------------- knobs

#: How much each preference factor can take off a folder's score (a shortfall
#: of 1 on every factor leaves 1 - 0.52 = 0.48). Completeness and title are not
#: weighted: they multiply, because the wrong or a half album is worse than nothing.
WEIGHTS: dict[str, float] = {
    "quality": 0.25,  # format in the preferred order, lossy bitrate
    "free_slot": 0.05,  # the uploader has a free upload slot now
    "speed": 0.04,  # advertised upload speed (1 MB/s and more is full marks)
    "queue": 0.03,  # the uploader's queue length
    "reliability": 0.15,  # transfers from this user that failed us before
}

MISSING_TRACKS_CAP = 0.55  # a folder missing any expected track scores at most this
EXTRA_FILES_COST = 0.5  # completeness lost per expected-count of extra tracks
EXTRA_FILES_FLOOR = 0.3
UNWANTED_MARKER_FACTOR = 0.5  # per word like "live" the wanted title does not have
LOW_BITRATE_GATE = 0.3
UNKNOWN_COUNT_COMPLETENESS = 0.7  # nothing says how many tracks the album has
LENGTH_TOLERANCE_S = 5  # track lengths agree within max(this, 3 %)
LENGTH_TOLERANCE_SHARE = 0.03
FULL_SPEED = 1_000_000  # bytes/s

LOSSLESS_EXTENSIONS = frozenset({"flac", "wav", "aif", "aiff", "alac", "ape", "wv", "dsf", "dff"})
EXTRA_EXTENSIONS = frozenset({
    "jpg", "jpeg", "png", "gif", "webp", "bmp", "cue", "log", "nfo", "txt", "m3u", "m3u8", "pdf", "md5", "sfv",
    "accurip",
})

#: Words that make a folder a different release than the one wanted, unless the
#: wanted title has them too ("MTV Unplugged" may say unplugged).
UNWANTED_MARKERS = frozenset({
    "live", "remix", "remixes", "remixed", "rmx", "single", "ep", "demo", "demos", "karaoke", "instrumental",
    "instrumentals", "acoustic", "tribute", "covers", "bootleg", "unplugged", "rehearsal", "rehearsals",
    "commentary", "acapella", "acapellas",
})

#: Words in folder names that say nothing about which album it is.
_NOISE_WORDS = frozenset({
    "flac", "mp3", "aac", "m4a", "ogg", "opus", "alac", "wav", "ape", "lossless", "lossy", "cbr", "vbr", "v0", "v2",
    "kbps", "kbit", "kbits", "bit", "bits", "khz", "hz", "24bit", "16bit", "24b", "16b", "hi", "res", "hires", "web",
    "cd", "cds", "cdrip", "rip", "vinyl", "lp", "eac", "xld", "log", "cue", "scene", "deluxe", "edition", "expanded",
    "remaster", "remastered", "anniversary", "bonus", "tracks", "track", "reissue", "japan", "japanese", "jp", "us",
    "uk", "eu", "import", "limited", "special", "version", "mono", "stereo", "disc", "disk", "album", "albums",
    "music", "musique", "musik", "mp3s", "downloads", "download", "complete", "discography", "the", "and", "of",
    "by", "a", "in", "shared", "share", "various", "artists", "va", "ost", "soundtrack", "full", "ed",
})

_DISC_DIR = re.compile(r"^[\[\(]?\s*(?:cd|disc|disk|dvd)\s*[-_.#]?\s*(\d{1,2})\b", re.IGNORECASE)
_LEADING_NUMBER = re.compile(r"^\s*(?:track\s*)?(?:(\d)\s*[-.]\s*(\d{2})|(\d{1,3}))(?=\D|$)", re.IGNORECASE)
_VINYL_SIDE = re.compile(r"^\s*([a-h])(\d{1,2})(?=[\s.\-_)])", re.IGNORECASE)
_SHARE_ALIAS = re.compile(r"^(@@[^\\]*|[a-z]:)$", re.IGNORECASE)
_GENERIC_TAIL = re.compile(r"^(track|piste|titel|audio|untitled)?\s*\d*$")


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class ExpectedTrack:
    title: str
    length: int | None = None  # seconds
    disc: int = 1
    position: int = 0


@dataclass(frozen=True)
class ExpectedAlbum:
    """What the folder should hold. ``tracks`` empty: only ``track_count`` (or nothing) is known."""

    artist: str
    title: str
    year: int | None = None
    tracks: tuple[ExpectedTrack, ...] = ()
    track_count: int | None = None
    is_track: bool = False  # a single-track wishlist entry: candidates are single files

    @property
    def expected_count(self) -> int | None:
        return len(self.tracks) or self.track_count or None

    @classmethod
    def from_info(cls, artist: str, title: str, info: Mapping[str, Any] | None,
                  is_track: bool = False) -> "ExpectedAlbum":
        """From the ``album`` record the downloader caches in the history (MusicBrainz or nothing)."""
        info = info or {}
        tracks = tuple(
            ExpectedTrack(t.get("title") or "", t.get("length"), int(t.get("disc") or 1), int(t.get("position") or 0))
            for t in info.get("tracks") or []
        )
        return cls(artist, title, info.get("year"), tracks, info.get("track_count"), is_track)


@dataclass(frozen=True)
class Preferences:
    formats: tuple[str, ...] = ("flac", "mp3")
    min_bitrate: int = 192
    include_extra_files: bool = True
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    @classmethod
    def from_settings(cls, slskd: Any) -> "Preferences":
        """From ``settings.slskd``."""
        return cls(tuple(f.strip().lower().lstrip(".") for f in slskd.preferred_formats if f.strip()),
                   slskd.min_bitrate, slskd.include_extra_files)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """An uploader's record with us; ``recent_failures`` counts failures since the last success."""

    failures: int = 0
    successes: int = 0
    recent_failures: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "UserRecord":
        data = data or {}
        return cls(int(data.get("failures") or 0), int(data.get("successes") or 0),
                   int(data.get("recent_failures") or 0))


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class Factor:
    name: str
    value: float  # 0..1
    reason: str


@dataclass
class Candidate:
    """One folder (one audio format of it) from one user, scored."""

    user: str
    folder: str
    format: str
    audio: tuple[SearchFile, ...]
    extras: tuple[SearchFile, ...]
    has_free_upload_slot: bool
    upload_speed: int
    queue_length: int
    locked: int = 0
    score: float = 0.0
    factors: list[Factor] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def files(self) -> tuple[SearchFile, ...]:
        """What to enqueue: the audio files, then the extras (when the preferences ask for them)."""
        return self.audio + self.extras

    @property
    def reasons(self) -> list[str]:
        return [f"{f.name}: {f.reason}" for f in self.factors] + self.notes

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def factor(self, name: str) -> Factor | None:
        return next((f for f in self.factors if f.name == name), None)

    def summary(self, min_score: float | None = None, with_files: bool = False) -> dict[str, Any]:
        """The candidate as the download history records it; ``with_files`` adds what to queue should it
        be chosen by hand (``file_list``: names relative to the folder, extras first, as ``as_folder``)."""
        data = {
            "user": self.user, "folder": self.folder, "format": self.format, "files": len(self.audio),
            "extras": len(self.extras), "size": self.size, "score": round(self.score, 3),
            "free_slot": self.has_free_upload_slot, "speed": self.upload_speed, "queue": self.queue_length,
            "factors": {f.name: round(f.value, 3) for f in self.factors}, "reasons": self.reasons,
        }
        if min_score is not None:
            data["accepted"] = self.score >= min_score
        if with_files:
            data["file_list"] = ([self._listed(f, False) for f in self.extras]
                                 + [self._listed(f, True) for f in self.audio])
        return data

    def _listed(self, file: SearchFile, audio: bool) -> dict[str, Any]:
        prefix = self.folder + "\\"
        if file.filename.startswith(prefix):
            return {"name": file.filename[len(prefix):], "size": file.size, "audio": audio}
        return {"name": file.filename, "full": True, "size": file.size, "audio": audio}


# --------------------------------------------------------------------------- grouping


@dataclass
class _Folder:
    user: str
    path: str
    response: SearchResponse
    audio: dict[str, list[SearchFile]] = field(default_factory=dict)  # format -> files
    extras: list[SearchFile] = field(default_factory=list)
    locked: int = 0


def file_format(file: SearchFile) -> str:
    """The format from the filename suffix (slskd's ``extension`` may be empty or wrong)."""
    name = file.basename
    return name.rsplit(".", 1)[-1].lower() if "." in name else (file.extension or "").lower().lstrip(".")


def album_folder(directory: str) -> str:
    """The album folder of a directory: ``…\\Album\\CD1`` → ``…\\Album``."""
    parts = directory.split("\\")
    if len(parts) > 1 and _DISC_DIR.match(parts[-1]):
        return "\\".join(parts[:-1])
    return directory


def disc_of(directory: str) -> int | None:
    match = _DISC_DIR.match(directory.rsplit("\\", 1)[-1])
    return int(match.group(1)) if match else None


def merge_responses(responses: Iterable[SearchResponse]) -> list[SearchResponse]:
    """One response per user, each file once: several queries of one album often reach the same peer."""
    merged: dict[str, SearchResponse] = {}
    for response in responses:
        known = merged.get(response.username)
        if known is None:
            merged[response.username] = response
            continue
        names = {f.filename for f in known.files + known.locked_files}
        merged[response.username] = SearchResponse(
            response.username, response.has_free_upload_slot, response.upload_speed, response.queue_length,
            known.files + tuple(f for f in response.files if f.filename not in names),
            known.locked_files + tuple(f for f in response.locked_files if f.filename not in names),
        )
    return list(merged.values())


def group_folders(responses: Iterable[SearchResponse]) -> list[_Folder]:
    """Files by (user, album folder); locked files counted but left out."""
    folders: dict[tuple[str, str], _Folder] = {}
    for response in responses:
        for file in response.files + response.locked_files:
            path = album_folder(file.directory)
            key = (response.username, path)
            folder = folders.get(key)
            if folder is None:
                folder = folders[key] = _Folder(response.username, path, response)
            kind = file_format(file)
            if file.locked:
                if kind in AUDIO_EXTENSIONS:
                    folder.locked += 1
            elif kind in AUDIO_EXTENSIONS:
                folder.audio.setdefault(kind, []).append(file)
            elif kind in EXTRA_EXTENSIONS:
                folder.extras.append(file)
    return list(folders.values())


# --------------------------------------------------------------------------- text helpers


def _words(text: str) -> list[str]:
    """Folded title words; punctuation-only text ("( )") gives none."""
    return [w for w in title_key(text).split() if any(c.isalnum() for c in w)]


def _path_parts(folder: str) -> list[str]:
    """The folder's components without the drive letter or ``@@share`` alias."""
    parts = [p for p in folder.split("\\") if p]
    while parts and _SHARE_ALIAS.match(parts[0]):
        parts = parts[1:]
    return parts


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    if not needle:
        return False
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _word_coverage(wanted: list[str], present: set[str], sequence: list[str]) -> float:
    """1 when the words appear in a row; otherwise the share of them present anywhere."""
    if not wanted:
        return 0.0
    if _contains_run(sequence, wanted):
        return 1.0
    return sum(1 for w in wanted if w in present) / len(wanted)


@dataclass(frozen=True, slots=True)
class _FileName:
    """A track file's name taken apart: disc and number prefix, and the title words."""

    disc: int | None
    number: int | None
    words: tuple[str, ...]  # the whole stem, folded
    tail: tuple[str, ...]  # the part after the last " - " without its number prefix
    generic: bool  # "01.flac", "Track 01.flac": the name carries no title


def parse_file_name(file: SearchFile) -> _FileName:
    stem = file.basename.rsplit(".", 1)[0] if "." in file.basename else file.basename
    disc = disc_of(file.directory)
    number = None
    match = _LEADING_NUMBER.match(stem)
    rest = stem
    if match:
        if match.group(1):
            disc = disc or int(match.group(1))
            number = int(match.group(2))
        else:
            value = int(match.group(3))
            number = value % 100 if value >= 100 and len(match.group(3)) == 3 else value
            if value >= 100 and len(match.group(3)) == 3:
                disc = disc or value // 100
        rest = stem[match.end():]
    elif (vinyl := _VINYL_SIDE.match(stem)) is not None:
        rest = stem[vinyl.end():]
    segments = rest.split(" - ")
    segment = segments[-1]
    if number is None and len(segments) > 1:
        # "Artist - Album - 07 - Title" or "Artist - 07 Title": the number sits later in the name.
        numbered = [int(s) for s in segments[:-1] if s.strip().isdigit() and len(s.strip()) <= 3]
        tail_match = _LEADING_NUMBER.match(segment)
        if numbered:
            number = numbered[-1] % 100
        elif tail_match and tail_match.group(3):
            number = int(tail_match.group(3))
            segment = segment[tail_match.end():]
    tail = tuple(_words(segment))
    generic = bool(_GENERIC_TAIL.match(" ".join(tail)))
    return _FileName(disc, number, tuple(_words(stem)), tail, generic)


def _title_match(track_words: list[str], name: _FileName) -> int:
    """2: the file is named after the track; 1: its name contains the title; 0: no."""
    if not track_words:
        return 0
    if "".join(track_words) == "".join(name.tail):
        return 2
    if len("".join(track_words)) >= 3 and (_contains_run(list(name.tail), track_words)
                                           or _contains_run(list(name.words), track_words)):
        return 1
    return 0


def _lengths_agree(expected: int | None, actual: int | None) -> bool | None:
    if expected is None or actual is None:
        return None
    return abs(expected - actual) <= max(LENGTH_TOLERANCE_S, LENGTH_TOLERANCE_SHARE * expected)


# --------------------------------------------------------------------------- factors


@dataclass
class _TrackMatch:
    found: int
    title_matched: int
    length_mismatches: list[str]
    missing: list[str]


def match_tracks(expected: tuple[ExpectedTrack, ...], files: tuple[SearchFile, ...]) -> _TrackMatch:
    """Pair expected tracks with files: by title (exact names first), then by disc/number."""
    names = [parse_file_name(f) for f in files]
    track_words = [_words(t.title) for t in expected]
    assigned: dict[int, int] = {}  # expected index -> file index
    by_title: set[int] = set()
    used: set[int] = set()
    for level in (2, 1):
        for i, words in enumerate(track_words):
            if i in assigned:
                continue
            best = None
            for j, name in enumerate(names):
                if j in used or _title_match(words, name) < level:
                    continue
                agree = _lengths_agree(expected[i].length, files[j].length)
                rank = (agree is not False, name.number == expected[i].position)
                if best is None or rank > best[0]:
                    best = (rank, j)
            if best is not None:
                assigned[i] = best[1]
                used.add(best[1])
                by_title.add(i)
    multi_disc = len({t.disc for t in expected}) > 1
    for i, track in enumerate(expected):
        if i in assigned:
            continue
        for j, name in enumerate(names):
            if j in used or name.number != track.position:
                continue
            if multi_disc and (name.disc or 1) != track.disc:
                continue
            # Only a file whose name carries no title ("Track01.flac") stands in by its number;
            # a titled file at the right position with a close length is another album's track.
            if name.generic and _lengths_agree(track.length, files[j].length) is not False:
                assigned[i] = j
                used.add(j)
                break
    found, mismatches, missing = 0, [], []
    for i, track in enumerate(expected):
        j = assigned.get(i)
        if j is None:
            missing.append(track.title or f"track {track.position}")
            continue
        if _lengths_agree(track.length, files[j].length) is False:
            mismatches.append(f"{track.title} ({_mmss(files[j].length)} vs {_mmss(track.length)})")
        else:
            found += 1
    return _TrackMatch(found, len(by_title), mismatches, missing)


def _mmss(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds // 60}:{seconds % 60:02d}"


def _list(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def completeness_factor(expected: ExpectedAlbum, audio: tuple[SearchFile, ...], locked: int,
                        consensus: int | None = None) -> tuple[Factor, _TrackMatch | None]:
    count = len(audio)
    locked_note = f"; {locked} locked files left out" if locked else ""
    if expected.tracks and any(t.title for t in expected.tracks):
        total = len(expected.tracks)
        match = match_tracks(expected.tracks, audio)
        found = match.found
        if found < total:
            value = MISSING_TRACKS_CAP * (found / total) ** 2
            parts = [f"{found} of {total} tracks"]
            if match.missing:
                parts.append(f"missing {_list(match.missing)}")
            if match.length_mismatches:
                parts.append(f"lengths differ for {_list(match.length_mismatches)} (another version?)")
            return Factor("completeness", value, "; ".join(parts) + locked_note), match
        extra = count - found
        if extra > 0:
            value = max(EXTRA_FILES_FLOOR, 1 - EXTRA_FILES_COST * extra / total)
            return Factor("completeness", value, f"all {total} tracks and {extra} more files (bonus tracks?)"), match
        timed = any(f.length for f in audio) and any(t.length for t in expected.tracks)
        lengths = " with matching lengths" if timed else ""
        return Factor("completeness", 1.0, f"all {total} tracks{lengths}"), match
    total = expected.expected_count
    source = "the album has"
    if total is None and consensus:
        total, source = consensus, "most matching folders hold"
    if not total:
        return Factor("completeness", UNKNOWN_COUNT_COMPLETENESS, f"{count} tracks; the track count is unknown"), None
    if count < total:
        value = MISSING_TRACKS_CAP * (count / total) ** 2
        return Factor("completeness", value, f"{count} files but {source} {total} tracks{locked_note}"), None
    if count > total:
        value = max(EXTRA_FILES_FLOOR, 1 - EXTRA_FILES_COST * (count - total) / total)
        return Factor("completeness", value, f"{count} files but {source} {total} tracks"), None
    return Factor("completeness", 1.0, f"{count} tracks, as {source}"), None


def _markers(words: Iterable[str], wanted: set[str]) -> set[str]:
    return {w for w in words if w in UNWANTED_MARKERS and w not in wanted}


def title_factor(expected: ExpectedAlbum, folder: str, audio: tuple[SearchFile, ...],
                 match: _TrackMatch | None) -> Factor:
    parts = _path_parts(folder)
    path_words = [w for part in parts for w in _words(part)]
    file_words = [w for f in audio for w in _words(f.basename.rsplit(".", 1)[0])]
    wanted_album = title_keys(expected.title)
    album_variants = [_words(k) for k in wanted_album]
    wanted_words = {w for v in album_variants for w in v} | set(_words(expected.artist))
    # Titles made only of punctuation ("( )") have no words: compare the folded text.
    if not any(album_variants):
        album = 1.0 if fold(expected.title) in fold("\\".join(parts[-2:])) else 0.0
    else:
        album = max(_word_coverage(v, set(path_words), path_words) for v in album_variants if v)
    if match is not None and expected.tracks:
        album = max(album, 0.9 * match.title_matched / len(expected.tracks))
    artist_words = artist_key(expected.artist).split()
    artist = _word_coverage(artist_words, set(path_words) | set(file_words), path_words) if artist_words else 1.0
    if artist < 1.0 and artist_words:
        artist = max(artist, _word_coverage(artist_words, set(file_words), file_words))
    leaf_words = _words(parts[-1]) if parts else []
    unexplained = [w for w in leaf_words if w not in wanted_words and w not in _NOISE_WORDS and not w.isdigit()
                   and w not in set(_words(expected.artist))]
    markers = _markers(path_words, wanted_words)
    # Markers in most file names ("Song (Live).flac") count too.
    file_marker_counts = Counter(w for f in audio for w in set(_words(f.basename)) if w in UNWANTED_MARKERS)
    markers |= {w for w, n in file_marker_counts.items() if n > len(audio) / 2 and w not in wanted_words}
    value = 0.8 * album + 0.2 * artist
    if album >= 1.0 and unexplained:
        value -= min(0.3, 0.1 * len(unexplained))
    value *= UNWANTED_MARKER_FACTOR ** len(markers)
    bits = []
    bits.append("album named" if album >= 1.0 else "album not named" if album == 0 else f"album {album:.0%} named")
    bits.append("artist named" if artist >= 1.0
                else "artist not named" if artist == 0 else f"artist {artist:.0%} named")
    if album >= 1.0 and unexplained:
        bits.append(f"other words in the folder name: {_list(unexplained)}")
    if markers:
        bits.append("looks like another release: " + ", ".join(sorted(markers)))
    return Factor("title", max(0.0, min(1.0, value)), "; ".join(bits))


def _bitrate(file: SearchFile) -> int | None:
    if file.bit_rate:
        return file.bit_rate
    if file.length and file.size:
        return int(file.size * 8 / file.length / 1000)
    return None


def quality_factor(fmt: str, audio: tuple[SearchFile, ...], prefs: Preferences,
                   expected: ExpectedAlbum | None = None) -> tuple[Factor, float]:
    """(factor, gate): the gate is LOW_BITRATE_GATE for lossy files below ``min_bitrate``.

    Lossy files without a bitrate or length get one estimated from their sizes
    and the album's running time, when MusicBrainz gave track lengths.
    """
    formats = list(prefs.formats)
    if fmt in formats:
        index = formats.index(fmt)
        rank = 1.0 - 0.5 * index / (len(formats) - 1) if len(formats) > 1 else 1.0
        label = f"{fmt.upper()} (preference {index + 1} of {len(formats)})"
    else:
        rank = 0.25
        label = f"{fmt.upper()} (not a preferred format)"
    lossless = fmt in LOSSLESS_EXTENSIONS or any(f.bit_depth for f in audio)
    if lossless:
        depths = sorted({f.bit_depth for f in audio if f.bit_depth})
        rates = sorted({f.sample_rate for f in audio if f.sample_rate})
        detail = ""
        if depths and rates:
            detail = f", {depths[-1]}-bit/{rates[-1] / 1000:g} kHz"
        return Factor("quality", rank, label + detail), 1.0
    rates = [r for r in (_bitrate(f) for f in audio) if r]
    estimated = ""
    if not rates:
        rate = _estimated_bitrate(audio, expected)
        if rate is None:
            return Factor("quality", rank * 0.8, label + ", bitrate unknown"), 1.0
        rates, estimated = [rate], " (estimated from the file sizes)"
    lowest = min(rates)
    vbr = any(f.is_variable_bit_rate for f in audio)
    if prefs.min_bitrate and lowest < prefs.min_bitrate:
        return (Factor("quality", rank * 0.5, f"{label}, {lowest} kbps{estimated} is below the minimum of "
                                              f"{prefs.min_bitrate}"), LOW_BITRATE_GATE)
    if lowest >= 315 or (vbr and lowest >= 220):
        quality, text = 1.0, ("V0" if vbr and lowest < 315 else f"{lowest} kbps")
    elif lowest >= 256:
        quality, text = 0.9, f"{lowest} kbps"
    else:
        quality, text = 0.75, f"{lowest} kbps"
    return Factor("quality", rank * quality, f"{label}, {text}{estimated}"), 1.0


def _estimated_bitrate(audio: tuple[SearchFile, ...], expected: ExpectedAlbum | None) -> int | None:
    """Average kbps from the folder's size over the album's running time (tracks matched by number)."""
    if expected is None or not expected.tracks or not all(t.length for t in expected.tracks):
        return None
    seconds = 0
    size = 0
    by_number = {(t.disc, t.position): t.length for t in expected.tracks}
    single_disc = len({t.disc for t in expected.tracks}) == 1
    for file in audio:
        name = parse_file_name(file)
        length = by_number.get((1 if single_disc else (name.disc or 1), name.number or 0))
        if not length:
            return None
        seconds += length
        size += file.size
    return int(size * 8 / seconds / 1000) if seconds else None


def uploader_factors(response: SearchResponse, record: UserRecord) -> list[Factor]:
    speed = max(0, response.upload_speed)
    speed_value = min(1.0, math.sqrt(speed / FULL_SPEED))
    queue_value = 1.0 / (1.0 + max(0, response.queue_length) / 10.0)
    reliability = {0: 1.0, 1: 0.5}.get(record.recent_failures, 0.0)
    if record.recent_failures:
        times = "time" if record.recent_failures == 1 else "times"
        reliability_text = f"failed us {record.recent_failures} {times} since the last success"
    elif record.successes:
        reliability_text = f"{record.successes} albums from this user completed"
    else:
        reliability_text = "no record yet"
    return [
        Factor("free_slot", 1.0 if response.has_free_upload_slot else 0.0,
               "free upload slot" if response.has_free_upload_slot else "no free upload slot"),
        Factor("speed", speed_value, f"{speed / 1_000_000:.2f} MB/s"),
        Factor("queue", queue_value, f"{response.queue_length} in queue"),
        Factor("reliability", reliability, reliability_text),
    ]


# --------------------------------------------------------------------------- scoring


def _consensus_count(expected: ExpectedAlbum, folders: list[_Folder]) -> int | None:
    """Without MusicBrainz: the audio count most folders naming the album agree on."""
    counts = Counter()
    for folder in folders:
        for files in folder.audio.values():
            if title_factor(expected, folder.path, tuple(files), None).value >= 0.75:
                counts[len(files)] += 1
    if not counts:
        return None
    top = max(counts.values())
    return max(c for c, n in counts.items() if n == top)


def _preference(factors: list[Factor], weights: Mapping[str, float]) -> float:
    return 1.0 - sum(weights.get(f.name, 0.0) * (1.0 - f.value) for f in factors)


def score_folders(
    responses: Iterable[SearchResponse],
    expected: ExpectedAlbum,
    prefs: Preferences | None = None,
    users: Mapping[str, UserRecord] | None = None,
) -> list[Candidate]:
    """Every candidate folder, best first."""
    prefs = prefs or Preferences()
    users = users or {}
    if expected.is_track:
        return score_files(responses, expected, prefs, users)
    folders = group_folders(responses)
    consensus = _consensus_count(expected, folders) if not expected.expected_count else None
    candidates = []
    for folder in folders:
        for fmt, files in folder.audio.items():
            audio = tuple(sorted(files, key=lambda f: f.filename))
            completeness, match = completeness_factor(expected, audio, folder.locked, consensus)
            title = title_factor(expected, folder.path, audio, match)
            quality, gate = quality_factor(fmt, audio, prefs, expected)
            uploader = uploader_factors(folder.response, UserRecord() if folder.response.username not in users
                                        else users[folder.response.username])
            factors = [completeness, title, quality, *uploader]
            score = completeness.value * title.value * _preference([quality, *uploader], prefs.weights) * gate
            notes = []
            if len(folder.audio) > 1:
                notes.append(f"the folder also holds {', '.join(k.upper() for k in folder.audio if k != fmt)} files")
            candidates.append(Candidate(
                folder.user, folder.path, fmt, audio,
                tuple(folder.extras) if prefs.include_extra_files else (),
                folder.response.has_free_upload_slot, folder.response.upload_speed, folder.response.queue_length,
                folder.locked, max(0.0, min(1.0, score)), factors, notes,
            ))
    return rank(candidates)


def score_files(
    responses: Iterable[SearchResponse],
    expected: ExpectedAlbum,
    prefs: Preferences,
    users: Mapping[str, UserRecord],
) -> list[Candidate]:
    """Single-track entries: each audio file named after the track is a candidate on its own."""
    wanted = _words(expected.title)
    wanted_words = set(wanted) | set(_words(expected.artist))
    expected_length = expected.tracks[0].length if expected.tracks else None
    candidates = []
    for response in responses:
        record = users.get(response.username, UserRecord())
        for file in response.files:
            fmt = file_format(file)
            if fmt not in AUDIO_EXTENSIONS:
                continue
            name = parse_file_name(file)
            level = _title_match(wanted, name)
            agree = _lengths_agree(expected_length, file.length)
            if level == 0:
                completeness = Factor("completeness", 0.0, "the file is not named after the track")
            elif agree is False:
                completeness = Factor("completeness", 0.3, f"length {_mmss(file.length)} vs {_mmss(expected_length)}")
            else:
                completeness = Factor("completeness", 1.0 if level == 2 else 0.9,
                                      "named after the track" if level == 2 else "the name contains the track title")
            path_words = [w for part in _path_parts(file.directory) for w in _words(part)] + list(name.words)
            artist_words = artist_key(expected.artist).split()
            artist = _word_coverage(artist_words, set(path_words), path_words) if artist_words else 1.0
            markers = _markers(name.words, wanted_words)
            title_value = (0.6 + 0.4 * artist) * UNWANTED_MARKER_FACTOR ** len(markers)
            title_text = "artist named" if artist >= 1 else "artist not named"
            if markers:
                title_text += "; looks like another version: " + ", ".join(sorted(markers))
            title = Factor("title", title_value, title_text)
            quality, gate = quality_factor(fmt, (file,), prefs)
            uploader = uploader_factors(response, record)
            score = completeness.value * title.value * _preference([quality, *uploader], prefs.weights) * gate
            candidates.append(Candidate(
                response.username, file.directory, fmt, (file,), (), response.has_free_upload_slot,
                response.upload_speed, response.queue_length, 0, max(0.0, min(1.0, score)),
                [completeness, title, quality, *uploader],
            ))
    return rank(candidates)


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first; ties go to a free slot, then speed, a short queue, then names (stable)."""
    return sorted(candidates, key=lambda c: (-round(c.score, 6), not c.has_free_upload_slot, -c.upload_speed,
                                             c.queue_length, c.user, c.folder, c.format))
