"""Create the original PixelPlay demo account ``lord`` / ``123456`` -- only when run by hand.

    .venv/bin/python -m scripts.seed_demo_user      (from the repository root)

The password breaks the sign-up policy (too short, too common) ON PURPOSE: this script writes the
account straight into the auth database, bypassing the policy, so the old demo login keeps working
on a local machine. Never run it on a deployment anyone else can reach. Nothing creates this
account by default. Uses DATABASE_URL (else the embedded Postgres in data_dir), like the service.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from services.auth.db import open_database
from services.auth.passwords import hash_password
from services.auth.settings import AuthSettings, get_settings
from services.auth.users import AccountTaken, create_user

DEMO_USERNAME = "lord"
DEMO_PASSWORD = "123456"
DEMO_EMAIL = "lord@pixelplay.local"

WARNING = (
    f"!!! WARNING: creating the demo account {DEMO_USERNAME!r} with the password {DEMO_PASSWORD!r}.\n"
    "!!! This deliberately BYPASSES the password policy (too short, on the common list).\n"
    "!!! Anyone who knows the demo can sign in as this user: use it for local demos only.\n"
)


def seed_demo_user(settings: AuthSettings) -> bool:
    """Create the demo account; False when it (or its e-mail) already exists."""
    database = open_database(settings)  # applies migrations first, like the service
    try:
        password_hash = hash_password(DEMO_PASSWORD, settings.bcrypt_rounds)
        with database.connection() as conn:
            create_user(conn, DEMO_USERNAME, DEMO_EMAIL, password_hash, datetime.now(UTC))
        return True
    except AccountTaken:
        return False
    finally:
        database.close()


def main() -> int:
    print(WARNING, file=sys.stderr)
    created = seed_demo_user(get_settings())
    if created:
        print(f"created demo account {DEMO_USERNAME!r} (password {DEMO_PASSWORD!r}, e-mail {DEMO_EMAIL})")
    else:
        print(f"demo account {DEMO_USERNAME!r} already exists; left unchanged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
