"""The browser that just set the credentials stays signed in: a signed cookie, not a second prompt.

The one-time setup form takes the username and password itself, so the browser has
no Basic credentials of its own afterwards: the next page would answer 401 and the
browser would ask for the same two things again. Instead the setup answer sets this
cookie, and Basic is not asked for while it is good:

- signed with web.secret_key (itsdangerous), good for ``MAX_AGE`` and for the browser
  session only (no Expires);
- bound to the credentials it was made for: a fingerprint (an HMAC keyed by the secret
  key) of the username and the stored password hash, so changing either, or the
  secret key, ends it;
- HttpOnly, SameSite=Lax, Secure over HTTPS. Requests carrying it are guarded against
  other sites like Basic ones (app.web.security: cross-site refusal, CSRF tokens).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "resonance_signed_in"
MAX_AGE = 7 * 86400
_SALT = "resonance sign-in after setup"


def _fingerprint(username: str, stored_password: str, secret_key: str) -> str:
    message = f"{username}\0{stored_password}".encode("utf-8", "surrogatepass")
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def _stored_password(web) -> str:
    return web.password_hash or web.password


def remember(response, username: str, stored_password: str, secret_key: str):
    """Set the cookie on ``response`` for these credentials (``stored_password``: the hash as saved)."""
    token = URLSafeTimedSerializer(secret_key, salt=_SALT).dumps(
        {"user": username, "for": _fingerprint(username, stored_password, secret_key)})
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", secure=request.is_secure, path="/")
    return response


def remembered_user(web, secret_key: str) -> str | None:
    """The username the cookie stands for, while it is good for the current credentials."""
    token = request.cookies.get(COOKIE)
    if not token or not web.username or not _stored_password(web):
        return None
    try:
        data = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(token, max_age=MAX_AGE)
    except BadSignature:  # forged, from another key, or older than MAX_AGE (SignatureExpired)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("for"), str):
        return None
    expected = _fingerprint(web.username, _stored_password(web), secret_key)
    if data.get("user") != web.username or not hmac.compare_digest(data["for"], expected):
        return None
    return web.username
