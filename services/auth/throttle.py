"""Failed-login throttling, stored in Postgres so it survives restarts and is shared by replicas.

Along OWASP's guidance, no key that an attacker elsewhere can fill locks an account's owner out:

- ``pair`` (account, address): a hard lock. ``limit`` failures inside ``window`` refuse that
  address for that account, even with the right password, until the oldest leaves the window.
- ``account`` and ``address``: past their limits they only slow attempts down (``slow_down``,
  progressive, capped), before the password is checked, so the delay says nothing about it and a
  correct password still gets in.

Each failure is one row per key. Unknown logins are keyed by what was typed, so they lock exactly
like real accounts (no enumeration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg


@dataclass(frozen=True)
class ThrottleKey:
    scope: str  # 'account' or 'address'
    key: str
    limit: int


def account_key(user_id: object | None, login: str, limit: int) -> ThrottleKey:
    """The user's id when the account exists, else the normalised login that was typed."""
    key = str(user_id) if user_id is not None else "login:" + login.strip().lower()
    return ThrottleKey("account", key, limit)


def address_key(address: str, limit: int) -> ThrottleKey:
    return ThrottleKey("address", address, limit)


def pair_key(account: ThrottleKey, address: str, limit: int) -> ThrottleKey:
    return ThrottleKey("pair", f"{account.key}|{address}", limit)


def failures(conn: psycopg.Connection, key: ThrottleKey, now: datetime, window: timedelta) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM login_failures WHERE scope = %s AND key = %s AND failed_at > %s",
        (key.scope, key.key, now - window),
    ).fetchone()
    return int(row["n"])


def slow_down(
    conn: psycopg.Connection, keys: list[ThrottleKey], now: datetime, window: timedelta, cap_s: float
) -> float:
    """Seconds to wait before checking a password: 0 while every key is within its limit, then
    0.25 s doubling with each failure past it, at most ``cap_s``."""
    excess = max(failures(conn, k, now, window) - k.limit for k in keys) if keys else 0
    if excess < 0:
        return 0.0
    return min(cap_s, 0.25 * 2 ** min(excess, 16))


def retry_after(
    conn: psycopg.Connection, keys: list[ThrottleKey], now: datetime, window: timedelta
) -> int | None:
    """Seconds until every key is below its limit again, or None when none is locked."""
    wait = 0.0
    for k in keys:
        # The limit-th most recent failure in the window: while it is inside, the key is locked.
        row = conn.execute(
            "SELECT failed_at FROM login_failures WHERE scope = %s AND key = %s AND failed_at > %s"
            " ORDER BY failed_at DESC OFFSET %s LIMIT 1",
            (k.scope, k.key, now - window, max(k.limit, 1) - 1),
        ).fetchone()
        if row is not None:
            wait = max(wait, (row["failed_at"] + window - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else None


def record_failure(
    conn: psycopg.Connection, keys: list[ThrottleKey], now: datetime, window: timedelta
) -> None:
    """Count one failure against every key, and forget failures that left the window."""
    conn.execute("DELETE FROM login_failures WHERE failed_at <= %s", (now - window,))
    for k in keys:
        conn.execute(
            "INSERT INTO login_failures (scope, key, failed_at) VALUES (%s, %s, %s)", (k.scope, k.key, now)
        )


def clear(conn: psycopg.Connection, key: ThrottleKey) -> None:
    """Forget a key's failures (after a successful login, for the account key only)."""
    conn.execute("DELETE FROM login_failures WHERE scope = %s AND key = %s", (key.scope, key.key))
