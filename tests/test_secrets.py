"""Secrets: cleaned when settings load, and masked in every form they take in a message."""

import html
import json
import logging
from urllib.parse import quote, quote_plus, urlencode

import pytest

from app.clients.http import scrub
from app.config import ConfigError, load_settings, validate_changes
from app.logs import SecretMaskFilter
from app.masking import mask_secrets

# A secret whose characters escape differently in repr, JSON, HTML and URLs.
SECRET = 'K3y"wi\\th/é+&ünï x'


def forms_of(secret: str) -> dict[str, str]:
    """The ways a message may carry the secret (each one a leak if it shows)."""
    return {
        "exact": secret,
        "stripped": secret.strip(),
        "repr": repr(secret),
        "ascii": ascii(secret),
        "bytes repr": repr(secret.encode()),
        "JSON": json.dumps(secret),
        "JSON unicode kept": json.dumps(secret, ensure_ascii=False),
        "JSON in a repr": repr(json.dumps(secret)),
        "repr in JSON": json.dumps(repr(secret)),
        "dict str": str({"api_key": secret}),
        "URL-encoded": quote(secret, safe=""),
        "URL-encoded, lower-case hex": quote(secret, safe="").lower(),
        "query string": urlencode({"api_key": secret}),
        "form-encoded": quote_plus(secret),
        "HTML": html.escape(secret),
    }


def assert_masked(text: str, secret: str = SECRET) -> None:
    """Not one form of the secret in ``text``, nor in it as a browser shows it (HTML unescaped)."""
    for name, form in forms_of(secret).items():
        core = form.strip("'\"b")
        for shown in (text, html.unescape(text)):
            assert core not in shown, f"the {name} form shows in {text!r}"


@pytest.mark.parametrize("name", list(forms_of(SECRET)))
def test_it_masks_every_form_of_a_secret(name):
    form = forms_of(SECRET)[name]
    masked = mask_secrets(f"upstream said: {form} (end)", [SECRET])
    assert_masked(masked)
    assert masked.startswith("upstream said: ") and masked.endswith(" (end)")


def test_it_masks_a_secret_with_a_trailing_newline_wherever_it_shows():
    secret = "abcdef0123456789\n"  # what a YAML | block leaves
    for text in ("key abcdef0123456789 refused", f"key {secret!r} refused", json.dumps({"key": secret}),
                 "GET /x?api_key=abcdef0123456789%0A"):
        assert "abcdef0123456789" not in mask_secrets(text, [secret]), text


def test_it_masks_the_longer_of_two_secrets_whole():
    assert mask_secrets("a topsecret-and-more b topsecret", ["topsecret", "topsecret-and-more"]) == "a *** b ***"


def test_it_leaves_short_secrets_and_other_text_alone():
    assert mask_secrets("abc and the rest", ["abc", ""]) == "abc and the rest"


def test_it_masks_every_form_in_client_messages_and_log_records():
    assert_masked(scrub(f"refused: {SECRET!r}", [SECRET]))
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "refused %s", (json.dumps(SECRET),), None)
    try:
        raise ValueError(f"bad key {SECRET!r}")
    except ValueError:
        import sys
        record.exc_info = sys.exc_info()
    SecretMaskFilter([SECRET]).filter(record)
    assert_masked(record.getMessage())
    assert "ValueError: bad key" in record.exc_text
    assert_masked(record.exc_text)


# --- when settings load -------------------------------------------------------------------


def env_with(tmp_path, **values):
    return {"RESONANCE_CONFIG": str(tmp_path / "config.yaml"), **values}


def test_it_strips_blanks_around_secrets_from_every_source(tmp_path):
    (tmp_path / "config.yaml").write_text("lastfm:\n  api_key: |\n    lastfm-key-0123\nslskd:\n  api_key: \" \\t slskd-key-0123\\r\\n\"\n", encoding="utf-8")
    (tmp_path / "token").write_text("lb-token-0123\r\n\x00", encoding="utf-8")
    env = env_with(tmp_path, RESONANCE_LISTENBRAINZ__TOKEN_FILE=str(tmp_path / "token"),
                   RESONANCE_WEB__API_KEY="web-key-0123\n")
    settings = load_settings({"subsonic": {"password": "\tsubsonic-pass\n"}}, env=env)
    assert settings.lastfm.api_key == "lastfm-key-0123"
    assert settings.slskd.api_key == "slskd-key-0123"
    assert settings.listenbrainz.token == "lb-token-0123"
    assert settings.web.api_key == "web-key-0123"
    assert settings.subsonic.password == "subsonic-pass"
    assert settings.web.username == ""  # not a secret: left as it is


@pytest.mark.parametrize("inside", ["\n", "\t", "\r", "\x00", "\x1b", "\x7f", "\x85", "\u2028"])
def test_it_refuses_a_secret_with_a_control_character_inside_without_showing_it(tmp_path, inside):
    secret = f"first-half{inside}second-half"
    with pytest.raises(ConfigError) as refused:
        load_settings({"lastfm": {"api_key": secret}}, env=env_with(tmp_path))
    message = str(refused.value)
    assert "lastfm.api_key" in message and "control character" in message
    assert "first-half" not in message and "second-half" not in message


def test_it_refuses_a_control_character_inside_a_secret_from_the_web_ui(tmp_path):
    current = load_settings(env=env_with(tmp_path))
    clean, errors = validate_changes({"slskd": {"api_key": "first-half\nsecond-half"},
                                      "lastfm": {"api_key": " new-key-0123\n"},
                                      "subsonic": {"password": " \n "}}, current)
    assert "control character" in " ".join(errors["slskd.api_key"])
    assert "first-half" not in str(errors)
    assert clean == {"lastfm": {"api_key": "new-key-0123"}}  # a blank secret keeps the current one
