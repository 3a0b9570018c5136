"""Name comparison shared by every pipeline: library checks, ranking, folder matching.

Names from different services differ in case, accents, punctuation, look-alike
characters, "The" and "&"/"and" ("Björk" / "Bjork", "The Beatles" / "Beatles",
"Simon & Garfunkel" / "Simon and Garfunkel"); keys built here compare equal for
all of those. Scripts without case or accents (坂本龍一) pass through intact.
"""

from __future__ import annotations

import re
import unicodedata

_LOOKALIKES = str.maketrans({
    "’": "'", "‘": "'", "´": "'", "`": "'", "“": '"', "”": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "…": "...",
    "×": "x", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ß": "ss", "ð": "d", "þ": "th",
    "ł": "l", "Ł": "l", "đ": "d", "Đ": "d",
})
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_EDITION = re.compile(
    r"\s*[\(\[][^\)\]]*\b(deluxe|remaster(ed)?|edition|expanded|anniversary|bonus|reissue|special)\b[^\)\]]*[\)\]]\s*$",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    """Case-folded, accents removed, look-alike punctuation unified, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text.translate(_LOOKALIKES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def _words(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", text).split())


def artist_key(name: str) -> str:
    """Key for artist names: fold, '&'/'+' as 'and', no leading 'the', no punctuation."""
    folded = fold(name).replace("&", " and ").replace("+", " and ")
    words = _words(folded)
    if words.startswith("the ") and words[4:] != "the":  # "The The" stays itself
        words = words[4:]
    return words or fold(name)  # names made only of punctuation ("!!!") keep their own text


def title_key(title: str) -> str:
    """Key for album and track titles: fold, '&' as 'and', no punctuation."""
    words = _words(fold(title).replace("&", " and "))
    return words or fold(title)


def title_keys(title: str) -> set[str]:
    """The title's key, and the key without an edition suffix like '(Deluxe Edition)'."""
    keys = {title_key(title)}
    plain = _EDITION.sub("", title)
    if plain and plain != title:
        keys.add(title_key(plain))
    return keys
