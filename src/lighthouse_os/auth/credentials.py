"""Passwords (argon2), API token secrets and session ids: generation, hashing, checking."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "lhos"
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

_hasher = PasswordHasher()  # RFC 9106 low-memory profile: argon2id, t=3, m=64 MiB


def use_cheap_hashing_for_tests() -> None:
    """Swap in the cheapest argon2 parameters; hashes stay valid argon2id, only weaker.

    Only the test suite calls this, so hundreds of users can be created in seconds.
    """
    global _hasher
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and line[0] != "#")


def password_problem(password: str, email: str = "") -> str | None:
    """Why a password is too weak, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) <= 2:
        return "password is too common; choose a longer, less predictable one"
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        return "password must not contain the email address"
    return None


def hash_password(password: str) -> str:
    """argon2id hash with the library's current parameters."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches; a malformed stored hash counts as no match."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sha256_hex(value: str) -> str:
    """Hex SHA-256; enough for high-entropy random secrets, which cannot be guessed offline."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A freshly minted API token: `plaintext` is shown once and never stored."""

    public_id: str
    plaintext: str
    secret_hash: str


def mint_token() -> NewToken:
    """`lhos_<public id>_<secret>`: the public id finds the row, the secret proves possession."""
    public_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewToken(public_id, f"{TOKEN_PREFIX}_{public_id}_{secret}", sha256_hex(secret))


def parse_token(plaintext: str) -> tuple[str, str] | None:
    """Split a presented token into (public id, secret), or None when it is malformed."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or len(parts[2]) < 20:
        return None
    return parts[1], parts[2]


def token_secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(sha256_hex(secret), stored_hash)


def new_session_id() -> str:
    """A random browser-session id for the cookie; only its hash is stored."""
    return secrets.token_urlsafe(32)
