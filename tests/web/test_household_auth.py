"""Sign-in maps to a member: Basic accounts, API keys and the proxy's headers, in every mode and role;
a member refused an admin action (settings) gets a clear 403 and nothing changes."""

import pytest
import yaml
from websupport import PASSWORD, USER, Client, basic_auth, parse
from werkzeug.security import generate_password_hash

from app import create_app

ALICE_PASSWORD, BOB_PASSWORD = "alice-in-chains", "bob-the-builder"
BOB_KEY, ADMIN_KEY = "bob-api-key-0123456789", "legacy-admin-key-0123456789"
AUTHELIA = "10.0.0.5"  # the trusted proxy
MEMBERS = [
    {"name": "Alice", "role": "admin", "password_hash": generate_password_hash(ALICE_PASSWORD, "pbkdf2:sha256:1000")},
    {"name": "Bob", "role": "member", "password_hash": generate_password_hash(BOB_PASSWORD, "pbkdf2:sha256:1000"),
     "api_key": BOB_KEY, "proxy_user": "bob@home", "listenbrainz_user": "bob_lb"},
]


@pytest.fixture
def household_app(repository, tmp_path):
    def make(members=MEMBERS, **web):
        web = {"auth": "basic", "username": "root", "password": PASSWORD, "api_key": ADMIN_KEY,
               "trusted_proxies": ["10.0.0.0/24"], **web}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({"web": web, "household": {"members": members}}),
                                              encoding="utf-8")
        app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
        app.test_client_class = Client
        return app

    return make


def me(client, **kwargs):
    response = client.get("/api/v1/me", **kwargs)
    return response.status_code, (response.json or {}).get("name"), (response.json or {}).get("role")


@pytest.mark.parametrize("mode", ["basic", "api_key"])
def test_it_signs_each_member_in_with_their_own_password(household_app, mode):
    client = household_app(auth=mode).test_client()
    assert me(client, headers={"Authorization": basic_auth("Alice", ALICE_PASSWORD)}) == (200, "Alice", "admin")
    assert me(client, headers={"Authorization": basic_auth("Bob", BOB_PASSWORD)}) == (200, "Bob", "member")
    assert me(client, headers={"Authorization": basic_auth("Bob", ALICE_PASSWORD)})[0] == 401
    assert me(client, headers={"Authorization": basic_auth("Carol", BOB_PASSWORD)})[0] == 401
    # the single-user login of today stays the admin
    assert me(client, headers={"Authorization": basic_auth("root", PASSWORD)}) == (200, "root", "admin")


@pytest.mark.parametrize("mode", ["basic", "api_key", "proxy"])
def test_it_signs_a_member_in_with_their_api_key(household_app, mode):
    client = household_app(auth=mode).test_client()
    client.authorization = None
    assert me(client, headers={"X-API-Key": BOB_KEY}) == (200, "Bob", "member")
    assert me(client, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) == (200, "root", "admin")
    assert me(client, headers={"X-API-Key": "not-a-key-of-anyone"})[0] == 401


def test_it_believes_authelias_headers_from_the_trusted_proxy(household_app):
    client = household_app(auth="proxy").test_client()
    client.authorization = None
    via = {"environ_base": {"REMOTE_ADDR": AUTHELIA}}
    assert me(client, headers={"Remote-User": "bob@home", "Remote-Groups": "family"}, **via) == (200, "Bob", "member")
    assert me(client, headers={"Remote-User": "Alice"}, **via) == (200, "Alice", "admin")
    # Not listed: a member named by the header, an admin when in one of web.proxy_admin_groups
    assert me(client, headers={"Remote-User": "carol"}, **via) == (200, "carol", "member")
    assert me(client, headers={"Remote-User": "dave", "Remote-Groups": "family,admins"}, **via) == (
        200, "dave", "admin")


def test_it_refuses_authelias_headers_from_an_untrusted_address(household_app):
    client = household_app(auth="proxy").test_client()
    client.authorization = None
    headers = {"Remote-User": "dave", "Remote-Groups": "admins"}
    response = client.get("/api/v1/me", headers=headers, environ_base={"REMOTE_ADDR": "192.168.1.50"})
    assert response.status_code == 403 and "dave" not in response.text
    page = client.get("/settings", headers=headers, environ_base={"REMOTE_ADDR": "192.168.1.50"})
    assert page.status_code == 403 and b"section-household" not in page.data


def test_it_reads_the_configured_admin_groups(household_app):
    client = household_app(auth="proxy", proxy_admin_groups=["resonance-admins"]).test_client()
    via = {"environ_base": {"REMOTE_ADDR": AUTHELIA}}
    assert me(client, headers={"Remote-User": "dave", "Remote-Groups": "admins"}, **via)[2] == "member"
    assert me(client, headers={"Remote-User": "dave", "Remote-Groups": "resonance-admins"}, **via)[2] == "admin"


def test_it_makes_auth_none_a_single_admin(household_app):
    client = household_app(auth="none").test_client()
    client.authorization = None
    assert me(client, headers={"Host": "localhost"}) == (200, "Alice", "admin")


def test_it_keeps_todays_single_user_sign_in(make_app):
    client = make_app(api_key=ADMIN_KEY).test_client()
    assert me(client) == (200, USER, "admin")
    client.authorization = None
    assert me(client, headers={"X-API-Key": ADMIN_KEY}) == (200, USER, "admin")


# --- a member trying an admin action ----------------------------------------------------------


def test_it_refuses_a_member_the_settings_page_save_and_changes_nothing(household_app, repository):
    client = household_app().test_client()
    client.authorization = basic_auth("Bob", BOB_PASSWORD)
    client.user = "Bob"
    page = client.get("/settings")  # looking is fine (and saves a session key)
    assert page.status_code == 200 and "only an admin may change settings" in parse(page.data).text
    before = repository.saved_settings()
    response = client.form("/settings", {"general.approval_mode": "auto", "web.auth": "none"})
    assert response.status_code == 403
    assert "Only an admin may do this" in parse(response.data).text and "Bob" in response.text
    htmx = client.form("/settings", {"general.approval_mode": "auto"}, htmx=True)
    assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#toast"
    tested = client.form("/settings/test/lastfm", {"lastfm.base_url": "http://127.0.0.1:9/"})
    assert tested.status_code == 403
    assert client.form("/settings/secret-key").status_code == 403
    assert client.form("/welcome/lastfm", {"lastfm.api_key": "k" * 32}).status_code == 403
    assert client.form("/welcome/lastfm/test", {"lastfm.api_key": "k" * 32}).status_code == 403
    assert repository.saved_settings() == before


def test_it_refuses_a_member_the_settings_api_and_changes_nothing(household_app, repository):
    client = household_app().test_client()
    client.authorization = None
    assert me(client, headers={"X-API-Key": BOB_KEY})[0] == 200  # (the first request saves a session key)
    before = repository.saved_settings()
    response = client.patch("/api/v1/settings", json={"general": {"approval_mode": "auto"}},
                            headers={"X-API-Key": BOB_KEY})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "admin_only"
    assert response.json["error"]["details"] == {"member": "Bob", "role": "member", "endpoint": "api.settings_update"}
    assert repository.saved_settings() == before
    assert client.get("/api/v1/settings", headers={"X-API-Key": BOB_KEY}).json["settings"]["general"][
        "approval_mode"] == "manual"


def test_it_lets_an_admin_change_settings(household_app, repository):
    client = household_app().test_client()
    client.authorization = basic_auth("Alice", ALICE_PASSWORD)
    response = client.patch("/api/v1/settings", json={"general": {"approval_mode": "auto"}})
    assert response.status_code == 200 and repository.saved_settings()["general"] == {"approval_mode": "auto"}


def test_it_lets_a_member_decide_and_run_jobs(household_app, repository):
    from factories import make_queue_item

    repository.add_pending([make_queue_item(mbid="11111111-1111-1111-1111-111111111111")])
    client = household_app().test_client()
    client.authorization = None
    key = {"X-API-Key": BOB_KEY}
    assert client.post("/api/v1/queue/approve", json={"mbids": ["11111111-1111-1111-1111-111111111111"]},
                       headers=key).status_code == 200
    assert client.post("/api/v1/jobs/lb-fetch/run", headers=key).status_code == 202
    assert client.post("/api/v1/wishlist", json={"artist": "Air", "title": "Talkie Walkie"},
                       headers=key).status_code in (200, 201)


def test_it_offers_no_first_run_setup_once_members_are_listed(household_app):
    client = household_app(username="", password="", api_key="").test_client()
    client.authorization = None
    local = {"environ_base": {"REMOTE_ADDR": "127.0.0.1"}, "headers": {"Host": "localhost"}}
    response = client.get("/", **local)
    assert response.status_code == 401  # members sign in with their passwords: not a fresh install
    assert client.get("/setup", **local).status_code == 404
    assert me(client, headers={"Authorization": basic_auth("Alice", ALICE_PASSWORD), "Host": "localhost"},
              environ_base={"REMOTE_ADDR": "127.0.0.1"}) == (200, "Alice", "admin")


def test_it_shows_members_in_the_settings_api_masked_and_never_changes_them(household_app, repository):
    client = household_app().test_client()
    client.authorization = basic_auth("Alice", ALICE_PASSWORD)
    shown = client.get("/api/v1/settings").json
    alice, bob = shown["settings"]["household"]["members"]
    assert (alice["name"], alice["role"], alice["password_hash"]) == ("Alice", "admin", "••••••••")
    assert bob["api_key"] == "••••••••" and BOB_KEY not in client.get("/api/v1/settings").text
    refused = client.patch("/api/v1/settings", json={"household": {"members": [{"name": "Mallory", "role": "admin"}]}})
    assert refused.status_code == 400 and "household" in refused.json["error"]["details"]
    assert "household" not in repository.saved_settings()
