"""The household: the people who use this Resonance, each a ``Member`` with a role.

Members come from ``household.members`` in config.yaml (validated by
``app.config.MemberList``). Today's single-user settings keep working: while
``household.members`` is empty, web.username / web.password (or its hash) /
web.api_key and listenbrainz.username / listenbrainz.token are one admin
member, named web.username (or "household" when no username is set).

With members listed, those single-user settings still sign in as an admin
(the "legacy admin"): as the listed member of the same name when there is one,
otherwise as an admin of their own; listenbrainz.username is fetched for that
admin only when no listed member has the same ListenBrainz user.

Roles: an ``admin`` may change settings and credentials; a ``member`` may
decide on albums, add to the wishlist and run jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "admin"
MEMBER = "member"
#: The name of the one member made from single-user settings without a web.username.
DEFAULT_NAME = "household"


@dataclass(frozen=True)
class Member:
    name: str
    role: str = MEMBER
    listenbrainz_user: str = ""
    listenbrainz_token: str = ""
    notify_urls: tuple[str, ...] = ()
    password_hash: str = ""
    api_key: str = ""
    #: The proxy's user header value that is this member (their name when not given).
    proxy_user: str = ""
    #: The plain web.password of single-user settings; only the legacy admin has one.
    password: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def proxy_name(self) -> str:
        return self.proxy_user or self.name

    def __repr__(self) -> str:  # never the secrets
        return f"Member(name={self.name!r}, role={self.role!r}, listenbrainz_user={self.listenbrainz_user!r})"


def _from_entry(entry: dict) -> Member:
    return Member(name=entry["name"].strip(), role=entry.get("role") or MEMBER,
                  listenbrainz_user=entry.get("listenbrainz_user", ""),
                  listenbrainz_token=entry.get("listenbrainz_token", ""),
                  notify_urls=tuple(entry.get("notify") or ()), password_hash=entry.get("password_hash", ""),
                  api_key=entry.get("api_key", ""), proxy_user=entry.get("proxy_user", ""))


def listed_members(settings) -> list[Member]:
    """The members of household.members, as written."""
    return [_from_entry(entry) for entry in settings.get("household.members") or []]


def legacy_admin(settings) -> Member:
    """The single-user settings as one admin member."""
    web, lb = settings.web, settings.listenbrainz
    return Member(name=(web.username or "").strip() or DEFAULT_NAME, role=ADMIN, listenbrainz_user=lb.username,
                  listenbrainz_token=lb.token, password_hash=web.password_hash, password=web.password,
                  api_key=web.api_key)


def members(settings) -> list[Member]:
    """Everyone in the household: the listed members, plus the single-user settings' admin
    when it is not one of them (see the module's docstring)."""
    listed = listed_members(settings)
    legacy = legacy_admin(settings)
    if not listed:
        return [legacy]
    if any(m.name.casefold() == legacy.name.casefold() for m in listed):
        return listed
    has_credentials = (settings.web.username and (legacy.password or legacy.password_hash)) or legacy.api_key
    lb_user_taken = any(m.listenbrainz_user.casefold() == legacy.listenbrainz_user.casefold() for m in listed)
    if not has_credentials and (not legacy.listenbrainz_user or lb_user_taken):
        return listed
    if lb_user_taken:
        legacy = Member(name=legacy.name, role=ADMIN, password_hash=legacy.password_hash, password=legacy.password,
                        api_key=legacy.api_key)
    return [*listed, legacy]


def listening_members(settings) -> list[Member]:
    """The members with a ListenBrainz user, each user once: whose recommendations and fresh releases are read."""
    seen: set[str] = set()
    listeners = []
    for member in members(settings):
        user = member.listenbrainz_user.strip()
        if user and user.casefold() not in seen:
            seen.add(user.casefold())
            listeners.append(member)
    return listeners


def member_named(settings, name: str) -> Member | None:
    """The member of that name (any case), or None."""
    wanted = (name or "").strip().casefold()
    return next((m for m in members(settings) if m.name.casefold() == wanted), None)


def names_text(names) -> str:
    """"Alice", "Alice and Bob", "Alice, Bob and Carol"."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
