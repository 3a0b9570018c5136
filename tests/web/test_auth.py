"""Who gets in, in every auth mode (three personas: the owner, a script, an outsider)."""

import pytest
from websupport import PASSWORD, USER, basic_auth, parse
from werkzeug.security import generate_password_hash

from app.web.auth import HashCheckCache

PAGES = ["/", "/wishlist", "/history/approved", "/history/rejected", "/jobs", "/settings", "/blocklist",
         "/downloads", "/?source=catalog&q=x", "/no-such-page"]
API = ["/api/v1/queue", "/api/v1/wishlist", "/api/v1/jobs", "/api/v1/settings", "/api/v1/blocklist",
       "/api/v1/openapi.json", "/api/v1/jobs/lb-fetch/log"]
MUTATIONS = [("/queue/approve", {"mbid": "x"}), ("/queue/reject", {"mbid": "x"}), ("/queue/undo", {"mbid": "x"}),
             ("/queue/bulk/approve", {"mbid": "x"}), ("/queue/all/reject", {}), ("/queue/block", {"artist": "x"}),
             ("/history/unreject", {"mbid": "x"}), ("/wishlist/add", {"artist": "a", "title": "b"}),
             ("/wishlist/remove", {"artist": "a", "title": "b"}), ("/jobs/lb-fetch/run", {}),
             ("/settings", {}), ("/settings/test/lastfm", {}), ("/blocklist/add", {"artist": "x"}),
             ("/blocklist/remove", {"artist": "x"})]


@pytest.mark.parametrize("path", PAGES + API)
def test_it_asks_an_outsider_to_sign_in_everywhere(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Resonance"'
    assert b"Artist" not in response.data


@pytest.mark.parametrize("path,data", MUTATIONS)
def test_it_refuses_every_change_from_an_outsider(anonymous, repository, path, data):
    response = anonymous.post(path, data=data)
    assert response.status_code == 401
    assert repository.saved_settings().keys() <= {"web"}
    assert repository.wishlist() == [] and repository.blocked_artists() == []


@pytest.mark.parametrize("path", [p for p in PAGES if p != "/no-such-page"] + API)
def test_it_lets_the_owner_in(client, path):
    assert client.get(path).status_code == 200


def test_it_answers_an_unknown_page_with_404_once_signed_in(client):
    assert client.get("/no-such-page").status_code == 404


def test_it_refuses_a_wrong_password_and_a_wrong_user(client):
    assert client.get("/", headers={"Authorization": basic_auth(USER, "nope")}).status_code == 401
    assert client.get("/", headers={"Authorization": basic_auth("mallory", PASSWORD)}).status_code == 401
    assert client.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401


def test_it_keeps_health_and_static_files_public(anonymous):
    health = anonymous.get("/health")
    assert health.status_code == 200 and health.json["status"] == "ok"
    assert anonymous.get("/api/v1/health").status_code == 200
    for path in ("/static/css/app.css", "/static/js/app.js", "/static/vendor/htmx-2.0.11.min.js",
                 "/static/manifest.webmanifest", "/static/icons/icon-192.png"):
        assert anonymous.get(path).status_code == 200, path


def test_it_says_nothing_secret_on_health(make_app):
    app = make_app(api_key="k" * 32)
    response = app.test_client().get("/health", headers={"Authorization": ""})
    assert PASSWORD not in response.text and "kkkk" not in response.text


def test_it_accepts_a_password_hash(make_app):
    app = make_app(password="", password_hash=generate_password_hash("hashed-secret"))
    client = app.test_client()
    assert client.get("/", headers={"Authorization": basic_auth(USER, "hashed-secret")}).status_code == 200
    assert client.get("/", headers={"Authorization": basic_auth(USER, PASSWORD)}).status_code == 401


def test_it_remembers_a_checked_hash_only_when_it_matched(app):
    cache = HashCheckCache()
    stored = generate_password_hash("right")
    with app.app_context():
        assert cache.check(stored, "right") and cache.check(stored, "right")
        assert not cache.check(stored, "wrong")
        assert not cache.check("not-a-hash", "right")


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_it_lets_a_script_in_with_the_api_key(make_app, header):
    key = "a-long-api-key-for-scripts"
    client = make_app(api_key=key).test_client()
    client.authorization = None
    value = f"Bearer {key}" if header == "Authorization" else key
    assert client.get("/api/v1/queue", headers={header: value}).status_code == 200
    wrong = "Bearer nope" if header == "Authorization" else "nope"
    assert client.get("/api/v1/queue", headers={header: wrong}).status_code == 401


def test_it_combines_api_key_mode_with_basic(make_app):
    client = make_app(auth="api_key", api_key="script-key-123").test_client()
    assert client.get("/").status_code == 200  # Basic still works when a password is set
    client.authorization = None
    assert client.get("/api/v1/jobs", headers={"X-API-Key": "script-key-123"}).status_code == 200
    assert client.get("/api/v1/jobs").status_code == 401


def test_it_ignores_an_api_key_header_when_no_key_is_set(client):
    client.authorization = None
    assert client.get("/api/v1/jobs", headers={"Authorization": "Bearer "}).status_code == 401


def proxy_app(make_app, **web):
    app = make_app(auth="proxy", username="", password="", trusted_proxies=["10.0.0.0/8", "::1/128"], **web)
    client = app.test_client()
    client.authorization = None
    return client


def test_it_trusts_the_user_header_from_a_trusted_proxy(make_app):
    client = proxy_app(make_app)
    response = client.get("/", headers={"Remote-User": "bob"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 200
    ipv6 = client.get("/", headers={"Remote-User": "bob"}, environ_base={"REMOTE_ADDR": "::1"})
    assert ipv6.status_code == 200


def test_it_refuses_the_user_header_from_anywhere_else(make_app):
    client = proxy_app(make_app)
    response = client.get("/", headers={"Remote-User": "bob", "X-Forwarded-For": "10.1.2.3"},
                          environ_base={"REMOTE_ADDR": "192.168.1.50"})
    assert response.status_code == 403
    api = client.get("/api/v1/queue", headers={"Remote-User": "bob"}, environ_base={"REMOTE_ADDR": "192.168.1.50"})
    assert api.status_code == 403 and api.json["error"]["code"] == "forbidden"


def test_it_wants_a_user_from_the_trusted_proxy(make_app):
    client = proxy_app(make_app)
    assert client.get("/", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 401


def test_it_reads_the_configured_proxy_header(make_app):
    client = proxy_app(make_app, proxy_user_header="X-Authelia-User")
    ok = client.get("/", headers={"X-Authelia-User": "bob"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert ok.status_code == 200
    assert client.get("/", headers={"Remote-User": "bob"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 401


def test_it_maps_ipv4_in_ipv6_addresses(make_app):
    client = proxy_app(make_app)
    response = client.get("/", headers={"Remote-User": "bob"}, environ_base={"REMOTE_ADDR": "::ffff:10.0.0.9"})
    assert response.status_code == 200


def test_it_lets_everyone_in_with_auth_none_and_says_so(make_app):
    client = make_app(auth="none", username="", password="").test_client()
    client.authorization = None
    response = client.get("/")
    assert response.status_code == 200
    assert "Sign-in is off" in response.text


def test_it_opens_the_sign_in_is_off_banner_once_per_browser_session(make_app):
    client = make_app(auth="none", username="", password="").test_client()
    client.authorization = None
    first = parse(client.get("/").data).one("details.banner.auth-off")
    assert first.get("open") is not None and "Anyone who can reach this address" in first.text
    later = parse(client.get("/wishlist").data).one("details.banner.auth-off")  # the session cookie came back
    assert later.get("open") is None and later.one("summary").text.strip() == "Sign-in is off"
    signed = make_app().test_client()  # sign-in on: no banner, no cookie
    assert not parse(signed.get("/").data).select(".auth-off")


def test_it_answers_auth_none_on_loopback_only_for_localhost(make_app):
    client = make_app(auth="none", username="", password="").test_client()
    client.authorization = None
    assert client.get("/", headers={"Host": "127.0.0.1:8080"}).status_code == 200
    assert client.get("/", headers={"Host": "evil.example:8080"}).status_code == 403  # DNS rebinding


def test_it_shows_the_first_run_page_without_credentials(make_app):
    client = make_app(username="", password="", host="0.0.0.0").test_client()
    response = client.get("/", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 403
    assert "RESONANCE_WEB__USERNAME" in response.text
    api = client.get("/api/v1/queue")
    assert api.status_code == 403 and api.json["error"]["code"] == "setup_required"
    assert client.get("/setup").status_code == 404


def test_it_offers_the_setup_form_on_this_machine_only(make_app, repository):
    client = make_app(username="", password="").test_client()
    client.authorization = None
    local = {"REMOTE_ADDR": "127.0.0.1"}
    first = client.get("/", environ_base=local)
    assert first.status_code == 303 and first.headers["Location"].endswith("/setup")
    assert client.get("/setup", environ_base={"REMOTE_ADDR": "192.168.1.9"}).status_code == 404
    assert client.get("/setup", environ_base=local, headers={"X-Forwarded-For": "1.2.3.4"}).status_code == 404
    assert client.get("/setup", environ_base=local, headers={"Host": "resonance.example"}).status_code == 404

    form = {"csrf_token": client.token("-setup-"), "username": "carol", "password": "short", "confirm": "short"}
    refused = client.post("/setup", data=form, environ_base=local)
    assert refused.status_code == 422 and "At least 8" in refused.text

    form.update(password="long enough", confirm="long enough")
    saved = client.post("/setup", data=form, environ_base=local)
    assert saved.status_code == 303
    web = repository.saved_settings()["web"]
    assert web["username"] == "carol" and web["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    assert "password" not in web
    assert client.get("/setup", environ_base=local).status_code == 404  # once only
    assert client.get("/", headers={"Authorization": basic_auth("carol", "long enough")}).status_code == 200


def test_it_protects_the_setup_form_from_other_sites(make_app, repository):
    client = make_app(username="", password="").test_client()
    client.authorization = None
    form = {"username": "mallory", "password": "long enough", "confirm": "long enough"}
    local = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.post("/setup", data=form, environ_base=local).status_code == 403
    cross = client.post("/setup", data={**form, "csrf_token": client.token("-setup-")}, environ_base=local,
                        headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert "username" not in repository.saved_settings().get("web", {})


NO_SETUP = {
    "an API key only": {"username": "", "password": "", "api_key": "script-key-0123456789"},
    "a username only": {"username": "carol", "password": ""},
    "a password only": {"username": "", "password": "long enough"},
    "a password hash only": {"username": "", "password": "", "password_hash": generate_password_hash("x" * 8)},
    "a username and password": {},
    "api_key mode without a key": {"auth": "api_key", "username": "", "password": ""},
    "api_key mode with a key": {"auth": "api_key", "username": "", "password": "", "api_key": "script-key-0123456789"},
    "proxy mode": {"auth": "proxy", "username": "", "password": ""},
    "auth none": {"auth": "none", "username": "", "password": ""},
}


@pytest.mark.parametrize("web", NO_SETUP.values(), ids=NO_SETUP.keys())
def test_it_offers_setup_only_while_no_credential_of_any_kind_exists(make_app, repository, web):
    client = make_app(**web).test_client()
    client.authorization = None
    local = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/setup", environ_base=local).status_code == 404
    form = {"csrf_token": client.token("-setup-"), "username": "mallory", "password": "long enough",
            "confirm": "long enough"}
    assert client.post("/setup", data=form, environ_base=local).status_code in (403, 404)  # 403: CSRF (auth none)
    assert "mallory" not in str(repository.saved_settings())
    home = client.get("/", environ_base=local)
    assert not home.headers.get("Location", "").endswith("/setup")
    assert "offers a form" not in home.text


def test_it_asks_a_script_for_the_key_when_only_an_api_key_is_set(make_app):
    client = make_app(username="", password="", api_key="script-key-0123456789").test_client()
    client.authorization = None
    missing = client.get("/api/v1/queue")
    assert missing.status_code == 401 and missing.json["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/queue", headers={"X-API-Key": "script-key-0123456789"}).status_code == 200


def test_it_lets_only_the_first_of_simultaneous_setups_save(repository):
    from concurrent.futures import ThreadPoolExecutor

    from app.web.auth import CREDENTIAL_KEYS

    def setup(n: int) -> bool:
        return repository.save_settings_unless_set("web", {"username": f"user{n}", "password_hash": f"hash{n}"},
                                                   CREDENTIAL_KEYS)

    with ThreadPoolExecutor(8) as pool:
        saved = list(pool.map(setup, range(8)))
    assert saved.count(True) == 1
    winner = saved.index(True)
    assert repository.saved_settings()["web"] == {"username": f"user{winner}", "password_hash": f"hash{winner}"}
    # An API key saved first counts as a credential too.
    repository.save_settings({"web": {"username": None, "password_hash": None, "api_key": "script-key-0123"}})
    assert not setup(99)
    assert "username" not in repository.saved_settings()["web"]


def test_it_signs_in_the_browser_that_used_the_setup_form(make_app, repository):
    """"Save and sign in" signs in: the next page does not ask for the same credentials (Basic) again."""
    client = make_app(username="", password="").test_client()
    client.authorization = None
    local = {"REMOTE_ADDR": "127.0.0.1"}
    form = {"csrf_token": client.token("-setup-"), "username": "carol", "password": "long enough",
            "confirm": "long enough"}
    saved = client.post("/setup", data=form, environ_base=local)
    assert saved.status_code == 303 and saved.headers["Location"] == "/welcome"
    cookie = saved.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires" not in cookie
    page = client.get("/welcome", environ_base=local)
    assert page.status_code == 200 and "WWW-Authenticate" not in page.headers
    assert "Signed in as <strong>carol</strong>" in page.text
    # ...changes too, with the page's CSRF token:
    change = client.post("/settings", data={"csrf_token": client.token("carol"), "listenbrainz.username": "rob"},
                         environ_base=local)
    assert change.status_code == 303 and repository.saved_settings()["listenbrainz"] == {"username": "rob"}
    # Another browser (no cookie) is asked for the password as before.
    other = make_app(username="", password="").test_client()
    other.authorization = None
    assert other.get("/", environ_base=local).status_code == 401


def test_it_forgets_the_setup_sign_in_when_the_password_or_key_changes(make_app, repository):
    client = make_app(username="", password="").test_client()
    client.authorization = None
    form = {"csrf_token": client.token("-setup-"), "username": "carol", "password": "long enough",
            "confirm": "long enough"}
    client.post("/setup", data=form, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert client.get("/").status_code == 200
    repository.save_settings({"web": {"password_hash": generate_password_hash("another password")}})
    assert client.get("/").status_code == 401
    client.set_cookie("resonance_signed_in", "forged.value.here")
    assert client.get("/").status_code == 401
