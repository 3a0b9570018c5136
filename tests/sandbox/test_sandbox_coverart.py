"""Fake Cover Art Archive: redirects to generated images, 404 without art, 400 on bad input."""

from __future__ import annotations

import requests


def test_it_redirects_a_front_thumbnail_to_an_image_in_two_hops(sandbox, find):
    group = find.group("Sigur Rós", "( )")
    url = f"{sandbox.urls['coverart']}/release-group/{group.id}/front-250"
    first = requests.get(url, allow_redirects=False, timeout=5)
    assert first.status_code == 307
    assert first.headers["Location"].startswith("//127.0.0.1:")  # scheme-relative, like the real one
    assert first.headers["Location"].endswith("_thumb250.jpg")
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    image = requests.get(url, timeout=5)
    assert [r.status_code for r in image.history] == [307, 302]
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(image.content[16:20], "big") == 250  # width in the IHDR chunk


def test_it_serves_the_original_and_the_other_sizes(sandbox, find):
    group = find.group("Portishead", "Dummy")
    for kind, width in (("front", 1400), ("front-500", 500), ("front-1200", 1200)):
        image = requests.get(f"{sandbox.urls['coverart']}/release-group/{group.id}/{kind}", timeout=5)
        assert int.from_bytes(image.content[16:20], "big") == width


def test_it_answers_404_text_for_albums_without_art(sandbox, find):
    group = find.group("AIR", "My Way")
    response = requests.get(f"{sandbox.urls['coverart']}/release-group/{group.id}/front-250", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    assert f"No cover art found for release group {group.id}" in response.text
    unknown = requests.get(f"{sandbox.urls['coverart']}/release-group/00000000-0000-4000-8000-000000000000/front",
                           timeout=5)
    assert unknown.status_code == 404


def test_it_rejects_malformed_mbids_and_non_front_images(sandbox, find):
    assert requests.get(f"{sandbox.urls['coverart']}/release-group/nope/front-250", timeout=5).status_code == 400
    back = requests.get(f"{sandbox.urls['coverart']}/release-group/{find.group('Björk', 'Post').id}/back", timeout=5)
    assert back.status_code == 400 and back.text.strip() == "back not supported for release groups."


def test_it_serves_release_images_by_caa_id_and_a_listing(sandbox, find):
    release = find.release("Portishead", "Dummy")
    caa_id = sandbox.catalogue.caa_image_id(release)
    image = requests.get(f"{sandbox.urls['coverart']}/release/{release.id}/{caa_id}-250.jpg", timeout=5)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    listing = requests.get(f"{sandbox.urls['coverart']}/release/{release.id}", timeout=5).json()
    assert listing["images"][0]["id"] == caa_id and listing["images"][0]["front"] is True
    assert listing["images"][0]["thumbnails"]["250"].endswith(f"{caa_id}-250.jpg")


def test_it_answers_head_requests(sandbox, find):
    group = find.group("Massive Attack", "Mezzanine")
    response = requests.head(f"{sandbox.urls['coverart']}/release-group/{group.id}/front-500", timeout=5)
    assert response.status_code == 307
