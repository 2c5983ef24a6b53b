"""Auth timings: bcrypt cost, login for known vs unknown accounts (enumeration), request overhead.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m scripts.bench.auth_timings

Creates a scratch database on that server (dropped at the end), runs the app in-process
(TestClient, no network) at the production bcrypt cost, prints medians and ratios. Nothing asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
from collections.abc import Callable

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.conninfo import make_conninfo

from services.auth.app import create_app
from services.auth.passwords import hash_password, verify_password
from services.auth.settings import AuthSettings


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Milliseconds per call."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"p50 {statistics.median(ordered):7.1f} ms  p90 {p90:7.1f} ms  (n={len(ordered)})"


def main() -> int:
    parser = argparse.ArgumentParser(description="auth service timings")
    parser.add_argument("--rounds", type=int, default=12, help="bcrypt cost (default: production 12)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        raise SystemExit("set DATABASE_URL to a PostgreSQL server this benchmark may create a database on")

    print(f"bcrypt cost {args.rounds}, {args.repeats} repeats, load average {os.getloadavg()[0]:.1f}")
    stored = hash_password("benchmark-Password-1", args.rounds)
    print(f"hash_password        {summary(timed(lambda: hash_password('x-Password-1', args.rounds), 5))}")
    print(f"verify_password      {summary(timed(lambda: verify_password('x', stored), args.repeats))}")

    name = f"pixelplay_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = make_conninfo(admin_url, dbname=name)
        # Generous throttling limits so the wrong-password loop is measured, not the 429 path.
        settings = AuthSettings(
            database_url=url,
            bcrypt_rounds=args.rounds,
            login_max_failures=10_000,
            login_ip_max_failures=10_000,
            log_level="WARNING",
            dev_mode=True,  # a throwaway local database: built-in secret, accounts without a mailed code
        )
        with TestClient(create_app(settings)) as client:
            password = "benchmark-Password-1"
            client.post(
                "/register", json={"username": "bench", "email": "b@example.com", "password": password}
            )
            known = timed(
                lambda: client.post("/login", json={"login": "bench", "password": "wrong-Password-2"}),
                args.repeats,
            )
            unknown = timed(
                lambda: client.post("/login", json={"login": "nobody", "password": "wrong-Password-2"}),
                args.repeats,
            )
            good = timed(lambda: client.post("/login", json={"login": "bench", "password": password}), 5)
            token = client.post("/login", json={"login": "bench", "password": password}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            me = timed(lambda: client.get("/me", headers=headers), args.repeats * 5)
            entry = {"kind": "text", "text": "rainy day", "result_track_ids": [f"t{i}" for i in range(50)]}
            add = timed(lambda: client.post("/history", json=entry, headers=headers), args.repeats * 5)
            page = timed(lambda: client.get("/history?limit=20", headers=headers), args.repeats * 5)
        print(f"login wrong password {summary(known)}")
        print(f"login unknown user   {summary(unknown)}")
        ratio = statistics.median(unknown) / statistics.median(known)
        print(f"  ratio unknown/known (p50): {ratio:.2f}")
        print(f"login success        {summary(good)}")
        print(f"GET /me              {summary(me)}")
        print(f"POST /history        {summary(add)}")
        print(f"GET /history (20)    {summary(page)}")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
