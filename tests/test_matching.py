import pytest

from app.library import Library
from app.matching import artist_key, fold, title_key, title_keys


@pytest.mark.parametrize(
    "a, b",
    [
        ("Björk", "Bjork"),
        ("The Beatles", "Beatles"),
        ("Simon & Garfunkel", "Simon and Garfunkel"),
        ("Sigur Rós", "SIGUR ROS"),
        ("Mötley Crüe", "Motley Crue"),
        ("AC/DC", "AC DC"),
        ("Guns N’ Roses", "Guns N' Roses"),
        ("坂本龍一", "坂本龍一"),
        ("  Daft   Punk ", "daft punk"),
    ],
)
def test_it_matches_artist_names_written_differently(a, b):
    assert artist_key(a) == artist_key(b)


@pytest.mark.parametrize("a, b", [("The The", "The"), ("Björk", "Bjorn"), ("!!!", "???"), ("Air", "Aire")])
def test_it_keeps_different_artists_apart(a, b):
    assert artist_key(a) != artist_key(b)


def test_it_keeps_the_for_short_names_and_punctuation_only_names():
    assert artist_key("The The") == "the the"
    assert artist_key("!!!") == "!!!"


def test_it_matches_titles_and_edition_suffixes():
    assert title_key("Takk…") == title_key("Takk...")
    assert title_key("Rock & Roll") == title_key("Rock and Roll")
    assert title_key("OK Computer") in title_keys("OK Computer (Deluxe Edition)")
    assert title_keys("( )") == {"( )"}
    assert fold("Ágætis byrjun") == "agaetis byrjun"


def test_it_knows_what_the_library_holds():
    library = Library.from_snapshot({
        "taken_at": "2026-11-01T00:00:00Z",
        "artists": [{"name": "The Beatles", "mbid": ""}, {"name": "Björk", "mbid": "87c5dedd-0000"}],
        "albums": [
            {"artist": "Björk", "name": "Homogenic (Remastered)", "mbid": "release-1"},
            {"artist": "Simon & Garfunkel", "name": "Bookends", "mbid": ""},
        ],
    })
    assert library.has_artist("Beatles") and library.has_artist("Bjork")
    assert library.has_artist("Someone", mbid="87c5dedd-0000")
    assert library.has_album("Bjork", "Homogenic")
    assert library.has_album("Simon and Garfunkel", "Bookends")
    assert library.has_album("Anyone", "Anything", mbid="release-1")
    assert not library.has_album("Björk", "Debut")
    assert not Library.from_snapshot({})
