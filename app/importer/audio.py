"""What a downloaded audio file really holds, read without decoding it.

``probe`` reads the stream's header through mutagen (length, bitrate, sample
format); ``problems_of`` then checks that the bytes on disk can hold that much
audio: a lossy file's audio part must be about bitrate x length (a file cut
short is smaller, even when its header still claims the full length), a FLAC
file's last frame must end at its declared sample count, a WAV's data chunk
must be all there; and no long run of zero bytes may sit inside the audio part
(slskd marks a file "Succeeded" that a peer padded with zeros). An Ogg file's
length is read from its last page, so a cut one shows as short. PCM (WAV)
silence is zeros by right, so WAV gets no zero scan. Files are read
in 1 MiB blocks, never whole.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import mutagen
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

AUDIO_SUFFIXES = frozenset({".flac", ".mp3", ".m4a", ".ogg", ".opus", ".wav"})
BLOCK = 1 << 20
#: Zero bytes in a row inside compressed audio that no encoder writes (frame headers break up even
#: the zero padding of silent MP3 frames, at most 1441 bytes apart).
ZERO_RUN = 4 * 1024
#: A lossy file may be this much smaller than bitrate x length (headers, rounding) before it counts as cut short.
LOSSY_SIZE_SLACK = 0.9


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    kind: str  # flac, mp3, m4a, ogg, opus, wav
    length: float  # seconds, as the stream's header says
    bitrate: int  # bits per second (0 when unknown)
    sample_rate: int
    channels: int
    bits_per_sample: int
    size: int


class Unreadable(Exception):
    """Not an audio file mutagen can read (or not the format its name says)."""


_KINDS = {FLAC: "flac", MP3: "mp3", MP4: "m4a", OggVorbis: "ogg", OggOpus: "opus", WAVE: "wav"}


def probe(path: Path) -> AudioInfo:
    try:
        handle = mutagen.File(path, options=list(_KINDS))
    except (mutagen.MutagenError, OSError, ValueError, struct.error) as exc:
        raise Unreadable(f"not readable as audio ({exc})") from None
    if handle is None or handle.info is None:
        raise Unreadable("not readable as audio (no audio stream found)")
    info = handle.info
    length = float(getattr(info, "length", 0.0) or 0.0)
    if length <= 0:
        raise Unreadable("not readable as audio (no length)")
    return AudioInfo(
        path=path, kind=_KINDS[type(handle)], length=length, bitrate=int(getattr(info, "bitrate", 0) or 0),
        sample_rate=int(getattr(info, "sample_rate", 0) or 0), channels=int(getattr(info, "channels", 0) or 0),
        bits_per_sample=int(getattr(info, "bits_per_sample", 0) or 0), size=path.stat().st_size,
    )


def problems_of(info: AudioInfo) -> list[str]:
    """Why the file cannot hold the audio its header declares (empty list: it can)."""
    start, end = audio_span(info)
    problems = []
    audio_bytes = end - start
    # Ogg's length comes from its last page, so a cut file is short already; its header bitrate is nominal.
    if info.kind in ("mp3", "m4a") and info.bitrate:
        expected = info.bitrate * info.length / 8
        if audio_bytes < expected * LOSSY_SIZE_SLACK:
            problems.append(f"file too small for its length: {audio_bytes:,} bytes of audio where "
                            f"{info.bitrate // 1000} kbps x {info.length:.0f} s needs about {int(expected):,}")
    elif info.kind == "wav":
        expected = info.length * info.sample_rate * info.channels * (info.bits_per_sample // 8)
        if audio_bytes < expected - 16:
            problems.append(f"file cut short: {audio_bytes:,} bytes of {int(expected):,}")
    elif info.kind == "flac":
        heard = flac_end_seconds(info, start)
        if heard is None:
            problems.append("no FLAC frame found at the end of the file")
        elif heard < info.length - 1.0:
            problems.append(f"file cut short: its audio ends at {_clock(heard)} of {_clock(info.length)}")
    if info.kind != "wav":  # PCM silence is zeros by right; compressed audio never is
        at = zero_run_at(info.path, start, end)
        if at is not None:
            problems.append(f"zero-filled stretch at byte {at:,} (about {_clock(at / max(end, 1) * info.length)})")
    return problems


def audio_span(info: AudioInfo) -> tuple[int, int]:
    """(first, last+1) byte of the audio frames: tags and their padding (zeros by design) left out."""
    path, size = info.path, info.size
    with path.open("rb") as f:
        head = f.read(64 * 1024)
        if info.kind == "flac":
            return _flac_audio_start(f), size
        if info.kind == "mp3":
            start = 0
            if head[:3] == b"ID3" and len(head) >= 10:
                start = 10 + _synchsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)
            end = size
            f.seek(max(size - 128, 0))
            if f.read(3) == b"TAG":
                end -= 128
            return start, end
        if info.kind == "m4a":
            return _mp4_mdat(f, size)
        if info.kind in ("ogg", "opus"):
            return _ogg_audio_start(f), size
        if info.kind == "wav":
            return _wav_data(f, size)
    return 0, size


def zero_run_at(path: Path, start: int, end: int, run: int = ZERO_RUN) -> int | None:
    """Offset of the first ``run`` zero bytes in a row between ``start`` and ``end``, read block by block."""
    needle = bytes(run)
    carry = b""
    position = start
    with path.open("rb") as f:
        f.seek(start)
        while position < end:
            block = f.read(min(BLOCK, end - position))
            if not block:
                break
            window = carry + block
            found = window.find(needle)
            if found >= 0:
                return position - len(carry) + found
            carry = window[-(run - 1):]
            position += len(block)
    return None


def flac_end_seconds(info: AudioInfo, audio_start: int) -> float | None:
    """Where the last whole-looking FLAC frame ends, in seconds (its header's frame/sample number)."""
    tail = min(info.size - audio_start, BLOCK)
    with info.path.open("rb") as f:
        f.seek(info.size - tail)
        data = f.read(tail)
    position = len(data)
    while True:
        position = data.rfind(b"\xff", 0, position)
        if position < 0:
            return None
        frame = _flac_frame_header(data, position, info)
        if frame is not None:
            first_sample, block_size = frame
            return (first_sample + block_size) / info.sample_rate


def _flac_frame_header(data: bytes, at: int, info: AudioInfo) -> tuple[int, int] | None:
    """(first sample, block size) when a valid frame header (CRC-8 checked) starts at ``at``."""
    if at + 6 > len(data) or data[at + 1] & 0xFE != 0xF8:
        return None
    variable = data[at + 1] & 1
    size_code, rate_code = data[at + 2] >> 4, data[at + 2] & 0x0F
    if size_code == 0 or rate_code == 0x0F:
        return None
    number, length = _utf8_number(data, at + 4)
    if number is None:
        return None
    cursor = at + 4 + length
    if size_code == 6:
        block_size, cursor = data[cursor] + 1 if cursor < len(data) else 0, cursor + 1
    elif size_code == 7:
        block_size, cursor = int.from_bytes(data[cursor:cursor + 2], "big") + 1, cursor + 2
    else:
        block_size = {1: 192, 2: 576, 3: 1152, 4: 2304, 5: 4608}.get(size_code) or 256 << (size_code - 8)
    cursor += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if cursor >= len(data) or _crc8(data[at:cursor]) != data[cursor]:
        return None
    fixed_block = _flac_fixed_block(info)
    first = number if variable else number * (fixed_block or block_size)
    if first > info.length * info.sample_rate + block_size:
        return None  # a sync pattern inside audio data whose CRC happened to match
    return first, block_size


def _flac_fixed_block(info: AudioInfo) -> int | None:
    # STREAMINFO's max block size is the fixed block size of a fixed-blocksize stream.
    with info.path.open("rb") as f:
        head = f.read(4 + 4 + 34)
    if head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return None
    return int.from_bytes(head[10:12], "big")


def _utf8_number(data: bytes, at: int) -> tuple[int | None, int]:
    if at >= len(data):
        return None, 0
    first = data[at]
    if first < 0x80:
        return first, 1
    count = 0
    mask = 0x80
    while first & mask:
        count += 1
        mask >>= 1
    if count < 2 or count > 7 or at + count > len(data):
        return None, 0
    value = first & (mask - 1)
    for byte in data[at + 1:at + count]:
        if byte & 0xC0 != 0x80:
            return None, 0
        value = (value << 6) | (byte & 0x3F)
    return value, count


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _flac_audio_start(f) -> int:
    f.seek(4)
    position = 4
    while True:
        header = f.read(4)
        if len(header) < 4:
            return position
        length = int.from_bytes(header[1:4], "big")
        position += 4 + length
        f.seek(position)
        if header[0] & 0x80:  # last metadata block
            return position


def _mp4_mdat(f, size: int) -> tuple[int, int]:
    position = 0
    while position + 8 <= size:
        f.seek(position)
        header = f.read(16)
        atom_size, name = int.from_bytes(header[:4], "big"), header[4:8]
        body = position + 8
        if atom_size == 1:
            atom_size, body = int.from_bytes(header[8:16], "big"), position + 16
        elif atom_size == 0:
            atom_size = size - position
        if atom_size < 8:
            break
        if name == b"mdat":
            return body, min(position + atom_size, size)
        position += atom_size
    return 0, size


def _ogg_audio_start(f) -> int:
    """Offset of the first page with a granule position: the header packets (and their padding) come before it."""
    position = 0
    f.seek(0)
    while True:
        header = f.read(27)
        if len(header) < 27 or header[:4] != b"OggS":
            return position
        segments = f.read(header[26])
        granule = struct.unpack("<q", header[6:14])[0]
        if granule > 0:
            return position
        position += 27 + len(segments) + sum(segments)
        f.seek(position)


def _wav_data(f, size: int) -> tuple[int, int]:
    position = 12
    while position + 8 <= size:
        f.seek(position)
        header = f.read(8)
        chunk = int.from_bytes(header[4:8], "little")
        if header[:4] == b"data":
            return position + 8, min(position + 8 + chunk, size)
        position += 8 + chunk + (chunk & 1)
    return 0, size


def _synchsafe(data: bytes) -> int:
    return (data[0] << 21) | (data[1] << 14) | (data[2] << 7) | data[3]


def _clock(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"
