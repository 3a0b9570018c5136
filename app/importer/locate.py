"""Find an album's finished files in slskd's downloads folder.

How slskd (0.2x) lays out what it downloads, read from its source
(``DownloadService``, ``FileService.MoveFile``, ``FileSafety``):

- While a file transfers it is written to the *incomplete* folder, under
  ``incomplete/<username>/<remote folders>/<file name>``. Resonance never reads
  that folder: a file there is not finished.
- When the transfer succeeds the file is moved to the *downloads* folder, under
  a subdirectory given by ``transfers.download.destination.subdirectory``,
  whose default ``${SOURCE_DIRECTORY}`` is the **last folder name of the remote
  path**: ``@@abcd\\Music\\Artist\\2002 - Album [FLAC]\\01 - Song.flac`` lands
  in ``downloads/2002 - Album [FLAC]/01 - Song.flac``. The user name is not part
  of it, so two peers' folders of the same name share one local folder; the
  Resonance downloader only imports the files it asked for, by name.
- Names are sanitised: on Linux only NUL and ``/`` are replaced by ``_``.
- When the destination file exists already (the default ``exists: rename``),
  the new file becomes ``<stem>_<.NET ticks><ext>``. So a second download of
  ``01 - Song.flac`` into the same folder is ``01 - Song_638...123.flac``; the
  newest such file is the one this download produced.
- Files of a disc subfolder (``...\\Album\\CD2\\01.flac``) land under ``CD2/``:
  only the last remote folder counts.

A setting in slskd can change the subdirectory pattern; Resonance supports the
default only (documented in docs/downloading.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: Characters slskd replaces with "_" in names on Linux.
_SLSKD_UNSAFE = re.compile(r"[\x00/]")


@dataclass(frozen=True)
class LocatedFile:
    """One file asked for from a peer, and where slskd put it (``None``: not there)."""

    remote: str
    path: Path | None


def remote_parts(remote_filename: str) -> tuple[str, str]:
    """(last remote folder name, file name) of a Soulseek path, whichever separator the peer uses."""
    separator = "\\" if "\\" in remote_filename else "/"
    parts = remote_filename.split(separator)
    return (parts[-2] if len(parts) > 1 else ""), parts[-1]


def slskd_name(text: str) -> str:
    """A path segment as slskd writes it on Linux."""
    return _SLSKD_UNSAFE.sub("_", text)


def expected_path(downloads_dir: Path, remote_filename: str) -> Path:
    """Where slskd's default layout puts a finished download of ``remote_filename``."""
    folder, name = remote_parts(remote_filename)
    return downloads_dir / slskd_name(folder) / slskd_name(name) if folder else downloads_dir / slskd_name(name)


def locate(downloads_dir: Path, remote_filename: str) -> Path | None:
    """The finished file of ``remote_filename``: the exact name, or the newest renamed copy (``_<ticks>``)."""
    path = expected_path(downloads_dir, remote_filename)
    renamed = re.compile(re.escape(path.stem) + r"_(\d{15,20})" + re.escape(path.suffix) + r"$")
    copies: list[tuple[int, Path]] = []
    try:
        for entry in path.parent.iterdir():
            match = renamed.match(entry.name)
            if match and entry.is_file():
                copies.append((int(match.group(1)), entry))
    except (FileNotFoundError, NotADirectoryError):
        return None
    if copies:
        return max(copies)[1]  # ticks grow with time: the largest is the latest download
    return path if path.is_file() else None


def locate_all(downloads_dir: Path, remote_filenames: list[str]) -> list[LocatedFile]:
    """Every requested file with its local path (``None`` when slskd's folder does not have it)."""
    return [LocatedFile(remote, locate(downloads_dir, remote)) for remote in remote_filenames]
