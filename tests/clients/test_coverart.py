"""Cover Art Archive URL builders."""

from __future__ import annotations

import pytest

from app.clients.coverart import release_front_url, release_group_front_url

CAA = "https://coverartarchive.org"
RG = "48140466-cff6-3222-bd55-63c27e43190d"
REL = "76df3287-6cda-33eb-8e9a-044b5e15ffdd"


def test_it_builds_release_group_thumbnail_urls_without_requests(requests_mock):
    assert release_group_front_url(CAA, RG) == f"{CAA}/release-group/{RG}/front-250"
    assert release_group_front_url(CAA + "/", RG, size=500) == f"{CAA}/release-group/{RG}/front-500"
    assert release_group_front_url("http://caa.sandbox:8080/", RG, size=None) == \
        f"http://caa.sandbox:8080/release-group/{RG}/front"
    assert not requests_mock.called


def test_it_builds_release_urls_from_listenbrainz_caa_ids():
    assert release_front_url(CAA, REL, 829521842) == f"{CAA}/release/{REL}/829521842-250.jpg"
    assert release_front_url(CAA, REL, "829521842", size=1200) == f"{CAA}/release/{REL}/829521842-1200.jpg"
    assert release_front_url(CAA, REL, None) == f"{CAA}/release/{REL}/front-250"
    assert release_front_url(CAA, REL, 829521842, size=None) == f"{CAA}/release/{REL}/front"


def test_it_rejects_sizes_that_are_not_thumbnails():
    with pytest.raises(ValueError):
        release_group_front_url(CAA, RG, size=300)
