"""What Resonance learns from decisions: reject reasons, how they weigh in the ranking, block offers, feedback.

Plain rules over the decision records (the newest history line of every album
decided now, see ``QueueRecords.decision_records``); docs/discovery.md states
them in words ("Learning from decisions"), and the two must say the same.

- A reject may carry one reason. "Already have it" and "wrong version" say
  nothing about taste: such rejections count nowhere below.
- Catalog ranking: each library artist's match is weighed by how the albums
  suggested through it were decided (``weight``).
- Block offers: an artist whose albums keep being rejected is offered for
  blocking (``block_offers``).
- ListenBrainz feedback: the rating a decision on a ListenBrainz suggestion
  sends back for its recording (``feedback_rating``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.matching import artist_key
from app.text import count_of

#: Reject reasons: the value stored and sent by the API -> the words on the card.
REJECT_REASONS = {
    "not_my_taste": "not my taste",
    "already_have": "already have it",
    "wrong_version": "wrong version",
    "dislike_artist": "don't like the artist",
}
#: Reasons that say nothing about taste: such rejections are not held against anything.
NOT_ABOUT_TASTE = frozenset({"already_have", "wrong_version"})
#: The smoothing of ``weight``: as if every library artist had this many approvals and rejections to begin with.
PRIOR = 2


def reason_words(reason: str | None) -> str:
    return REJECT_REASONS.get(reason or "", "")


def counts_against(record: Mapping) -> bool:
    """A reject that says something about taste (any reason but "already have it" and "wrong version")."""
    return record.get("action") == "reject" and record.get("reason") not in NOT_ABOUT_TASTE


def counts_for(record: Mapping) -> bool:
    return record.get("action") == "approve"


# --- catalog ranking --------------------------------------------------------------------------


@dataclass
class Tally:
    """How the catalog albums suggested through one library artist were decided."""

    name: str
    approved: int = 0
    rejected: int = 0

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def weight(self) -> float:
        return weight(self.approved, self.rejected)


def weight(approved: int, rejected: int) -> float:
    """``2 × (approved + 2) / (approved + rejected + 4)``: 1 without decisions, towards 0 when they are
    all rejected, towards 2 when they are all approved (3 of 4 rejected: 0.75; 4 of 4 approved: 1.5)."""
    return 2.0 * (approved + PRIOR) / (approved + rejected + 2 * PRIOR)


def similar_tallies(records: Iterable[Mapping]) -> dict[str, Tally]:
    """library artist key -> Tally, over the catalog albums decided now (each counts for every artist in
    its ``similar_to``)."""
    tallies: dict[str, Tally] = {}
    keys: dict[str, str] = {}  # name -> artist_key: the same few hundred names come back in every record
    for record in records:
        item = record.get("item") or {}
        if item.get("source") != "catalog":
            continue
        against, for_ = counts_against(record), counts_for(record)
        if not (against or for_):
            continue
        for name in dict.fromkeys(item.get("similar_to") or ()):
            key = keys.get(name)
            if key is None:
                key = keys[name] = artist_key(name)
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = Tally(name)
            if for_:
                tally.approved += 1
            else:
                tally.rejected += 1
    return tallies


@dataclass
class Weighed:
    """A candidate's sum of matches before and after the decisions weighed in, and the words for it."""

    total: float
    note: str | None = None


def weigh(matches: Iterable[tuple[str, float]], tallies: Mapping[str, Tally]) -> Weighed:
    """The sum of ``match × weight`` over a candidate's (library artist, match) pairs, and its note.

    The note names the library artist that moved the sum most in the direction it moved:
    "ranked lower: 3 of 4 albums similar to Muse were rejected" (or "ranked higher: … approved").
    """
    pairs = list(matches)
    plain = sum(match for _, match in pairs)
    total = 0.0
    moves: list[tuple[float, Tally]] = []
    for name, match in pairs:
        tally = tallies.get(artist_key(name))
        if tally is None or not tally.decided:
            total += match
            continue
        total += match * tally.weight
        moves.append((match * (tally.weight - 1.0), tally))
    total = round(total, 6)
    if not moves or total == round(plain, 6):
        return Weighed(total)
    lower = total < plain
    change, tally = max(moves, key=lambda move: (-move[0] if lower else move[0], move[1].decided))
    if (change < 0) != lower:
        return Weighed(total)
    count = tally.rejected if lower else tally.approved
    note = (f"ranked {'lower' if lower else 'higher'}: {count} of {count_of(tally.decided, 'album')} similar to "
            f"{tally.name} {'was' if count == 1 else 'were'} {'rejected' if lower else 'approved'}")
    return Weighed(total, note)


# --- block offers -------------------------------------------------------------------------------


@dataclass
class BlockOffer:
    artist: str  # as the newest rejected album names them
    rejected: int  # their albums rejected now that count against them
    disliked: bool = False  # one of them was rejected with "don't like the artist"
    albums: list[str] = field(default_factory=list)

    def question(self) -> str:
        if self.disliked and self.rejected < 2:
            return f"Block {self.artist}? You said you don't like the artist."
        return f"Block {self.artist}? {self.rejected} of their albums {'was' if self.rejected == 1 else 'were'} rejected."


def block_offers(records: Iterable[Mapping], threshold: int, *, blocked: Iterable[str] = (),
                 dismissed: Iterable[str] = ()) -> dict[str, BlockOffer]:
    """artist key -> BlockOffer for each artist with ``threshold`` or more albums rejected now (those
    rejected as "already have it" or "wrong version" not counted), or one rejected as "don't like the
    artist"; blocked artists and dismissed offers left out. ``threshold`` 0: no offers."""
    if threshold <= 0:
        return {}
    skip = {artist_key(name) for name in blocked} | {artist_key(name) for name in dismissed}
    found: dict[str, BlockOffer] = {}
    for record in records:  # newest first
        item = record.get("item") or {}
        if not counts_against(record) or not item.get("artist"):
            continue
        key = artist_key(item["artist"])
        if key in skip:
            continue
        offer = found.setdefault(key, BlockOffer(item["artist"], 0))
        offer.rejected += 1
        offer.albums.append(item.get("album") or "")
        offer.disliked = offer.disliked or record.get("reason") == "dislike_artist"
    return {key: offer for key, offer in found.items() if offer.disliked or offer.rejected >= threshold}


# --- ListenBrainz feedback ---------------------------------------------------------------------

#: ListenBrainz's recommendation feedback ratings (POST /1/recommendation/feedback/submit).
LB_RATINGS = ("love", "like", "dislike", "hate", "bad_recommendation")


def feedback_rating(action: str, reason: str | None = None) -> str | None:
    """The rating a decision sends back for the recording ListenBrainz recommended; None: nothing to say.

    approve: like. reject: bad_recommendation without a reason, dislike for "not my taste", hate for
    "don't like the artist"; "already have it" and "wrong version" say nothing about the recommendation.
    """
    if action == "approve":
        return "like"
    if action != "reject" or reason in NOT_ABOUT_TASTE:
        return None
    return {"not_my_taste": "dislike", "dislike_artist": "hate"}.get(reason or "", "bad_recommendation")
