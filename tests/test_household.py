"""household.members: validation with messages naming the entry, the single-user settings as one admin."""

import pytest

from app.config import MASK, ConfigError, load_settings, validate_changes
from app.household import ADMIN, MEMBER, member_named, members, names_text

TWO_MEMBERS = """
household:
  members:
    - name: Alice
      role: admin
      listenbrainz_user: alice_lb
      listenbrainz_token: alice-token-1234
      password_hash: "scrypt:32768:8:1$salt$0123"
      notify: ["ntfy://alice-secret-topic"]
    - name: Bob
      listenbrainz_user: bob_lb
      api_key: bob-api-key-5678
      proxy_user: bob@example.org
"""


def load(tmp_path, text="", **env):
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    return load_settings(env={"RESONANCE_CONFIG": str(tmp_path / "config.yaml"), **env})


def test_it_reads_members_from_the_config_file(tmp_path):
    settings = load(tmp_path, TWO_MEMBERS)
    alice, bob = members(settings)
    assert (alice.name, alice.role, alice.listenbrainz_user, alice.notify_urls) == (
        "Alice", ADMIN, "alice_lb", ("ntfy://alice-secret-topic",))
    assert (bob.name, bob.role, bob.api_key, bob.proxy_name) == ("Bob", MEMBER, "bob-api-key-5678", "bob@example.org")
    assert member_named(settings, "bob") == bob and member_named(settings, "Carol") is None


def test_it_makes_todays_single_user_settings_one_admin(tmp_path):
    settings = load(tmp_path, "web:\n  username: rob\n  password: hunter22\n  api_key: rob-key-0000\n"
                              "listenbrainz:\n  username: rob_lb\n  token: rob-token\n")
    (only,) = members(settings)
    assert (only.name, only.role, only.listenbrainz_user, only.listenbrainz_token, only.password, only.api_key) == (
        "rob", ADMIN, "rob_lb", "rob-token", "hunter22", "rob-key-0000")
    assert members(load(tmp_path))[0].name == "household"


def test_it_keeps_the_single_user_admin_beside_listed_members(tmp_path):
    settings = load(tmp_path, TWO_MEMBERS + "web:\n  username: rob\n  password: hunter22\n")
    assert [(m.name, m.role) for m in members(settings)] == [("Alice", ADMIN), ("Bob", MEMBER), ("rob", ADMIN)]


def test_it_names_each_wrong_member_value_without_showing_secrets(tmp_path):
    text = """
household:
  members:
    - name: Alice
      role: boss
      api_key: "has\\ttab-secret"
    - name: alice
      colour: red
    - role: admin
    - just text
    - name: Carol
      notify: ["not a url secret-carol"]
"""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    messages = caught.value.messages
    assert any(m.startswith("household.members[1].role: Must be one of: admin, member.") for m in messages)
    assert any(m.startswith("household.members[1].api_key:") for m in messages)
    assert any(m.startswith("household.members[2].colour: not a member setting") for m in messages)
    assert any(m.startswith("household.members[3].name: every member needs a name") for m in messages)
    assert any(m.startswith("household.members[4]: expected") for m in messages)
    assert any(m.startswith("household.members[5].notify: URL 1 is not a notification URL") for m in messages)
    assert all("config.yaml" in m for m in messages)
    assert not any("tab-secret" in m or "secret-carol" in m for m in messages)


def test_it_refuses_two_members_with_one_name_or_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "household:\n  members:\n    - {name: Alice, api_key: same-key-1}\n"
                       "    - {name: ALICE, api_key: same-key-1}\n")
    text = "\n".join(caught.value.messages)
    assert "household.members[2].name: the same name 'ALICE' as members[1]" in text
    assert "household.members[2].api_key: the same API key as members[1]" in text and "same-key-1" not in text


def test_it_reads_members_from_the_environment_as_yaml_or_json(tmp_path):
    settings = load(tmp_path, RESONANCE_HOUSEHOLD__MEMBERS='[{"name": "Alice", "role": "admin"}, {"name": "Bob"}]')
    assert [m.name for m in members(settings)] == ["Alice", "Bob"]
    assert settings.source("household.members") == "env:RESONANCE_HOUSEHOLD__MEMBERS"
    with pytest.raises(ConfigError, match=r"household.members: Not a list of members"):
        load(tmp_path, RESONANCE_HOUSEHOLD__MEMBERS="name: Alice")


def test_it_masks_member_secrets_wherever_settings_are_shown(tmp_path):
    settings = load(tmp_path, TWO_MEMBERS)
    alice, bob = settings.redacted()["household"]["members"]
    assert alice["listenbrainz_token"] == MASK and alice["password_hash"] == MASK and alice["api_key"] == ""
    assert alice["notify"] == [f"ntfy://{MASK}"] and bob["api_key"] == MASK
    assert {"alice-token-1234", "bob-api-key-5678", "ntfy://alice-secret-topic"} <= set(settings.secret_values())


def test_it_takes_members_only_from_the_file_or_environment(tmp_path):
    settings = load(tmp_path, TWO_MEMBERS)
    clean, errors = validate_changes({"household": {"members": [{"name": "Mallory", "role": "admin"}]}}, settings)
    assert clean == {} and errors == {"household.members": ["Set in the config file (or the environment), not here."]}
    saved = load_settings({"household": {"members": [{"name": "Mallory"}]}},
                          env={"RESONANCE_CONFIG": str(tmp_path / "config.yaml")})
    assert [m.name for m in members(saved)] == ["Alice", "Bob"]


def test_it_writes_names_as_a_sentence():
    assert [names_text(n) for n in ([], ["Alice"], ["Alice", "Bob"], ["A", "B", "C"])] == [
        "", "Alice", "Alice and Bob", "A, B and C"]
