"""Registration reveals nothing about which e-mail addresses or usernames have an account: the
same answer either way, and an account exists only once the mailed code comes back."""

from __future__ import annotations

import secrets

import httpx
import psycopg

from tests.fixtures.security_stack import PASSWORD, mailed_code, register


def mailed_code_or_subject(database_url: str, recipient: str) -> str:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT subject FROM mail_outbox WHERE recipient = %s", (recipient,)).fetchall()
    return " | ".join(r[0] for r in rows)


def test_the_same_answer_whether_or_not_the_address_is_registered(sec_stack):
    known = "e" + secrets.token_hex(4)
    register(sec_stack, sec_stack.auth, known)
    fresh = "n" + secrets.token_hex(4)
    url = f"{sec_stack.auth}/register"
    answers = [
        httpx.post(url, json={"username": fresh, "email": f"{fresh}@example.com", "password": PASSWORD}),
        # somebody else's address, a new username
        httpx.post(
            url, json={"username": "z" + fresh, "email": f"{known}@example.com", "password": PASSWORD}
        ),
        # somebody else's username, a new address
        httpx.post(url, json={"username": known, "email": f"y{fresh}@example.com", "password": PASSWORD}),
    ]
    assert {r.status_code for r in answers} == {202}
    assert len({r.text for r in answers}) == 1
    same_headers = {
        frozenset((k, v) for k, v in r.headers.items() if k not in {"date", "x-request-id"}) for r in answers
    }
    assert len(same_headers) == 1
    # Nothing usable exists before the code comes back.
    login = httpx.post(f"{sec_stack.auth}/login", json={"login": fresh, "password": PASSWORD})
    assert login.status_code == 401
    # The owner of the taken address is told by mail; their account is untouched.
    mailed = mailed_code_or_subject(sec_stack.database_url, f"{known}@example.com")
    assert "You already have a PixelPlay account" in mailed
    assert (
        httpx.post(f"{sec_stack.auth}/login", json={"login": known, "password": PASSWORD}).status_code == 200
    )
    code = mailed_code(sec_stack.database_url, f"{fresh}@example.com", "Confirm your PixelPlay account")
    # The owner of the taken address is told by mail; their account is untouched.
    mailed = mailed_code_or_subject(sec_stack.database_url, f"{known}@example.com")
    assert "You already have a PixelPlay account" in mailed
    assert (
        httpx.post(f"{sec_stack.auth}/login", json={"login": known, "password": PASSWORD}).status_code == 200
    )
    assert httpx.post(f"{sec_stack.auth}/register/confirm", json={"code": "x" + code}).status_code == 400
    assert httpx.post(f"{sec_stack.auth}/register/confirm", json={"code": code}).status_code == 201
    assert httpx.post(f"{sec_stack.auth}/register/confirm", json={"code": code}).status_code == 400  # once
    assert (
        httpx.post(f"{sec_stack.auth}/login", json={"login": fresh, "password": PASSWORD}).status_code == 200
    )
