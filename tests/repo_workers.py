"""Child processes for the concurrency and crash tests (run as scripts)."""

import json
import sys
import time
import uuid

from app.records import load_queue_items
from app.repository import PENDING_QUEUE, Repository


def append_items(data_dir: str, count: int, tag: str) -> None:
    """`count` separate transactions, each appending one item."""
    repository = Repository(data_dir)
    for n in range(count):
        item = load_queue_items([{"artist": tag, "album": f"{tag}-{n}", "mbid": f"{tag}-{n}"}])[0]
        with repository.store.transaction(PENDING_QUEUE) as queue:
            queue["pending"].append(item)


def rewrite_forever(data_dir: str) -> None:
    """Keep replacing the queue with a different, non-empty content until killed."""
    repository = Repository(data_dir)
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        with repository.store.transaction(PENDING_QUEUE) as queue:
            size = 1 + n % 200
            queue["pending"] = [{"artist": "a" * 50, "album": str(uuid.uuid4()), "mbid": f"{n}-{i}"} for i in range(size)]


def decide(data_dir: str, count: int, tag: str) -> None:
    """Add ``count`` albums, then approve or reject them one decision at a time (0: forever, until killed)."""
    repository = Repository(data_dir)
    print("ready", flush=True)
    n = 0
    while count == 0 or n < count:
        item = load_queue_items([{"artist": tag, "album": f"{tag}-{n}", "mbid": f"{tag}-{n}"}])[0]
        repository.add_pending([item])
        (repository.approve if n % 2 else repository.reject)([item["mbid"]])
        n += 1


def watch(path: str, seconds: float) -> None:
    """Parse the file as often as possible; print how many reads and failures."""
    deadline = time.monotonic() + seconds
    reads = failures = 0
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            continue
        reads += 1
        try:
            json.loads(raw)
        except ValueError:
            failures += 1
    print(json.dumps({"reads": reads, "failures": failures}), flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "append":
        append_items(args[0], int(args[1]), args[2])
    elif command == "rewrite":
        rewrite_forever(args[0])
    elif command == "decide":
        decide(args[0], int(args[1]), args[2])
    elif command == "watch":
        watch(args[0], float(args[1]))
