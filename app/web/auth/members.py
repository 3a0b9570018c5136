"""Which member a sign-in is: Basic accounts, API keys and the proxy's headers, mapped to
``app.household.Member``; and the role rule (``admin_only``).

Accounts: every member with a password (``password_hash``; the single-user settings'
web.password too), signing in with their name; the single-user web.username with its
password, or web.api_key, is the legacy admin: the listed member of that name when there
is one (as an admin), otherwise an admin of its own. Every member's API key signs in as
that member.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from flask import g, request

from app.household import ADMIN, MEMBER, Member, legacy_admin, listed_members, members
from app.web.auth.passwords import hash_checks, secret_equals
from app.web.errors import Problem


@dataclass(frozen=True)
class Account:
    """One way to sign in: the login (a Basic username), its password or hash, its API key."""

    login: str
    member: Member
    password: str = ""
    password_hash: str = ""
    api_key: str = ""

    @property
    def has_password(self) -> bool:
        return bool(self.login and (self.password or self.password_hash))


def accounts(settings) -> list[Account]:
    listed = listed_members(settings)
    result = [Account(m.name, m, password_hash=m.password_hash, api_key=m.api_key) for m in listed]
    legacy = legacy_admin(settings)
    if not (legacy.password or legacy.password_hash or legacy.api_key):
        return result
    same_name = next((m for m in listed if m.name.casefold() == legacy.name.casefold()), None)
    if same_name is not None:
        # The single-user credentials belong to the listed member of that name, as the admin.
        member = dataclasses.replace(same_name, role=ADMIN)
    else:
        member = next((m for m in members(settings) if m not in listed), legacy)
    result.append(Account(settings.web.username, member, legacy.password, legacy.password_hash, legacy.api_key))
    return result


def any_password_account(settings) -> bool:
    return any(a.has_password for a in accounts(settings))


def any_api_key(settings) -> bool:
    return any(a.api_key for a in accounts(settings))


def _password_ok(account: Account, password: str) -> bool:
    if account.password_hash:
        return hash_checks.check(account.password_hash, password)
    return secret_equals(password, account.password)


def member_for_password(settings, username: str, password: str) -> Member | None:
    candidates = [a for a in accounts(settings) if a.has_password]
    if not candidates:
        return None
    # Every login is compared, and one password is checked even for an unknown name: the
    # timing must not tell which names exist.
    matched = None
    for account in candidates:
        if secret_equals(username, account.login) and matched is None:
            matched = account
    ok = _password_ok(matched or candidates[0], password)
    return matched.member if matched and ok else None


def member_for_api_key(settings, key: str) -> Member | None:
    found = None
    for account in accounts(settings):
        if secret_equals(key or "", account.api_key) and found is None:
            found = account.member
    return found


def header_groups(value: str) -> list[str]:
    """Remote-Groups: "admins,dev" (Authelia) or "admins dev"."""
    return [group for group in value.replace(",", " ").split() if group]


def member_for_proxy(settings, user: str, groups: list[str]) -> Member:
    """The member the proxy named: a listed one (by proxy_user, else by name), or a member of
    that name; an admin when in one of web.proxy_admin_groups."""
    wanted = user.casefold()
    member = next((m for m in members(settings) if m.proxy_name.casefold() == wanted), None)
    if member is None:
        member = Member(name=user, role=MEMBER)
    admin_groups = {group.casefold() for group in settings.web.proxy_admin_groups}
    if any(group.casefold() in admin_groups for group in groups):
        member = dataclasses.replace(member, role=ADMIN)
    return member


def no_sign_in_member(settings) -> Member:
    """auth none: everyone is the household's admin (the first listed admin, or the single-user one)."""
    return next((m for m in listed_members(settings) if m.role == ADMIN), None) or legacy_admin(settings)


def current_member() -> Member | None:
    """Who the request is (set by authenticate), or None before sign-in."""
    return g.get("member")


def admin_only(view):
    """Refuse the view to a signed-in member who is not an admin: 403, and nothing changes."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        member = current_member()
        if member is not None and not member.is_admin:
            raise Problem(403, f"Only an admin may do this; you are signed in as {member.name}, a member. "
                               f"Ask an admin of this household.", code="admin_only",
                          details={"member": member.name, "role": member.role, "endpoint": request.endpoint})
        return view(*args, **kwargs)

    wrapper.admin_only = True
    return wrapper
