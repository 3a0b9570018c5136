"""The downloader's album info from MusicBrainz: "no tracklist" is remembered only when MusicBrainz said so."""

from __future__ import annotations

from app.clients.http import RetryPolicy
from app.clients.musicbrainz import MusicBrainzClient
from app.pipelines.downloader import Downloader
from app.wishlist import WishlistEntry
from tests.downloader_support import fresh_governor, sandbox, slskd_context  # noqa: F401 - fixtures

ONCE = RetryPolicy(max_attempts=1)


def downloader(ctx, sandbox):
    return Downloader(ctx, mb=MusicBrainzClient(sandbox.urls["musicbrainz"], rate=100, retry=ONCE,
                                                contact="tests@example.invalid"))


def cached_album(repository, entry):
    record = repository.download_record(entry.text)
    return record.album if record is not None else None


def test_a_reply_cut_short_is_not_remembered_as_no_tracklist(sandbox, slskd_context, repository):
    entry = WishlistEntry.create("Sigur Rós", "Takk...")
    run = downloader(slskd_context(), sandbox)
    sandbox.faults("musicbrainz").set(malformed=True)
    assert run.album_info(entry) is None  # postponed: searched at the next run
    assert cached_album(repository, entry) is None

    sandbox.faults("musicbrainz").clear()
    info = run.album_info(entry)
    assert info["source"] == "musicbrainz" and info["tracks"]
    assert cached_album(repository, entry)["source"] == "musicbrainz"


def test_a_failed_reply_is_not_remembered_either(sandbox, slskd_context, repository):
    entry = WishlistEntry.create("Sigur Rós", "Takk...")
    sandbox.faults("musicbrainz").set(error=400, error_body='{"error": "Invalid mbid."}')
    assert downloader(slskd_context(), sandbox).album_info(entry) is None
    assert cached_album(repository, entry) is None


def test_no_album_is_remembered_when_musicbrainz_said_so(sandbox, slskd_context, repository):
    entry = WishlistEntry.create("Sigur Rós", "An Album That Was Never Made")
    info = downloader(slskd_context(), sandbox).album_info(entry)
    assert info["source"] == "none" and "no album with this artist and title" in info["reason"]
    assert cached_album(repository, entry)["source"] == "none"
