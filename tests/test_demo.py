"""`resonance demo`: the app wired to the sandbox, with a filled queue for a household of two
(Alice, admin, and Bob, member), signed in with the demo passwords it prints."""

import json
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from test_cli import free_port


ALICE, BOB = ("Alice", "alice-demo"), ("Bob", "bob-demo")


def for_bob_from_lb_fetch(queue) -> int:
    """lb-fetch's items for Bob (or for nobody in particular): its digest for Bob counts them."""
    return sum(1 for item in queue["pending"]
               if item["source"] == "listenbrainz" and "Bob" in (item.get("for_members") or ["Bob"]))


def test_it_starts_with_a_filled_queue_for_two_members(python, subprocess_env, tmp_path):
    port = free_port()
    data = tmp_path / "demo-data"
    demo = subprocess.Popen([python, "-m", "app.cli", "demo", "--port", str(port), "--data-dir", str(data)],
                            env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120  # the discovery pipelines run before the web starts
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", auth=ALICE, timeout=5)
                break
            except requests.ConnectionError:
                assert demo.poll() is None, demo.stdout.read()
                assert time.monotonic() < deadline, "the demo did not start in time"
                time.sleep(0.5)
        assert page.status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 401
        queue = json.loads((data / "pending_queue.json").read_text(encoding="utf-8"))
        sources = {item["source"] for item in queue["pending"]}
        assert sources == {"listenbrainz", "catalog", "new release", "missing"}
        assert queue["pending"][0]["album"] in page.text or len(queue["pending"]) > 20
        api = requests.get(f"http://127.0.0.1:{port}/api/v1/queue", auth=BOB, timeout=5).json()
        assert api["total"] == len(queue["pending"])
        # both members' recommendations, an album they share as one item for both
        whose = [tuple(item.get("for_members") or ()) for item in queue["pending"] if item["source"] == "listenbrainz"]
        assert {("Alice",), ("Bob",), ("Alice", "Bob")} <= set(whose)
        me = requests.get(f"http://127.0.0.1:{port}/api/v1/me", auth=BOB, timeout=5).json()
        assert (me["name"], me["role"]) == ("Bob", "member")
        for_bob = requests.get(f"http://127.0.0.1:{port}/api/v1/queue?for=me", auth=BOB, timeout=5).json()
        assert 0 < for_bob["total"] < api["total"]
        # Each discovery run told the household and each member once, and the Jobs page says where.
        sent = json.loads((data / "notifications.json").read_text(encoding="utf-8"))["deliveries"]
        assert all(d["ok"] for d in sent) and {d["target"] for d in sent} == {"household", "member:Alice",
                                                                               "member:Bob"}
        bobs = [d["title"] for d in sent if d["target"] == "member:Bob"]
        assert f"{for_bob_from_lb_fetch(queue)} new suggestions waiting for Bob" in bobs  # lb-fetch's digest for him
        jobs = requests.get(f"http://127.0.0.1:{port}/jobs", auth=BOB, timeout=5).text
        assert "new suggestions waiting for Bob" in jobs and "demo-4f9c" not in jobs
    finally:
        demo.send_signal(signal.SIGTERM)
        out, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, out
    assert f"Resonance demo is running on http://127.0.0.1:{port}" in out
    assert "lb-fetch:" in out and "catalog-discovery:" in out and "library-discovery:" in out
    assert "Sign in as Alice / alice-demo (admin); Bob / bob-demo (member)" in out
    assert "Notifications go to a receiver at http://127.0.0.1:" in out


@pytest.mark.parametrize("one_second", [False, True], ids=["as-timed", "jobs-in-one-second"])
def test_its_first_three_cards_are_albums_its_soulseek_delivers(repository, data_dir, monkeypatch, one_second):
    """The demo's queue opens newest first; approving its first three cards, whichever job's they are,
    gets all three downloaded, verified and filed into the demo's library, where its Navidrome shows them.
    On a fast machine the three discovery jobs add their cards within one second (the same added_at)."""
    from conditions import wait_for

    import app.records
    from app.demo import DEMO_LIBRARY, DISCOVERY_JOBS, demo_environment, share_folders
    from app.sandbox import Sandbox, SandboxSettings
    from jobs.runner import JobRunner

    if one_second:
        second = app.records.utc_now_iso()
        monkeypatch.setattr(app.records, "utc_now_iso", lambda: second)
    with Sandbox(settings=SandboxSettings.fast()) as sandbox:
        share_folders(sandbox, data_dir)
        for name, value in demo_environment(sandbox, data_dir, 8080).items():
            monkeypatch.setenv(name, value)
        for job in DISCOVERY_JOBS:
            JobRunner(job, repository).run(trigger="demo")
        first_three, _ = repository.pending_page(limit=3)  # the queue page's order
        repository.approve([item["mbid"] for item in first_three])

        downloader = JobRunner("slskd-downloader", repository)
        result = downloader.run(trigger="demo")
        names = [(item["artist"], item["album"], item["source"]) for item in first_three]
        assert result.summary.startswith("3 of 3 albums queued"), (result.summary, names)

        def all_in_library():
            downloader.check_between_runs()  # follows the transfers and imports, as the runner does between runs
            records = repository.download_records()
            return len(records) == 3 and all(record.state == "in_library" for record in records)

        wait_for(all_in_library, timeout=90, what="the three albums downloaded and imported")
    names = {(item["artist"], item["album"]) for item in first_three}
    assert {(r.artist, r.title) for r in repository.download_records()} == names
    assert all(r.library_path.startswith(str(data_dir / DEMO_LIBRARY)) for r in repository.download_records())


def test_everything_it_suggests_that_is_out_is_shared_on_its_soulseek(repository, data_dir, monkeypatch):
    """Started twice on the same data (catalog-discovery finds more the second time), every card that is
    out can be downloaded: the demo never leads a person to "nothing found"."""
    from app.demo import DISCOVERY_JOBS, demo_environment, share_folders
    from app import sandbox as sandbox_package
    from app.sandbox import Sandbox, SandboxSettings
    from jobs.runner import JobRunner

    data_file = Path(sandbox_package.__file__).parent / "data" / "catalogue.json"
    catalogue = json.loads(data_file.read_text(encoding="utf-8"))
    group_of = {release["id"]: group["id"] for group in catalogue["release_groups"] for release in group["releases"]}
    shared = {group_of[share["release"]] for peer in catalogue["slskd"]["users"] for share in peer["shares"]}
    today = time.strftime("%Y-%m-%d", time.gmtime())
    with Sandbox(settings=SandboxSettings.fast()) as sandbox:
        share_folders(sandbox, data_dir)
        for name, value in demo_environment(sandbox, data_dir, 8080).items():
            monkeypatch.setenv(name, value)
        for _ in range(2):
            for job in DISCOVERY_JOBS:
                JobRunner(job, repository).run(trigger="demo")
    pending = repository.queue()["pending"]
    out = [item for item in pending if (item.get("release_date") or "") <= today]
    assert len(out) > 40 and len(out) < len(pending)  # an announced album waits for its day
    assert [(item["artist"], item["album"]) for item in out if item["mbid"] not in shared] == []


def test_it_says_when_its_port_is_taken_and_suggests_another(python, subprocess_env, tmp_path):
    with socket.socket() as listener:  # another program on the port
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        demo = subprocess.run([python, "-m", "app.cli", "demo", "--port", str(port), "--data-dir", str(tmp_path / "d")],
                              env=subprocess_env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 3
    assert f"port {port} on 127.0.0.1 is in use by another program" in demo.stderr
    suggested = int(re.search(r"resonance demo --port (\d+)", demo.stderr).group(1))
    assert suggested != port and f"make demo PORT={suggested}" in demo.stderr
    assert "Traceback" not in demo.stderr and "gunicorn" not in demo.stderr.lower()
    assert not (tmp_path / "d").exists()  # refused before anything started
