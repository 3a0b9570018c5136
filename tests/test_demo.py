"""`resonance demo`: the app wired to the sandbox, with a filled queue, no account needed."""

import json
import signal
import subprocess
import time

import requests
from test_cli import free_port


def test_it_starts_with_a_filled_queue_and_no_sign_in(python, subprocess_env, tmp_path):
    port = free_port()
    data = tmp_path / "demo-data"
    demo = subprocess.Popen([python, "-m", "app.cli", "demo", "--port", str(port), "--data-dir", str(data)],
                            env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120  # both discovery pipelines run before the web starts
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except requests.ConnectionError:
                assert demo.poll() is None, demo.stdout.read()
                assert time.monotonic() < deadline, "the demo did not start in time"
                time.sleep(0.5)
        assert page.status_code == 200  # no credentials asked
        queue = json.loads((data / "pending_queue.json").read_text(encoding="utf-8"))
        sources = {item["source"] for item in queue["pending"]}
        assert sources == {"listenbrainz", "catalog"}
        assert queue["pending"][0]["album"] in page.text or len(queue["pending"]) > 20
        api = requests.get(f"http://127.0.0.1:{port}/api/v1/queue", timeout=5).json()
        assert api["total"] == len(queue["pending"])
        # The discovery runs told the demo's notification receiver, once per run, and the Jobs page says so.
        sent = json.loads((data / "notifications.json").read_text(encoding="utf-8"))["deliveries"]
        assert [d["ok"] for d in sent] == [True, True]
        assert all(d["title"].endswith("new suggestions waiting") for d in sent)
        jobs = requests.get(f"http://127.0.0.1:{port}/jobs", timeout=5).text
        assert "new suggestions waiting" in jobs and "household-demo" not in jobs
    finally:
        demo.send_signal(signal.SIGTERM)
        out, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, out
    assert f"Resonance demo is running on http://127.0.0.1:{port}" in out
    assert "lb-fetch:" in out and "catalog-discovery:" in out
    assert "Notifications go to a receiver at http://127.0.0.1:" in out
