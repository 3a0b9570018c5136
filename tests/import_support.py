"""For the import tests: real audio files made with ffmpeg at test time, ways to damage them, editions
as MusicBrainz gives them."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FORMATS = {  # extension: ffmpeg codec arguments
    "flac": ["-c:a", "flac"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    "m4a": ["-c:a", "aac", "-b:a", "128k"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    "opus": ["-c:a", "libopus", "-b:a", "96k"],
    "wav": ["-c:a", "pcm_s16le"],
}


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    assert path, "ffmpeg is needed for the import tests: run scripts/install-system-deps"
    return path


_made: dict[tuple, Path] = {}  # one ffmpeg run per kind of file in a test session; copies after that
_cache = Path(tempfile.mkdtemp(prefix="resonance-audio-"))


def make_track(path: Path, seconds: float, frequency: int = 440, *, noise: bool = False) -> Path:
    """A real audio file of ``seconds``: a tone (distinct per ``frequency``) or white noise (large FLACs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ext = path.suffix.lstrip(".")
    key = (seconds, frequency, ext, noise)
    if key not in _made:
        made = _cache / f"{len(_made)}.{ext}"
        _encode(made, seconds, frequency, noise)
        _made[key] = made
    path.unlink(missing_ok=True)
    shutil.copyfile(_made[key], path)
    return path


def _encode(path: Path, seconds: float, frequency: int, noise: bool) -> None:
    ext = path.suffix.lstrip(".")
    # A tone whose pitch moves, so that Chromaprint finds a fingerprint that differs per frequency.
    source = (f"anoisesrc=d={seconds}:c=white:a=0.5:r=44100" if noise else
              f"aevalsrc=0.4*sin({frequency}*2*PI*t*(1+0.25*sin(2*PI*t/{max(1, frequency % 7 + 2)}))):"
              f"s=44100:d={seconds}")
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", source, "-ac", "2", *FORMATS[ext],
                    str(path)], check=True, timeout=300)


def truncate(path: Path, keep: float = 0.5) -> Path:
    with path.open("r+b") as f:
        f.truncate(int(path.stat().st_size * keep))
    return path


def zero_fill(path: Path, start: float = 0.4, length: float = 0.3) -> Path:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(int(size * start))
        f.write(bytes(int(size * length)))
    return path
from app.clients.musicbrainz import Edition, EditionTrack


def make_edition(lengths: list[float] | list[list[float]], **overrides) -> Edition:
    """An edition with one disc per list of track lengths (seconds)."""
    discs = lengths if lengths and isinstance(lengths[0], list) else [lengths]
    tracks = tuple(
        EditionTrack(disc=d, position=n, title=f"Song {d}-{n}", length_s=length,
                     recording_mbid=f"00000000-0000-4000-8000-{d:04}{n:08}", track_mbid=f"t-{d}-{n}",
                     artist="Test Artist", artist_mbids=("aaaaaaaa-0000-4000-8000-000000000001",))
        for d, disc in enumerate(discs, start=1) for n, length in enumerate(disc, start=1)
    )
    values = dict(mbid="11111111-0000-4000-8000-000000000001", title="Test Album", status="Official",
                  date="2001-05-01", country="GB", artist="Test Artist",
                  artist_mbids=("aaaaaaaa-0000-4000-8000-000000000001",),
                  release_group_mbid="22222222-0000-4000-8000-000000000002", release_group_title="Test Album",
                  year=2001, disc_count=len(discs), tracks=tracks)
    values.update(overrides)
    return Edition(**values)


def make_album(folder: Path, lengths: list[float], ext: str = "mp3", first_frequency: int = 300) -> list[Path]:
    """A folder of real files named "NN - Song N.ext", one per length."""
    return [make_track(folder / f"{n:02} - Song {n}.{ext}", seconds, first_frequency + 110 * n)
            for n, seconds in enumerate(lengths, start=1)]


