"""catalog-discovery's pure parts: who to ask, ranking, filtering, album choice."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.clients.lastfm import SimilarArtist
from app.clients.musicbrainz import ArtistMatch, ReleaseGroup
from app.clients.subsonic import LibraryAlbum, LibraryArtist
from app.library import Library
from app.matching import artist_key
from app.pipelines.catalog import (
    Candidate,
    Discovered,
    answer_record,
    artists_to_ask,
    exact_artist,
    filter_candidates,
    library_snapshot,
    pick_albums,
    rank_candidates,
    similarity_score,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def answer(library_artist, *similar, asked_at="2026-03-01T10:00:00Z"):
    """A saved Last.fm answer: similar given as (name, match) or (name, match, mbid)."""
    rows = [SimilarArtist(s[0], s[2] if len(s) > 2 else None, s[1]) for s in similar]
    return answer_record(library_artist, asked_at, rows)


def answers(*records):
    return {artist_key(r["artist"]): r for r in records}


def candidate(name, mbid=None, total=0.5):
    return Candidate(artist_key(name), name, mbid, total, total, ["Someone"])


def group(mbid, title, date="2001", primary="Album", secondary=()):
    return ReleaseGroup(mbid=mbid, title=title, primary_type=primary, secondary_types=tuple(secondary),
                        first_release_date=date, year=int(date[:4]) if date else None)


# --- combining similarities ----------------------------------------------------------------


def test_it_scores_sums_of_matches_from_0_to_100_in_the_same_order():
    assert similarity_score(0) == 0.0
    assert similarity_score(0.5) == 39.3
    assert similarity_score(1.0) == 63.2
    assert similarity_score(2.4) == 90.9
    assert similarity_score(50) == 100.0
    sums = [0.3, 0.31, 0.9, 1.0, 1.8, 2.5, 4.0]
    assert [similarity_score(t) for t in sums] == sorted(similarity_score(t) for t in sums)


def test_it_ranks_a_candidate_similar_to_several_library_artists_first():
    ranked = rank_candidates(answers(
        answer("Daft Punk", ("Justice", 0.8), ("Kavinsky", 0.7), ("Air", 0.85)),
        answer("Kavinsky", ("Justice", 0.6), ("College", 0.9)),
        answer("Air", ("Justice", 0.5), ("Phoenix", 0.65)),
    ), min_similarity=0.3)
    assert [c.name for c in ranked] == ["Justice", "College", "Air", "Kavinsky", "Phoenix"]
    justice = ranked[0]
    assert justice.total == pytest.approx(1.9) and justice.score == 85.0 and justice.best == 0.8
    assert justice.similar_to == ["Daft Punk", "Kavinsky", "Air"]  # strongest first


def test_it_leaves_out_matches_below_the_minimum():
    ranked = rank_candidates(answers(
        answer("Daft Punk", ("Justice", 0.29), ("Cassius", 0.31)),
        answer("Air", ("Justice", 0.9)),
    ), min_similarity=0.3)
    assert [(c.name, c.similar_to) for c in ranked] == [("Justice", ["Air"]), ("Cassius", ["Daft Punk"])]
    assert rank_candidates(answers(answer("Air", ("Justice", 0.1))), min_similarity=0.3) == []


@pytest.mark.parametrize("first, second", [
    ("Björk", "Bjork"), ("The Beatles", "Beatles"), ("Simon & Garfunkel", "Simon and Garfunkel"),
])
def test_it_merges_names_written_differently_into_one_candidate(first, second):
    ranked = rank_candidates(answers(
        answer("Library A", (first, 0.9, "mbid-1")),
        answer("Library B", (second, 0.5)),
    ), min_similarity=0.3)
    assert len(ranked) == 1
    assert ranked[0].name == first and ranked[0].mbid == "mbid-1"
    assert ranked[0].similar_to == ["Library A", "Library B"]
    assert ranked[0].total == pytest.approx(1.4)


def test_it_counts_a_library_artist_once_per_candidate_even_when_lastfm_repeats_it():
    ranked = rank_candidates(answers(answer("Air", ("Justice", 0.4), ("JUSTICE", 0.7))), min_similarity=0.3)
    assert len(ranked) == 1 and ranked[0].total == pytest.approx(0.7) and ranked[0].name == "JUSTICE"


def test_it_takes_the_mbid_from_any_source_that_has_one():
    ranked = rank_candidates(answers(
        answer("Air", ("Justice", 0.9)),
        answer("Daft Punk", ("Justice", 0.4, "justice-mbid")),
    ), min_similarity=0.3)
    assert ranked[0].mbid == "justice-mbid" and ranked[0].name == "Justice"


def test_it_breaks_ties_by_number_of_sources_then_best_match_then_name():
    ranked = rank_candidates(answers(
        answer("A", ("Single", 1.0), ("Even", 0.5), ("Uneven", 0.8), ("Zed", 0.8)),
        answer("B", ("Even", 0.5), ("Uneven", 0.2), ("Zed", 0.2)),
    ), min_similarity=0.0)
    assert [c.name for c in ranked] == ["Uneven", "Zed", "Even", "Single"]
    assert {c.total for c in ranked} == {1.0}


def test_it_keeps_lastfms_corrections_and_unknown_artists_in_the_answer():
    record = answer_record("Sigur Ros", "2026-03-01T10:00:00Z", [SimilarArtist("Múm", None, 0.123456)],
                           corrected_name="Sigur Rós")
    assert record == {"artist": "Sigur Ros", "asked_at": "2026-03-01T10:00:00Z",
                      "similar": [{"name": "Múm", "mbid": "", "match": 0.1235}]}  # a correction of accents only
    assert answer_record("Jay Z", "t", corrected_name="JAY-Z")["similar"] == []
    assert answer_record("Jay Z", "t", corrected_name="Jay-Z & Kanye West")["lastfm_name"] == "Jay-Z & Kanye West"
    assert answer_record("Nobody", "t", unknown=True)["unknown"] is True


# --- who is asked -----------------------------------------------------------------------------


def test_it_asks_about_never_asked_artists_first_then_the_oldest_answers():
    artists = [
        {"name": "Old", "mbid": ""},
        {"name": "Fresh", "mbid": ""},
        {"name": "Never Small", "mbid": "", "album_count": 1},
        {"name": "Never Big", "mbid": "", "album_count": 12},
        {"name": "Older", "mbid": ""},
    ]
    saved = answers(answer("Old", asked_at="2026-01-20T00:00:00Z"), answer("Older", asked_at="2026-01-02T00:00:00Z"),
                    answer("Fresh", asked_at="2026-02-25T00:00:00Z"))
    due = artists_to_ask(artists, saved, now=NOW, refresh_days=30, limit=10)
    assert [a["name"] for a in due] == ["Never Big", "Never Small", "Older", "Old"]  # Fresh was asked 4 days ago
    assert [a["name"] for a in artists_to_ask(artists, saved, now=NOW, refresh_days=30, limit=2)] == [
        "Never Big", "Never Small"]
    assert [a["name"] for a in artists_to_ask(artists, saved, now=NOW, refresh_days=3, limit=10)][-1] == "Fresh"


def test_it_never_asks_about_various_artists_and_asks_once_per_name():
    artists = [{"name": "Various Artists", "mbid": ""}, {"name": "[Unknown Artist]", "mbid": ""},
               {"name": "Compilations", "mbid": "89ad4ac3-39f7-470e-963a-56509c546377"},
               {"name": "Björk", "mbid": "", "album_count": 1}, {"name": "Bjork", "mbid": "b", "album_count": 5}]
    due = artists_to_ask(artists, {}, now=NOW, refresh_days=30, limit=10)
    assert due == [{"name": "Bjork", "mbid": "b", "album_count": 5}]


def test_it_builds_the_snapshot_from_the_subsonic_records():
    snapshot = library_snapshot(
        [LibraryArtist("ar-1", "Björk", 9, "87c5dedd-371d-4a53-9f7f-80522fb7f3cb"),
         LibraryArtist("ar-2", "坂本龍一")],
        [LibraryAlbum("al-1", "Homogenic", "Björk", "ar-1", 1997, 10, "rel-1"),
         LibraryAlbum("al-2", "B-2 Unit", None)],
        "http://nas:4533/music", "2026-03-01T12:00:00Z",
    )
    assert snapshot == {
        "taken_at": "2026-03-01T12:00:00Z", "server": "http://nas:4533/music",
        "artists": [{"id": "ar-1", "name": "Björk", "mbid": "87c5dedd-371d-4a53-9f7f-80522fb7f3cb", "album_count": 9},
                    {"id": "ar-2", "name": "坂本龍一", "mbid": "", "album_count": 0}],
        "albums": [{"id": "al-1", "artist": "Björk", "name": "Homogenic", "year": 1997, "mbid": "rel-1"},
                   {"id": "al-2", "artist": "", "name": "B-2 Unit", "year": None, "mbid": ""}],
    }


# --- filtering --------------------------------------------------------------------------------


def test_it_filters_out_library_artists_by_mbid_or_normalised_name():
    library = Library.from_snapshot({"artists": [
        {"name": "Björk", "mbid": ""}, {"name": "The Beatles", "mbid": ""},
        {"name": "Simon & Garfunkel", "mbid": ""}, {"name": "Sigur Rós", "mbid": "sigur-mbid"}]})
    result = filter_candidates([
        candidate("Bjork"), candidate("Beatles"), candidate("Simon and Garfunkel"),
        candidate("Sigur Ros Band", mbid="sigur-mbid"), candidate("Múm"),
    ], library, Discovered())
    assert [c.name for c in result.kept] == ["Múm"] and result.owned == 4


def test_it_filters_out_discovered_and_blocked_artists():
    discovered = Discovered.from_entries([
        {"name": "Justice", "mbid": "JUSTICE-MBID", "albums": ["rg-1"]},
        {"name": "Kavinsky", "mbid": ""},
        "0a8b2e3c-1111-2222-3333-444455556666",  # an older file's plain identifiers
        "The Knife",
    ])
    result = filter_candidates([
        candidate("Justice Band", mbid="justice-mbid"), candidate("KAVINSKY"), candidate("Knife"),
        candidate("Someone", mbid="0a8b2e3c-1111-2222-3333-444455556666"), candidate("Motley Crue"),
        candidate("Various Artists"), candidate("Phoenix"),
    ], Library(), discovered, blocked=["Mötley Crüe"])
    assert [c.name for c in result.kept] == ["Phoenix"]
    assert (result.discovered, result.blocked, result.owned) == (4, 2, 0)


# --- MusicBrainz: the artist and their albums --------------------------------------------------


def test_it_accepts_only_an_exact_score_100_artist_match():
    hits = [ArtistMatch("m-1", "Justice Crew", 100), ArtistMatch("m-2", "Justice", 100),
            ArtistMatch("m-3", "Justice", 95)]
    assert exact_artist(hits, "justice").mbid == "m-2"
    assert exact_artist([ArtistMatch("m-4", "Björk", 100)], "Bjork").mbid == "m-4"
    assert exact_artist([ArtistMatch("m-3", "Justice", 95)], "Justice") is None
    assert exact_artist([], "Justice") is None


def test_it_picks_the_earliest_plain_albums():
    groups = [
        group("rg-3", "Audio, Video, Disco", "2011-10-24"),
        group("rg-live", "A Cross the Universe", "2008-11-24", secondary=["Live"]),
        group("rg-1", "†", "2007-06-11"),
        group("rg-single", "D.A.N.C.E.", "2007-03-19", primary="Single"),
        group("rg-undated", "Unknown", ""),
        group("rg-remix", "Access All Arenas", "2013", secondary=["Remix"]),
        group("rg-4", "Woman", "2016-11-18"),
        group("rg-none", "Odd", "2001", primary=None),
    ]
    assert [g.mbid for g in pick_albums(groups, count=2)] == ["rg-1", "rg-3"]
    assert [g.mbid for g in pick_albums(groups, count=10)] == ["rg-1", "rg-3", "rg-4", "rg-undated"]


def test_it_keeps_secondary_types_only_when_the_setting_names_all_of_them():
    groups = [group("rg-live", "Live", "2008", secondary=["Live"]),
              group("rg-comp-live", "Best Live", "2009", secondary=["Compilation", "Live"]),
              group("rg-1", "Studio", "2010")]
    assert [g.mbid for g in pick_albums(groups, count=5, include_secondary_types=["live"])] == ["rg-live", "rg-1"]
    assert [g.mbid for g in pick_albums(groups, count=5, include_secondary_types=["Live", "Compilation"])] == [
        "rg-live", "rg-comp-live", "rg-1"]


def test_it_skips_owned_or_seen_albums_and_reissues_of_the_same_title():
    groups = [group("rg-1", "Cross", "2007"), group("rg-1b", "Cross", "2017"),
              group("rg-2", "Audio, Video, Disco", "2011"), group("rg-3", "Woman", "2016")]
    picked = pick_albums(groups, count=2, skip=lambda g: g.mbid == "rg-2")
    assert [g.mbid for g in picked] == ["rg-1", "rg-3"]
