"""The three services as the UI uses them, through the shared typed clients only.

This is the one module that knows the client method names; the callbacks speak in UI terms
(``search_photo``, ``history``) and receive plain dicts shaped like the API contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.clients.auth import AuthClient
from services.common.clients.encoder import EncoderClient
from services.common.clients.search import SearchClient
from services.common.settings import Settings, get_settings
from services.common.spotify import ConnectFinish, ConnectStart, SaveRequest, SaveResult, SpotifyStatus
from services.ui.images import Upload


@dataclass
class Backend:
    encoder: EncoderClient
    search: SearchClient
    auth: AuthClient
    settings: Settings

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Backend:
        settings = settings or get_settings()
        return cls(
            encoder=EncoderClient(settings.encoder_url, settings=settings),
            search=SearchClient(settings.search_url, settings=settings),
            # The service token lets auth believe the browser address the UI forwards at sign-in.
            auth=AuthClient(
                settings.auth_url, settings=settings, service_token=settings.service_token.get_secret_value()
            ),
            settings=settings,
        )

    def close(self) -> None:
        for client in (self.encoder, self.search, self.auth):
            client.close()

    def readiness(self) -> dict[str, bool]:
        """Whether each service answers its ``/readyz`` with 200 right now (no retries)."""
        status = {}
        for name, client in (("encoder", self.encoder), ("search", self.search), ("auth", self.auth)):
            try:
                status[name] = client._http.get("/readyz", timeout=3).status_code == 200
            except Exception:  # noqa: BLE001 - any failure means "not ready"
                status[name] = False
        return status

    # --- encoder / search --------------------------------------------------------------------
    def model_info(self) -> dict[str, Any]:
        return self.encoder.info()

    def filter_options(self) -> dict[str, Any]:
        return self.search.filters()

    def search_photo(
        self, upload: Upload, text: str | None, weight: float, filters: dict | None, limit: int
    ) -> dict[str, Any]:
        return self.search.search_image(
            upload.data,
            filename=upload.filename,
            content_type=upload.content_type,
            text=text or None,
            weight=weight,
            filters=filters,
            limit=limit,
            offset=0,
        )

    def search_text(self, text: str, filters: dict | None, limit: int) -> dict[str, Any]:
        return self.search.search_text(text, filters=filters, limit=limit, offset=0)

    def next_page(
        self, vector: list[float], filters: dict | None, limit: int, offset: int, model_id: str | None = None
    ) -> dict[str, Any]:
        """The same query vector at ``offset``; ``model_id`` lets search refuse a vector from
        another model (the index was rebuilt meanwhile) instead of returning nonsense."""
        return self.search.search_vector(
            vector, filters=filters, limit=limit, offset=offset, model_id=model_id
        )

    def similar(self, track_id: str, filters: dict | None, limit: int, offset: int = 0) -> dict[str, Any]:
        return self.search.similar(track_id, filters=filters, limit=limit, offset=offset)

    def feedback(
        self,
        vector: list[float],
        ratings: dict[str, list[str]],
        filters: dict | None,
        limit: int,
        offset: int = 0,
        model_id: str | None = None,
    ) -> dict[str, Any]:
        """``vector`` (the page's query) refined by thumbs up/down ``ratings``
        (``{"positive_track_ids": [...], "negative_track_ids": [...]}``)."""
        return self.search.feedback(
            vector,
            positive_track_ids=list(ratings.get("positive_track_ids") or []),
            negative_track_ids=list(ratings.get("negative_track_ids") or []),
            filters=filters,
            limit=limit,
            offset=offset,
            model_id=model_id,
        )

    def song(self, track_id: str) -> dict[str, Any]:
        return self.search.song(track_id)

    def song_names(self, text: str, limit: int) -> list[dict[str, Any]]:
        return self.search.song_names(text, limit)

    def moodboard(
        self, uploads: list[Upload], order: str, filters: dict | None, limit: int
    ) -> dict[str, Any]:
        photos = [(u.filename, u.data, u.content_type) for u in uploads]
        return self.search.moodboard(photos, order=order, filters=filters, limit=limit)

    def moodboard_again(
        self, vector: list[float], model_id: str | None, order: str, filters: dict | None, limit: int
    ) -> dict[str, Any]:
        return self.search.moodboard_again(
            vector, model_id=model_id, order=order, filters=filters, limit=limit
        )

    # --- auth ----------------------------------------------------------------------------------
    def register(
        self, username: str, email: str, password: str, client_address: str | None = None
    ) -> dict[str, Any] | None:
        """The new account, or None when a confirmation code was mailed."""
        user = self.auth.register(username, email, password, client_address)
        return user.model_dump(mode="json") if user else None

    def confirm_registration(self, code: str) -> dict[str, Any]:
        return self.auth.confirm_registration(code).model_dump(mode="json")

    def login(
        self, login: str, password: str, client_address: str | None = None, device_token: str | None = None
    ) -> dict[str, Any]:
        """``{"token", "expires_at", "user", "device_token"}`` as JSON-ready values."""
        return self.auth.login(login, password, client_address, device_token).model_dump(mode="json")

    def logout(self, token: str) -> None:
        self.auth.logout(token)

    def me(self, token: str) -> dict[str, Any]:
        return self.auth.me(token).model_dump(mode="json")

    def forgot_password(self, login: str) -> str:
        return self.auth.forgot(login)

    def reset_password(self, reset_token: str, new_password: str) -> str:
        return self.auth.reset(reset_token, new_password)

    def add_history(self, token: str, entry: dict[str, Any]) -> dict[str, Any]:
        return self.auth.add_history(token, entry)

    def history(self, token: str, limit: int, offset: int = 0) -> dict[str, Any]:
        return self.auth.history(token, limit=limit, offset=offset)

    def delete_history(self, token: str, entry_id: str) -> None:
        self.auth.delete_history_entry(token, entry_id)

    def clear_history(self, token: str) -> None:
        self.auth.clear_history(token)

    # --- Spotify (auth holds the tokens and talks to Spotify) ---------------------------------------
    def spotify_status(self, token: str) -> SpotifyStatus:
        return self.auth.spotify_status(token)

    def spotify_connect(self, token: str) -> ConnectStart:
        return self.auth.spotify_connect(token)

    def spotify_callback(self, token: str, answer: ConnectFinish) -> SpotifyStatus:
        return self.auth.spotify_callback(token, answer)

    def spotify_disconnect(self, token: str) -> None:
        self.auth.spotify_disconnect(token)

    def spotify_save(self, token: str, request: SaveRequest) -> SaveResult:
        return self.auth.spotify_save(token, request)
