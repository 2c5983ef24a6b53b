"""The login throttle as the routes use it: sign-in, and password re-confirmation for sensitive
actions (changing the password, deleting the account), which counts against the same limits so a
stolen session cannot become a way to guess the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from fastapi import HTTPException, status

from services.auth.db import Database
from services.auth.devices import is_known_device
from services.auth.passwords import verify_password
from services.auth.settings import AuthSettings
from services.auth.throttle import (
    ThrottleKey,
    account_key,
    address_key,
    pair_key,
    record_failure,
    retry_after,
    slow_down,
)
from services.auth.tokens import token_digest
from services.auth.users import UserRecord

TOO_MANY_FAILURES = "too many failed sign-in attempts from here; try again later"


@dataclass(frozen=True)
class Throttle:
    """The keys one attempt counts against, and what they say before the password is checked."""

    account: ThrottleKey
    lock: ThrottleKey  # the hard lock: (account, address), or the known browser's own key
    slow: list[ThrottleKey]  # past these, slow down; empty for a known browser
    wait: int | None  # seconds until the lock opens, None when not locked
    delay: float  # seconds to wait before checking the password

    @property
    def keys(self) -> list[ThrottleKey]:
        return list(dict.fromkeys([self.account, self.lock, *self.slow]))


def assess(
    conn: psycopg.Connection,
    settings: AuthSettings,
    user: UserRecord | None,
    login: str,
    address: str,
    now: datetime,
    device_token: str | None = None,
) -> Throttle:
    window = timedelta(seconds=settings.login_window_s)
    account = account_key(user.id if user else None, login, settings.login_max_failures)
    if user is not None and is_known_device(conn, device_token, user.id, now):
        # The owner's own browser: not locked by anyone else's failures, only by its own.
        lock = ThrottleKey(
            "pair", f"{account.key}|device:{token_digest(device_token or '').hex()}", account.limit
        )
        slow: list[ThrottleKey] = []
    else:
        lock = pair_key(account, address, settings.login_max_failures)
        slow = [account, address_key(address, settings.login_ip_max_failures)]
    wait = retry_after(conn, [lock], now, window)
    delay = slow_down(conn, slow, now, window, settings.login_delay_max_s) if wait is None else 0.0
    return Throttle(account, lock, slow, wait, delay)


def refuse_if_locked(throttle: Throttle) -> None:
    if throttle.wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_FAILURES, headers={"Retry-After": str(throttle.wait)}
        )


def count_failure(
    conn: psycopg.Connection, settings: AuthSettings, throttle: Throttle, now: datetime
) -> None:
    record_failure(conn, throttle.keys, now, timedelta(seconds=settings.login_window_s))


def confirm_password(
    db: Database, settings: AuthSettings, user: UserRecord, password: str, now: datetime, address: str
) -> None:
    """Return when ``password`` is the user's; else 403 (429 + Retry-After while locked)."""
    with db.connection() as conn:
        throttle = assess(conn, settings, user, user.username, address, now)
    refuse_if_locked(throttle)
    if verify_password(password, user.password_hash):
        return
    with db.connection() as conn:
        count_failure(conn, settings, throttle, now)
    # 403, not 401: the session is fine, only the confirmation failed (a 401 would sign the UI out).
    raise HTTPException(status.HTTP_403_FORBIDDEN, "current password is incorrect")
