"""Who gets messages: the household's URLs (notifications.urls) and each member's own."""

from __future__ import annotations

from dataclasses import dataclass

from app.household import members

HOUSEHOLD = "household"


@dataclass(frozen=True)
class Target:
    """Where one message goes: ``id`` is "household" or "member:NAME"; ``urls`` its Apprise URLs."""

    id: str
    label: str
    urls: tuple[str, ...]
    member: str | None = None  # the member's name; None for the household
    admin: bool = True  # hears about failing jobs and rejected credentials


def targets(settings) -> list[Target]:
    """The household first, then each member with URLs of their own. A member's URL that is also
    the household's is left out of theirs: that address already gets every message."""
    household = tuple(settings.notifications.urls)
    found = [Target(HOUSEHOLD, "Household", household)]
    for member in members(settings):
        urls = tuple(url for url in member.notify_urls if url not in household)
        found.append(Target(f"member:{member.name}", member.name, urls, member.name, member.is_admin))
    return found


def target_named(settings, target_id: str) -> Target | None:
    return next((target for target in targets(settings) if target.id == target_id), None)
