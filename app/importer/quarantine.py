"""Files that failed the import leave the downloads folder for a quarantine folder, with a note.

Each failed import gets its own folder, ``<quarantine>/<date> <artist> - <album> (<peer>)``,
holding the files as they were and ``REASON.txt`` saying what failed, on
which track, and what Resonance does next. Nothing in it is ever imported.
The default quarantine is ``_quarantine`` inside slskd's downloads folder: the
same filesystem, so quarantining is a rename, and it stays beside the
downloads the household already knows where to find.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from app.importer.filing import safe_name

NOTE_NAME = "REASON.txt"


def quarantine_root(setting: str, downloads_dir: Path) -> Path:
    return Path(setting) if setting else downloads_dir / "_quarantine"


def quarantine(root: Path, files: list[Path], *, artist: str, album: str, peer: str, note: str,
               now: datetime | None = None) -> Path:
    """Move ``files`` (those that exist) into a new folder under ``root`` with the note; return the folder."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H%M%S")
    base = safe_name(f"{stamp} {artist} - {album} ({peer})")
    root.mkdir(parents=True, exist_ok=True)
    folder = root / base
    n = 1
    while True:
        try:
            folder.mkdir()
            break
        except FileExistsError:
            n += 1
            folder = root / f"{base} {n}"
    for path in files:
        if not path.is_file():
            continue
        target = folder / path.name
        k = 1
        while target.exists():  # two disc folders may both hold "01.flac"
            k += 1
            target = folder / f"{path.stem} ({k}){path.suffix}"
        try:
            os.rename(path, target)
        except OSError:
            shutil.move(str(path), str(target))
    (folder / NOTE_NAME).write_text(note.rstrip() + "\n", encoding="utf-8")
    return folder
