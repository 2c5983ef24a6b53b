"""Rules for usernames, e-mail addresses and passwords. Pure functions; violations raise PolicyError."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from services.auth.passwords import normalize

COMMON_PASSWORDS_FILE = Path(__file__).parent / "common_passwords.txt"
USERNAME_PATTERN = re.compile(r"^[a-z0-9_.-]{3,32}$", re.IGNORECASE)
MIN_PASSWORD_CHARS = 8


class PolicyError(ValueError):
    """Input that breaks a rule; the message is shown to the user as is."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lowercased."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_username(username: str) -> str:
    """The username as typed (case is kept for display; uniqueness ignores case)."""
    if not USERNAME_PATTERN.match(username):
        raise PolicyError("username must be 3-32 characters: letters, digits, '_', '.' or '-'")
    return username


def check_email(email: str) -> str:
    """The normalised address; syntax only, no DNS lookups (deliverability is not checked)."""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise PolicyError(f"invalid e-mail address: {exc}") from None


def check_password(password: str, *, username: str, email: str | None = None, max_chars: int) -> None:
    """Refuse short, overlong, common, or username/e-mail-equal passwords."""
    text = normalize(password)
    if len(text) < MIN_PASSWORD_CHARS:
        raise PolicyError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(text) > max_chars:
        raise PolicyError(f"password must be at most {max_chars} characters")
    folded = text.casefold()
    if folded in common_passwords():
        raise PolicyError("this password is too common; choose a less guessable one")
    if folded == username.casefold():
        raise PolicyError("password must not be the same as the username")
    if email and (folded == email.casefold() or folded == email.split("@")[0].casefold()):
        raise PolicyError("password must not be the same as the e-mail address")
