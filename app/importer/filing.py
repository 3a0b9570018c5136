"""Put tagged files into the library: path template, safe names, move/copy/hardlink.

Nothing is ever overwritten: when the album's folder or any target file exists,
the import stops before moving anything and says where. A move on one
filesystem is a rename (a hard link then removing the source, which fails
instead of replacing an existing file); across filesystems each file is
copied to a hidden temporary name, fsynced, compared byte for byte with the
source, linked to its final name, and only then is the source deleted. When
``PUID``/``PGID`` are set (the container's convention), new folders and files
are given to that user.
"""

from __future__ import annotations

import errno
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from app.clients.musicbrainz import Edition, EditionTrack

BLOCK = 1 << 20
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.I)
MAX_NAME_BYTES = 240  # under every common filesystem's 255, leaving room for a temporary suffix


class FilingError(Exception):
    """The files could not be put in the library (the message says what is where)."""


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Owner | None":
        env = os.environ if env is None else env
        try:
            uid, gid = env.get("PUID"), env.get("PGID")
            return cls(int(uid), int(gid if gid is not None else uid)) if uid else None
        except ValueError:
            return None


def safe_name(text: str) -> str:
    """One path segment any filesystem accepts: no reserved characters or names, no trailing dot or space."""
    name = unicodedata.normalize("NFC", text)
    name = _UNSAFE.sub("_", name).strip().rstrip(". ")
    if name.startswith("."):
        name = "_" + name[1:]
    if _RESERVED.match(name):
        name = "_" + name
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1]
    return name.rstrip(". ") or "_"


def track_path(template: str, edition: Edition, track: EditionTrack, ext: str) -> Path:
    """The library-relative path of a track; ``{disc}`` is "2-" on multi-disc albums, "" otherwise."""
    values = {
        "albumartist": edition.artist, "artist": track.artist or edition.artist, "album": edition.title,
        "year": edition.year or "0000", "disc": f"{track.disc}-" if edition.disc_count > 1 else "",
        "discnumber": track.disc, "track": track.position, "title": track.title, "ext": ext.lower().lstrip("."),
    }
    # Each segment is formatted and made safe on its own, so a "/" in a title never makes a folder.
    parts = [safe_name(segment.format(**values)) for segment in template.split("/")]
    stem, dot, suffix = parts[-1].rpartition(".")
    if dot and suffix != values["ext"]:
        parts[-1] = f"{stem}.{values['ext']}"
    return Path(*parts)


def plan(library_dir: Path, template: str, edition: Edition, pairs: list[tuple[EditionTrack, Path]]
         ) -> list[tuple[Path, Path]]:
    """(source, destination) for every file; refuses when the album's folder or any file already exists."""
    moves = [(source, library_dir / track_path(template, edition, track, source.suffix))
             for track, source in pairs]
    destinations = [d for _, d in moves]
    if len(set(destinations)) != len(destinations):
        raise FilingError("the path template gives two tracks the same file name; add {disc} or {track}")
    album_dirs = {d.parent for d in destinations}
    for folder in sorted(album_dirs):
        if folder.exists():
            raise FilingError(f"{folder} already exists in the library; nothing was overwritten")
    return moves


def transfer(moves: list[tuple[Path, Path]], mode: str, owner: Owner | None = None) -> None:
    """Carry out ``plan``'s moves; on an error the files already placed are taken back out."""
    done: list[tuple[Path, Path]] = []
    created: list[Path] = []
    try:
        for source, destination in moves:
            for folder in reversed([destination.parent, *destination.parent.parents]):
                if not folder.exists():
                    folder.mkdir()
                    created.append(folder)
                    _chown(folder, owner)
            _place(source, destination, mode)
            _chown(destination, owner)
            done.append((source, destination))
    except OSError as exc:
        _undo(done, mode)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise FilingError(f"could not {mode} {source.name} to {destination}: {exc.strerror or exc}") from None


def resume_interrupted(moves: list[tuple[Path, Path]], mode: str, library_dir: Path) -> bool:
    """After a process stopped while ``transfer`` ran: True when every file had reached the library (the
    filing is complete); otherwise what was placed is taken back out, the sources made whole again, the
    folders it made removed, and False. Each file is in one place or both at any moment, never none."""
    placed = [destination.exists() for _, destination in moves]
    if all(placed) and (mode != "move" or not any(source.exists() for source, _ in moves)):
        return True
    for (source, destination), there in zip(moves, placed):
        for leftover in destination.parent.glob(".*.resonance-part"):
            leftover.unlink(missing_ok=True)
        if not there:
            continue
        if mode == "move" and not source.exists():  # moved: bring it back before letting go of it
            source.parent.mkdir(parents=True, exist_ok=True)
            if _same_fs(source.parent, destination):
                os.link(destination, source)
            else:
                copy_verified(destination, source)
        destination.unlink()
    for folder in sorted({d.parent for _, d in moves}, key=lambda f: len(f.parts), reverse=True):
        while folder != library_dir and library_dir in folder.parents:
            try:
                folder.rmdir()
            except OSError:  # not empty (or gone): what is left is not ours to remove
                break
            folder = folder.parent
    return False


def _place(source: Path, destination: Path, mode: str) -> None:
    if mode == "hardlink":
        try:
            os.link(source, destination)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                raise OSError(exc.errno, "hardlink needs the downloads and the library on one filesystem") from None
            raise
        return
    if mode == "move":
        try:
            os.link(source, destination)  # fails rather than replace an existing file, unlike rename
            os.unlink(source)
            return
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if exc.errno != errno.EXDEV:  # a filesystem without hard links: rename after a last look
                if destination.exists():
                    raise OSError(errno.EEXIST, "exists") from None
                os.rename(source, destination)
                return
    copy_verified(source, destination)
    if mode == "move":
        os.unlink(source)


def copy_verified(source: Path, destination: Path) -> None:
    """Copy to a temporary name, fsync, compare with the source, then give it its name (never replacing)."""
    temporary = destination.with_name(f".{destination.name}.resonance-part")
    try:
        with source.open("rb") as src, temporary.open("xb") as dst:
            size = os.fstat(src.fileno()).st_size
            sent = 0
            while sent < size:  # the kernel copies (sendfile), no Python buffers in between
                count = os.sendfile(dst.fileno(), src.fileno(), sent, min(size - sent, 1 << 30))
                if count == 0:
                    break
                sent += count
            dst.flush()
            os.fsync(dst.fileno())
        if not same_bytes(source, temporary):
            raise OSError(errno.EIO, "the copy differs from the original")
        os.link(temporary, destination)
    finally:
        try:
            temporary.unlink()
        except FileNotFoundError:
            pass
    _fsync_dir(destination.parent)


def same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block_a, block_b = fa.read(BLOCK), fb.read(BLOCK)
            if block_a != block_b:
                return False
            if not block_a:
                return True


def _undo(done: list[tuple[Path, Path]], mode: str) -> None:
    for source, destination in reversed(done):
        try:
            if mode == "move" and not source.exists():
                os.link(destination, source) if _same_fs(source.parent, destination) else copy_verified(
                    destination, source)
            destination.unlink()
        except OSError:
            pass


def _same_fs(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _chown(path: Path, owner: Owner | None) -> None:
    if owner is not None:
        os.chown(path, owner.uid, owner.gid)
