"""Registration: policy (422), uniqueness (409), and what a created account looks like."""

from __future__ import annotations

import pytest

from services.auth.policy import common_passwords
from tests.auth.helpers import PASSWORD, register


def test_register_returns_user_without_secrets(client):
    response = client.post(
        "/register", json={"username": "Alice", "email": "Alice@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    user = response.json()["user"]
    assert set(user) == {"id", "username", "email", "created_at"}
    assert user["username"] == "Alice"  # case kept for display
    assert user["email"] == "Alice@example.com"  # domain part normalised by email-validator
    assert "$2b$" not in response.text and PASSWORD not in response.text


@pytest.mark.parametrize(
    ("username", "email"),
    [
        ("ALICE", "other@example.com"),  # username taken, case-insensitively
        ("alice2", "ALICE@example.com"),  # e-mail taken, case-insensitively
    ],
)
def test_taken_username_or_email_is_409(client, username, email):
    register(client, "alice", email="alice@example.com")
    response = client.post("/register", json={"username": username, "email": email, "password": PASSWORD})
    assert response.status_code == 409
    assert "already registered" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "ab", "email": "a@example.com", "password": PASSWORD}, "username must be 3-32"),
        ({"username": "a" * 33, "email": "a@example.com", "password": PASSWORD}, "username must be 3-32"),
        ({"username": "bad name", "email": "a@example.com", "password": PASSWORD}, "username must be 3-32"),
        ({"username": "at@sign", "email": "a@example.com", "password": PASSWORD}, "username must be 3-32"),
        ({"username": "carol", "email": "not-an-email", "password": PASSWORD}, "invalid e-mail"),
        ({"username": "carol", "email": "carol@", "password": PASSWORD}, "invalid e-mail"),
        ({"username": "carol", "email": "c@example.com", "password": "Sh0rt!"}, "at least 8"),
        ({"username": "carol", "email": "c@example.com", "password": "Password1"}, "too common"),
        ({"username": "carol", "email": "c@example.com", "password": "sunshine"}, "too common"),
        (
            {"username": "carolinaXY", "email": "c@example.com", "password": "CAROLINAxy"},
            "same as the username",
        ),
        ({"username": "carol", "email": "c@example.com", "password": "c@example.com"}, "same as the e-mail"),
        ({"username": "carol", "email": "c@example.com", "password": "x" * 1025}, "at most 1024"),
        ({"username": "carol", "email": "c@example.com"}, "password: Field required"),
        ({"username": "carol", "email": "c@example.com", "password": 12345678}, "password"),
    ],
)
def test_policy_violations_are_422_with_a_message(client, body, message):
    response = client.post("/register", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and message in detail


def test_validation_errors_never_echo_the_password(client):
    secret = "not-a-string-but-secret"
    response = client.post(
        "/register", json={"username": "carol", "email": "c@example.com", "password": [secret]}
    )
    assert response.status_code == 422
    assert secret not in response.text


def test_shipped_common_password_list_is_substantial():
    words = common_passwords()
    assert len(words) >= 5000
    assert {"password", "12345678", "iloveyou"} <= words
    assert all(len(word) >= 8 for word in words)
