"""Lockout denial of service: an attacker hammering an account must not lock its owner out.

Against the running auth service, from distinct loopback addresses (real TCP peers).
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

from tests.fixtures.security_stack import PASSWORD, client_from, register

ATTACKERS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
WRONG = {"password": "guess-Guess-123"}


def hammer(auth_url: str, address: str, login: str, tries: int) -> list[int]:
    with client_from(address, auth_url) as attacker:
        return [attacker.post("/login", json={"login": login, **WRONG}).status_code for _ in range(tries)]


def test_the_victim_signs_in_while_an_attacker_hammers_from_other_addresses(sec_stack):
    victim = "v" + secrets.token_hex(4)
    register(sec_stack, sec_stack.auth, victim)
    with ThreadPoolExecutor(len(ATTACKERS)) as pool:
        attacks = [pool.submit(hammer, sec_stack.auth, a, victim, 8) for a in ATTACKERS]
        codes = [code for attack in attacks for code in attack.result()]
        # Meanwhile and afterwards, from the victim's own (new) browser and address:
        with client_from("127.0.0.1", sec_stack.auth) as own:
            answer = own.post("/login", json={"login": victim, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    assert 401 in codes and 429 in codes, codes  # the attacker's own address did get locked
    assert 200 not in codes
    # Still refused for the attacker, after the victim signed in.
    assert hammer(sec_stack.auth, ATTACKERS[0], victim, 1) == [429]


def test_the_per_address_limit_never_refuses_a_right_password(sec_stack):
    """Fifty failures from one address (a shared proxy, an office NAT): a right password from that
    address still gets in."""
    victim = "w" + secrets.token_hex(4)
    register(sec_stack, sec_stack.auth, victim)
    address = "127.0.0.6"
    with client_from(address, sec_stack.auth) as shared:
        for i in range(51):
            assert shared.post("/login", json={"login": f"nobody{i}-{victim}", **WRONG}).status_code == 401
        answer = shared.post("/login", json={"login": victim, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


def test_a_browser_that_signed_in_before_keeps_working(sec_stack):
    """The attacker sits behind the same address as the victim and locks that (account, address)
    pair; the victim's known browser still gets in, a new browser there does not."""
    victim = "k" + secrets.token_hex(4)
    register(sec_stack, sec_stack.auth, victim)
    address = "127.0.0.7"
    with client_from(address, sec_stack.auth) as own:
        first = own.post("/login", json={"login": victim, "password": PASSWORD})
        assert first.status_code == 200
        device = first.json()["device_token"]
        assert hammer(sec_stack.auth, address, victim, 6)[-1] == 429
        stranger = own.post("/login", json={"login": victim, "password": PASSWORD})
        known = own.post("/login", json={"login": victim, "password": PASSWORD, "device_token": device})
        forged = own.post("/login", json={"login": victim, "password": PASSWORD, "device_token": "x" * 43})
    assert stranger.status_code == 429
    assert known.status_code == 200, known.text
    assert forged.status_code == 429
