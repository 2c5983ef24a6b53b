"""The demo account exists only after the seed script is run explicitly."""

from __future__ import annotations

from scripts.seed_demo_user import DEMO_PASSWORD, DEMO_USERNAME, main, seed_demo_user
from tests.auth.helpers import login


def test_demo_user_absent_by_default_and_seeded_on_request(client, auth_settings, capsys):
    demo = {"login": DEMO_USERNAME, "password": DEMO_PASSWORD}
    assert client.post("/login", json=demo).status_code == 401
    # The policy refuses this password through the API...
    refused = client.post(
        "/register", json={"username": "lord", "email": "l@example.com", "password": "123456"}
    )
    assert refused.status_code == 422
    # ...and the script bypasses it, loudly.
    assert main() == 0
    captured = capsys.readouterr()
    assert "BYPASSES the password policy" in captured.err and "created demo account" in captured.out
    assert login(client, DEMO_USERNAME, DEMO_PASSWORD)
    assert seed_demo_user(auth_settings) is False  # running it again changes nothing
