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


def history_of(data_dir):
    """(approved, rejected, (action, mbid) of every album the History page shows with its record),
    as a new process reads them."""
    from app.repository import Repository

    repository = Repository(data_dir)
    shown = [("approve", item["mbid"]) for item in repository.approved_page(limit=10**6)[0] if "album" in item]
    shown += [("reject", item["mbid"]) for item in repository.rejected_page(limit=10**6)[0] if "album" in item]
    assert repository.damaged_history_lines() == []
    return repository.approved_mbids(), repository.rejected_mbids(), shown


def test_it_keeps_every_decision_of_four_deciding_processes(python, subprocess_env, data_dir):
    data_dir.mkdir()
    writers = [spawn(python, subprocess_env, "decide", data_dir, 30, f"w{n}", stdout=subprocess.DEVNULL) for n in range(4)]
    assert [w.wait(timeout=120) for w in writers] == [0] * 4

    approved, rejected, lines = history_of(data_dir)
    assert len(approved) == len(rejected) == 60
    assert sorted(lines) == sorted([("approve", mbid) for mbid in approved] + [("reject", mbid) for mbid in rejected])


def test_it_never_shows_a_decision_half_made_when_a_decider_is_killed(python, subprocess_env, data_dir):
    from conditions import wait_for

    decided = data_dir / "history" / "decided.txt"
    for attempt in range(12):
        before = decided.stat().st_size if decided.exists() else 0
        writer = spawn(python, subprocess_env, "decide", data_dir, 0, f"k{attempt}", stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        wait_for(lambda: decided.exists() and decided.stat().st_size > before + 20 * (attempt % 3 + 1),
                 timeout=60, what="some decisions")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        writer.stdout.close()

        approved, rejected, lines = history_of(data_dir)
        # Every decision committed has its record, and no record without its decision is shown.
        assert sorted(lines) == sorted([("approve", m) for m in approved] + [("reject", m) for m in rejected])
