import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.wishlist import (
    WishlistEntry,
    format_wishlist,
    normalise_name,
    parse_line,
    parse_wishlist,
)

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda s: normalise_name(s) != "")
nasty = st.sampled_from(['"', "\\", " - ", "\n", "\t", "\r\n", "  ", "a:", "\u2028", "\x00", "-", " -", "\\-"])
tricky_names = st.lists(st.one_of(names, nasty), min_size=1, max_size=6).map("".join).filter(
    lambda s: normalise_name(s) != ""
)


@settings(max_examples=400, deadline=None)
@given(tricky_names, tricky_names, st.sampled_from(["album", "track"]))
def test_it_round_trips_any_names_as_one_line(artist, title, kind):
    entry = WishlistEntry.create(artist, title, kind)
    line = entry.to_line()
    assert len(line.splitlines()) == 1
    parsed = parse_line(line)
    assert parsed.error is None
    assert parsed.entry == entry
    assert (parsed.entry.artist, parsed.entry.title) == (normalise_name(artist), normalise_name(title))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(tricky_names, tricky_names), max_size=10))
def test_it_round_trips_a_whole_file(pairs):
    from app.wishlist import WishlistLine

    lines = [WishlistLine.for_entry(WishlistEntry.create(a, t)) for a, t in pairs]
    assert [line.entry for line in parse_wishlist(format_wishlist(lines))] == [line.entry for line in lines]


@pytest.mark.parametrize(
    "line, artist, title, kind",
    [
        ('a:"Daft Punk - Discovery"', "Daft Punk", "Discovery", "album"),
        ('"Portishead - Sour Times"', "Portishead", "Sour Times", "track"),
        ('  A:"Sigur Rós - ( )"  ', "Sigur Rós", "( )", "album"),
        ('a:"Mötley Crüe - Dr. Feelgood"', "Mötley Crüe", "Dr. Feelgood", "album"),
        ('a:"坂本龍一 - async"', "坂本龍一", "async", "album"),
        ('a:"Simon & Garfunkel - Bridge Over Troubled Water - Remastered"', "Simon & Garfunkel",
         "Bridge Over Troubled Water - Remastered", "album"),
        ('a:"A \\"quoted\\" band - Title"', 'A "quoted" band', "Title", "album"),
    ],
)
def test_it_parses_lines_as_written_by_hand(line, artist, title, kind):
    entry = parse_line(line).entry
    assert (entry.artist, entry.title, entry.kind) == (artist, title, kind)


@pytest.mark.parametrize(
    "line",
    ["Daft Punk - Discovery", 'a:"Daft Punk Discovery"', 'a:"Daft Punk - Discovery', 'a:"Daft Punk - Discovery" x',
     'a:" - Discovery"', 'a:"Daft Punk - "', 'a:"trailing escape\\'],
)
def test_it_reports_malformed_lines_and_keeps_them(line):
    parsed = parse_line(line)
    assert parsed.entry is None and parsed.error
    assert parsed.raw == line


def test_it_passes_comments_and_blank_lines_through():
    text = '# wanted\n\na:"X - Y"\n'
    lines = parse_wishlist(text)
    assert [line.error for line in lines] == [None, None, None]
    assert format_wishlist(lines) == text


def test_it_folds_white_space_and_normalises_unicode():
    entry = WishlistEntry.create("  Sigur\tRo\u0301s \n", "Takk\u2028 ...")
    assert entry.artist == "Sigur Rós" and entry.title == "Takk ..."
    assert entry.to_line() == 'a:"Sigur Rós - Takk ..."'


def test_it_refuses_empty_names():
    with pytest.raises(ValueError, match="artist"):
        WishlistEntry.create(" \n", "Album")


@given(st.text())
def test_it_turns_every_unicode_control_character_into_a_space(text):
    # The definition, character by character; normalise_name does it with one regex.
    spaced = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    assert normalise_name(text) == " ".join(unicodedata.normalize("NFC", spaced).split())


def test_it_compares_entries_by_their_names_whether_or_not_a_key_was_computed():
    first, second = WishlistEntry.create("Sigur Rós", "( )"), WishlistEntry.create("Sigur Rós", "( )")
    assert first.key == ("album", "sigur rós", "( )")
    assert first == second and hash(first) == hash(second) and len({first, second}) == 1
