"""Passwords and token secrets."""

from __future__ import annotations

import pytest

from lighthouse_os.auth.credentials import (
    hash_password,
    mint_token,
    parse_token,
    password_problem,
    token_secret_matches,
    verify_password,
)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-pass", "at least 12"),
        ("password1234", "too common"),
        ("MATKHAU12345", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("nguyen.van.an-2026!", "email"),
        ("correct horse battery staple", None),
    ],
)
def test_password_problem_table(password: str, problem: str | None) -> None:
    found = password_problem(password, "nguyen.van.an@example.vn")
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_password_hash_is_argon2_and_verifies() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapler")
    assert not verify_password("not-a-hash", "anything")


def test_token_roundtrip_and_only_hash_is_kept() -> None:
    token = mint_token()
    parsed = parse_token(token.plaintext)
    assert parsed is not None
    public_id, secret = parsed
    assert public_id == token.public_id
    assert secret not in token.secret_hash
    assert token_secret_matches(secret, token.secret_hash)
    assert not token_secret_matches(secret + "x", token.secret_hash)


@pytest.mark.parametrize(
    "presented", ["", "lhos", "lhos_abc", "bearer_abc_def", "lhos__" + "x" * 30, "lhos_ab_short"]
)
def test_token_parse_rejects_malformed(presented: str) -> None:
    assert parse_token(presented) is None
