"""Print the local mail outbox (password-reset mails when no SMTP server is configured).

    .venv/bin/python -m scripts.outbox [--to EMAIL] [--last N]     (from the repository root)

Reads the same database as the service: DATABASE_URL, else the embedded Postgres in data_dir.
"""

from __future__ import annotations

import argparse

import psycopg
from psycopg.rows import dict_row

from services.auth.db import resolve_database_url
from services.auth.settings import get_settings


def read_outbox(conn: psycopg.Connection, recipient: str | None, last: int) -> list[dict]:
    """The newest ``last`` mails (optionally only those to ``recipient``), newest first."""
    return conn.execute(
        "SELECT id, recipient, subject, body, created_at FROM mail_outbox"
        " WHERE %(to)s::text IS NULL OR lower(recipient) = lower(%(to)s)"
        " ORDER BY id DESC LIMIT %(last)s",
        {"to": recipient, "last": last},
    ).fetchall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", help="only mails to this address")
    parser.add_argument("--last", type=int, default=5, help="how many mails (default 5)")
    args = parser.parse_args(argv)
    url, embedded = resolve_database_url(get_settings())
    try:
        with psycopg.connect(url, row_factory=dict_row) as conn:
            mails = read_outbox(conn, args.to, args.last)
    finally:
        if embedded is not None:
            embedded.stop()
    if not mails:
        print("outbox is empty")
    for mail in mails:
        print(f"--- #{mail['id']} {mail['created_at']:%Y-%m-%d %H:%M:%S %Z} to {mail['recipient']}")
        print(f"Subject: {mail['subject']}\n\n{mail['body']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
