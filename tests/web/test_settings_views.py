"""The settings form: groups, env read-only, secrets masked and kept, validation next to the field."""

import pytest
from websupport import PASSWORD, USER, basic_auth, parse


def form_fields(page) -> dict:
    """What the browser would submit: every enabled named field (checkboxes only when checked)."""
    values = {}
    for node in page.select("form#settings input") + page.select("form#settings select"):
        name = node.get("name")
        if not name or node.get("disabled") is not None or name == "clear":
            continue
        if node.get("type") == "checkbox":
            if node.get("checked") is not None:
                values[name] = node.get("value")
            continue
        if node.tag == "select":
            chosen = [o for o in node.select("option") if o.get("selected") is not None] or node.select("option")[:1]
            values[name] = chosen[0].get("value")
        else:
            values.setdefault(name, node.get("value") or "")
    return values


def test_it_groups_every_setting_by_service(client):
    page = parse(client.get("/settings").data)
    legends = [legend.text for legend in page.select("fieldset legend")]
    # The four services first, the web server and sign-in last.
    assert legends[:4] == ["ListenBrainz", "Last.fm", "Subsonic / Navidrome", "slskd downloads"]
    assert legends[-1] == "Web UI and sign-in" and "General" in legends[4:-1]
    assert page.one("#f-schedule-lb_fetch").get("value") == "6h"
    assert page.one("#f-slskd-preferred_formats").get("value") == "flac, mp3"
    assert [b.text for b in page.select("fieldset .test-row button")] == ["Test connection"] * 4


def test_it_shows_env_values_read_only_and_secrets_masked(make_app, monkeypatch):
    monkeypatch.setenv("RESONANCE_LASTFM__API_KEY", "lastfm-secret-value")
    monkeypatch.setenv("RESONANCE_LISTENBRAINZ__USERNAME", "lbuser")
    client = make_app().test_client()
    html = client.get("/settings").text
    assert "lastfm-secret-value" not in html and PASSWORD not in html
    page = parse(html)
    key = page.one("#f-lastfm-api_key")
    assert key.get("disabled") is not None and key.get("value") == ""
    assert "set by RESONANCE_LASTFM__API_KEY" in key.get("placeholder")
    user = page.one("#f-listenbrainz-username")
    assert user.get("disabled") is not None and user.get("value") == "lbuser"
    assert page.one("#f-web-password").get("placeholder") == "set: leave blank to keep"


def test_it_saves_only_what_changed_and_keeps_blank_secrets(client, repository):
    page = parse(client.get("/settings").data)
    values = form_fields(page)
    values.update({"csrf_token": client.token(), "schedule.lb_fetch": "12h", "listenbrainz.username": "rob",
                   "slskd.api_key": "new-slskd-key"})
    response = client.post("/settings", data=values)
    assert response.status_code == 303
    assert response.headers["Location"] == ("/settings?saved=1&changed=listenbrainz.username"
                                            "&changed=schedule.lb_fetch&changed=slskd.api_key")
    assert repository.saved_settings() == {
        "web": {"secret_key": repository.saved_settings()["web"]["secret_key"]},
        "schedule": {"lb_fetch": 43200}, "listenbrainz": {"username": "rob"}, "slskd": {"api_key": "new-slskd-key"},
    }
    html = client.get("/settings?saved=1").text
    assert "new-slskd-key" not in html and "Saved" in html
    # blank again: kept
    values = form_fields(parse(html))
    values["csrf_token"] = client.token()
    client.post("/settings", data=values)
    assert repository.saved_settings()["slskd"]["api_key"] == "new-slskd-key"


def test_it_removes_a_saved_secret_on_request(client, repository):
    repository.save_settings({"lastfm": {"api_key": "old-key"}})
    page = parse(client.get("/settings").data)
    assert page.one("input[name=clear][value=lastfm.api_key]")
    values = {**form_fields(page), "csrf_token": client.token(), "clear": "lastfm.api_key"}
    client.post("/settings", data=values)
    assert "lastfm" not in repository.saved_settings()


def test_it_shows_validation_errors_next_to_the_field(client, repository):
    values = {**form_fields(parse(client.get("/settings").data)), "csrf_token": client.token(),
              "web.port": "eighty", "schedule.catalog_discovery": "weekly-ish"}
    response = client.post("/settings", data=values, headers={"HX-Request": "true"})
    assert response.status_code == 422
    page = parse(response.data)
    port = page.one("#f-web-port")
    assert port.get("aria-invalid") == "true" and port.get("value") == "eighty"
    assert page.one("#f-web-port-error").text == "Not a valid integer."
    assert "Not a duration" in page.one("#f-schedule-catalog_discovery-error").text
    assert "Nothing was saved" in page.text
    assert set(repository.saved_settings()) <= {"web"} and "port" not in repository.saved_settings().get("web", {})


def test_it_stores_a_new_password_as_a_hash(client, repository):
    values = {**form_fields(parse(client.get("/settings").data)), "csrf_token": client.token(),
              "web.password": "a-new-password"}
    client.post("/settings", data=values)
    web = repository.saved_settings()["web"]
    assert "password" not in web and web["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    assert client.get("/", headers={"Authorization": basic_auth(USER, "a-new-password")}).status_code == 200
    assert client.get("/", headers={"Authorization": basic_auth(USER, PASSWORD)}).status_code == 401


def test_it_keeps_checkboxes_honest(client, repository):
    values = form_fields(parse(client.get("/settings").data))
    values.pop("schedule.run_on_start")  # unticked: only the hidden "false" is sent
    client.post("/settings", data={**values, "schedule.run_on_start": "false", "csrf_token": client.token()})
    assert repository.saved_settings()["schedule"] == {"run_on_start": False}


def test_it_tests_a_connection_with_the_typed_values_without_saving(client, repository, requests_mock):
    requests_mock.get("http://navidrome.test:4533/rest/ping.view", json={
        "subsonic-response": {"status": "ok", "version": "1.16.1", "type": "navidrome", "serverVersion": "0.53.3"}})
    values = {**form_fields(parse(client.get("/settings").data)), "csrf_token": client.token(),
              "subsonic.base_url": "http://navidrome.test:4533", "subsonic.username": "me",
              "subsonic.password": "subsonic-pass"}
    response = client.post("/settings/test/subsonic", data=values, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.strip() == '<span class="ok">✓ Signed in to navidrome 0.53.3 (API 1.16.1).</span>'
    assert "subsonic" not in repository.saved_settings()
    assert requests_mock.last_request.qs["u"] == ["me"]


def test_it_shows_a_failed_test_without_javascript(client, requests_mock):
    requests_mock.get("https://ws.audioscrobbler.com/2.0/", status_code=403,
                      json={"error": 10, "message": "Invalid API key - You must be granted a valid key by last.fm"})
    values = {**form_fields(parse(client.get("/settings").data)), "csrf_token": client.token(),
              "lastfm.api_key": "wrong-key-123"}
    response = client.post("/settings/test/lastfm", data=values)
    assert response.status_code == 200
    result = parse(response.data).one("#test-lastfm")
    assert result.text.startswith("✗") and "wrong-key-123" not in response.text


@pytest.mark.parametrize("service", ["nope", "musicbrainz"])
def test_it_refuses_a_test_for_an_unknown_service(client, service):
    assert client.form(f"/settings/test/{service}", {}).status_code == 404


def test_it_refuses_a_sign_in_change_that_would_lock_you_out(client, repository):
    values = {**form_fields(parse(client.get("/settings").data)), "csrf_token": client.token(), "web.auth": "proxy"}
    response = client.post("/settings", data=values)
    assert response.status_code == 422
    assert "lock you out" in parse(response.data).one("#f-web-auth-error").text
    assert "auth" not in repository.saved_settings().get("web", {})


def test_it_lets_a_script_change_the_sign_in_mode(make_app, repository):
    client = make_app(api_key="script-key-123").test_client()
    client.authorization = None
    response = client.patch("/api/v1/settings", json={"web": {"auth": "proxy"}}, headers={"X-API-Key": "script-key-123"})
    assert response.status_code == 200 and repository.saved_settings()["web"]["auth"] == "proxy"


def test_it_shows_the_household_read_only_with_secrets_masked(repository, write_config):
    from app import create_app
    from websupport import Client

    write_config(web={"auth": "basic", "username": USER, "password": PASSWORD},
                 household={"members": [
                     {"name": "Alice", "role": "admin", "listenbrainz_user": "alice_lb",
                      "listenbrainz_token": "alice-token-1234", "notify": ["ntfy://alice-secret-topic"]},
                     {"name": "Bob", "api_key": "bob-api-key-5678"}]})
    app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
    app.test_client_class = Client
    response = app.test_client().get("/settings")
    page = parse(response.data)
    rows = {row.get("data-member"): row.text for row in page.select("#section-household .member")}
    assert set(rows) == {"Alice", "Bob"}  # web.username "alice" is Alice
    assert "admin" in rows["Alice"] and "alice_lb" in rows["Alice"] and "token set" in rows["Alice"]
    assert "ntfy://" in rows["Alice"] and "API key set" in rows["Bob"] and "member" in rows["Bob"]
    assert not page.select("#section-household input")  # edited in config.yaml only
    for secret in (b"alice-token-1234", b"alice-secret-topic", b"bob-api-key-5678"):
        assert secret not in response.data


def test_it_labels_each_setting_for_a_person_with_its_key_small(client):
    page = parse(client.get("/settings").data)
    label = page.one("label[for=f-listenbrainz-username]")
    assert label.text.startswith("ListenBrainz user name") and label.one("code.key").text == "listenbrainz.username"
    assert page.one("label[for=f-slskd-min_bitrate]").text.startswith("Lowest bitrate (kbps)")
    # The connection's own fields come first; the tuning waits under "More settings".
    slskd = page.one("#section-slskd")
    more = {n.get("name") for n in slskd.one("details.more").select("input")}
    assert [n.get("name") for n in slskd.select("input") if n.get("name") not in more] == [
        "slskd.base_url", "slskd.api_key"]
    assert slskd.one("details.more summary").text == "More slskd downloads settings"
    assert slskd.one("details.more").get("open") is None


def test_it_makes_a_label_from_the_key_for_a_setting_without_one():
    from marshmallow import fields

    from app.config import Setting

    assert Setting("notify", "smtp_base_url", fields.String(), "", "help").title == "SMTP base URL"
    assert Setting("notify", "retry_delay", fields.String(), "", "help", label="Wait").title == "Wait"


def test_it_shows_secret_key_and_password_hash_as_set_not_as_fields(client, repository):
    page = parse(client.get("/settings").data)
    for name in ("web.secret_key", "web.password_hash"):
        assert not page.select(f'input[name="{name}"]'), name
    assert page.one("#f-web-secret_key .badge").text == "set"  # generated at the first request
    assert page.one("#f-web-password_hash .badge").text == "not set"  # the test app signs in with a plain password
    old_key = repository.saved_settings()["web"]["secret_key"]
    response = client.post("/settings/secret-key", data={"csrf_token": client.token()})
    assert response.status_code == 303
    assert response.headers["Location"] == "/settings?saved=1&changed=web.secret_key"
    assert repository.saved_settings()["web"]["secret_key"] not in ("", old_key)
    assert "Saved: Signing key." in parse(client.get(response.headers["Location"]).data).one(".save-bar").text


def test_it_refuses_a_new_secret_key_when_the_environment_sets_it(make_app, monkeypatch, repository):
    monkeypatch.setenv("RESONANCE_WEB__SECRET_KEY", "k" * 40)
    client = make_app().test_client()
    page = parse(client.get("/settings").data)
    assert not page.select("#f-web-secret_key button")
    assert "set by RESONANCE_WEB__SECRET_KEY" in page.one("#section-web").text
    assert client.post("/settings/secret-key", data={"csrf_token": client.token()}).status_code == 409


def test_it_marks_env_values_read_only_in_words(make_app, monkeypatch):
    monkeypatch.setenv("RESONANCE_SLSKD__BASE_URL", "http://slskd:5030")
    page = parse(make_app().test_client().get("/settings").data)
    field = page.one("#f-slskd-base_url")
    assert field.get("readonly") is not None and field.get("value") == "http://slskd:5030"
    assert page.one("#section-slskd .field.fixed .fixed-by").text == (
        "Read-only: set by RESONANCE_SLSKD__BASE_URL; change it there.")


def test_it_answers_next_to_the_save_button_and_focuses_the_first_error(client):
    values = {**form_fields(parse(client.get("/settings").data)), "csrf_token": client.token(),
              "web.port": "eighty", "listenbrainz.fetch_count": "many", "slskd.min_bitrate": "-5"}
    response = client.post("/settings", data=values, headers={"HX-Request": "true"})
    assert response.status_code == 422
    page = parse(response.data)
    bar = page.one(".save-bar")
    assert "Nothing was saved: 3 values to fix, starting with Recommendations per run" in bar.one(".notice").text
    assert bar.one("button").text == "Save settings"
    # The page's first field with an error (services come first), and only it, takes the focus;
    # its "More settings" opens so it can.
    assert [n.get("id") for n in page.select("[autofocus]")] == ["f-listenbrainz-fetch_count"]
    assert page.one("#section-listenbrainz details.more").get("open") is not None
    saved = client.post("/settings", data={**values, "web.port": "8080", "listenbrainz.fetch_count": "100",
                                           "slskd.min_bitrate": "192", "listenbrainz.username": "rob"},
                        headers={"HX-Request": "true"})
    assert parse(saved.data).one(".save-bar .notice").text == "Saved: ListenBrainz user name."
