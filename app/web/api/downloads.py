"""/api/v1/downloads: the Downloads page as JSON (the same records, groups and actions)."""

from __future__ import annotations

from app.repository import DOWNLOAD_GROUPS
from app.web import downloads as page
from app.web.api import answer, bp, doc, load_body, load_query
from app.web.api import schemas as s
from app.web.context import repository
from app.web.jobs import waiting_for_runner

INVALID = {400: s.ErrorSchema}
MISSING = {404: s.ErrorSchema}
GROUPS = ", ".join(DOWNLOAD_GROUPS)


@bp.get("/downloads/")
@doc("Downloads by group: active, waiting, completed, failed", tag="downloads", query=s.DownloadsQuerySchema,
     responses={200: s.DownloadsSchema, **INVALID},
     links={**{f"EntryOfFirst{group.capitalize()}": {"operationId": "downloads_entry",
                                                    "parameters": {"key": f"$response.body#/{group}/0/key"}}
               for group in DOWNLOAD_GROUPS},
            "RetryFirstFailed": {"operationId": "downloads_retry",
                                 "requestBody": {"key": "$response.body#/failed/0/key"}},
            "RemoveFirstCompleted": {"operationId": "downloads_remove",
                                     "requestBody": {"key": "$response.body#/completed/0/key"}}},
     description="Active albums with their progress (files, bytes, speed, the Soulseek user), entries waiting "
                 "for a search, completed ones, and failed ones with the reason and the candidates the last "
                 "search considered. Like the page, a request brings the active albums' progress up to date "
                 "from slskd when it is more than a few seconds old.")
def downloads_list():
    query = load_query(s.DownloadsQuerySchema())
    groups = [query["group"]] if query["group"] else list(DOWNLOAD_GROUPS)
    data = page.downloads_data({name: query["limit"] if name in groups else 0 for name in DOWNLOAD_GROUPS})
    job = page.downloader_job()
    body = {name: data["groups"][name] for name in groups}
    body.update(counts=data["counts"], live=data["live"],
                polling=bool(data["counts"]["active"]) or job["running"] or waiting_for_runner(job))
    return answer(s.DownloadsSchema(), body)


@bp.get("/downloads/entry")
@doc("One download with its whole story: every search, folder and event", tag="downloads",
     query=s.DownloadKeySchema, responses={200: s.DownloadDetailSchema, **INVALID, **MISSING})
def downloads_entry():
    key = load_query(s.DownloadKeySchema())["key"]
    return answer(s.DownloadDetailSchema(), page.download_view(page.find_record(key), detail=True))


def _acted(message: str, record: dict | None):
    view = page.download_view(record) if record is not None else None
    return answer(s.DownloadActionSchema(), {"message": message, "download": view,
                                             "run_requested_at": repository().run_requests().get(page.JOB)})


@bp.post("/downloads/retry")
@doc("Retry: search again at the next run; an active download moves on to the next candidate", tag="downloads",
     body=s.DownloadKeySchema, responses={200: s.DownloadActionSchema, **INVALID, **MISSING,
                                                  409: s.ErrorSchema})
def downloads_retry():
    message, record = page.retry(load_body(s.DownloadKeySchema())["key"])
    return _acted(message, record)


@bp.post("/downloads/search-again")
@doc("Search again with an edited query (cancels any download of it)", tag="downloads",
     body=s.DownloadSearchAgainSchema, responses={200: s.DownloadActionSchema, **INVALID, **MISSING})
def downloads_search_again():
    data = load_body(s.DownloadSearchAgainSchema())
    message, record = page.search_again(data["key"], data["query"])
    return _acted(message, record)


@bp.post("/downloads/pick")
@doc("Download this one: a candidate of the latest search replaces the automatic choice", tag="downloads",
     body=s.DownloadPickSchema, responses={200: s.DownloadActionSchema, **INVALID, **MISSING, 409: s.ErrorSchema},
     description="An active download of it is cancelled first; the chosen folder is queued at the downloader's "
                 "next run (asked for now). Should it fail, the acceptable candidates ranked after it are tried "
                 "next. 404 when the key or the candidate is unknown, 409 when the album is downloaded, being "
                 "searched, or already downloading from that folder.")
def downloads_pick():
    data = load_body(s.DownloadPickSchema())
    message, record = page.pick(data["key"], data["candidate"])
    return _acted(message, record)


@bp.post("/downloads/remove")
@doc("Remove: cancel its transfers, take it off the history and (unless keep_wishlist) the wishlist",
     tag="downloads", body=s.DownloadRemoveSchema, responses={200: s.DownloadActionSchema, **INVALID, **MISSING})
def downloads_remove():
    data = load_body(s.DownloadRemoveSchema())
    return _acted(page.remove(data["key"], keep_wishlist=data["keep_wishlist"]), None)


@bp.post("/downloads/run")
@doc("Run the downloader now (its runner takes the request within seconds)", tag="downloads",
     responses={202: s.DownloadActionSchema, 409: s.ErrorSchema})
def downloads_run():
    response = _acted(page.run_now(), None)
    response.status_code = 202
    return response
