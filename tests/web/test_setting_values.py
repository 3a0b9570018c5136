"""Settings take only values the runners and the web app can live with: the API, the settings form, the
config file and the environment refuse the rest with the key and the reason, and save nothing."""

from __future__ import annotations

import pytest
from websupport import parse

from app.config import MAX_DURATION, ConfigError, load_settings

BAD_VALUES = [
    # (setting, value, what the message says)
    ("schedule.lb_fetch", 300_000_000_000, "at most 365 days"),
    ("schedule.catalog_discovery", "53w", "at most 365 days"),
    ("schedule.slskd_downloader", "9" * 5_000, "Not a duration"),
    ("slskd.retry_delay", "1000000000000000d", "Not a duration"),
    ("slskd.stall_timeout", 2.5, "Not a duration"),
    ("web.login_window", "366d", "at most 365 days"),
    ("web.trusted_proxies", ["not-a-cidr"], "not an IP address or CIDR"),
    ("web.trusted_proxies", ["10.0.0.0/33"], "not an IP address or CIDR"),
    ("slskd.preferred_formats", ["flac", "mp4x"], "mp4x: not one of"),
    ("listenbrainz.skip_secondary_types", ["Bogus"], "Bogus: not one of"),
    ("catalog.include_secondary_types", ["Live\x00"], "control character"),
    ("web.threads", 2.5, "Not a valid integer"),
    ("web.port", 8080.5, "Not a valid integer"),
    ("slskd.max_attempts", "9" * 5_000, "Not a valid integer"),
    ("musicbrainz.base_url", "http://mirror:99999", "port"),
    ("subsonic.base_url", "http://navi\x00drome", "control character"),
    ("web.proxy_user_header", "Remote User", "Not an HTTP header name"),
    ("web.host", "0.0.0.0:8080", "Not an IP address or host name"),
    ("general.contact", "me\x1b@example.org", "control character"),
    ("slskd.url_base", "/slskd\n", "control character"),
]
IDS = [f"{name}={str(value)[:20]!r}" for name, value, _ in BAD_VALUES]


def body_of(name: str, value) -> dict:
    section, key = name.split(".")
    return {section: {key: value}}


@pytest.mark.parametrize("name, value, message", BAD_VALUES, ids=IDS)
def test_it_refuses_a_value_in_the_api_and_saves_nothing(client, repository, name, value, message):
    client.get("/api/v1/settings")  # the first request saves the generated secret key
    before = repository.saved_settings()
    response = client.patch("/api/v1/settings", json=body_of(name, value))
    assert response.status_code == 400
    assert message in " ".join(response.get_json()["error"]["details"][name])
    assert repository.saved_settings() == before


@pytest.mark.parametrize("name, value, message", BAD_VALUES, ids=IDS)
def test_it_refuses_a_value_in_the_settings_form_next_to_the_field(client, repository, name, value, message):
    client.get("/settings")
    before = repository.saved_settings()
    typed = ", ".join(value) if isinstance(value, list) else str(value)
    response = client.form("/settings", {name: typed}, htmx=True)
    assert response.status_code == 422
    field_id = "f-" + name.replace(".", "-")
    page = parse(response.data)
    assert page.one(f"#{field_id}").get("aria-invalid") == "true"
    assert message in page.one(f"#{field_id}-error").text
    assert repository.saved_settings() == before


@pytest.mark.parametrize("name, value, message", BAD_VALUES, ids=IDS)
def test_it_refuses_a_value_in_the_config_file_naming_the_key(write_config, name, value, message):
    section, key = name.split(".")
    write_config(**{section: {key: value}})
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert any(m.startswith(f"{name}:") and message in m for m in refused.value.messages), refused.value.messages


@pytest.mark.parametrize("name, value, saved", [
    ("web.threads", 2.0, 2),
    ("web.threads", 3, 3),
    ("schedule.lb_fetch", "365d", MAX_DURATION),
    ("schedule.lb_fetch", "52w1d", MAX_DURATION),
    ("web.trusted_proxies", ["10.0.0.0/8", "::1", "172.18.0.1"], ["10.0.0.0/8", "::1", "172.18.0.1"]),
    ("slskd.preferred_formats", ["FLAC", "opus", "mp3"], ["flac", "opus", "mp3"]),
    ("listenbrainz.skip_secondary_types", ["live", "DJ-mix"], ["Live", "DJ-mix"]),
    ("musicbrainz.base_url", "http://mirror:5000/", "http://mirror:5000/"),
    ("web.host", "0.0.0.0", "0.0.0.0"),
    ("web.host", "::", "::"),
    ("web.host", "resonance.home.arpa", "resonance.home.arpa"),
])
def test_it_takes_every_good_form_of_a_value(client, repository, name, value, saved):
    response = client.patch("/api/v1/settings", json=body_of(name, value))
    assert response.status_code == 200, response.get_json()
    section, key = name.split(".")
    assert response.get_json()["settings"][section][key] == saved


@pytest.mark.parametrize("name, value", [("web.threads", "3"), ("schedule.run_on_start", "yes"),
                                         ("slskd.min_score", "0.5"), ("web.trusted_proxies", "10.0.0.0/8")])
def test_it_takes_only_json_types_in_the_api(client, repository, name, value):
    # The config file and the environment are text and take these; a JSON body has types.
    response = client.patch("/api/v1/settings", json=body_of(name, value))
    assert response.status_code == 400 and name in response.get_json()["error"]["details"]


def test_it_reads_whole_numbers_and_durations_from_the_environment(monkeypatch):
    monkeypatch.setenv("RESONANCE_WEB__THREADS", "8")
    monkeypatch.setenv("LB_FETCH_INTERVAL", "52w1d")
    settings = load_settings()
    assert settings.web.threads == 8 and settings.schedule.lb_fetch == MAX_DURATION
    monkeypatch.setenv("LB_FETCH_INTERVAL", "300000000000")
    with pytest.raises(ConfigError, match="schedule.lb_fetch: Must be at most 365 days"):
        load_settings()


@pytest.mark.parametrize("text", ["web:\n  threads: " + "9" * 5_000 + "\n", "web: " + "[" * 5_000 + "]" * 5_000])
def test_it_names_a_config_file_it_cannot_read_instead_of_crashing(write_config, tmp_path, text):
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings()
