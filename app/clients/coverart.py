"""Cover Art Archive URL builders (no requests: the browser loads the images)."""

from __future__ import annotations

from urllib.parse import quote

DEFAULT_BASE_URL = "https://coverartarchive.org"
THUMBNAIL_SIZES = (250, 500, 1200)


def _size_suffix(size: int | None) -> str:
    if size is None:
        return ""
    if size not in THUMBNAIL_SIZES:
        raise ValueError(f"cover size must be one of {THUMBNAIL_SIZES} or None, not {size!r}")
    return f"-{size}"


def release_group_front_url(base_url: str, rg_mbid: str, size: int | None = 250) -> str:
    """``{base}/release-group/{mbid}/front-{size}`` (``size=None``: the original image)."""
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/release-group/{quote(rg_mbid.strip().lower(), safe='')}/front{_size_suffix(size)}"


def release_front_url(base_url: str, release_mbid: str, caa_id: int | str | None = None, size: int | None = 250) -> str:
    """Front image of a release: ``{id}-{size}.jpg`` for a ListenBrainz ``caa_id``, else ``/front``.

    Originals may be PNG/GIF, so ``size=None`` always uses ``/front``.
    """
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    release = quote(release_mbid.strip().lower(), safe="")
    if caa_id is None or str(caa_id).strip() == "" or size is None:
        return f"{base}/release/{release}/front{_size_suffix(size)}"
    return f"{base}/release/{release}/{quote(str(caa_id).strip(), safe='')}{_size_suffix(size)}.jpg"


#: The largest cover Resonance downloads (a 1200 px JPEG is well under 1 MB).
MAX_COVER_BYTES = 20 * 1024 * 1024


def fetch_release_front(http, base_url: str, release_mbid: str, size: int | None = 1200) -> bytes | None:
    """The release's front cover as image bytes (the archive's thumbnails are JPEG); ``None`` when it has none.

    ``http`` is an ``app.clients.http.HttpClient``; the archive answers with a
    redirect to the image, which requests follows.
    """
    from app.clients.http import NotFound

    try:
        response = http.request("GET", release_front_url(base_url, release_mbid, size=size))
    except NotFound:
        return None
    body = response.content
    if len(body) > MAX_COVER_BYTES or not body.startswith((b"\xff\xd8", b"\x89PNG")):
        return None
    return body
