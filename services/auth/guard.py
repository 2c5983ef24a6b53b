"""Password re-confirmation for sensitive actions, throttled like sign-in.

Changing the password or deleting the account asks for the current password; a stolen session
must not become a way to guess it, so failures count against the same limits as failed logins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import HTTPException, status

from services.auth.db import Database
from services.auth.passwords import verify_password
from services.auth.throttle import ThrottleKey, account_key, address_key, record_failure, retry_after
from services.auth.users import UserRecord
from services.common.settings import Settings


def throttle_keys(settings: Settings, user: UserRecord | None, login: str, address: str) -> list[ThrottleKey]:
    """Account key first (cleared on success), then the client-address key."""
    return [
        account_key(user.id if user else None, login, settings.login_max_failures),
        address_key(address, settings.login_ip_max_failures),
    ]


def confirm_password(
    db: Database, settings: Settings, user: UserRecord, password: str, now: datetime, address: str
) -> None:
    """Return when ``password`` is the user's; else 403 (429 + Retry-After while throttled)."""
    window = timedelta(seconds=settings.login_window_s)
    keys = throttle_keys(settings, user, user.username, address)
    with db.connection() as conn:
        wait = retry_after(conn, keys, now, window)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many wrong passwords; try again later",
            headers={"Retry-After": str(wait)},
        )
    if verify_password(password, user.password_hash):
        return
    with db.connection() as conn:
        record_failure(conn, keys, now, window)
    # 403, not 401: the session is fine, only the confirmation failed (a 401 would sign the UI out).
    raise HTTPException(status.HTTP_403_FORBIDDEN, "current password is incorrect")
