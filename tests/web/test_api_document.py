"""/api/v1/openapi.json says what the handlers really take and answer: checked field by field here,
and against a running server by schemathesis in test_api_fuzz.py."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from openapi_spec_validator import validate

from app.config import MASK, MAX_DURATION, SETTINGS_BY_NAME, Duration
from app.fields import Name, Secret, Text
from app.web.api.openapi import duration_pattern, text_pattern
from app.web.api.schemas import SearchText


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def accepts(field, value) -> bool:
    try:
        field.deserialize(value)
    except ValidationError:
        return False
    return True


def test_it_is_a_valid_openapi_3_0_3_document(document):
    assert document["openapi"] == "3.0.3"
    validate(document)


def test_it_documents_a_duration_as_returned_and_as_taken(document):
    schemas = document["components"]["schemas"]
    shown = schemas["ScheduleSettings"]["properties"]["lb_fetch"]
    assert shown["type"] == "integer"
    taken = schemas["ScheduleSettingsChanges"]["properties"]["lb_fetch"]
    assert [form["type"] for form in taken["oneOf"]] == ["integer", "string"]
    assert taken["oneOf"][0]["maximum"] == MAX_DURATION
    assert re.fullmatch(taken["oneOf"][1]["pattern"], "6h")
    body = document["paths"]["/api/v1/settings"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/SettingsChanges"}
    assert "ScheduleSettingsChanges" in str(schemas["SettingsChanges"]["properties"]["schedule"])
    assert "SettingsValues" in str(schemas["Settings"]["properties"]["settings"])


def test_it_documents_secrets_as_masked_in_answers_and_keepable_in_changes(document):
    schemas = document["components"]["schemas"]
    assert schemas["WebSettings"]["properties"]["api_key"]["enum"] == ["", MASK]
    assert schemas["WebSettingsChanges"]["properties"]["api_key"]["nullable"] is True
    assert schemas["WebSettingsChanges"]["additionalProperties"] is False
    assert schemas["SettingsChanges"]["additionalProperties"] is False


def test_it_states_the_rule_between_mbids_and_all(document):
    selection = document["components"]["schemas"]["Selection"]
    by_mbid, matching = selection["oneOf"]
    assert by_mbid["required"] == ["mbids"] and by_mbid["properties"]["all"]["enum"] == [False]
    assert set(by_mbid["properties"]) == {"mbids", "all"} and by_mbid["additionalProperties"] is False
    assert matching["required"] == ["all"] and matching["properties"]["all"]["enum"] == [True]
    assert set(matching["properties"]) == {"all", "source", "q", "for"} and matching["additionalProperties"] is False
    assert by_mbid["properties"]["mbids"]["items"]["maxLength"] == 100  # the field's own rules, as generated


@pytest.mark.parametrize("path,method", [("/api/v1/queue", "get"), ("/api/v1/queue/approve", "post"),
                                         ("/api/v1/settings", "patch"), ("/api/v1/blocklist/remove", "post"),
                                         ("/api/v1/jobs/{job}/run", "post")])
def test_it_lists_every_refusal_with_the_error_body(document, path, method):
    responses = document["paths"][path][method]["responses"]
    assert {"400", "401", "403", "429", "503"} <= set(responses)
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    if method != "get":
        assert {"413", "415"} <= set(responses)
    assert set(document["paths"]["/api/v1/health"]["get"]["responses"]) == {"200", "503"}


def test_it_names_the_jobs_a_path_can_take(document):
    [job] = document["paths"]["/api/v1/jobs/{job}/log"]["get"]["parameters"]
    assert job["schema"]["enum"] == ["lb-fetch", "catalog-discovery", "library-discovery", "slskd-downloader"]


# --- the patterns agree with the fields ---------------------------------------------------------

# Lengths are minLength/maxLength in the document; the pattern says which characters.
SAMPLES = ["Justice", "Sigur Rós", " x ", "   ", "tab\there", "nul\x00", "line\nbreak", "\u2028", "\x85",
           "\xa0", "\u3000a\u3000", "trailing\n", "\ufeff", "a\x7f", "ok\u200b", "\n key \t"]


@pytest.mark.parametrize("field", [Text(), Text(multiline=True), Name(), Secret(), SearchText()],
                         ids=["text", "multiline", "name", "secret", "search"])
@pytest.mark.parametrize("value", SAMPLES)
def test_a_text_pattern_takes_what_its_field_takes(field, value):
    assert bool(re.fullmatch(text_pattern(field), value)) == accepts(field, value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_a_name_pattern_takes_exactly_the_names_name_takes(value):
    assert bool(re.fullmatch(text_pattern(Name()), value)) == accepts(Name(), value)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(duration_pattern(), fullmatch=True))
def test_every_duration_the_pattern_allows_is_taken(value):
    assert 1 <= Duration().deserialize(value) <= MAX_DURATION


@pytest.mark.parametrize("name", ["listenbrainz.base_url", "subsonic.base_url", "web.host", "web.proxy_user_header"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_value_a_setting_pattern_allows_is_taken(name, data):
    field = SETTINGS_BY_NAME[name].field
    value = data.draw(st.from_regex(field.metadata["pattern"], fullmatch=True).filter(lambda v: len(v) <= 100))
    assert accepts(field, value), value


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_address_the_trusted_proxies_pattern_allows_is_taken(data):
    field = SETTINGS_BY_NAME["web.trusted_proxies"].field
    entries = data.draw(st.lists(st.from_regex(field.metadata["item_pattern"], fullmatch=True), max_size=3))
    assert accepts(field, entries), entries
