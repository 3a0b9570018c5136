import pytest

from app.config import (
    MASK,
    SETTINGS,
    ConfigError,
    example_config,
    load_settings,
    validate_changes,
)


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yaml"

    def write(text):
        path.write_text(text, encoding="utf-8")
        return path

    return write


def env_with(tmp_path, **values):
    return {"RESONANCE_CONFIG": str(tmp_path / "config.yaml"), **values}


def test_it_has_the_documented_defaults(tmp_path):
    settings = load_settings(env=env_with(tmp_path))
    assert settings.schedule.lb_fetch == 6 * 3600
    assert settings.schedule.catalog_discovery == 7 * 86400
    assert settings.schedule.slskd_downloader == 3600
    assert settings.general.approval_mode == "manual"
    assert settings.web.host == "127.0.0.1"
    assert settings.source("web.port") == "default"


def test_it_layers_defaults_file_ui_and_environment(tmp_path, config_file):
    config_file("web:\n  port: 9001\n  workers: 3\n  threads: 5\nlistenbrainz:\n  username: rob\n")
    saved = {"web": {"workers": 4, "threads": 6}}
    env = env_with(tmp_path, RESONANCE_WEB__THREADS="8")
    settings = load_settings(saved, env)
    assert settings.web.port == 9001 and settings.source("web.port") == "file"
    assert settings.web.workers == 4 and settings.source("web.workers") == "ui"
    assert settings.web.threads == 8 and settings.source("web.threads") == "env:RESONANCE_WEB__THREADS"
    assert settings.listenbrainz.username == "rob"
    assert settings.web.api_key == "" and settings.source("web.api_key") == "default"


@pytest.mark.parametrize(
    "name, text, seconds",
    [("LB_FETCH_INTERVAL", "21600", 21600), ("LB_FETCH_INTERVAL", "6h", 21600), ("CATALOG_INTERVAL", "1w", 604800),
     ("SLSKD_INTERVAL", "1h30m", 5400), ("RESONANCE_SCHEDULE__SLSKD_DOWNLOADER", "45m", 2700)],
)
def test_it_reads_the_architecture_interval_variables(tmp_path, name, text, seconds):
    settings = load_settings(env=env_with(tmp_path, **{name: text}))
    key = {"LB_FETCH_INTERVAL": "lb_fetch", "CATALOG_INTERVAL": "catalog_discovery"}.get(name, "slskd_downloader")
    assert getattr(settings.schedule, key) == seconds


def test_it_reads_log_level_and_secrets_from_files(tmp_path):
    secret = tmp_path / "lastfm_key"
    secret.write_text("0123456789abcdef\n")
    settings = load_settings(env=env_with(tmp_path, LOG_LEVEL="DEBUG", RESONANCE_LASTFM__API_KEY_FILE=str(secret)))
    assert settings.general.log_level == "DEBUG"
    assert settings.lastfm.api_key == "0123456789abcdef"
    assert settings.source("lastfm.api_key") == "env:RESONANCE_LASTFM__API_KEY_FILE"


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"RESONANCE_WEB__PORT": "eighty"}, "web.port: Not a valid integer. (got 'eighty') [from env:RESONANCE_WEB__PORT]"),
        ({"RESONANCE_WEB__PORT": "70000"}, "web.port: Must be greater than or equal to 1 and less than or equal to 65535."),
        ({"SLSKD_INTERVAL": "soon"}, 'schedule.slskd_downloader: Not a duration'),
        ({"SLSKD_INTERVAL": "0"}, "schedule.slskd_downloader: Must be at least one second."),
        ({"RESONANCE_GENERAL__APPROVAL_MODE": "sometimes"}, "general.approval_mode: Must be one of: manual, auto."),
        ({"RESONANCE_SUBSONIC__VERIFY_TLS": "ture"}, "subsonic.verify_tls: Not a valid boolean."),
        ({"RESONANCE_SLSKD__BASE_URL": "localhost:5030"}, "slskd.base_url: Not an http:// or https:// URL."),
        ({"RESONANCE_LASTFM__APIKEY": "x"}, "RESONANCE_LASTFM__APIKEY: not a Resonance setting"),
    ],
)
def test_it_names_the_key_and_the_reason(tmp_path, env, expected):
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env_with(tmp_path, **env))
    assert any(expected in message for message in excinfo.value.messages), excinfo.value.messages


def test_it_reports_every_problem_of_a_file_at_once(tmp_path, config_file):
    path = config_file("web:\n  port: x\n  prot: 80\nnosuch:\n  a: 1\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env_with(tmp_path))
    text = "\n".join(excinfo.value.messages)
    assert f"web.port: Not a valid integer. (got 'x') [from {path}]" in text
    assert "web.prot: not a Resonance setting" in text
    assert "nosuch.a: not a Resonance setting" in text


def test_it_says_when_the_file_is_not_yaml(tmp_path, config_file):
    config_file("web: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(env=env_with(tmp_path))


def test_it_never_shows_a_secret_in_an_error(tmp_path):
    secret = "my-super-secret-password"
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env_with(tmp_path, RESONANCE_WEB__PASSWORD=secret * 50))
    assert secret not in str(excinfo.value)
    assert "web.password" in str(excinfo.value)


def test_it_redacts_secrets(tmp_path):
    settings = load_settings(env=env_with(tmp_path, RESONANCE_SLSKD__API_KEY="abcdefghijklmnop"))
    redacted = settings.redacted()
    assert redacted["slskd"]["api_key"] == MASK
    assert redacted["lastfm"]["api_key"] == ""
    assert "abcdefghijklmnop" not in str(redacted)
    assert settings.secret_values() == ["abcdefghijklmnop"]


def test_it_checks_changes_from_the_web_ui(tmp_path):
    current = load_settings(env=env_with(tmp_path, RESONANCE_WEB__PORT="9000", RESONANCE_LASTFM__API_KEY="k" * 32))
    clean, errors = validate_changes(
        {"web": {"port": 1234, "workers": "3"}, "lastfm": {"api_key": ""}, "catalog": {"min_similarity": 2},
         "slskd": {"api_key": "new-key"}},
        current,
    )
    assert clean == {"web": {"workers": 3}, "slskd": {"api_key": "new-key"}}
    assert errors["web.port"] == ["Set by the environment variable RESONANCE_WEB__PORT; change it there."]
    assert "catalog.min_similarity" in errors


def test_it_writes_an_example_with_every_key(tmp_path):
    import yaml

    example = yaml.safe_load(example_config())
    for setting in SETTINGS:
        assert setting.key in example[setting.section]
    path = tmp_path / "config.yaml"
    path.write_text(example_config())
    assert load_settings(env=env_with(tmp_path)).values == load_settings(env={"RESONANCE_CONFIG": "/nonexistent"}).values


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("RESONANCE_WEB__LOGIN_ATTEMPTS", "0", "web.login_attempts: Must be greater than or equal to 1"),
        ("RESONANCE_WEB__LOGIN_ATTEMPTS", "-3", "web.login_attempts: Must be greater than or equal to 1"),
        ("RESONANCE_WEB__LOGIN_ATTEMPTS", "many", "web.login_attempts: Not a valid integer."),
        ("RESONANCE_WEB__LOGIN_WINDOW", "0", "web.login_window: Must be at least one second."),
        ("RESONANCE_WEB__LOGIN_WINDOW", "-5", "web.login_window: Not a duration"),
        ("RESONANCE_WEB__LOGIN_WINDOW", "soon", "web.login_window: Not a duration"),
    ],
)
def test_it_refuses_a_login_limit_that_makes_no_sense(tmp_path, name, value, expected):
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env=env_with(tmp_path, **{name: value}))
    assert any(expected in message for message in excinfo.value.messages), excinfo.value.messages


def test_it_reads_the_login_limit(tmp_path):
    settings = load_settings(env=env_with(tmp_path))
    assert (settings.web.login_attempts, settings.web.login_window) == (10, 300)
    settings = load_settings(env=env_with(tmp_path, RESONANCE_WEB__LOGIN_ATTEMPTS="5", RESONANCE_WEB__LOGIN_WINDOW="15m"))
    assert (settings.web.login_attempts, settings.web.login_window) == (5, 900)


def test_it_refuses_a_login_limit_that_makes_no_sense_from_the_web_ui(tmp_path):
    current = load_settings(env=env_with(tmp_path))
    clean, errors = validate_changes({"web": {"login_attempts": 0, "login_window": "-1"}}, current)
    assert clean == {}
    assert errors["web.login_attempts"] == ["Must be greater than or equal to 1 and less than or equal to 1000."]
    assert errors["web.login_window"][0].startswith("Not a duration")
    clean, errors = validate_changes({"web": {"login_attempts": "20", "login_window": "1h"}}, current)
    assert clean == {"web": {"login_attempts": 20, "login_window": 3600}} and errors == {}


@pytest.mark.parametrize("template", ["{albumartist}/{year} - {album}/{disc}{track:02} {title}.{ext}",
                                      "{artist} - {album}/{discnumber}-{track:03} {title}.{ext}"])
def test_a_library_path_template_with_known_fields_is_accepted(tmp_path, template):
    settings = load_settings(env=env_with(tmp_path, RESONANCE_LIBRARY__PATH_TEMPLATE=template))
    assert settings.library.path_template == template


@pytest.mark.parametrize("template", ["{genre}/{title}.{ext}", "/music/{title}.{ext}", "{album}/../{title}.{ext}",
                                      "{album}/{title}.flac", "{title:>20}.{ext}", "{album/{title}.{ext}"])
def test_a_library_path_template_that_could_escape_or_break_is_refused(tmp_path, template):
    with pytest.raises(ConfigError, match="library.path_template"):
        load_settings(env=env_with(tmp_path, RESONANCE_LIBRARY__PATH_TEMPLATE=template))


def test_a_list_with_an_empty_entry_is_refused_but_comma_text_may_have_gaps(tmp_path):
    current = load_settings(env=env_with(tmp_path))
    clean, errors = validate_changes({"web": {"trusted_proxies": ["10.0.0.0/8", ""]},
                                      "notifications": {"urls": [""]}}, current)
    assert clean == {} and set(errors) == {"web.trusted_proxies", "notifications.urls"}
    assert errors["notifications.urls"] == ["An entry is empty."]
    clean, errors = validate_changes({"web": {"trusted_proxies": "10.0.0.0/8, ,"}}, current)
    assert errors == {} and clean["web"]["trusted_proxies"] == ["10.0.0.0/8"]
