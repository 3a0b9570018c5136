"""Several processes on one data dir: no lost update, no torn or empty file."""

import json
import signal
import subprocess
import time
from pathlib import Path

WORKERS = Path(__file__).with_name("repo_workers.py")


def spawn(python, env, *args, **kwargs):
    return subprocess.Popen([python, str(WORKERS), *map(str, args)], env=env, **kwargs)


def test_it_loses_no_update_with_eight_writers(python, subprocess_env, data_dir):
    data_dir.mkdir()
    queue_file = data_dir / "pending_queue.json"
    watcher = spawn(python, subprocess_env, "watch", queue_file, 4, stdout=subprocess.PIPE, text=True)
    writers = [spawn(python, subprocess_env, "append", data_dir, 200, f"w{n}") for n in range(8)]
    assert [w.wait(timeout=120) for w in writers] == [0] * 8
    seen = json.loads(watcher.communicate(timeout=30)[0])

    pending = json.loads(queue_file.read_text())["pending"]
    assert len(pending) == 1600
    assert len({item["mbid"] for item in pending}) == 1600
    assert seen["reads"] > 100 and seen["failures"] == 0


def test_it_never_leaves_a_broken_file_when_a_writer_is_killed(python, subprocess_env, data_dir):
    queue_file = data_dir / "pending_queue.json"
    for attempt in range(50):
        writer = spawn(python, subprocess_env, "rewrite", data_dir, stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.02 + (attempt % 7) * 0.013)  # land the kill at varying points of a write
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        writer.stdout.close()
        if queue_file.exists():
            doc = json.loads(queue_file.read_text())
            assert doc["pending"], f"empty queue after kill {attempt}"
    assert queue_file.exists()
    # The temp files of killed writers are cleaned by the next transaction.
    from app.repository import Repository

    Repository(data_dir).mark_processed(["x"])
    Repository(data_dir).add_pending([])
    assert not list(data_dir.glob(".pending_queue.json.*.tmp"))
