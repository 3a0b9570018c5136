"""A real full disk and a real read-only data dir for tests (they mount, so they run as root).

``small_tmpfs`` mounts a small tmpfs; ``Filler`` then takes its free space, all of
it or all but a few pages, so that the next write fails with ENOSPC exactly where
a test wants. ``read_only`` bind-mounts a folder onto itself read-only: root
ignores file modes, not a read-only mount.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path
from typing import Iterator

PAGE = 4096  # tmpfs hands out space a page at a time


@contextlib.contextmanager
def small_tmpfs(path: Path, size_kb: int = 256) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` read-only until the block ends (a bind mount of itself, remounted ro)."""
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


class Filler:
    """A file (not a data file) that takes a filesystem's free space."""

    def __init__(self, folder: Path):
        self.path = folder / "filler.bin"

    def fill(self, leave_pages: int = 0) -> None:
        """Take every free page, then give back ``leave_pages`` of them."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                try:
                    os.write(fd, b"\0" * PAGE)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
        finally:
            os.close(fd)
        size = self.path.stat().st_size
        assert size >= leave_pages * PAGE, "the filesystem had less free space than the test gives back"
        os.truncate(self.path, size - leave_pages * PAGE)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def data_files(folder: Path) -> dict[str, bytes]:
    """Every data file's bytes (what a test compares before and after a failed operation)."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.is_file() and not path.name.startswith(".") and path.name != "filler.bin"}


def temp_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob(".*.tmp"))
