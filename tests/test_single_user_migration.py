"""A data dir and config.yaml written by the single-user Resonance (tests/data/single-user-2026-12, made by
that version's repository calls: queue, approvals and a rejection, an undoable bulk decision, saved settings,
a blocked artist) keep working with households: the same sign-in, the same admin, nothing lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from websupport import Client, basic_auth, parse

from app import create_app
from app.config import load_settings
from app.household import ADMIN, members
from app.pipelines import JobContext
from app.pipelines.lb_fetch import run_once
from app.repository import NothingToUndo, Repository
from app.sandbox import Sandbox, SandboxSettings

SAVED = Path(__file__).parent / "data" / "single-user-2026-12"


@pytest.fixture
def old_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(SAVED, home)
    monkeypatch.setenv("RESONANCE_CONFIG", str(home / "config.yaml"))
    for name in [n for n in __import__("os").environ if n.startswith("RESONANCE_") and n != "RESONANCE_CONFIG"]:
        monkeypatch.delenv(name)
    return home


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".locks" not in p.parts}


def test_it_reads_the_single_user_config_as_one_admin(old_home):
    repository = Repository(old_home / "data")
    settings = load_settings(repository.saved_settings())
    (rob,) = members(settings)
    assert (rob.name, rob.role, rob.listenbrainz_user) == ("rob", ADMIN, "rob")
    assert settings.schedule.lb_fetch == 7200  # saved from the web UI then


def test_it_keeps_the_data_dir_and_sign_in_working(old_home):
    before = files(old_home / "data")
    repository = Repository(old_home / "data")
    app = create_app({"TESTING": True, "REPOSITORY": repository, "SETTINGS_TTL": 0})
    app.test_client_class = Client
    client = app.test_client()
    client.authorization = basic_auth("rob", "rob-password-1")
    client.user = "rob"

    me = client.get("/api/v1/me").json
    assert (me["name"], me["role"]) == ("rob", "admin")
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer rob-script-key-0123456789"}).json[
        "role"] == "admin"
    # everything that was there is there: queue, history (without names), wishlist, block list, settings
    queue = {card.get("data-mbid") for card in parse(client.get("/").data).select("article.card")}
    assert queue == {f"{n}aaaaaaa-0000-0000-0000-000000000000" for n in (4, 5, 6)}
    approved = parse(client.get("/history/approved").data).select(".row-item .decided")
    assert [node.text.split()[0] for node in approved] == ["approved", "approved"]
    assert len(parse(client.get("/history/rejected").data).select(".row-item")) == 1
    assert [e["artist"] for e in client.get("/api/v1/wishlist").json["entries"]] == ["Old Artist 1", "Old Artist 3"]
    assert client.get("/api/v1/blocklist").json["artists"] == ["Nickelback"]
    assert client.get("/api/v1/settings").json["settings"]["schedule"]["lb_fetch"] == 7200
    # reading changed nothing on disk but the session key the first request saves
    after = files(old_home / "data")
    assert {k: v for k, v in after.items() if k != "settings.json"} == {
        k: v for k, v in before.items() if k != "settings.json"}

    # the admin still changes settings, and decisions now say who made them
    assert client.patch("/api/v1/settings", json={"general": {"approval_mode": "manual"}}).status_code == 200
    client.form("/queue/approve", {"mbid": "4aaaaaaa-0000-0000-0000-000000000000"})
    shown = [node.text for node in parse(client.get("/history/approved").data).select(".row-item .decided")]
    assert shown[0].startswith("Approved by rob, ") and shown[1].startswith("approved ")
    # the saved bulk decision's undo record is still read (it is long expired: known, not "unknown")
    undo_id = next(iter(json.loads((old_home / "data" / "queue_undo.json").read_text())))
    with pytest.raises(NothingToUndo) as refused:
        repository.undo_decision(undo_id)
    assert refused.value.reason == "expired"


def test_it_fetches_for_the_single_user_as_before(old_home, monkeypatch):
    with Sandbox(settings=SandboxSettings.fast()) as sandbox:
        for name in ("listenbrainz", "musicbrainz", "coverart"):
            monkeypatch.setenv(f"RESONANCE_{name.upper()}__BASE_URL", sandbox.urls[name])
        monkeypatch.setenv("RESONANCE_MUSICBRAINZ__RATE_LIMIT", "50")
        repository = Repository(old_home / "data")
        result = run_once(JobContext("lb-fetch", load_settings(repository.saved_settings()), repository))
    assert result.outcome == "ok", result
    new = [item for item in repository.queue()["pending"] if item["source"] == "listenbrainz"
           and not item["mbid"].endswith("aaaaaaa-0000-0000-0000-000000000000")]
    assert new and all(item["for_members"] == ["rob"] for item in new)
    assert len(repository.queue()["pending"]) == 3 + len(new)  # the old ones stay
