"""notifications.json: messages held through quiet hours or being sent, and the last deliveries.

A message is sent at most once. It is written to ``sending`` before any
attempt (``claim_notifications``) and leaves it only when its deliveries are
recorded (``finish_notifications``). A message still in ``sending`` after its
sender could have finished belongs to a process that stopped half-way: it may
have arrived, so it is recorded as such and never sent again
(``abandon_stale_notifications``). Claiming is also what keeps two processes
from sending the same held message: the one whose transaction moves it out
of ``held`` sends it.

``sent_keys`` remembers when a message with a key (credentials rejected by a
service) last went out, so that it is not repeated every run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.records import utc_iso
from app.repository.store import NOTIFICATIONS

#: Deliveries kept for the Jobs page.
KEEP_DELIVERIES = 50


def _iso(moment: datetime) -> str:
    return utc_iso(moment)


class NotificationRecords:
    def notification_state(self) -> dict[str, Any]:
        """The whole file (shared, read-only): held, sending, deliveries (oldest first), sent_keys."""
        return self.store.read(NOTIFICATIONS)

    def held_notifications(self) -> list[dict]:
        return list(self.notification_state().get("held", []))

    def notification_deliveries(self) -> list[dict]:
        return list(self.notification_state().get("deliveries", []))

    def hold_notifications(self, messages: list[dict], now: datetime, repeat_after: timedelta) -> list[dict]:
        """Keep ``messages`` until the quiet hours end; the ones kept (a keyed one sent or held
        within ``repeat_after`` is left out)."""
        with self.store.transaction(NOTIFICATIONS) as state:
            kept = self._unrepeated(state, messages, now, repeat_after)
            state["held"] = [*state.get("held", []), *({**m, "created_at": m.get("created_at") or _iso(now)}
                                                       for m in kept)]
        return kept

    def claim_notifications(self, messages: list[dict], now: datetime, repeat_after: timedelta,
                            *, with_held: bool = False) -> list[dict]:
        """Move ``messages`` (and with ``with_held`` every held one) to ``sending``: the caller sends
        exactly what is returned, then calls ``finish_notifications``."""
        with self.store.transaction(NOTIFICATIONS) as state:
            taken = state.pop("held", []) if with_held else []
            taken += self._unrepeated(state, messages, now, repeat_after)
            taken = [{**m, "taken_at": _iso(now), "created_at": m.get("created_at") or _iso(now)} for m in taken]
            state["sending"] = [*state.get("sending", []), *taken]
        return taken

    @staticmethod
    def _unrepeated(state: dict, messages: list[dict], now: datetime, repeat_after: timedelta) -> list[dict]:
        keys = state.setdefault("sent_keys", {})
        kept = []
        for message in messages:
            key = message.get("key")
            if key:
                last = keys.get(key)
                if last and datetime.fromisoformat(last.replace("Z", "+00:00")) > now - repeat_after:
                    continue
                keys[key] = _iso(now)
            kept.append(message)
        return kept

    def finish_notifications(self, ids: list[str], deliveries: list[dict]) -> None:
        """The messages ``ids`` are done: out of ``sending``, their deliveries recorded."""
        with self.store.transaction(NOTIFICATIONS) as state:
            done = set(ids)
            state["sending"] = [m for m in state.get("sending", []) if m["id"] not in done]
            state["deliveries"] = [*state.get("deliveries", []), *deliveries][-KEEP_DELIVERIES:]

    def abandon_stale_notifications(self, taken_before: datetime, now: datetime) -> list[dict]:
        """Messages taken for sending before ``taken_before`` whose sender never finished: recorded
        as not known to have arrived, and not sent again (it may have been). Returns them."""
        state = self.notification_state()
        cutoff = _iso(taken_before)
        if not any(m.get("taken_at", "") < cutoff for m in state.get("sending", [])):
            return []  # the common case: nothing to write
        with self.store.transaction(NOTIFICATIONS) as state:
            stale = [m for m in state.get("sending", []) if m.get("taken_at", "") < cutoff]
            state["sending"] = [m for m in state.get("sending", []) if m.get("taken_at", "") >= cutoff]
            records = [{"at": _iso(now), "target": m["target"], "url": "", "ok": False, "event": m["event"],
                        "title": m["title"],
                        "error": "the process sending it stopped first; it may have arrived, so it is not sent again"}
                       for m in stale]
            state["deliveries"] = [*state.get("deliveries", []), *records][-KEEP_DELIVERIES:]
        return stale
