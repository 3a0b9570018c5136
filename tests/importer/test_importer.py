"""The whole import against the sandbox: slskd writes real files, MusicBrainz gives the editions, the files
are verified, tagged, filed, the Subsonic server scans the library and shows the album; decoys are quarantined."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from mediafile import MediaFile
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from app.clients.acoustid import AcoustIdClient
from app.clients.coverart import fetch_release_front
from app.clients.http import HttpClient
from app.clients.musicbrainz import MusicBrainzClient
from app.clients.slskd import SlskdClient
from app.clients.subsonic import SubsonicClient
from app.importer import IN_LIBRARY, QUARANTINED, ImportJob, Importer, ImportServices, ImportSettings
from app.importer import acoustic
from app.importer.acoustic import fingerprint, fpcalc_path
from app.importer.quarantine import NOTE_NAME
from app.library import load_library
from app.sandbox import Sandbox, SandboxSettings
from conditions import wait_for
from import_support import make_track

RELEASE = "2b3eda44-2f0b-5459-9ba3-991f2f2d8546"  # Múm - Finally We Are No One, 11 tracks
PEER = "import-peer"


@pytest.fixture
def folders(tmp_path) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("downloads", "library", "quarantine")}
    for path in paths.values():
        path.mkdir()
    return paths


@pytest.fixture
def sandbox(folders) -> Iterator[Sandbox]:
    settings = SandboxSettings.fast(slskd_transfer_seconds=0.02, slskd_queue_seconds=0.01,
                                    slskd_downloads_dir=str(folders["downloads"]),
                                    subsonic_library_dir=str(folders["library"]))
    with Sandbox(settings=settings) as sb:
        yield sb


def share(sb: Sandbox, username: str, folder: str, **options) -> list[str]:
    """A peer sharing the album (with decoy ``options``); the remote file names, audio first."""
    user = sb.slskd_state.add_user({"username": username, "shares": [
        {"folder": f"@@peer\\Music\\Múm\\{folder}", "release": RELEASE, "quality": "mp3-320",
         "extras": ["cover.jpg"], **options}]})
    return [f.filename for f in user.files]


def download(sb: Sandbox, username: str, remote: list[str]) -> None:
    slskd = SlskdClient(sb.urls["slskd"], sb.credentials["slskd"]["api_key"])
    slskd.enqueue(username, [(name, 1000) for name in remote])
    wait_for(lambda: all(t.is_complete for t in slskd.user_downloads(username)) and
             len(slskd.user_downloads(username)) == len(remote), timeout=30, what="the transfers")


def importer(sb: Sandbox, folders, repository=None, **overrides) -> Importer:
    settings = ImportSettings(downloads_dir=folders["downloads"], library_dir=folders["library"],
                              quarantine_dir=folders["quarantine"], subsonic_base_url="http://navidrome.example",
                              scan_timeout=30, **overrides)
    creds = sb.credentials["subsonic"]
    art = HttpClient("coverart")
    services = ImportServices(
        musicbrainz=MusicBrainzClient(sb.urls["musicbrainz"], rate=100),
        subsonic=SubsonicClient(sb.urls["subsonic"], creds["username"], creds["password"]),
        cover=lambda mbid: fetch_release_front(art, sb.urls["coverart"], mbid),
        learn_album=(lambda e: repository.add_library_album(
            artist=e.artist, artist_mbid=e.artist_mbids[0] if e.artist_mbids else None, album=e.title,
            release_mbid=e.mbid, release_group_mbid=e.release_group_mbid)) if repository else None,
        sleep=lambda s: None,
    )
    return Importer(settings, services)


def job(sb: Sandbox, remote: list[str], username: str = PEER) -> ImportJob:
    group = sb.catalogue.release_group_of(sb.catalogue.releases[RELEASE])
    return ImportJob(group.id, "Múm", group.title, username, tuple(remote))


def test_a_whole_album_goes_from_slskd_to_the_library_and_the_server_shows_it(sandbox, folders, repository):
    remote = share(sandbox, PEER, "2002 - Finally We Are No One [MP3]")
    download(sandbox, PEER, remote)
    states = []
    run = importer(sandbox, folders, repository)
    run.progress = states.append
    outcome = run.run(job(sandbox, remote))
    assert outcome.state == IN_LIBRARY, outcome.reason
    assert states == ["verifying", "importing"]
    album = Path(outcome.library_path)
    assert album == folders["library"] / "Múm" / "2002 - Finally We Are No One"
    tracks = sorted(album.glob("*.mp3"))
    assert len(tracks) == 11
    tags = MediaFile(tracks[0])
    assert (tags.track, tags.tracktotal, tags.mb_albumid) == (1, 11, RELEASE)
    assert tags.album == "Finally We Are No One"
    assert (album / "cover.png").read_bytes().startswith(b"\x89PNG")  # the sandbox's archive serves PNG
    assert (album / "cover.jpg").read_bytes() == b"resonance sandbox extra file\n"  # the peer's cover, kept
    assert outcome.library_url == f"http://navidrome.example/app/#/album/{outcome.album_id}"
    assert any(a.musicbrainz_id == RELEASE for a in SubsonicClient(
        sandbox.urls["subsonic"], **_creds(sandbox)).albums())
    assert load_library(repository).has_album("Múm", "Finally We Are No One", RELEASE)
    assert not any(p.is_file() for p in folders["downloads"].rglob("*.mp3"))


def _creds(sb: Sandbox) -> dict:
    return {"username": sb.credentials["subsonic"]["username"], "password": sb.credentials["subsonic"]["password"]}


@pytest.mark.parametrize("decoy, options, failed", [
    ("truncated", {"defects": {"truncated": [3]}}, "03 "),
    ("zero-filled", {"defects": {"zeros": [5]}}, "05 "),
    ("wrong track", {"defects": {"wrong": [2]}}, "02 "),
    ("missing track", {"missing": [7]}, "07 "),
    ("another edition", {"bonus": 2}, "12 - Bonus"),
])
def test_each_decoy_is_quarantined_with_a_note_and_nothing_reaches_the_library(
        sandbox, folders, decoy, options, failed):
    remote = share(sandbox, PEER, f"Finally We Are No One ({decoy})", **options)
    download(sandbox, PEER, remote)
    outcome = importer(sandbox, folders).run(job(sandbox, remote))
    assert outcome.state == QUARANTINED
    assert failed in outcome.failed_track or failed in outcome.reason
    assert list(folders["library"].rglob("*")) == []
    held = Path(outcome.quarantine_path)
    assert held.parent == folders["quarantine"]
    note = (held / NOTE_NAME).read_text()
    assert outcome.reason in note and "next candidate folder" in note
    assert len(list(held.glob("*.mp3"))) >= 10
    assert not any(p.is_file() for p in folders["downloads"].rglob("*.mp3"))


def test_an_album_already_in_the_library_is_never_overwritten(sandbox, folders):
    remote = share(sandbox, PEER, "2002 - Finally We Are No One [MP3]")
    download(sandbox, PEER, remote)
    first = importer(sandbox, folders).run(job(sandbox, remote))
    assert first.state == IN_LIBRARY
    before = {p: p.stat().st_mtime_ns for p in folders["library"].rglob("*")}
    share(sandbox, "second-peer", "2002 - Finally We Are No One [MP3]")
    download(sandbox, "second-peer", remote := [r.replace(PEER, "second-peer") for r in remote])
    again = importer(sandbox, folders).run(job(sandbox, remote, "second-peer"))
    assert again.state == QUARANTINED and "already exists" in again.reason
    assert {p: p.stat().st_mtime_ns for p in folders["library"].rglob("*")} == before


# --------------------------------------------------------------------------- acoustic check


class FakeAcoustId:
    """AcoustID's /v2/lookup on 127.0.0.1: fingerprint -> results, as given by the test."""

    def __init__(self) -> None:
        self.answers: dict[str, list[dict]] = {}
        self.keys: list[str] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.keys.append(request.form.get("client", ""))
        if request.form.get("client") != "good-key":
            body = {"status": "error", "error": {"code": 4, "message": "invalid API key"}}
            return Response(json.dumps(body), 400, content_type="application/json")(environ, start_response)
        results = self.answers.get(request.form.get("fingerprint", ""), [])
        return Response(json.dumps({"status": "ok", "results": results}),
                        content_type="application/json")(environ, start_response)


@pytest.fixture
def acoustid() -> Iterator[tuple[FakeAcoustId, str]]:
    fake = FakeAcoustId()
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def ffmpeg_album(sb: Sandbox, folder: Path) -> tuple[list[str], list[Path]]:
    """The album as real ffmpeg-made FLAC files at the tracklist's lengths, where slskd would put them."""
    remote, paths = [], []
    for medium, track in sb.catalogue.releases[RELEASE].tracks():
        name = f"{track.position:02} - Track.flac"
        remote.append(f"@@peer\\Music\\{folder.name}\\{name}")
        paths.append(make_track(folder / name, round(track.length / 1000), 200 + 40 * track.position))
    return remote, paths


def test_the_acoustic_check_accepts_a_match_among_several_and_refuses_another_recording(
        sandbox, folders, acoustid):
    fake, url = acoustid
    if fpcalc_path() is None:
        pytest.fail("fpcalc is needed: run scripts/install-system-deps")
    remote, paths = ffmpeg_album(sandbox, folders["downloads"] / "Album")
    recordings = [t.recording_id for _, t in sandbox.catalogue.releases[RELEASE].tracks()]
    fpcalc = fpcalc_path()
    for index, path in enumerate(paths):
        print_, _ = fingerprint(path, fpcalc)
        # The expected recording is second of three results: a check of the top result alone would refuse it.
        fake.answers[print_] = [{"id": "a1", "score": 0.97, "recordings": [{"id": "some-remaster"}]},
                                {"id": "a2", "score": 0.9, "recordings": [{"id": "x"}, {"id": recordings[index]}]}]
    wrong_print, _ = fingerprint(paths[4], fpcalc)
    fake.answers[wrong_print] = [{"id": "k", "score": 0.99, "recordings": [{"id": "karaoke-version"}]}]
    run = importer(sandbox, folders)
    run.services.acoustid = AcoustIdClient("good-key", url)
    outcome = run.run(job(sandbox, remote))
    assert outcome.state == QUARANTINED
    assert outcome.failed_track.startswith("05 ")
    assert "another recording" in outcome.reason
    assert set(fake.keys) == {"good-key"}


def test_without_fpcalc_or_a_key_the_acoustic_check_says_it_was_skipped(sandbox, folders, monkeypatch):
    remote = share(sandbox, PEER, "2002 - Finally We Are No One [MP3]")
    download(sandbox, PEER, remote)
    outcome = importer(sandbox, folders).run(job(sandbox, remote))
    assert "acoustic check skipped: no AcoustID key" in outcome.steps
    monkeypatch.setenv("PATH", "/nonexistent")  # no fpcalc either
    assert acoustic.check([], None).note == "acoustic check skipped: no fpcalc and no AcoustID key"


# --------------------------------------------------------------------------- beets


def fake_beet(folder: Path, script: str) -> Path:
    beet = folder / "beet"
    beet.write_text("#!/bin/sh\n" + script)
    beet.chmod(beet.stat().st_mode | stat.S_IXUSR)
    return folder


def test_beets_gets_the_verified_folder_with_the_release_id_and_its_result_is_reported(
        sandbox, folders, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    # The fake beets "imports": records its arguments, moves the files into the library as beets would.
    fake_beet(bin_dir, f'printf "%s\\n" "$@" > {calls}\nmkdir -p {folders["library"]}/beets\n'
                       f'mv "$5"/*.mp3 {folders["library"]}/beets/\necho "imported 11 tracks"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    remote = share(sandbox, PEER, "2002 - Finally We Are No One [MP3]")
    download(sandbox, PEER, remote)
    # beets writes the tags in real life; the sandbox's server finds the album by them.
    outcome = importer(sandbox, folders, importer="beets").run(job(sandbox, remote))
    args = calls.read_text().splitlines()
    assert args[:4] == ["import", "-q", "--search-id", RELEASE]
    assert args[4] == str(folders["downloads"] / "2002 - Finally We Are No One [MP3]")
    assert any("imported 11 tracks" in step for step in outcome.steps)
    assert outcome.library_path == "(filed by beets)"
    assert len(list((folders["library"] / "beets").glob("*.mp3"))) == 11


def test_beets_skipping_the_album_quarantines_it(sandbox, folders, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_beet(bin_dir, 'echo "Skipping album: no match with the given id"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    remote = share(sandbox, PEER, "2002 - Finally We Are No One [MP3]")
    download(sandbox, PEER, remote)
    outcome = importer(sandbox, folders, importer="beets").run(job(sandbox, remote))
    assert outcome.state == QUARANTINED
    assert "Skipping album" in outcome.reason
