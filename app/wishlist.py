"""The wishlist.txt codec.

One entry per line, in the format slskd batch tools understand::

    a:"Artist Name - Album Title"      an album
    "Artist Name - Track Title"        a single track (no prefix)

Inside the quotes a backslash escapes ``"`` and ``\\``; a hyphen after a
space in the artist is written ``\\-`` so it cannot read as the separator. Names are
normalised before they are written (Unicode NFC, control characters and any
run of white space, newlines and tabs included, folded to one space), so every
entry is exactly one line and parsing it gives the normalised pair back.

A line that does not parse is kept as it is and reported; it is never dropped,
because it is the user's own text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

ALBUM = "album"
TRACK = "track"
_SEPARATOR = " - "


# Unicode's control characters (category Cc) are exactly these two ranges.
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def normalise_name(value: str) -> str:
    """NFC, control characters to spaces, white space folded, ends trimmed."""
    return " ".join(unicodedata.normalize("NFC", _CONTROL_CHARACTERS.sub(" ", value)).split())


def match_key(value: str) -> str:
    """A key for comparing names: normalised and case-folded."""
    return normalise_name(value).casefold()


@dataclass(frozen=True, slots=True)
class WishlistEntry:
    artist: str
    title: str
    kind: str = ALBUM
    # Computed on first use and kept: every wishlist write compares against all entries.
    _key: tuple[str, str, str] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def create(cls, artist: str, title: str, kind: str = ALBUM) -> "WishlistEntry":
        """Normalise and check; raises ValueError naming the empty part."""
        artist, title = normalise_name(artist), normalise_name(title)
        if kind not in (ALBUM, TRACK):
            raise ValueError(f"kind must be {ALBUM!r} or {TRACK!r}")
        if not artist:
            raise ValueError("artist is empty")
        if not title:
            raise ValueError(f"{kind} title is empty")
        return cls(artist, title, kind)

    @property
    def key(self) -> tuple[str, str, str]:
        if self._key is None:
            object.__setattr__(self, "_key", (self.kind, match_key(self.artist), match_key(self.title)))
        return self._key

    @property
    def text(self) -> str:
        """The entry as shown to people and used as its id: 'Artist - Title'."""
        return f"{self.artist}{_SEPARATOR}{self.title}"

    def to_line(self) -> str:
        # Every " -" in the artist is escaped so the first bare " - " is the separator.
        artist = _escape(self.artist).replace(" -", " \\-")
        quoted = f'"{artist}{_SEPARATOR}{_escape(self.title)}"'
        return f"a:{quoted}" if self.kind == ALBUM else quoted


def entry_for_item(item: dict) -> WishlistEntry:
    """The entry a pending-queue item becomes when approved; ValueError when a name is empty once normalised."""
    kind = ALBUM if item.get("type", ALBUM) == ALBUM else TRACK
    return WishlistEntry.create(str(item.get("artist") or ""), str(item.get("album") or ""), kind)


def why_not_approvable(item: dict) -> str | None:
    """Why a pending item cannot go on the wishlist (a name of only control characters or spaces), or None."""
    try:
        entry_for_item(item)
    except ValueError:
        return "its artist or title is empty once control characters are taken out; reject or remove it instead"
    return None


@dataclass(frozen=True, slots=True)
class WishlistLine:
    """One line of the file: an entry, or text kept as it was."""

    raw: str
    entry: WishlistEntry | None = None
    error: str | None = None  # why a non-blank, non-comment line did not parse

    @classmethod
    def for_entry(cls, entry: WishlistEntry) -> "WishlistLine":
        return cls(entry.to_line(), entry)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def parse_line(raw: str) -> WishlistLine:
    stripped = raw.strip()
    if not stripped or stripped.startswith("#"):
        return WishlistLine(raw)
    kind = TRACK
    body = stripped
    if body[:2].lower() == "a:":
        kind, body = ALBUM, body[2:].lstrip()
    if len(body) < 2 or body[0] != '"':
        return WishlistLine(raw, error='expected a quoted "Artist - Title"')
    try:
        artist, title = _split_quoted(body)
        return WishlistLine(raw, WishlistEntry.create(artist, title, kind))
    except ValueError as exc:
        return WishlistLine(raw, error=str(exc))


def _split_quoted(body: str) -> tuple[str, str]:
    """Decode '"Artist - Title"' honouring escapes; the first unescaped ' - ' splits."""
    parts: list[str] = [""]
    i = 1
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body):
                raise ValueError("line ends inside an escape")
            parts[-1] += body[i + 1]
            i += 2
            continue
        if c == '"':
            if body[i + 1 :].strip():
                raise ValueError("text after the closing quote")
            break
        if len(parts) == 1 and body.startswith(_SEPARATOR, i):
            parts.append("")
            i += len(_SEPARATOR)
            continue
        parts[-1] += c
        i += 1
    else:
        raise ValueError("missing closing quote")
    if len(parts) != 2:
        raise ValueError('missing " - " between artist and title')
    return parts[0], parts[1]


def parse_wishlist(text: str) -> list[WishlistLine]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [parse_line(line.rstrip("\r")) for line in lines]


def format_wishlist(lines: list[WishlistLine]) -> str:
    return "".join(line.raw + "\n" for line in lines)
