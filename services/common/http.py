"""Base for the typed HTTP clients of each service (httpx + tenacity).

Connection errors, timeouts and 5xx answers are retried with exponential backoff; a 4xx is the
caller's mistake and is raised at once as ``ServiceError`` carrying the service's own message.
"""

from __future__ import annotations

from typing import Any

import httpx
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from services.common.settings import CommonSettings, get_common_settings

REQUEST_ID_HEADER = "X-Request-ID"
SERVICE_TOKEN_HEADER = "X-Service-Token"


class ServiceError(Exception):
    """A service answered with an error status; ``detail`` is its message for people."""

    def __init__(self, service: str, status: int, detail: str):
        super().__init__(f"{service} answered {status}: {detail}")
        self.service = service
        self.status = status
        self.detail = detail


class ServiceUnavailable(ServiceError):
    """The service could not be reached (or kept failing with 5xx) after every retry."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, ServiceError) and exc.status >= 500


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return detail if isinstance(detail, str) else str(detail)


# Idle connections are dropped before uvicorn drops them (its keep-alive timeout is 5 s, the same
# as httpx's default expiry): reusing a connection the server is closing fails with ReadError.
KEEPALIVE_EXPIRY_S = 2.0


class ServiceClient:
    """One service's HTTP API. Subclasses add one typed method per endpoint."""

    service = "service"
    url_setting = ""  # the CommonSettings field holding this service's base URL, e.g. "search_url"

    def __init__(
        self,
        base_url: str | None = None,
        *,
        settings: CommonSettings | None = None,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.settings = settings or get_common_settings()
        base_url = base_url or getattr(self.settings, self.url_setting)
        headers = {SERVICE_TOKEN_HEADER: token} if token else {}
        self._http = httpx.Client(
            base_url=base_url,
            timeout=self.settings.http_timeout_s,
            headers=headers,
            transport=transport,
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S),
        )

    def ready(self, timeout_s: float | None = None) -> bool:
        """True when the service answers ``/readyz`` with 200 (within ``timeout_s``, else the
        client's timeout), at once, without retries; never raises."""
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s
        try:
            return self._http.get("/readyz", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, once: bool = False, **kwargs: Any) -> httpx.Response:
        """Send with retries; return the response for 2xx, raise ``ServiceError`` otherwise.

        ``once``: never repeat the call, for calls whose 5xx may come after an effect outside our
        services (a playlist already created in Spotify, a single-use code already spent)."""
        from services.common.observability import current_request_id

        if (rid := current_request_id()) is not None:
            kwargs.setdefault("headers", {})[REQUEST_ID_HEADER] = rid

        @retry(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(1 if once else max(1, self.settings.http_retries)),
            wait=wait_exponential_jitter(multiplier=0.2, max=3.0, jitter=0.2),
            reraise=True,
        )
        def send() -> httpx.Response:
            response = self._http.request(method, path, **kwargs)
            if response.status_code >= 400:
                raise ServiceError(self.service, response.status_code, _detail(response))
            return response

        try:
            return send()
        except httpx.TransportError as exc:
            raise ServiceUnavailable(self.service, 503, f"{self.service} unreachable: {exc}") from exc

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post_json(self, path: str, payload: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=payload, **kwargs).json()
