"""Hand a verified folder to beets: ``beet import -q --search-id <release MBID> <folder>``.

For households whose library beets already curates: beets then tags, files
and (through its own plugins) tells the server. ``-q`` never asks questions;
beets skips an album it cannot match with confidence, and says so in its
output, which Resonance reports. Resonance verified the files first.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BEET_TIMEOUT = 1800


@dataclass(frozen=True)
class BeetsResult:
    ok: bool
    output: str


def beet_import(folder: Path, release_mbid: str, beet: str | None = None) -> BeetsResult:
    beet = beet or shutil.which("beet")
    if beet is None:
        return BeetsResult(False, "beets is not installed (no 'beet' on PATH)")
    try:
        done = subprocess.run([beet, "import", "-q", "--search-id", release_mbid, str(folder)],
                              capture_output=True, text=True, timeout=BEET_TIMEOUT)
    except subprocess.TimeoutExpired:
        return BeetsResult(False, f"beet import took more than {BEET_TIMEOUT} s")
    output = (done.stdout + done.stderr).strip()
    lines = output.splitlines()
    # beets -q exits 0 even when it skips an album; its log line says so.
    skipped = any("skipping" in line.lower() for line in lines)
    ok = done.returncode == 0 and not skipped
    return BeetsResult(ok, "\n".join(lines[-5:]) or f"beet exited with {done.returncode}")
