"""`resonance demo`: the app wired to the sandbox, with a filled queue for a household of two
(Alice, admin, and Bob, member), signed in with the demo passwords it prints."""

import json
import signal
import subprocess
import time

import requests
from test_cli import free_port


ALICE, BOB = ("Alice", "alice-demo"), ("Bob", "bob-demo")


def test_it_starts_with_a_filled_queue_for_two_members(python, subprocess_env, tmp_path):
    port = free_port()
    data = tmp_path / "demo-data"
    demo = subprocess.Popen([python, "-m", "app.cli", "demo", "--port", str(port), "--data-dir", str(data)],
                            env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120  # both discovery pipelines run before the web starts
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
        assert sources == {"listenbrainz", "catalog"}
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
    finally:
        demo.send_signal(signal.SIGTERM)
        out, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, out
    assert f"Resonance demo is running on http://127.0.0.1:{port}" in out
    assert "lb-fetch:" in out and "catalog-discovery:" in out
    assert "Sign in as Alice / alice-demo (admin); Bob / bob-demo (member)" in out
