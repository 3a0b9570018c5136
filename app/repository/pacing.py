"""The request slots shared by every process that talks to one rate-limited service.

MusicBrainz allows one request a second per address, and lb-fetch,
catalog-discovery and the downloader are separate processes that may ask it at
the same moment: each process spacing its own requests is not enough. The
next free slot of each service is kept in ``.locks/<service>.pacing`` beside
the lock files (not a data file: no shape, no backup, nothing to quarantine),
read and moved under that service's lock. Times are ``time.monotonic()``
values, which on Linux is CLOCK_MONOTONIC: one clock for every process of the
machine.
"""

from __future__ import annotations

import os

from app.repository.store import LOCK_DIR, storage_errors

#: A stored slot further ahead than this is from before a reboot (the clock restarted): ignored.
MAX_AHEAD = 600.0


class PacingRecords:
    def reserve_slot(self, service: str, now: float, interval: float, hold: float = 0.0) -> float:
        """Reserve the next request slot of ``service``; returns when this request may go.

        The slot is ``now`` or the next free one, whichever is later, and the
        next free slot moves ``interval`` past it. With ``hold`` no slot is
        taken: the next free one only moves to at least ``now + hold`` (the
        service asked everyone to wait).
        """
        store = self.store
        path = store.data_dir / LOCK_DIR / f"{service}.pacing"
        with store.lock(f"{service}.pacing"), storage_errors(store.data_dir, path):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    free = float(os.pread(fd, 64, 0).decode("ascii").strip() or "-inf")
                except ValueError:
                    free = float("-inf")  # cut short by a crash while writing: start afresh
                if free > now + MAX_AHEAD:
                    free = float("-inf")
                if hold:
                    slot, next_free = now, max(free, now + hold)
                else:
                    slot = max(now, free)
                    next_free = slot + interval
                text = repr(next_free).encode("ascii")
                os.ftruncate(fd, 0)
                os.pwrite(fd, text, 0)
            finally:
                os.close(fd)
        return slot
