"""slskd-downloader: search Soulseek politely for wishlist entries, choose the right folder, queue it.

One run:

1. Health: slskd unreachable, or not connected and logged in to Soulseek:
   the run is skipped with the reason; nothing is marked done (following
   transfers meanwhile would count the outage as a stall).
2. Transfers: what earlier runs queued is followed first (``transfers.py``):
   progress, completion, fail-over to the next folder.
3. Entries due: wishlist entries not sent to slskd yet, and those whose
   history asks for a (new) search now: wanted, or no_result past its
   backoff. Entries already in downloaded.json without a history record (an
   older tool sent them) are left alone.
4. Per entry, in up to ``max_concurrent_searches`` threads: the album's
   tracklist from MusicBrainz (cached in the history), then queries one at a
   time until a folder scores at least ``min_score``: "Artist Album"
   (punctuation Soulseek ignores removed), its diacritic-free variant, the
   album alone, "Artist Album Year". Every search goes through the process's
   ``SearchGovernor``. The best folder is queued in one request (an offline
   peer: the next one); the entry is marked downloaded only after slskd
   accepted it. Nothing acceptable: "no_result" with the best score and its
   reasons, searched again after a doubling delay, given up ("failed") after
   ``max_attempts`` searches.
5. Entries a transient failure set back (MusicBrainz unreachable, a search
   that could not be started or followed, an enqueue that failed or is
   unconfirmed) are tried again, up to ``ENTRY_ROUNDS`` rounds in the run;
   those still set back are left for the next run and the run ends partial.
   Every search left behind in slskd is deleted before the run ends.

Every step is written to download_history.json as it happens, and the stop
flag (SIGTERM) is checked between entries and while waiting on a search: a
stopped run loses nothing, an interrupted entry is simply due again.
"""

from __future__ import annotations

import contextvars
import logging
import math
import re
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from app import notifications
from app.clients.http import (
    AuthError,
    NotFound,
    RateLimited,
    UpstreamError,
)
from app.clients.slskd import NotConnected, SearchResponse, SearchState, SlskdClient
from app.downloads import FALLBACKS_KEPT, Download, add_event, set_state
from app.masking import mask_secrets
from app.matching import artist_key, fold, title_key, title_keys
from app.pipelines import JobContext, RunResult, upstream
from app.pipelines.folder_scoring import (
    Candidate,
    ExpectedAlbum,
    Preferences,
    UserRecord,
    merge_responses,
    score_folders,
)
from app.pipelines.library_import import import_completed, import_on
from app.pipelines.search_governor import (
    Permit,
    SearchGovernor,
    Stopped,
    query_key,
    shared_governor,
)
from app.pipelines.transfers import (
    TransferReport,
    enqueue_folder,
    enqueue_picked,
    settle_unconfirmed_enqueue,
    epoch,
    folder_entry,
    follow_under_lock,
    iso,
)
from app.repository import StorageError
from app.text import count_of
from app.wishlist import ALBUM, WishlistEntry

log = logging.getLogger("resonance.slskd-downloader")

CANDIDATES_KEPT = 10  # per attempt in the history, with their reasons
ALBUM_INFO_REFRESH = 7 * 86400  # "MusicBrainz knows nothing" is asked again after a week
MAX_BACKOFF_DOUBLINGS = 6
ENTRY_ROUNDS = 3  # an entry a transient failure set back is tried this often in one run
RETRIED_OUTCOMES = ("postponed", "error")
RESPONSE_READS = 3  # reading a finished search's responses is tried this often
FINAL_TIDY_TRIES = 5  # deleting the searches left behind, at the end of a run


@dataclass
class Timing:
    """Waits of a run; tests shorten them."""

    poll_first: float = 0.25  # first look at a running search
    poll_max: float = 2.0  # polling interval grows up to this
    search_wait_factor: float = 6.0  # give up on a search after factor × search_timeout …
    search_wait_min: float = 60.0  # … but never before this many seconds
    cancel_wait: float = 5.0  # after cancelling, how long to wait for slskd to close the search
    round_pause: float = 5.0  # before entries set back by a transient failure are tried again
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def search_deadline(self, search_timeout: float) -> float:
        return max(self.search_wait_min, self.search_wait_factor * search_timeout)


TIMING = Timing()


# --------------------------------------------------------------------------- queries

_NOT_QUERY = re.compile(r"[^\w\s]|_", re.UNICODE)


def clean_query(text: str) -> str:
    """What Soulseek matches on: words only (punctuation would glue or exclude), no one-letter words."""
    words = _NOT_QUERY.sub(" ", text).split()
    kept = [w for w in words if len(w) > 1]
    return " ".join(dict.fromkeys(kept))


def ascii_query(text: str) -> str:
    """The diacritic-free variant ("Sigur Rós" → "sigur ros"); Soulseek matching is case-insensitive."""
    return clean_query(fold(text))


def build_queries(artist: str, title: str, year: int | None = None, custom: str | None = None) -> list[str]:
    """Queries in the order they are tried; duplicates (same words) dropped."""
    if custom:
        candidates = [clean_query(custom), ascii_query(custom)]
    else:
        candidates = [
            clean_query(f"{artist} {title}"),
            ascii_query(f"{artist} {title}"),
            clean_query(title),
            clean_query(f"{artist} {title} {year}") if year else "",
        ]
    queries, seen = [], set()
    for query in candidates:
        key = query_key(query)
        if query and key not in seen:
            seen.add(key)
            queries.append(query)
    return queries


# --------------------------------------------------------------------------- searching


@dataclass
class SearchResult:
    query: str
    responses: list[SearchResponse] = field(default_factory=list)
    state: str | None = None
    timed_out: bool = False
    reused: bool = False
    error: str | None = None

    def record(self) -> dict:
        files = sum(len(r.files) for r in self.responses)
        data: dict[str, Any] = {"text": self.query, "state": self.state, "responses": len(self.responses),
                                "files": files}
        if self.timed_out:
            data["timed_out"] = True
        if self.reused:
            data["reused"] = True
        if self.error:
            data["error"] = self.error
        return data


class HistoryLedger:
    """The governor's window kept in download_history.json, shared across processes and restarts."""

    def __init__(self, repository):
        self.repository = repository

    def reserve(self, now: float, per_window: int, window: float) -> float:
        return self.repository.reserve_search_slot(now, per_window, window)


class SearchFailed(Exception):
    """A query could not be searched this time (kept out of the governor's reuse)."""


@dataclass
class LeftSearch:
    """A search slskd may still hold that this process has to find and delete."""

    id: str
    since: float  # when we lost track of it
    start_unconfirmed: bool  # the start's reply was lost and slskd did not show it yet


class Searcher:
    """Runs one query through the governor: start, follow, read, delete.

    Resonance chooses each search's id, so a search whose start reply was lost
    is looked up by that id: found, it is followed as if nothing happened; not
    found, its slot stays held in the governor (slskd may still start it) until
    slskd confirms it absent or it would have ended by itself. Every search is
    deleted: one left behind (its deletion failed, or it was never confirmed) is
    deleted before the next search starts and at the end of the run.
    """

    def __init__(self, ctx: JobContext, client: SlskdClient, start_client: SlskdClient,
                 governor: SearchGovernor, timing: Timing):
        self.ctx = ctx
        self.client = client
        self.start_client = start_client
        self.governor = governor
        self.timing = timing
        self.searches = 0
        self.recovered = 0  # starts whose reply was lost, found again by their id
        self._count_lock = threading.Lock()
        self._left: dict[str, LeftSearch] = {}
        self._left_lock = threading.Lock()

    def search(self, query: str) -> SearchResult:
        self.tidy()
        try:
            result, reused = self.governor.search(query, lambda permit: self._perform(query, permit),
                                                  self.ctx.stop_requested, self._tidy_while_waiting)
        except SearchFailed as exc:
            return SearchResult(query, error=str(exc))
        if reused:
            return SearchResult(query, result.responses, result.state, result.timed_out, True, result.error)
        return result

    def _hold_until(self) -> float:
        """When a search starting now has surely ended in slskd (its timeout, then our longest wait)."""
        s = self.ctx.settings.slskd
        return self.timing.clock() + self.timing.search_deadline(s.search_timeout) + self.timing.cancel_wait

    def _perform(self, query: str, permit: Permit) -> SearchResult:
        s = self.ctx.settings.slskd
        search_id = str(uuid.uuid4())  # ours: a start whose reply is lost can be found by it
        state: SearchState | None = None
        with self.governor.starting():
            try:
                state = self.start_client.start_search(query, search_timeout_ms=s.search_timeout * 1000, id=search_id)
            except RateLimited as exc:
                # Someone else (another tool) is starting a search; this slot is spent, the query waits.
                raise SearchFailed(f"slskd was busy starting another search ({exc.message})") from None
            except (NotConnected, AuthError):
                raise
            except UpstreamError as exc:
                if not getattr(exc, "maybe_done", True):
                    raise SearchFailed(f"the search could not be started ({exc.message})") from None
                log.info('search "%s": the reply to its start was lost (%s); looking it up', query, exc.message)
            finally:
                self.governor.mark_started(permit)
        if state is None:
            state = self._look_up(search_id)
            if state is None:
                # Not there (yet?): slskd may still start it. Its slot stays taken until slskd shows
                # it absent or it would have ended, and it is deleted as soon as it shows up.
                self.governor.hold(permit, search_id, self._hold_until())
                self._leave(search_id, start_unconfirmed=True)
                raise SearchFailed("the reply to the search start was lost and slskd does not show the search")
            with self._count_lock:
                self.recovered += 1
        with self._count_lock:
            self.searches += 1
        timing = self.timing
        deadline = timing.clock() + timing.search_deadline(s.search_timeout)
        pause = timing.poll_first
        timed_out = False
        try:
            while not state.is_complete:
                if self.ctx.stop_requested():
                    raise Stopped()
                if timing.clock() >= deadline:
                    timed_out = True
                    self.client.cancel_search(search_id)
                    state = self._wait_closed(search_id)
                    break
                timing.sleep(pause)
                pause = min(timing.poll_max, pause * 2)
                state = self._poll(search_id, state, deadline)
            responses = self._read_responses(search_id) if state.is_complete else []
        except BaseException as exc:
            if not self._delete(search_id) and not state.is_complete:
                self.governor.hold(permit, search_id, self._hold_until())  # it may still run
            if isinstance(exc, UpstreamError) and not isinstance(exc, (NotConnected, AuthError)):
                raise SearchFailed(f"following the search failed ({exc.message})") from None
            raise
        self._delete(search_id)
        return SearchResult(query, responses, state.state, timed_out)

    def _look_up(self, search_id: str) -> SearchState | None:
        try:
            return self.client.search(search_id)
        except NotFound:
            return None
        except (NotConnected, AuthError):
            raise
        except UpstreamError as exc:
            log.info("search %s: could not be looked up: %s", search_id, exc)
            return None

    def _poll(self, search_id: str, state: SearchState, deadline: float) -> SearchState:
        """The search's state now; a failed poll keeps the last one (the next poll asks again)."""
        try:
            return self.client.search(search_id)
        except (NotConnected, AuthError, NotFound):
            raise
        except UpstreamError as exc:
            if self.timing.clock() >= deadline:
                raise
            log.info("search %s: a poll failed (%s); polling on", search_id, exc.message)
            return state

    def _read_responses(self, search_id: str) -> list[SearchResponse]:
        for attempt in range(1, RESPONSE_READS + 1):
            try:
                return self.client.search_responses(search_id)
            except (NotConnected, AuthError, NotFound):
                raise
            except UpstreamError as exc:
                if attempt == RESPONSE_READS:
                    raise
                log.info("search %s: reading its responses failed (%s); again", search_id, exc.message)
                self.timing.sleep(self.timing.poll_first)
        return []

    def _wait_closed(self, search_id: str):
        end = self.timing.clock() + self.timing.cancel_wait
        state = self.client.search(search_id)
        while not state.is_complete and self.timing.clock() < end:
            self.timing.sleep(0.2)
            state = self.client.search(search_id)
        return state

    def _delete(self, search_id: str) -> bool:
        """Delete the search; one that could not be is deleted later (``tidy``)."""
        try:
            self.client.delete_search(search_id)
        except UpstreamError as exc:
            log.info("could not delete search %s (deleted later): %s", search_id, exc)
            self._leave(search_id, start_unconfirmed=False)
            return False
        return True

    def _leave(self, search_id: str, start_unconfirmed: bool) -> None:
        with self._left_lock:
            self._left.setdefault(search_id, LeftSearch(search_id, self.timing.clock(), start_unconfirmed))

    def left_behind(self) -> list[str]:
        """Searches slskd may still hold that this process could not delete yet."""
        with self._left_lock:
            return list(self._left)

    def _tidy_while_waiting(self) -> None:
        try:
            self.tidy()
        except UpstreamError as exc:  # NotConnected, AuthError: the search itself will meet it
            log.info("searches left behind not checked: %s", exc)

    def tidy(self, final: bool = False) -> None:
        """Delete the searches left behind, and free the slots of those slskd shows gone.

        A search whose start was never confirmed counts as gone once slskd has not
        shown it for ``cancel_wait`` seconds (slskd creates a search before answering
        its start), or at the end of the run (``final``)."""
        with self._left_lock:
            left = list(self._left.values())
        for item in left:
            try:
                existed = self.client.delete_search(item.id)  # cancels it if it runs
            except (NotConnected, AuthError):
                raise
            except UpstreamError as exc:
                log.info("search %s: still not deleted: %s", item.id, exc)
                continue
            gone = existed or not item.start_unconfirmed or final \
                or self.timing.clock() - item.since >= self.timing.cancel_wait
            if not gone:
                continue
            with self._left_lock:
                self._left.pop(item.id, None)
            self.governor.settle(item.id)


# --------------------------------------------------------------------------- album info


def album_info_from_musicbrainz(mb, entry: WishlistEntry, known_mbid: str | None, now: float) -> dict:
    """The album as MusicBrainz knows it (its most typical official release), or ``source: none``."""
    group_mbid, title, artist, year = known_mbid, entry.title, entry.artist, None
    first_released = None
    if group_mbid is None:
        wanted_artist, wanted_titles = artist_key(entry.artist), title_keys(entry.title)
        groups = mb.search_release_group(entry.artist, entry.title, limit=10)
        matching = [g for g in groups
                    if artist_key(g.artist_credit_name or "") == wanted_artist and title_keys(g.title) & wanted_titles]
        matching.sort(key=lambda g: (not g.is_plain_album, (g.primary_type or "").lower() != "album", -(g.score or 0)))
        if not matching:
            return {"source": "none", "reason": "MusicBrainz has no album with this artist and title",
                    "fetched_at": iso(now)}
        group = matching[0]
        group_mbid, title, artist, year = group.mbid, group.title, group.artist_credit_name or artist, group.year
        first_released = group.first_release_date
    release = mb.typical_release(group_mbid)
    if release is None:
        return {"source": "none", "release_group": group_mbid, "reason": "MusicBrainz has no tracklist for it",
                "fetched_at": iso(now), "year": year}
    tracks = mb.release_tracklist(release.mbid)
    return {
        "source": "musicbrainz", "release_group": group_mbid, "release": release.mbid, "title": title,
        "artist": artist, "year": year or release.year, "date": first_released or release.date,
        "track_count": len(tracks) or release.track_count,
        "tracks": [{"title": t.title, "length": t.length_s, "disc": t.disc, "position": t.position} for t in tracks],
        "fetched_at": iso(now),
    }


# --------------------------------------------------------------------------- the run


@dataclass
class EntryOutcome:
    key: str
    outcome: str  # queued, no_result, given_up, postponed, stopped, error
    detail: str = ""


@dataclass
class RunTally:
    outcomes: dict[str, EntryOutcome] = field(default_factory=dict)  # each entry's latest outcome
    errors: list[str] = field(default_factory=list)  # following the transfers
    disconnected: bool = False

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o.outcome == outcome)

    def unfinished(self) -> list[EntryOutcome]:
        """Entries a transient failure set back (searched again this run, or the next)."""
        return [o for o in self.outcomes.values() if o.outcome in RETRIED_OUTCOMES]


class Downloader:
    def __init__(self, ctx: JobContext, client: SlskdClient | None = None, mb=None,
                 governor: SearchGovernor | None = None, timing: Timing | None = None):
        self.ctx = ctx
        self.settings = ctx.settings
        self.repository = ctx.repository
        self.timing = timing or TIMING
        s = ctx.settings.slskd
        self.client = client or upstream.slskd(ctx.settings)
        # Search starts are never retried by the HTTP layer: each one counts against the window.
        self.start_client = client if client is not None else upstream.slskd(ctx.settings, upstream.SLSKD_SEARCH_START)
        # The health probe retries once, briefly: slskd down means "skip this run", not "wait".
        self.probe_client = client if client is not None else upstream.slskd(ctx.settings, upstream.SLSKD_PROBE)
        self.mb = mb
        self.governor = governor or shared_governor(s.max_concurrent_searches, s.searches_per_window,
                                                    float(s.search_window), HistoryLedger(ctx.repository))
        self.searcher = Searcher(ctx, self.client, self.start_client, self.governor, self.timing)
        self.prefs = Preferences.from_settings(s)
        self._disconnected = threading.Event()
        self._storage_failed = threading.Event()
        self._approved_albums: dict[tuple[str, str], str] | None = None  # see known_release_group
        self._approved_lock = threading.Lock()

    def now(self) -> float:
        return self.timing.clock()

    # -- what to do -------------------------------------------------------------

    def due_entries(self) -> list[WishlistEntry]:
        history = self.repository.downloads_by_key()
        sent = {value.casefold() for value in self.repository.downloaded()}
        now = self.now()
        due = []
        for entry in self.repository.wishlist_entries():
            record = history.get(entry.text)
            if record is None:
                if entry.text.casefold() not in sent:
                    due.append(entry)
                continue
            if record.state in ("wanted", "no_result", "searching"):  # "searching" was left by a killed run
                retry_at = epoch(record.next_retry_at)
                if retry_at is None or retry_at <= now:
                    due.append(entry)
        return due

    # -- the run ----------------------------------------------------------------------

    def run(self) -> RunResult:
        try:
            server = self.probe_client.server_state()
        except AuthError as exc:
            return RunResult("not run: slskd refused the API key", error=str(exc))
        except UpstreamError as exc:
            log.warning("slskd unreachable, run skipped: %s", exc)
            return RunResult(f"slskd unreachable ({exc.message})", skipped=True)
        if not server.ready:
            reason = f"Soulseek not connected (slskd reports {server.state or 'Disconnected'})"
            log.warning("%s; run skipped", reason)
            return RunResult(f"{reason}", skipped=True)
        try:
            transfers = follow_under_lock(self.ctx, self.client)
        except NotConnected as exc:
            return RunResult(f"{exc.message}", skipped=True)
        except UpstreamError as exc:
            transfers = TransferReport(errors=[f"following transfers: {exc}"])
        if import_on(self.ctx) and not self.ctx.stop_requested():
            # Before searching: a quarantined album's failover or new search happens in this run.
            transfers.add(import_completed(self.ctx, self.client))
        due = self.due_entries()
        tally = RunTally(errors=list(transfers.errors))
        if due and not self.ctx.stop_requested():
            self.governor.forget()
            self.search_entries(due, tally)
        return self.result(transfers, tally, len(due))

    def search_entries(self, due: list[WishlistEntry], tally: RunTally) -> None:
        """Every due entry, then (up to ``ENTRY_ROUNDS`` rounds) again those a transient failure set back."""
        pending = list(due)
        try:
            for round_number in range(1, ENTRY_ROUNDS + 1):
                self._search_round(pending, tally, with_musicbrainz_ahead=round_number == 1)
                pending = [e for e in pending
                           if tally.outcomes.get(e.text, EntryOutcome(e.text, "stopped")).outcome in RETRIED_OUTCOMES]
                if not pending or round_number == ENTRY_ROUNDS or self._run_must_end():
                    break
                log.info("%s set back by a transient failure; trying again", count_of(len(pending), "album"))
                if not self._pause(self.timing.round_pause):
                    break
        finally:
            for _ in range(FINAL_TIDY_TRIES):
                if not self.searcher.left_behind():
                    break
                try:
                    self.searcher.tidy(final=True)
                except UpstreamError as exc:
                    log.info("searches left in slskd: %s", exc)
                    break
            left = self.searcher.left_behind()
            if left:
                log.warning("%s could not be deleted from slskd: %s", count_of(len(left), "search", "searches"),
                            ", ".join(left))

    def _run_must_end(self) -> bool:
        return self.ctx.stop_requested() or self._disconnected.is_set() or self._storage_failed.is_set()

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` unless asked to stop; False when the run must end."""
        end = self.timing.clock() + seconds
        while self.timing.clock() < end:
            if self._run_must_end():
                return False
            self.timing.sleep(min(0.25, max(end - self.timing.clock(), 0.0)))
        return not self._run_must_end()

    def _search_round(self, entries: list[WishlistEntry], tally: RunTally, with_musicbrainz_ahead: bool) -> None:
        workers = max(1, self.settings.slskd.max_concurrent_searches)
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mb") as mb_pool, \
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="search") as pool:
            # MusicBrainz (1 request/s) runs ahead of the searches on its own thread. Each task
            # runs in a copy of this context, so its log lines still name the job.
            infos = {entry.text: mb_pool.submit(contextvars.copy_context().run, self.album_info, entry)
                     for entry in entries} if with_musicbrainz_ahead else {}
            futures = [pool.submit(contextvars.copy_context().run, self._process_safely, entry,
                                   infos.get(entry.text), tally, lock) for entry in entries]
            for future in futures:
                future.result()
            for info in infos.values():
                info.cancel()

    def _process_safely(self, entry: WishlistEntry, info: Future | None, tally: RunTally,
                        lock: threading.Lock) -> None:
        if self.ctx.stop_requested() or self._disconnected.is_set() or self._storage_failed.is_set():
            return
        try:
            outcome = self.process(entry, info)
        except StorageError:
            self._storage_failed.set()  # every other entry would meet it too: the run fails with it
            raise
        except NotConnected as exc:
            self._disconnected.set()
            outcome = EntryOutcome(entry.text, "error", exc.message)
            self._revert(entry.text, exc.message)
            with lock:
                tally.disconnected = True
        except Exception as exc:  # one entry's failure must not end the run
            log.exception("%s: unexpected error", entry.text)
            # Kept in the download record and shown on the Downloads page: no secret in it.
            reason = mask_secrets(f"{type(exc).__name__}: {exc}", self.ctx.settings.secret_values())
            outcome = EntryOutcome(entry.text, "error", reason)
            self._revert(entry.text, f"error: {reason}")
        with lock:
            tally.outcomes[entry.text] = outcome

    # -- MusicBrainz ----------------------------------------------------------------

    def musicbrainz(self):
        if self.mb is None:
            self.mb = upstream.musicbrainz(self.settings)
        return self.mb

    def known_release_group(self, entry: WishlistEntry) -> str | None:
        """An approved queue item's release group for this entry: no MusicBrainz search needed."""
        with self._approved_lock:  # the history is read once per run, not once per entry
            if self._approved_albums is None:
                albums: dict[tuple[str, str], str] = {}
                for item in self.repository.approved_items():  # newest first: the newest approval wins
                    if item.get("type", "album") == "album" and item.get("mbid"):
                        albums.setdefault((artist_key(item.get("artist") or ""), title_key(item.get("album") or "")),
                                          item["mbid"])
                self._approved_albums = albums
        return self._approved_albums.get((artist_key(entry.artist), title_key(entry.title)))

    def album_info(self, entry: WishlistEntry) -> dict | None:
        """Cached in the history; None when MusicBrainz failed in a way worth waiting for."""
        record = self.repository.download_record(entry.text)
        cached = record.album if record is not None else None
        if isinstance(cached, dict):
            fresh = cached.get("source") == "musicbrainz" or \
                (epoch(cached.get("fetched_at")) or 0) > self.now() - ALBUM_INFO_REFRESH
            if fresh:
                return cached
        if entry.kind != ALBUM:
            info = {"source": "none", "reason": "a single track: no tracklist needed", "fetched_at": iso(self.now())}
        elif self.ctx.stop_requested():
            return None
        else:
            try:
                info = album_info_from_musicbrainz(self.musicbrainz(), entry, self.known_release_group(entry),
                                                   self.now())
            except NotFound as exc:  # MusicBrainz said so: remembered, asked again after ALBUM_INFO_REFRESH
                info = {"source": "none", "reason": f"MusicBrainz: {exc.message}", "fetched_at": iso(self.now())}
            except UpstreamError as exc:
                # A failed, cut or unreadable reply says nothing about the album: nothing cached, asked next run.
                log.warning("%s: MusicBrainz failed: %s", entry.text, exc)
                return None
        def keep(r: Download) -> None:
            r.album = info

        self.repository.update_download_record(entry.text, keep, entry=entry, now=iso(self.now()))
        return info

    # -- one entry ---------------------------------------------------------------------

    def process(self, entry: WishlistEntry, info_future: Future | None = None) -> EntryOutcome:
        key = entry.text
        now = self.now()
        record = self.repository.download_record(key)
        previous = record.state if record is not None and record.state in ("wanted", "no_result") else "wanted"

        def start(r: Download) -> None:
            r.attempts.append({
                "number": r.attempt_count + 1, "started_at": iso(now), "finished_at": None,
                "queries": [], "candidates": [], "considered": 0, "best_score": None, "chosen": None,
                "outcome": None, "reason": None, "previous_state": previous,
            })
            set_state(r, "searching", iso(now), None)

        if record is not None and record.unconfirmed_enqueue:
            # An earlier enqueue's reply was lost: slskd's list says whether it is queued before anything else.
            settled = settle_unconfirmed_enqueue(self.ctx, self.client, key, now)
            if settled:
                return EntryOutcome(key, "queued", "found in slskd's transfer list")
            if settled is None:
                return EntryOutcome(key, "postponed", "an earlier enqueue is still unconfirmed")
        if record is not None and record.picked:
            # "Download this one" on the Downloads page: the chosen folder before any search.
            picked = enqueue_picked(self.ctx, self.client, key, now)
            if picked is not None:
                return EntryOutcome(key, picked, "the folder chosen by hand" + (
                    "" if picked == "queued" else ": waiting for slskd (previous transfers, or an enqueue's answer)"))
        record = self.repository.update_download_record(key, start, entry=entry, now=iso(now))
        info = info_future.result() if info_future is not None else self.album_info(entry)
        if info is None:
            detail = "stopped" if self.ctx.stop_requested() else "MusicBrainz unavailable; searched at the next run"
            self._end_attempt(key, "stopped" if self.ctx.stop_requested() else "postponed", detail, previous)
            return EntryOutcome(key, "stopped" if self.ctx.stop_requested() else "postponed", detail)
        out_on = not_out_yet(info, now)
        if out_on:  # an announced album: nobody can share it before its day
            self._wait_for_release(key, out_on)
            return EntryOutcome(key, "waiting", f"out on {out_on}")
        expected = ExpectedAlbum.from_info(entry.artist, entry.title, info, is_track=entry.kind != ALBUM)
        users = {name: UserRecord.from_dict(data) for name, data in self.repository.download_users().items()}
        min_score = self.settings.slskd.min_score
        queries = build_queries(entry.artist, entry.title, info.get("year"), record.query)
        pool: list[SearchResponse] = []
        candidates: list[Candidate] = []
        searched = []
        try:
            for query in queries:
                if self.ctx.stop_requested():
                    raise Stopped()
                result = self.searcher.search(query)
                searched.append(result)
                self._record_query(key, result)
                if result.error:
                    continue
                pool = merge_responses(pool + result.responses)
                candidates = score_folders(pool, expected, self.prefs, users)
                if candidates and candidates[0].score >= min_score:
                    break
        except Stopped:
            self._end_attempt(key, "stopped", "the run was stopped", previous)
            return EntryOutcome(key, "stopped")
        acceptable = [c for c in candidates if c.score >= min_score]
        failed = [r for r in searched if r.error]
        if failed and not acceptable:
            # A query that failed might have found it: not a "no result", searched again (this run or the next).
            detail = failed[-1].error or "search failed"
            self._end_attempt(key, "postponed", detail, previous)
            return EntryOutcome(key, "postponed", detail)
        self._record_candidates(key, candidates, min_score)
        for index, candidate in enumerate(acceptable):
            chosen = {"user": candidate.user, "folder": candidate.folder, "files": len(candidate.audio),
                      "extras": len(candidate.extras), "format": candidate.format, "score": round(candidate.score, 3),
                      "size": candidate.size}
            self._store_fallbacks(key, acceptable[index + 1:])
            outcome = enqueue_folder(self.ctx, self.client, key, as_folder(candidate), self.now(), chosen)
            if outcome.accepted:
                return EntryOutcome(key, "queued", f"{candidate.user}: {candidate.folder}")
            if outcome.unconfirmed:  # maybe queued: no other folder until slskd's list says
                self._end_attempt(key, "postponed", "enqueue unconfirmed", previous)
                return EntryOutcome(key, "postponed", "enqueue unconfirmed")
        if acceptable:
            reason = f"every acceptable uploader refused or was offline ({len(acceptable)} tried)"
        elif candidates:
            best = candidates[0]
            reason = (f"no acceptable result: the best folder scored {best.score:.2f} (minimum {min_score:.2f}): "
                      f"{best.user}: {best.folder} — " + "; ".join(best.reasons[:2]))
        else:
            total = sum(len(r.responses) for r in searched)
            asked = ", ".join(f'"{q.query}"' for q in searched)
            reason = (f"no acceptable result: {total} responses, no folder with audio files"
                      if total else f"no acceptable result: nobody answered {asked}")
        return self._no_result(key, reason)

    def _record_query(self, key: str, result: SearchResult) -> None:
        now = iso(self.now())

        def change(r: Download) -> None:
            if r.attempts:
                r.attempts[-1]["queries"].append(result.record())
            text = f'searched "{result.query}": {len(result.responses)} responses'
            if result.timed_out:
                text += " (gave up waiting; partial results)"
            if result.error:
                text = f'search "{result.query}" failed: {result.error}'
            add_event(r, text, now)

        self.repository.update_download_record(key, change, now=now)

    def _record_candidates(self, key: str, candidates: list[Candidate], min_score: float) -> None:
        now = iso(self.now())

        def change(r: Download) -> None:
            if not r.attempts:
                return
            attempt = r.attempts[-1]
            attempt["candidates"] = [c.summary(min_score, with_files=True) for c in candidates[:CANDIDATES_KEPT]]
            attempt["considered"] = len(candidates)
            attempt["best_score"] = round(candidates[0].score, 3) if candidates else None
            r.attempt_count += 1

        self.repository.update_download_record(key, change, now=now)

    def _store_fallbacks(self, key: str, rest: list[Candidate]) -> None:
        folders = [as_folder(c) for c in rest[:FALLBACKS_KEPT]]
        def keep(r: Download) -> None:
            r.fallbacks = folders

        self.repository.update_download_record(key, keep, now=iso(self.now()))

    def _no_result(self, key: str, reason: str) -> EntryOutcome:
        s = self.settings.slskd
        now = self.now()
        result: dict[str, Any] = {}

        def change(r: Download) -> None:
            attempts = r.attempt_count
            r.reason = reason
            if r.attempts:
                r.attempts[-1].update(outcome="no_result", reason=reason, finished_at=iso(now))
            if attempts >= s.max_attempts:
                r.next_retry_at = None
                result["outcome"] = "given_up"
                gave_up = f"gave up after {count_of(attempts, 'search', 'searches')}; {reason}"
                set_state(r, "failed", iso(now), gave_up)
            else:
                delay = s.retry_delay * 2 ** min(MAX_BACKOFF_DOUBLINGS, max(0, attempts - 1))
                retry_at = iso(math.ceil(now + delay))  # rounded up: never sooner than the backoff
                r.next_retry_at = retry_at
                result["outcome"] = "no_result"
                set_state(r, "no_result", iso(now), f"{reason}; searched again after {retry_at}")

        self.repository.update_download_record(key, change, now=iso(now))
        log.info("%s: %s", key, reason)
        if result.get("outcome") == "given_up":
            notifications.album_given_up(self.ctx, key, reason)
        return EntryOutcome(key, result.get("outcome", "no_result"), reason)

    def _wait_for_release(self, key: str, out_on: str) -> None:
        """Not searched before its release day (the attempt does not count), then as any other album."""
        now = iso(self.now())

        def change(r: Download) -> None:
            if r.attempts and r.attempts[-1].get("outcome") is None:
                r.attempts.pop()  # nothing was searched
            r.next_retry_at = f"{out_on}T00:00:00Z"
            set_state(r, "wanted", now, f"out on {out_on}: searched from that day")

        self.repository.update_download_record(key, change, now=now)

    def _end_attempt(self, key: str, outcome: str, detail: str, previous: str) -> None:
        """An attempt that does not count (stopped, postponed): the entry goes back to where it was."""
        now = iso(self.now())

        def change(r: Download) -> None:
            if r.attempts and r.attempts[-1].get("outcome") is None:
                r.attempts[-1].update(outcome=outcome, reason=detail, finished_at=now)
            if r.state == "searching":
                set_state(r, previous, now, f"{outcome}: {detail}")

        self.repository.update_download_record(key, change, now=now)

    def _revert(self, key: str, detail: str) -> None:
        record = self.repository.download_record(key)
        attempts = (record.attempts if record is not None else None) or [{}]
        self._end_attempt(key, "error", detail, attempts[-1].get("previous_state") or "wanted")

    # -- summary ------------------------------------------------------------------------

    def result(self, transfers: TransferReport, tally: RunTally, due: int) -> RunResult:
        """Complete, partial (some entries or transfers left for the next run) or failed (nothing done)."""
        parts = []
        queued, no_result, given_up = tally.count("queued"), tally.count("no_result"), tally.count("given_up")
        unfinished = tally.unfinished()
        if due:
            parts.append(f"{queued} of {count_of(due, 'album')} queued")
            if no_result:
                parts.append(f"{no_result} without an acceptable result")
            if given_up:
                parts.append(f"{given_up} given up")
            waiting = tally.count("waiting")
            if waiting:
                parts.append(f"{waiting} not out yet")
            postponed = len(unfinished) + tally.count("stopped") + (due - len(tally.outcomes))
            if postponed:
                parts.append(f"{postponed} left for the next run")
            parts.append(count_of(self.searcher.searches, "search", "searches"))
        else:
            parts.append("nothing to search")
        transfer_summary = transfers.summary()
        if transfer_summary != "no downloads in progress":
            parts.append(transfer_summary)
        if tally.disconnected:
            parts.append("Soulseek disconnected during the run")
        problems = list(dict.fromkeys(tally.errors + [f"{o.key}: {o.detail}" for o in unfinished]))
        if not problems:
            return RunResult("; ".join(parts))
        done = queued + no_result + given_up + transfers.completed + transfers.failed_over \
            + transfers.searching_again + transfers.given_up
        if done:
            return RunResult("; ".join(parts), left="; ".join(problems))
        return RunResult("; ".join(parts), error="; ".join(problems))


def not_out_yet(info: dict, now: float) -> str | None:
    """The release date (YYYY-MM-DD) of an album MusicBrainz lists as coming out after today, else None."""
    date = info.get("date") or ""
    if len(date) != 10:  # a year or a month alone: it may well be out
        return None
    today = time.strftime("%Y-%m-%d", time.gmtime(now))
    return date if date > today else None


def as_folder(candidate: Candidate) -> dict:
    """The candidate as queued: the small non-audio files first (the cover shows up at once), then the tracks."""
    files = [{"filename": f.filename, "size": f.size, "audio": False} for f in candidate.extras]
    files += [{"filename": f.filename, "size": f.size, "audio": True} for f in candidate.audio]
    return folder_entry(candidate.user, candidate.folder, candidate.format, candidate.score, files)


def run_once(ctx: JobContext) -> RunResult:
    if not ctx.settings.slskd.base_url:
        return RunResult("set slskd.base_url to download", skipped=True)
    return Downloader(ctx).run()
