"""Password hashing: bcrypt over an HMAC-SHA-256 pre-hash.

bcrypt only reads the first 72 bytes of its input, so two long passwords sharing a 72-byte prefix
would collide if fed to it directly. Every password (short or long, one code path) is therefore
NFKC-normalised, HMAC-SHA-256'd under a fixed domain key and base64-encoded (44 bytes, no NUL)
before bcrypt: every byte of the password counts and nothing is silently truncated. The HMAC key is
not a secret; it only keeps these digests from being plain SHA-256 values that could be matched
against other leaked SHA-256 password tables ("hash shucking").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from functools import lru_cache

import bcrypt

_PREHASH_KEY = b"pixelplay-auth-bcrypt-prehash-v1"


def normalize(password: str) -> str:
    """NFKC so that the same password typed on different keyboards/IMEs hashes the same."""
    return unicodedata.normalize("NFKC", password)


def prehash(password: str) -> bytes:
    """The 44-byte bcrypt input for ``password`` (see the module docstring for why)."""
    digest = hmac.new(_PREHASH_KEY, normalize(password).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest)


def hash_password(password: str, rounds: int) -> str:
    """A bcrypt hash string ($2b$...) of ``password`` at cost ``rounds``."""
    return bcrypt.hashpw(prehash(password), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True when ``password`` matches; a malformed stored hash counts as a mismatch."""
    try:
        return bcrypt.checkpw(prehash(password), password_hash.encode("ascii"))
    except ValueError:
        return False


@lru_cache(maxsize=8)
def dummy_hash(rounds: int) -> str:
    """A hash to verify against when no account matches, so unknown logins cost the same time."""
    return hash_password("pixelplay-no-such-account", rounds)


def burn_verification(password: str, rounds: int) -> None:
    """Spend one bcrypt verification at ``rounds`` and discard the result (enumeration defence)."""
    verify_password(password, dummy_hash(rounds))
