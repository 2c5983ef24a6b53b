"""Typed client for the auth service (``services/auth``): accounts, sessions, recovery, history.

Session tokens are passed per call (the UI holds one per browser session); the optional
``service_token`` is sent as X-Service-Token and is needed only for ``validate``. Errors follow
``ServiceClient``: a 4xx raises ``ServiceError`` (``.status``, ``.detail`` is the service's message
for people: 401 bad credentials or expired session, 403 wrong current password, 409 taken,
422 policy, 429 throttled), an unreachable or failing service raises ``ServiceUnavailable``.
"""

from __future__ import annotations

from typing import Any

from services.common.contracts import request_body
from services.common.contracts.auth import (
    ChangePasswordRequest,
    ChangePasswordResponse,
    ConfirmRequest,
    DeleteAccountRequest,
    ForgotRequest,
    HistoryCleared,
    HistoryEntry,
    HistoryIn,
    HistoryPage,
    LoginRequest,
    LoginResponse,
    Message,
    RegisterRequest,
    RegisterResponse,
    ResetRequest,
    SessionInfo,
    SessionList,
    User,
    ValidateRequest,
)
from services.common.contracts.spotify import (
    ConnectFinish,
    ConnectStart,
    SaveRequest,
    SaveResult,
    SpotifyStatus,
)
from services.common.http import ServiceClient, ServiceError
from services.common.settings import CommonSettings


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class AuthClient(ServiceClient):
    """``AuthClient(settings.auth_url)``; pass ``service_token=`` to call ``validate``."""

    service = "auth"
    url_setting = "auth_url"

    def __init__(
        self,
        base_url: str | None = None,
        *,
        settings: CommonSettings | None = None,
        service_token: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(base_url, settings=settings, token=service_token, **kwargs)

    # --- accounts --------------------------------------------------------------------------------
    def register(
        self, username: str, email: str, password: str, client_address: str | None = None
    ) -> User | None:
        """The new account, or None when auth mailed a confirmation code instead (its default
        outside development): ``confirm_registration`` then creates the account. ``client_address``:
        the person's address, as for ``login`` (registrations are limited per address)."""
        headers = {"X-Forwarded-For": client_address} if client_address else None
        body = self.post_json(
            "/register",
            request_body(RegisterRequest, username=username, email=email, password=password),
            headers=headers,
        )
        return RegisterResponse.model_validate(body).user if "user" in body else None

    def confirm_registration(self, code: str) -> User:
        return RegisterResponse.model_validate(
            self.post_json("/register/confirm", request_body(ConfirmRequest, code=code))
        ).user

    def login(
        self, login: str, password: str, client_address: str | None = None, device_token: str | None = None
    ) -> LoginResponse:
        """``login`` is a username or an e-mail address. A front end passes its user's address
        (``client_address``, as X-Forwarded-For) so auth throttles per person, not per front end;
        auth believes it only with this client's service token. ``device_token`` is the one a
        previous sign-in of this browser returned (it lets a known browser through throttling)."""
        headers = {"X-Forwarded-For": client_address} if client_address else None
        body = request_body(LoginRequest, login=login, password=password, device_token=device_token or None)
        return LoginResponse.model_validate(self.post_json("/login", body, headers=headers))

    def logout(self, token: str) -> None:
        self.request("POST", "/logout", headers=_bearer(token))

    def me(self, token: str) -> User:
        return User.model_validate(self.get_json("/me", headers=_bearer(token)))

    def delete_account(self, token: str, password: str) -> None:
        self.request(
            "DELETE",
            "/me",
            json=request_body(DeleteAccountRequest, password=password),
            headers=_bearer(token),
        )

    def sessions(self, token: str) -> list[SessionInfo]:
        return SessionList.model_validate(self.get_json("/sessions", headers=_bearer(token))).sessions

    def revoke_session(self, token: str, session_id: str) -> None:
        self.request("DELETE", f"/sessions/{session_id}", headers=_bearer(token))

    # --- passwords -------------------------------------------------------------------------------
    def forgot(self, login: str) -> str:
        """Ask for a reset code; returns the service's message (the same whether or not it exists)."""
        return Message.model_validate(
            self.post_json("/password/forgot", request_body(ForgotRequest, login=login))
        ).detail

    def reset(self, reset_token: str, new_password: str) -> str:
        body = request_body(ResetRequest, token=reset_token, new_password=new_password)
        return Message.model_validate(self.post_json("/password/reset", body)).detail

    def change_password(self, token: str, current_password: str, new_password: str) -> int:
        """Returns how many other sessions were signed out."""
        body = self.post_json(
            "/password/change",
            request_body(ChangePasswordRequest, current_password=current_password, new_password=new_password),
            headers=_bearer(token),
        )
        return ChangePasswordResponse.model_validate(body).revoked_sessions

    # --- history ---------------------------------------------------------------------------------
    def add_history(self, token: str, entry: HistoryIn) -> HistoryEntry:
        """Store one search; returns it with ``id`` and ``created_at``. Built with
        ``model_construct`` by the caller, an entry is validated by the service alone."""
        body = entry.model_dump(mode="json", warnings=False)
        return HistoryEntry.model_validate(self.post_json("/history", body, headers=_bearer(token)))

    def history(self, token: str, limit: int = 20, offset: int = 0) -> HistoryPage:
        """A page of the history, newest first."""
        params = {"limit": limit, "offset": offset}
        return HistoryPage.model_validate(self.get_json("/history", params=params, headers=_bearer(token)))

    def delete_history_entry(self, token: str, entry_id: str) -> None:
        self.request("DELETE", f"/history/{entry_id}", headers=_bearer(token))

    def clear_history(self, token: str) -> int:
        return HistoryCleared.model_validate(
            self.request("DELETE", "/history", headers=_bearer(token)).json()
        ).deleted

    # --- Spotify (see docs/spotify.md) -------------------------------------------------------------
    def spotify_status(self, token: str) -> SpotifyStatus:
        return SpotifyStatus.model_validate(self.get_json("/spotify", headers=_bearer(token)))

    def spotify_connect(self, token: str) -> ConnectStart:
        """A sign-in bound to this session: the Spotify URL to send the browser to."""
        return ConnectStart.model_validate(self.post_json("/spotify/connect", headers=_bearer(token)))

    def spotify_callback(self, token: str, answer: ConnectFinish) -> SpotifyStatus:
        """Hand over what Spotify put on the redirect URL (same session as ``spotify_connect``)."""
        body = answer.model_dump(exclude_none=True)
        # Once: the code is single-use, so a repeat could only turn a fault into "refused".
        status = self.post_json("/spotify/callback", body, headers=_bearer(token), once=True)
        return SpotifyStatus.model_validate(status)

    def spotify_disconnect(self, token: str) -> None:
        self.request("DELETE", "/spotify", headers=_bearer(token))

    def spotify_save(self, token: str, request: SaveRequest) -> SaveResult:
        # Never repeated: auth already retried what is safe to retry with Spotify.
        answer = self.post_json("/spotify/playlists", request.model_dump(), headers=_bearer(token), once=True)
        return SaveResult.model_validate(answer)

    # --- for other services ----------------------------------------------------------------------
    def validate(self, token: str) -> User:
        """The user behind a session token (needs ``service_token``); 401 ServiceError when not live."""
        return User.model_validate(self.post_json("/validate", request_body(ValidateRequest, token=token)))


def current_user(client: AuthClient, token: str | None) -> User | None:
    """The signed-in user for ``token``, or None when there is no token or it is not live.

    Uses ``/validate`` (the client needs the service token). Other errors (auth down: 503) raise,
    so callers can tell "signed out" from "cannot check right now".
    """
    if not token:
        return None
    try:
        return client.validate(token)
    except ServiceError as exc:
        if exc.status == 401:
            return None
        raise
