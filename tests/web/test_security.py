"""CSRF refusal, cross-site refusal, security headers, escaping, compression."""

import gzip

import pytest
from factories import make_queue_item
from websupport import parse

XSS_ARTIST = '<script>alert("artist")</script>'
XSS_ALBUM = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def item(repository):
    item = make_queue_item(artist="Justice", album="Cross")
    repository.add_pending([item])
    return item


def test_it_refuses_a_form_post_without_a_csrf_token(client, repository, item):
    response = client.post("/queue/approve", data={"mbid": item["mbid"]})
    assert response.status_code == 403
    assert repository.find_pending(item["mbid"]) == item
    assert repository.wishlist() == []


def test_it_refuses_a_token_of_another_user_or_a_forged_one(client, repository, item):
    for token in (client.token("mallory"), "123.abc", "", "not-a-token"):
        assert client.post("/queue/approve", data={"mbid": item["mbid"], "csrf_token": token}).status_code == 403
    assert repository.find_pending(item["mbid"]) == item


def test_it_refuses_an_expired_token(client, app, repository, item):
    from app.web.security import make_csrf_token

    _, key = app.extensions["settings_cache"].get()
    old = make_csrf_token(key, "alice", now=1_000_000)
    assert client.post("/queue/approve", data={"mbid": item["mbid"], "csrf_token": old}).status_code == 403


def test_it_accepts_the_token_as_a_form_field_or_a_header(client, repository, item):
    other = make_queue_item()
    repository.add_pending([other])
    assert client.form("/queue/approve", {"mbid": item["mbid"]}).status_code == 303
    response = client.post("/queue/reject", data={"mbid": other["mbid"]},
                           headers={"X-CSRF-Token": client.token(), "HX-Request": "true"})
    assert response.status_code == 200
    assert repository.pending_count() == 0


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://localhost:9999"},  # another port of the same host
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_it_refuses_a_cross_site_post_even_with_valid_credentials_and_token(client, repository, item, headers):
    response = client.form("/queue/approve", {"mbid": item["mbid"]}, headers={"Host": "localhost", **headers})
    assert response.status_code == 403
    assert repository.find_pending(item["mbid"]) == item and repository.wishlist() == []


def test_it_refuses_a_cross_site_api_call(client, repository, item):
    response = client.post("/api/v1/queue/approve", json={"mbids": [item["mbid"]]},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert repository.find_pending(item["mbid"]) == item


def test_it_accepts_a_same_origin_post(client, item):
    response = client.form("/queue/approve", {"mbid": item["mbid"]},
                           headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303


def test_it_accepts_the_proxy_origin_behind_tls(client, item):
    response = client.form("/queue/approve", {"mbid": item["mbid"]},
                           headers={"Host": "music.example.org", "Origin": "https://music.example.org"})
    assert response.status_code == 303


def test_it_takes_json_from_the_api_without_a_token(client, item):
    assert client.post("/api/v1/queue/approve", json={"mbids": [item["mbid"]]}).status_code == 200


def test_it_refuses_a_form_encoded_api_call(client, repository, item):
    response = client.post("/api/v1/queue/approve", data={"mbids": item["mbid"]})
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"
    assert repository.find_pending(item["mbid"]) == item


def test_it_takes_an_api_key_call_without_json(make_app, repository):
    client = make_app(api_key="script-key-123").test_client()
    client.authorization = None
    response = client.post("/api/v1/jobs/lb-fetch/run", headers={"X-API-Key": "script-key-123"})
    assert response.status_code == 202
    assert "lb-fetch" in repository.run_requests()


def test_it_sends_the_security_headers(client):
    for path in ("/", "/api/v1/queue", "/static/css/app.css", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"


def test_it_allows_images_only_from_the_cover_art_hosts(make_app, write_config):
    app = make_app()
    csp = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://coverartarchive.org https://archive.org https://*.archive.org" in csp


def test_it_renders_no_inline_script_or_style(client, item):
    page = parse(client.get("/").data)
    assert all(script.get("src") for script in page.select("script"))
    assert not page.select("style")
    assert not [node for node in page.select("[style]")]
    assert not [node for node in page.select("[hx-on]")]


def test_it_escapes_names_from_outside(client, repository):
    bad = make_queue_item(artist=XSS_ARTIST, album=XSS_ALBUM, similar_to=[XSS_ARTIST], source_track=XSS_ALBUM,
                          cover_url='javascript:alert(1)')
    repository.add_pending([bad])
    repository.add_pending([make_queue_item(artist=XSS_ALBUM, album=XSS_ARTIST)])
    for path in ("/", "/?q=script"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "javascript:" not in html
        assert "&lt;script&gt;alert(&#34;artist&#34;)&lt;/script&gt;" in html
    card = parse(client.get("/").data).one(f"article.card[data-mbid={bad['mbid']}]")
    assert card.one("h2.album").text == XSS_ALBUM  # shown as text, exactly
    assert card.one("p.artist").text.startswith(XSS_ARTIST)
    repository.approve([bad["mbid"]])
    for path in ("/wishlist", "/history/approved"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html
    repository.block_artist(XSS_ARTIST)
    assert "<script>alert" not in client.get("/blocklist").text


def test_it_escapes_names_in_the_json_api(client, repository):
    repository.add_pending([make_queue_item(artist=XSS_ARTIST)])
    response = client.get("/api/v1/queue")
    assert response.mimetype == "application/json"
    assert response.json["items"][0]["artist"] == XSS_ARTIST


def test_it_compresses_pages_and_static_files(client, repository):
    repository.add_pending([make_queue_item() for _ in range(20)])
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert b"<!doctype html>" in gzip.decompress(page.data)
    assert "Accept-Encoding" in page.headers["Vary"] and "HX-Request" in page.headers["Vary"]
    script = client.get("/static/vendor/htmx-2.0.11.min.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["Content-Encoding"] == "gzip" and len(script.data) < 20_000
    plain = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert "Content-Encoding" not in plain.headers and len(plain.data) == 52_182


def test_it_lets_browsers_keep_versioned_static_files(client):
    page = parse(client.get("/").data)
    css = page.one("link[rel=stylesheet]").get("href")
    assert "?v=" in css
    response = client.get(css)
    assert "immutable" in response.headers["Cache-Control"]
    again = client.get(css, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/static/../app/config.py").status_code == 404


def test_it_serves_the_manifest_for_the_home_screen(anonymous):
    response = anonymous.get("/static/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert anonymous.get(icon["src"]).status_code == 200


def test_it_names_the_icons_in_the_manifest_as_the_pages_do(anonymous):
    # One URL per icon: the page's link and the manifest's entry are fetched and cached once.
    page = parse(anonymous.get("/setup").text)
    links = {link.get("rel"): link.get("href") for link in page.select("link")}
    linked = {links["icon"], links["apple-touch-icon"]}
    response = anonymous.get(links["manifest"])
    assert response.mimetype == "application/manifest+json"
    listed = {icon["src"] for icon in response.get_json(force=True)["icons"]}
    assert linked and linked <= listed
    assert all("?v=" in src for src in listed)
    for src in listed:
        assert "immutable" in anonymous.get(src).headers["Cache-Control"]


def test_it_keeps_pages_out_of_shared_caches(client):
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/queue").headers["Cache-Control"] == "no-store"


def test_it_tells_how_long_the_server_took(client):
    timing = client.get("/").headers["Server-Timing"]
    assert timing.startswith("app;dur=") and float(timing.split("=")[1]) >= 0


def test_it_finds_its_templates_and_static_files(tmp_path, monkeypatch):
    from app import web

    assert web.asset_dir("templates") == web.PROJECT_ROOT / "templates"
    installed = tmp_path / "share" / "resonance"
    (installed / "static").mkdir(parents=True)
    monkeypatch.setattr(web, "PROJECT_ROOT", tmp_path / "elsewhere")
    monkeypatch.setattr(web, "SHARE_DIRS", (installed,))
    assert web.asset_dir("static") == installed / "static"
    with pytest.raises(RuntimeError, match="cannot find its templates"):
        web.asset_dir("templates")
