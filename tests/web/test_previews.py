"""Previews through the sandbox's fake Deezer: the list, the streamed audio, the cache, the off switch."""

from __future__ import annotations

import os
import time

import pytest
from factories import make_queue_item
from websupport import PASSWORD, USER, Client, parse

from app import create_app
from app.sandbox import Sandbox, SandboxSettings
from app.sandbox.catalogue import credit_text
from app.sandbox.deezer import tone_mp3


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(settings=SandboxSettings.fast()) as sb:
        yield sb


@pytest.fixture
def deezer(sandbox):
    sandbox.clear_requests("deezer")
    sandbox.faults("deezer").clear()
    sandbox.deezer_state.missing.clear()
    sandbox.deezer_state.no_previews.clear()
    return sandbox


@pytest.fixture
def album(deezer, repository):
    """A pending album the fake Deezer has (with its tracks)."""
    group = next(g for g in deezer.catalogue.release_groups.values() if deezer.catalogue.front_release(g))
    item = make_queue_item(mbid=group.id, artist=credit_text(group.credit), album=group.title)
    repository.add_pending([item])
    return group


@pytest.fixture
def previews_app(repository, write_config, deezer):
    def make(**previews):
        write_config(web={"auth": "basic", "username": USER, "password": PASSWORD},
                     previews={"deezer_url": deezer.urls["deezer"], **previews})
        app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
        app.test_client_class = Client
        return app.test_client()

    return make


def deezer_paths(sb) -> list[str]:
    return [r.path for r in sb.requests("deezer")]


def test_a_queue_card_has_a_play_button_hidden_until_javascript_shows_it(previews_app, album):
    page = parse(previews_app().get("/").data)
    box = page.one(f'.card[data-mbid="{album.id}"] .preview')
    assert box.get("data-preview") == f"/previews/{album.id}"
    assert "hidden" in box.attrs
    assert box.one("button.preview-play").get("aria-label").startswith("Play a preview of")


def test_the_album_lists_its_previews_as_addresses_on_resonance(previews_app, album, deezer):
    answer = previews_app().get(f"/previews/{album.id}").get_json()
    tracks = deezer.catalogue.front_release(album).tracks()
    assert [t["title"] for t in answer["tracks"]] == [track.title for _, track in tracks]
    assert answer["tracks"][0]["url"] == f"/previews/{album.id}/1.mp3"
    assert answer["message"] == ""
    assert "127.0.0.1:" not in str(answer)  # no Deezer address reaches the browser
    assert deezer_paths(deezer) == ["/search/album", f"/album/{deezer.deezer_state.album_id(album)}/tracks"]


def test_the_audio_is_streamed_as_mpeg_and_then_served_from_the_cache(previews_app, album, deezer, data_dir):
    client = previews_app()
    first = client.get(f"/previews/{album.id}/2.mp3")
    assert first.status_code == 200
    assert first.mimetype == "audio/mpeg"
    assert first.data == tone_mp3()
    assert (data_dir / "cache" / "previews" / f"{album.id}-2.mp3").read_bytes() == tone_mp3()
    fetched = deezer_paths(deezer)
    assert fetched[-1].endswith("/2.mp3")

    again = client.get(f"/previews/{album.id}/2.mp3")
    assert again.data == tone_mp3()
    assert deezer_paths(deezer) == fetched  # from the cache: Deezer was not asked again

    part = client.get(f"/previews/{album.id}/2.mp3", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == tone_mp3()[:100]


def test_an_expired_preview_is_fetched_again(previews_app, album, deezer, data_dir):
    client = previews_app(cache_age=60)
    client.get(f"/previews/{album.id}/1.mp3")
    cached = data_dir / "cache" / "previews" / f"{album.id}-1.mp3"
    old = time.time() - 120
    os.utime(cached, (old, old))
    deezer.clear_requests("deezer")
    assert client.get(f"/previews/{album.id}/1.mp3").data == tone_mp3()
    assert deezer_paths(deezer)[-1].endswith("/1.mp3")


def test_the_cache_stays_within_its_bound_oldest_out_first(previews_app, album, data_dir):
    folder = data_dir / "cache" / "previews"
    folder.mkdir(parents=True)
    # Two older previews of other albums that together fill the 1 MB bound.
    oldest = folder / "00000000-0000-0000-0000-000000000001-1.mp3"
    older = folder / "00000000-0000-0000-0000-000000000002-1.mp3"
    oldest.write_bytes(b"\0" * 600_000)
    older.write_bytes(b"\0" * 440_000)
    now = time.time()
    os.utime(oldest, (now - 30, now - 30))
    os.utime(older, (now - 20, now - 20))

    assert previews_app(cache_mb=1).get(f"/previews/{album.id}/1.mp3").status_code == 200
    assert not oldest.exists()
    assert older.exists() and (folder / f"{album.id}-1.mp3").exists()
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 1024 * 1024


def test_previews_turned_off_leave_no_button_and_ask_deezer_nothing(previews_app, album, deezer):
    client = previews_app(enabled=False)
    assert not parse(client.get("/").data).select(".preview")
    assert client.get(f"/previews/{album.id}").status_code == 404
    assert client.get(f"/previews/{album.id}/1.mp3").status_code == 404
    assert deezer_paths(deezer) == []


def test_deezer_failing_is_no_preview_not_an_error(previews_app, album, deezer):
    deezer.faults("deezer").set(error=503)
    client = previews_app()
    answer = client.get(f"/previews/{album.id}")
    assert answer.status_code == 200
    assert answer.get_json()["tracks"] == []
    assert answer.get_json()["message"] == "No preview: Deezer did not answer"
    audio = client.get(f"/previews/{album.id}/1.mp3")
    assert audio.status_code == 404
    assert b"No preview" in audio.data


def test_an_album_deezer_lacks_is_no_preview(previews_app, album, deezer):
    deezer.deezer_state.missing.add(album.id)
    answer = previews_app().get(f"/previews/{album.id}").get_json()
    assert answer["tracks"] == [] and answer["message"] == "No preview"


def test_tracks_without_a_preview_are_left_out(previews_app, album, deezer):
    deezer.deezer_state.no_previews.add(album.id)
    answer = previews_app().get(f"/previews/{album.id}").get_json()
    assert answer["tracks"] == [] and answer["message"] == "No preview"


def test_a_decided_album_is_found_in_the_history(previews_app, album, repository):
    repository.reject([album.id])
    client = previews_app()
    page = parse(client.get("/history/rejected").data)
    assert page.one(".row-item .preview").get("data-preview") == f"/previews/{album.id}"
    assert client.get(f"/previews/{album.id}/1.mp3").data == tone_mp3()


def test_an_album_resonance_does_not_know_has_no_preview(previews_app, deezer):
    client = previews_app()
    assert client.get("/previews/00000000-0000-0000-0000-00000000abcd").status_code == 404
    assert client.get("/previews/not-an-mbid/1.mp3").status_code == 404
    assert deezer_paths(deezer) == []


def test_the_page_allows_audio_only_from_resonance(previews_app, album):
    policy = previews_app().get("/").headers["Content-Security-Policy"]
    assert "media-src 'self'" in policy


def test_a_wishlist_album_plays_its_preview_and_a_track_has_no_button(previews_app, deezer, repository):
    from app.wishlist import WishlistEntry

    group = next(g for g in deezer.catalogue.release_groups.values() if deezer.catalogue.front_release(g))
    repository.add_to_wishlist([WishlistEntry.create(credit_text(group.credit), group.title),
                                WishlistEntry.create("Someone", "A Single Song", "track")])
    client = previews_app()
    page = parse(client.get("/wishlist").data)
    boxes = page.select(".row-item .preview")
    assert len(boxes) == 1  # the track has none: Deezer's album search cannot find it
    answer = client.get(boxes[0].get("data-preview")).get_json()
    assert answer["album"] == group.title and answer["tracks"]
    audio = client.get(answer["tracks"][0]["url"])
    assert audio.mimetype == "audio/mpeg" and audio.data == tone_mp3()
    assert client.get("/previews/wishlist/0123456789abcdef0123").status_code == 404
    assert client.get(answer["tracks"][0]["url"].replace("/1.mp3", "/100000.mp3")).status_code == 404


def test_previews_need_a_signed_in_person(previews_app, album, deezer):
    client = previews_app()
    client.authorization = None
    assert client.get(f"/previews/{album.id}").status_code == 401
    assert client.get(f"/previews/{album.id}/1.mp3").status_code == 401
    assert deezer_paths(deezer) == []
