"""The pending queue (home page): filter, approve, reject, undo, bulk, block artist.

A card's Approve/Reject replaces the card with an Undo notice (htmx), or
answers 303 back to the queue with the same notice (plain form POST). A
reject's notice offers its reasons in one tap each (none is required), and
the offer to block an artist whose albums keep being rejected (app/learning.py;
the offers also head the list). Bulk actions and "block artist" re-render the
list for the filter in use; a bulk approve or reject (selected, or all
matching) offers an Undo that posts only the id the repository recorded for
it, however many albums it moved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, render_template, request, url_for

from app.download_actions import search_soon
from app.household import member_named
from app.learning import REJECT_REASONS, BlockOffer, block_offers
from app.matching import artist_key
from app.repository import SORTS, UNDO_SECONDS, NothingToUndo
from app.text import count_of
from app.web.auth import current_member
from app.web.blocklist import form_artist
from app.web.context import int_arg, is_htmx, render, repository, safe_next, see_other, settings
from app.web.errors import Problem
from app.web.security import csrf_token
from app.web.welcome import readiness
from app.wishlist import entry_for_item, why_not_approvable

bp = Blueprint("queue", __name__)

PAGE_SIZE = 50
# Query parameters of the notice a plain form POST comes back with (see _notice_from_args).
NOTICE_ARGS = frozenset({"done", "mbid", "name", "keep", "undo", "reason"})
UNDO_REFUSALS = {
    "unknown": "Nothing to undo: that was already undone, or is too old to undo. Nothing was changed.",
    "expired": f"Too late to undo: a bulk action can be undone for {UNDO_SECONDS // 60} minutes. Nothing was changed.",
    "moved_on": "Nothing to undo: those albums were already put back or decided again. Nothing was changed.",
}
DEFAULT_ORDER = {"date": "desc", "score": "desc", "artist": "asc", "year": "desc"}
SORT_LABELS = {"date": "Added", "score": "Score", "artist": "Artist", "year": "Year"}


def _for_value(value: str | None) -> str:
    """``for``: "me", or a member's name as written in household.members (a notification's link
    to the queue names whom its albums are for); anything else is no filter."""
    if value == "me" or not value:
        return value or ""
    member = member_named(settings(), value)
    return member.name if member else ""


@dataclass(frozen=True)
class QueueFilter:
    source: str = ""
    q: str = ""
    for_: str = ""  # "me": only albums recommended to the signed-in member (?for=me); or a member's name
    sort: str = "date"
    order: str = "desc"
    offset: int = 0
    limit: int = PAGE_SIZE

    @classmethod
    def parse(cls, values) -> "QueueFilter":
        """From query args or form fields; anything unknown falls back to the default."""
        sort = values.get("sort") if values.get("sort") in SORTS else "date"
        order = values.get("order") if values.get("order") in ("asc", "desc") else DEFAULT_ORDER[sort]
        return cls(
            source=(values.get("source") or "").strip()[:50],
            q=(values.get("q") or "").strip()[:200],
            for_=_for_value(values.get("for")),
            sort=sort,
            order=order,
            offset=int_arg(values, "offset", 0, 0, 10_000_000),
            limit=int_arg(values, "limit", PAGE_SIZE, 1, 200),
        )

    def page(self):
        return repository().pending_page(
            offset=self.offset, limit=self.limit, sort=self.sort, descending=self.order == "desc",
            source=self.source or None, text=self.q or None, member=self.member,
        )

    @property
    def member(self) -> str | None:
        """The member name ``for=me`` stands for, or the one ``for=NAME`` names."""
        if self.for_ != "me":
            return self.for_ or None
        member = current_member()
        return member.name if member else None

    def query(self, **changes) -> dict:
        """Query-string values for a link to this filter (defaults left out)."""
        values = {"source": self.source, "q": self.q, "for": self.for_, "sort": self.sort, "order": self.order,
                  "offset": self.offset, **changes}
        defaults = {"source": "", "q": "", "for": "", "sort": "date", "order": DEFAULT_ORDER[values["sort"]],
                    "offset": 0}
        return {k: v for k, v in values.items() if v != defaults.get(k)}


def card_context(back: str | None = None) -> dict:
    """What every card on a page shares, worked out once per page rather than once per card."""
    return {
        "card_urls": {name: url_for(f"queue.{name}") for name in ("approve", "reject", "block")},
        "card_token": csrf_token(),
        # where a card's plain form POST comes back to: this page, or the page an htmx POST came from
        "card_next": back or (_back() if request.method == "POST" else request.full_path),
    }


def _list_context(queue_filter: QueueFilter) -> dict:
    items, total = queue_filter.page()
    show_head = queue_filter.offset == 0 or not is_htmx()
    filtered = queue_filter.source or queue_filter.q
    return {
        "items": items,
        "total": total,
        "f": queue_filter,
        "show_head": show_head,
        "block_offers": _offers_shown(_block_offers()) if show_head else [],
        # An empty queue says what is missing: services not set up, jobs not run or failed.
        "ready": readiness(settings()) if show_head and not items and not filtered else None,
        **card_context(),
    }


def _block_offers() -> dict[str, BlockOffer]:
    """Artists to offer for blocking now (app.learning.block_offers), by artist key; worked out again only
    when the rejections, the block list, the dismissed offers or the setting changed (every page load asks)."""
    repo = repository()
    records, blocked, dismissed = repo.recent_rejections(), repo.blocked_artists(), repo.dismissed_block_offers()
    threshold = settings().general.block_offer_after
    inputs = (records, blocked, dismissed, threshold)
    kept = getattr(repo, "_kept_block_offers", None)
    # The rejections are kept per history version (the same list while unchanged); the block list and the
    # dismissed offers are small and compared by value.
    if kept is None or kept[0][0] is not records or kept[0][1:] != inputs[1:]:
        offers = block_offers(records, threshold, blocked=blocked, dismissed=dismissed)
        if offers:  # only then is decided.txt worth reading whole: a reject undone since must not count
            live = repo.rejected_now({record["item"]["mbid"] for record in records})
            offers = block_offers([r for r in records if r["item"]["mbid"] in live], threshold, blocked=blocked,
                                  dismissed=dismissed)
        kept = repo._kept_block_offers = (inputs, offers)
    return kept[1]


#: Offers shown above the queue at once: the artists rejected most (among equals, the one rejected last);
#: the next come once these are answered.
OFFERS_SHOWN = 3


def _offers_shown(offers: dict[str, BlockOffer]) -> list[BlockOffer]:
    return sorted(offers.values(), key=lambda offer: (not offer.disliked, -offer.rejected))[:OFFERS_SHOWN]


def _back() -> str:
    """Where a plain form POST comes back to, without the notice of an earlier POST (it gets its own)."""
    target = urlsplit(safe_next(request.form.get("next")))
    query = urlencode([(k, v) for k, v in parse_qsl(target.query, keep_blank_values=True) if k not in NOTICE_ARGS])
    return target.path + (f"?{query}" if query else "")


@bp.get("/")
def index():
    queue_filter = QueueFilter.parse(request.args)
    notice = _notice_from_args()
    return render(
        "pages/queue.html", "partials/queue_list.html",
        sources=sorted(set(repository().pending_sources()) | {"listenbrainz", "catalog", "new release", "missing"}),
        sort_labels=SORT_LABELS, notice=notice, **_list_context(queue_filter),
    )


def _notice_from_args() -> dict | None:
    done = request.args.get("done")
    if done not in ("approved", "rejected", "undone", "bulk", "refused"):
        return None
    return {
        "done": done,
        "mbid": request.args.get("mbid", ""),
        "name": request.args.get("name", "")[:300],
        "keep": request.args.get("keep") == "1",
        "undo": request.args.get("undo", "")[:64],
        "reason": request.args.get("reason") if request.args.get("reason") in REJECT_REASONS else None,
    }


@bp.get("/queue/count")
def count():
    """The header's count polls this; on the queue page (the filter comes along) the list's head too."""
    if not is_htmx():
        return see_other(url_for("queue.index"))
    on_queue_page = "sort" in request.args
    return render_template("partials/queue_count.html", on_queue_page=on_queue_page,
                           **(_head_context(QueueFilter.parse(request.args)) if on_queue_page else {}))


def _decider() -> str | None:
    """The signed-in member's name, kept with each decision."""
    member = current_member()
    return member.name if member else None


def _pending_item(mbid: str) -> dict:
    item = repository().find_pending(mbid) if mbid else None
    if item is None:
        raise Problem(404, "This album is no longer in the queue (decided in another tab?).")
    return item


def _on_wishlist(item: dict) -> bool:
    try:
        entry = entry_for_item(item)
    except ValueError:
        return False
    return entry.key in {existing.key for existing in repository().wishlist_entries()}


def _head_context(queue_filter: QueueFilter) -> dict:
    """What the list's head ("N pending", "Approve all N") needs, for an out-of-band swap."""
    # without a filter, no need to sort 10,000 items
    filtered = queue_filter.source or queue_filter.q or queue_filter.for_
    total = queue_filter.page()[1] if filtered else repository().pending_count()
    return {"f": replace(queue_filter, offset=0), "total": total}


def _decided(item: dict, was: str, keep: bool = False, reason: str | None = None):
    """After one card's decision: the Undo notice in the card's place (a reject's with its reasons, and
    the offer to block the artist when it is due), or 303 back."""
    if is_htmx():
        offer = _block_offers().get(artist_key(item.get("artist") or "")) if was == "rejected" else None
        return render_template("partials/undo.html", item=item, was=was, keep=keep, next=_back(), reason=reason,
                               offer=offer, **_head_context(QueueFilter.parse(request.form)))
    return see_other(_back(), done=was, mbid=item["mbid"], name=f"{item['artist']} – {item['album']}",
                     keep="1" if keep else None, reason=reason)


@bp.post("/queue/approve")
def approve():
    item = _pending_item(request.form.get("mbid", ""))
    refused = why_not_approvable(item)
    if refused:
        raise Problem(422, f"This album cannot be approved: {refused}.", code="not_approvable")
    keep = _on_wishlist(item)  # Undo must not take off an entry that was there before
    moved = repository().approve([item["mbid"]], decided_by=_decider(), feedback=settings().listenbrainz.send_feedback)
    if not moved:
        raise Problem(404, "This album is no longer in the queue.")
    search_soon(repository(), settings())
    return _decided(moved[0], "approved", keep)


@bp.post("/queue/reject")
def reject():
    item = _pending_item(request.form.get("mbid", ""))
    reason = _form_reason(required=False)
    moved = repository().reject([item["mbid"]], decided_by=_decider(), reason=reason,
                                feedback=settings().listenbrainz.send_feedback)
    if not moved:
        raise Problem(404, "This album is no longer in the queue.")
    return _decided(moved[0], "rejected", reason=reason)


@bp.post("/queue/reason")
def reason():
    """Why a reject was made, added to the decision just made (one tap on the reject's notice)."""
    reason = _form_reason(required=True)
    line = repository().give_reason(request.form.get("mbid", ""), reason,
                                    feedback=settings().listenbrainz.send_feedback)
    if line is None:
        raise Problem(409, "This album is not rejected any more (put back in another tab?).")
    return _decided(line["item"], "rejected", reason=reason)


def _form_reason(*, required: bool) -> str | None:
    reason = request.form.get("reason") or None
    if reason is None and not required:
        return None
    if reason not in REJECT_REASONS:
        raise Problem(400, f"Which reason? One of: {', '.join(REJECT_REASONS.values())}.", code="invalid_input",
                      details={"reason": [f"Must be one of: {', '.join(REJECT_REASONS)}."]})
    return reason


@bp.post("/queue/block-offer/dismiss")
def dismiss_block_offer():
    """"Not now" on the offer to block an artist: it is not made again."""
    repository().dismiss_block_offer(form_artist())
    if is_htmx():
        return ""
    return see_other(_back())


@bp.post("/queue/undo")
def undo():
    mbid = request.form.get("mbid", "")
    was = request.form.get("was")
    if was == "approved":
        restored = repository().undo_approve([mbid], keep_wishlist=request.form.get("keep") == "1")
    elif was == "rejected":
        restored = repository().unreject([mbid])
    else:
        raise Problem(400, "Nothing to undo.")
    if not restored:
        raise Problem(409, "Nothing to undo: the album was already put back or moved on.")
    if is_htmx():
        return render_template("partials/card_restored.html", item=restored[0], **card_context(_back()),
                               **_head_context(QueueFilter.parse(request.form)))
    return see_other(_back(), done="undone", name=f"{restored[0]['artist']} – {restored[0]['album']}")


def _after_many(message: str, undo_id: str | None = None):
    """After a bulk action or a block: the list for the filter in use, or 303 back; with an Undo when given its id."""
    if is_htmx():
        context = _list_context(QueueFilter.parse(request.form))
        return render_template("partials/queue_list.html", toast=message, undo_id=undo_id, undo_next=_back(),
                               **context)
    return see_other(_back(), done="bulk", name=message, undo=undo_id)


def _decided_many(action: str, moved: list[dict], refused: list[dict] = ()) -> str:
    message = f"{'Approved' if action == 'approve' else 'Rejected'} {_albums(len(moved))}."
    if refused:
        message += (f" Not approved: {_albums(len(refused))} ({', '.join(_name(item) for item in refused[:3])}"
                    f"{', …' if len(refused) > 3 else ''}): {why_not_approvable(refused[0])}.")
    return message


def _name(item: dict) -> str:
    return repr(f"{item.get('artist')} – {item.get('album')}")  # repr shows the control characters


def _decide_items(action: str, items: list[dict]):
    """A bulk decision; an approval leaves pending the albums that cannot go on the wishlist, and says so."""
    refused = [item for item in items if action == "approve" and why_not_approvable(item)]
    refused_mbids = {item["mbid"] for item in refused}
    wanted = [item["mbid"] for item in items if item["mbid"] not in refused_mbids]
    feedback = settings().listenbrainz.send_feedback
    moved, undo_id = (repository().decide_many(action, wanted, decided_by=_decider(), feedback=feedback)
                      if wanted else ([], None))
    if action == "approve" and moved:
        search_soon(repository(), settings())
    return _after_many(_decided_many(action, moved, refused), undo_id)


@bp.post("/queue/bulk/<any(approve, reject):action>")
def bulk(action: str):
    mbids = {m for m in request.form.getlist("mbid") if m}
    if not mbids:
        raise Problem(400, "Select at least one album first.")
    return _decide_items(action, [item for item in repository().queue()["pending"] if item["mbid"] in mbids])


@bp.post("/queue/all/<any(approve, reject):action>")
def all_matching(action: str):
    queue_filter = QueueFilter.parse(request.form)
    return _decide_items(action, repository().matching_pending(source=queue_filter.source or None,
                                                                text=queue_filter.q or None,
                                                                member=queue_filter.member))


@bp.post("/queue/bulk/undo")
def bulk_undo():
    try:
        _, restored = repository().undo_decision(request.form.get("undo", ""))
    except NothingToUndo as refused:
        message = UNDO_REFUSALS[refused.reason]
        if is_htmx():
            # an error answer lands in the toast (errors.error_response): the list stays as it is
            raise Problem(410, message, code="nothing_to_undo") from None
        return see_other(_back(), done="refused", name=message)
    return _after_many(f"Undone: {_albums(len(restored))} back in the queue.")


@bp.post("/queue/block")
def block():
    artist = form_artist()
    try:
        rejected = repository().block_artist(artist)
    except ValueError:
        raise Problem(400, "Which artist? The name is empty.") from None
    return _after_many(f"Blocked {artist.strip()}: {_albums(len(rejected))} rejected, none will be suggested again.")


def _albums(count: int) -> str:
    return count_of(count, "album")
