"""The fake Deezer: album search, an album's tracks with previews, the preview audio, Deezer's error shape."""

from __future__ import annotations

import requests

from app.sandbox.catalogue import credit_text


def get(sb, path, **params):
    return requests.get(sb.urls["deezer"] + path, params=params, timeout=5)


def a_group(sb):
    return next(g for g in sb.catalogue.release_groups.values() if sb.catalogue.front_release(g))


def test_search_finds_the_album_by_artist_and_title(sandbox):
    group = a_group(sandbox)
    found = get(sandbox, "/search/album", q=f'artist:"{credit_text(group.credit)}" album:"{group.title}"').json()
    assert found["total"] >= 1
    first = found["data"][0]
    assert first["title"] == group.title and first["artist"]["name"] == credit_text(group.credit)
    assert first["id"] == sandbox.deezer_state.album_id(group) and first["type"] == "album"


def test_tracks_have_previews_that_are_real_mp3(sandbox):
    group = a_group(sandbox)
    album_id = sandbox.deezer_state.album_id(group)
    tracks = get(sandbox, f"/album/{album_id}/tracks").json()["data"]
    assert len(tracks) == sandbox.catalogue.front_release(group).track_count
    audio = requests.get(tracks[0]["preview"], timeout=5)
    assert audio.headers["Content-Type"] == "audio/mpeg"
    # An MPEG audio frame header (11 sync bits) or an ID3 tag starts the file.
    assert audio.content[:3] == b"ID3" or (audio.content[0] == 0xFF and audio.content[1] & 0xE0 == 0xE0)
    assert len(audio.content) > 5000


def test_missing_albums_and_previews_as_deezer_shows_them(sandbox):
    group = a_group(sandbox)
    album_id = sandbox.deezer_state.album_id(group)
    sandbox.deezer_state.no_previews.add(group.id)
    assert {t["preview"] for t in get(sandbox, f"/album/{album_id}/tracks").json()["data"]} == {""}
    sandbox.deezer_state.missing.add(group.id)
    assert get(sandbox, f"/album/{album_id}/tracks").json() == {
        "error": {"type": "DataException", "message": "no data", "code": 800}}
    found = get(sandbox, "/search/album", q=f'album:"{group.title}"').json()["data"]
    assert all(album["id"] != album_id for album in found)
    assert get(sandbox, "/search/album").json()["error"]["code"] == 501
