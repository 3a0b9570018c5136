"""The optional acoustic check: Chromaprint's fpcalc + AcoustID.

A fingerprint can belong to several AcoustID tracks, and one AcoustID track to
several recordings (the album version, a remaster, the single), so a file is
accepted when ANY recording of ANY result is the expected one; judging on the
top result alone would refuse right files. Without ``fpcalc`` on PATH or an
AcoustID key, the check is skipped and says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.clients.acoustid import AcoustIdClient
from app.clients.http import UpstreamError

#: fpcalc decodes the file; a long track on a busy machine takes a few seconds.
FPCALC_TIMEOUT = 120


@dataclass(frozen=True)
class AcousticResult:
    ran: bool
    failures: tuple[tuple[str, str], ...] = ()  # (track label, reason)
    note: str = ""


class FingerprintError(Exception):
    pass


def fpcalc_path() -> str | None:
    return shutil.which("fpcalc")


def fingerprint(path: Path, fpcalc: str) -> tuple[str, float]:
    """(fingerprint, duration) of an audio file, from ``fpcalc -json``."""
    try:
        done = subprocess.run([fpcalc, "-json", str(path)], capture_output=True, text=True, timeout=FPCALC_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise FingerprintError(f"fpcalc took more than {FPCALC_TIMEOUT} s") from None
    if done.returncode != 0:
        raise FingerprintError(f"fpcalc could not decode it ({done.stderr.strip()[:200] or done.returncode})")
    try:
        data = json.loads(done.stdout)
        return str(data["fingerprint"]), float(data["duration"])
    except (ValueError, KeyError, TypeError):
        raise FingerprintError("fpcalc gave no fingerprint") from None


def check(tracks: list[tuple[str, str | None, Path]], client: AcoustIdClient | None) -> AcousticResult:
    """``tracks``: (label, expected recording MBID, file). Skipped without fpcalc or a client."""
    fpcalc = fpcalc_path()
    if client is None or fpcalc is None:
        missing = " and no ".join(x for x, absent in (("fpcalc", fpcalc is None), ("AcoustID key", client is None))
                                  if absent)
        return AcousticResult(False, note=f"acoustic check skipped: no {missing}")
    failures = []
    for label, recording_mbid, path in tracks:
        if not recording_mbid:
            continue
        try:
            print_, duration = fingerprint(path, fpcalc)
        except FingerprintError as exc:
            failures.append((label, f"{path.name}: {exc}"))
            continue
        try:
            matches = client.lookup(print_, duration)
        except UpstreamError as exc:
            return AcousticResult(False, tuple(failures), note=f"acoustic check not finished: {exc}")
        if not matches:
            continue  # AcoustID does not know this audio: nothing to say against it
        if not any(recording_mbid in m.recording_mbids for m in matches):
            others = sum(len(m.recording_mbids) for m in matches)
            failures.append((label, f"{path.name} sounds like another recording (AcoustID: {len(matches)} "
                                    f"match{'es' if len(matches) != 1 else ''}, {others} recordings, none expected)"))
    return AcousticResult(True, tuple(failures), note=f"acoustic check: {len(tracks) - len(failures)} of "
                                                      f"{len(tracks)} tracks match their recording")
