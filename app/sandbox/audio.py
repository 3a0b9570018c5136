"""Real audio files for the fake slskd to "download", made without ffmpeg.

MP3: the frames of the sandbox's short LAME tone (data/preview-tone.mp3, CBR,
no Xing header) repeated until the file lasts as long as the catalogue's
track, so mutagen, Navidrome or any player reads its length from its size.
FLAC: written directly, one CONSTANT subframe per channel and block (a
stepped tone: valid FLAC any decoder plays, a few bytes a block).

Damage for the import's decoys: ``truncated`` (cut at half), ``zeros`` (the
middle third zero-filled, as a "Succeeded" file a peer padded), ``wrong`` (a
different song: 40 s longer than the tracklist says).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

TONE_FILE = Path(__file__).with_name("data") / "preview-tone.mp3"
DEFECTS = ("truncated", "zeros", "wrong")
FLAC_BLOCK = 4096
FLAC_RATE = 44100
_tone_frames: list[bytes] | None = None


def write_track(path: Path, seconds: float, defect: str | None = None) -> None:
    if defect == "wrong":
        seconds += 40
    ext = path.suffix.lower()
    data = flac_bytes(seconds) if ext == ".flac" else mp3_bytes(seconds)
    if defect == "truncated":
        data = data[: len(data) // 2]
    elif defect == "zeros":
        third = len(data) // 3
        data = data[:third] + bytes(third) + data[2 * third:]
    path.write_bytes(data)


# --------------------------------------------------------------------------- MP3


def _frames() -> list[bytes]:
    global _tone_frames
    if _tone_frames is None:
        data = TONE_FILE.read_bytes()
        frames, at = [], 0
        if data[:3] == b"ID3":
            at = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
        while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] & 0xE0 == 0xE0:
            length = _mp3_frame_length(data[at:at + 4])
            if not length or at + length > len(data):
                break
            frames.append(data[at:at + length])
            at += length
        _tone_frames = frames
    return _tone_frames


_BITRATES = {  # (MPEG-1 layer III, MPEG-2/2.5 layer III) kbps by index
    1: (32, 8), 2: (40, 16), 3: (48, 24), 4: (56, 32), 5: (64, 40), 6: (80, 48), 7: (96, 56), 8: (112, 64),
    9: (128, 80), 10: (160, 96), 11: (192, 112), 12: (224, 128), 13: (256, 144), 14: (320, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame_length(header: bytes) -> int | None:
    version = (header[1] >> 3) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or bitrate_index not in _BITRATES or rate_index == 3:
        return None
    bitrate = _BITRATES[bitrate_index][0 if version == 3 else 1] * 1000
    rate = _RATES[version][rate_index]
    return (144 if version == 3 else 72) * bitrate // rate + padding


def _samples_per_frame(header: bytes) -> tuple[int, int]:
    version, rate_index = (header[1] >> 3) & 3, (header[2] >> 2) & 3
    return (1152 if version == 3 else 576), _RATES[version][rate_index]


def mp3_bytes(seconds: float) -> bytes:
    frames = _frames()
    per_frame, rate = _samples_per_frame(frames[0])
    count = max(1, round(seconds * rate / per_frame))
    return b"".join(frames[i % len(frames)] for i in range(count))


# --------------------------------------------------------------------------- FLAC


def flac_bytes(seconds: float, channels: int = 2) -> bytes:
    total = max(1, int(seconds * FLAC_RATE))
    info = struct.pack(">HH", FLAC_BLOCK, FLAC_BLOCK) + (0).to_bytes(3, "big") * 2
    packed = (FLAC_RATE << 44) | ((channels - 1) << 41) | (15 << 36) | total  # 20+3+5+36 bits
    info += packed.to_bytes(8, "big") + bytes(16)
    out = [b"fLaC", bytes([0x80]) + len(info).to_bytes(3, "big"), info]
    frames = math.ceil(total / FLAC_BLOCK)
    for number in range(frames):
        size = min(FLAC_BLOCK, total - number * FLAC_BLOCK)
        value = int(6000 * math.sin(number * 0.9))  # one level per block: a stepped ~10 Hz tone
        out.append(_flac_frame(number, size, value, channels))
    return b"".join(out)


def _flac_frame(number: int, size: int, value: int, channels: int) -> bytes:
    size_code = 12 if size == FLAC_BLOCK else 7  # 12: 4096 samples; 7: 16-bit (size - 1) after the number
    header = bytearray([0xFF, 0xF8, (size_code << 4) | 9, ((channels - 1) << 4) | (4 << 1)])  # 44.1 kHz, 16 bit
    header += _utf8_number(number)
    if size_code == 7:
        header += (size - 1).to_bytes(2, "big")
    header.append(_crc8(header))
    body = header + b"".join(b"\x00" + struct.pack(">h", value) for _ in range(channels))
    return bytes(body) + _crc16(body).to_bytes(2, "big")


def _utf8_number(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x800:
        return bytes([0xC0 | (n >> 6), 0x80 | (n & 0x3F)])
    return bytes([0xE0 | (n >> 12), 0x80 | ((n >> 6) & 0x3F), 0x80 | (n & 0x3F)])


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc
