"""Import: from slskd's finished downloads to the household's library.

One album at a time, in steps that each have their own module:

1. ``locate``: where slskd put the files asked for (its downloads layout).
2. ``verify``: the best-fitting edition of the release group; every track
   present, readable, of the right length, not cut short, not zero-filled;
   then the optional ``acoustic`` check (fpcalc + AcoustID).
3. ``tagging``: the release's data and MusicBrainz ids into every file.
4. ``filing``: into ``library_dir`` by the path template, never overwriting;
   the front cover from the Cover Art Archive as ``cover.jpg``.
5. ``rescan``: the Subsonic server rescans and shows the album; the library
   cache used by discovery learns it at once.

Any failure sends the files to ``quarantine`` with a note of the reason, and
nothing that failed reaches the library. ``library.importer: beets`` hands
step 3-4 to ``beet import`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.clients.acoustid import AcoustIdClient
from app.clients.http import UpstreamError
from app.clients.musicbrainz import Edition, MusicBrainzClient
from app.clients.subsonic import SubsonicClient
from app.importer import acoustic, beets, filing, locate, quarantine, rescan, tagging, verify
from app.importer.audio import AUDIO_SUFFIXES

log = logging.getLogger(__name__)

IN_LIBRARY = "in_library"
QUARANTINED = "quarantined"
IMPORTING = "importing"  # filed, but the Subsonic server does not show it yet
VERIFYING = "verifying"  # could not finish (an upstream was down): try again later


@dataclass(frozen=True)
class ImportJob:
    """One downloaded album folder: what it should be, who sent it, which files were asked for."""

    release_group_mbid: str
    artist: str
    album: str
    username: str
    remote_files: tuple[str, ...]
    next_step: str = "the downloader tries the next candidate folder"


@dataclass
class ImportOutcome:
    state: str
    reason: str = ""
    failed_track: str = ""
    library_path: str = ""
    library_url: str = ""
    note: str = ""
    release_mbid: str = ""
    quarantine_path: str = ""
    album_id: str = ""
    steps: list[str] = field(default_factory=list)


@dataclass
class ImportSettings:
    downloads_dir: Path
    library_dir: Path
    quarantine_dir: Path
    path_template: str = "{albumartist}/{year} - {album}/{disc}{track:02} {title}.{ext}"
    transfer: str = "move"
    duration_tolerance: float = 5.0
    importer: str = "builtin"
    scan_timeout: float = 600.0
    subsonic_base_url: str = ""

    @classmethod
    def from_settings(cls, settings: Any) -> "ImportSettings":
        lib = settings.library
        downloads = Path(lib.downloads_dir)
        return cls(downloads_dir=downloads, library_dir=Path(lib.library_dir),
                   quarantine_dir=quarantine.quarantine_root(lib.quarantine_dir, downloads),
                   path_template=lib.path_template, transfer=lib.transfer,
                   duration_tolerance=float(lib.duration_tolerance), importer=lib.importer,
                   scan_timeout=float(lib.scan_timeout), subsonic_base_url=settings.subsonic.base_url or "")


@dataclass
class ImportServices:
    musicbrainz: MusicBrainzClient
    subsonic: SubsonicClient | None = None
    acoustid: AcoustIdClient | None = None
    #: release MBID -> JPEG bytes of its front cover, or None
    cover: Callable[[str], bytes | None] | None = None
    #: the library cache learns an album the moment it is filed
    learn_album: Callable[[Edition], None] | None = None
    owner: filing.Owner | None = None
    sleep: Callable[[float], None] | None = None


class Importer:
    def __init__(self, settings: ImportSettings, services: ImportServices,
                 progress: Callable[[str], None] | None = None,
                 planned: Callable[[list[tuple[Path, Path]]], None] | None = None) -> None:
        self.settings = settings
        self.services = services
        self.progress = progress or (lambda state: None)
        # Told the moves before any file is moved, so a process stopped half-way can be finished or undone.
        self.planned = planned or (lambda moves: None)

    def run(self, job: ImportJob) -> ImportOutcome:
        located = locate.locate_all(self.settings.downloads_dir, list(job.remote_files))
        present = [f.path for f in located if f.path is not None]
        audio = [p for p in present if p.suffix.lower() in AUDIO_SUFFIXES]
        extras = [p for p in present if p.suffix.lower() not in AUDIO_SUFFIXES]
        outcome = ImportOutcome(state=VERIFYING)
        outcome.steps.append(f"located {len(present)} of {len(located)} files in {self.settings.downloads_dir}")
        self.progress(VERIFYING)
        if not audio:
            where = locate.expected_path(self.settings.downloads_dir, job.remote_files[0]).parent \
                if job.remote_files else self.settings.downloads_dir
            return self._quarantine(job, outcome, present, f"no finished audio file found in {where}", "")
        try:
            editions = self.services.musicbrainz.editions(job.release_group_mbid)
        except UpstreamError as exc:
            outcome.note = f"verification waits for MusicBrainz: {exc}"
            return outcome
        checked = verify.verify(editions, audio, self.settings.duration_tolerance)
        outcome.steps.extend(checked.notes)
        edition = checked.edition
        if not checked.ok or edition is None:
            failure = checked.failures[0] if checked.failures else None
            return self._quarantine(job, outcome, present, checked.reason, failure.track if failure else "")
        outcome.release_mbid = edition.mbid
        pairs = [(track, f.path) for track, f in checked.pairs]
        heard = acoustic.check([(verify.track_label(t, edition.disc_count), t.recording_mbid, p) for t, p in pairs],
                               self.services.acoustid)
        outcome.steps.append(heard.note)
        if heard.failures:
            label, reason = heard.failures[0]
            return self._quarantine(job, outcome, present, f"{label}: {reason}", label)
        self.progress(IMPORTING)
        outcome.state = IMPORTING
        if self.settings.importer == "beets":
            return self._beets(job, outcome, edition, pairs, present)
        try:
            tagging.tag_all(pairs, edition)
            moves = filing.plan(self.settings.library_dir, self.settings.path_template, edition, pairs)
            self.planned(moves)
            filing.transfer(moves, self.settings.transfer, self.services.owner)
        except filing.FilingError as exc:
            return self._quarantine(job, outcome, present, str(exc), "")
        except Exception as exc:  # a tagging library error must not leave the album half-done
            log.exception("import of %s - %s failed while tagging or filing", job.artist, job.album)
            return self._quarantine(job, outcome, present, f"could not tag or file: {exc}", "")
        album_dir = moves[0][1].parent
        outcome.library_path = str(album_dir)
        outcome.steps.append(f"{self.settings.transfer}d {len(moves)} files to {album_dir}")
        self._save_cover(edition, album_dir, outcome)  # before the peer's extras: the archive's cover.jpg wins
        self._place_extras(extras, album_dir)
        return self._finish(outcome, edition)

    # -- steps after the files are in the library

    def _finish(self, outcome: ImportOutcome, edition: Edition) -> ImportOutcome:
        if self.services.learn_album is not None:
            self.services.learn_album(edition)
        client = self.services.subsonic
        if client is None:
            outcome.state = IN_LIBRARY
            outcome.note = "in the library folder; no Subsonic server is set, so nothing was rescanned"
            return outcome
        try:
            kwargs = {"sleep": self.services.sleep} if self.services.sleep else {}
            found = rescan.rescan_and_find(client, release_mbid=edition.mbid, album=edition.title,
                                           artist=edition.artist, timeout=self.settings.scan_timeout, **kwargs)
        except UpstreamError as exc:
            outcome.note = f"filed; the Subsonic rescan failed: {exc}"
            return outcome
        outcome.steps.append(found.note)
        if found.album is None:
            outcome.note = f"filed; {found.note}"
            return outcome
        outcome.state = IN_LIBRARY
        outcome.album_id = found.album.id
        outcome.library_url = rescan.navidrome_link(self.settings.subsonic_base_url, found.album.id)
        outcome.note = found.note
        return outcome

    def _beets(self, job: ImportJob, outcome: ImportOutcome, edition: Edition, pairs, present) -> ImportOutcome:
        folders = {p.parent for _, p in pairs}
        folder = folders.pop() if len(folders) == 1 else Path(*_common_parts([p.parent for _, p in pairs]))
        result = beets.beet_import(folder, edition.mbid)
        outcome.steps.append(f"beet import: {result.output}")
        if not result.ok:
            return self._quarantine(job, outcome, present, f"beet import did not import it: {result.output}", "")
        outcome.library_path = "(filed by beets)"
        return self._finish(outcome, edition)

    def _place_extras(self, extras: list[Path], album_dir: Path) -> None:
        for path in extras:
            target = album_dir / filing.safe_name(path.name)
            if target.exists():
                continue
            try:
                filing.transfer([(path, target)], self.settings.transfer, self.services.owner)
            except filing.FilingError as exc:
                log.warning("extra file left in downloads: %s", exc)

    def _save_cover(self, edition: Edition, album_dir: Path, outcome: ImportOutcome) -> None:
        if self.services.cover is None:
            return
        try:
            image = self.services.cover(edition.mbid)
        except UpstreamError as exc:
            outcome.steps.append(f"no cover.jpg: {exc}")
            return
        # The archive's thumbnails are JPEG; a PNG (a mirror's original) keeps its own suffix.
        cover = album_dir / ("cover.png" if image and image.startswith(b"\x89PNG") else "cover.jpg")
        if image and not cover.exists():
            temporary = album_dir / ".cover.jpg.resonance-part"
            temporary.write_bytes(image)
            temporary.rename(cover)
            if self.services.owner:
                filing._chown(cover, self.services.owner)
            outcome.steps.append(f"{cover.name} from the Cover Art Archive")

    def _quarantine(self, job: ImportJob, outcome: ImportOutcome, files: list[Path], reason: str,
                    failed_track: str) -> ImportOutcome:
        note = "\n".join([
            f"{job.artist} - {job.album} from {job.username} was not imported.",
            f"Reason: {reason}",
            *([f"Failed track: {failed_track}"] if failed_track else []),
            f"Next: {job.next_step}.",
            "",
            *outcome.steps,
            "",
            "Files asked for:",
            *job.remote_files,
        ])
        folder = quarantine.quarantine(self.settings.quarantine_dir, files, artist=job.artist, album=job.album,
                                       peer=job.username, note=note)
        outcome.state = QUARANTINED
        outcome.reason = reason
        outcome.failed_track = failed_track
        outcome.quarantine_path = str(folder)
        outcome.note = f"files in {folder}; next: {job.next_step}"
        log.warning("import of %s - %s from %s quarantined: %s", job.artist, job.album, job.username, reason)
        return outcome


def _common_parts(paths: list[Path]) -> tuple[str, ...]:
    parts = list(paths[0].parts)
    for path in paths[1:]:
        while parts and tuple(path.parts[:len(parts)]) != tuple(parts):
            parts.pop()
    return tuple(parts) or ("/",)
