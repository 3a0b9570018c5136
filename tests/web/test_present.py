import pytest

from app.text import count_of
from app.web.present import sentence


@pytest.mark.parametrize("number,expected", [(0, "0 files"), (1, "1 file"), (2, "2 files")])
def test_it_counts_in_words(number, expected):
    assert count_of(number, "file") == expected


def test_it_takes_an_irregular_plural():
    assert (count_of(1, "entry", "entries"), count_of(3, "entry", "entries")) == ("1 entry", "3 entries")


@pytest.mark.parametrize("text,expected", [("nothing to search", "nothing to search."), ("Done.", "Done."),
                                           ("  spaced  ", "spaced."), (None, ""), ("", "")])
def test_it_ends_a_summary_as_a_sentence(text, expected):
    assert sentence(text) == expected
