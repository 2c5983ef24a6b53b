"""What every UI handler works with: the three typed service clients and the UI's own limits.

Built once in ``app.py`` from ``UISettings`` and passed to each handler module, so this is the one
place the handlers' limits are read from the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.clients.auth import AuthClient
from services.common.clients.encoder import EncoderClient
from services.common.clients.search import SearchClient
from services.ui.settings import UISettings


@dataclass(frozen=True)
class Limits:
    page_size: int  # songs per page of results
    history_limit: int  # history entries shown
    max_upload_bytes: int  # the largest photo read from an upload
    thumbnail_px: int  # the longer side of a history thumbnail
    session_max_age_s: int  # the session cookie may live as long as the session can

    @classmethod
    def from_settings(cls, settings: UISettings) -> Limits:
        return cls(
            page_size=settings.page_size,
            history_limit=settings.history_limit,
            max_upload_bytes=settings.max_upload_bytes,
            thumbnail_px=settings.thumbnail_px,
            session_max_age_s=int(settings.session_absolute_days * 86400),
        )


@dataclass
class Context:
    search: SearchClient
    auth: AuthClient
    encoder: EncoderClient
    limits: Limits
    spotify_redirect_url: str | None = None

    @classmethod
    def from_settings(cls, settings: UISettings) -> Context:
        return cls(
            search=SearchClient(settings.search_url, settings=settings),
            # The service token lets auth believe the browser address the UI forwards at sign-in.
            auth=AuthClient(
                settings.auth_url, settings=settings, service_token=settings.service_token.get_secret_value()
            ),
            encoder=EncoderClient(settings.encoder_url, settings=settings),
            limits=Limits.from_settings(settings),
            spotify_redirect_url=settings.spotify_redirect_url,
        )

    def close(self) -> None:
        for client in (self.encoder, self.search, self.auth):
            client.close()

    def readiness(self) -> dict[str, bool]:
        """Whether each service answers its ``/readyz`` with 200 right now (no retries)."""
        clients = {"encoder": self.encoder, "search": self.search, "auth": self.auth}
        return {name: client.ready(timeout_s=3) for name, client in clients.items()}
