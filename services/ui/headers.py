"""Security headers on every UI response, as strict as Gradio's page allows.

Gradio's page needs inline scripts and styles (its config is an inline script, components set
style attributes) and evaluates small handlers, so script-src keeps 'unsafe-inline' and
'unsafe-eval'; what the policy still stops is loading code or frames from anywhere else, being
framed (clickjacking), and leaking the page address to other sites.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        # Album art and previews come from the catalog's https hosts; uploads show as blob: URLs.
        "img-src 'self' data: blob: https:",
        "media-src 'self' blob: https:",
        "font-src 'self' data:",
        "connect-src 'self'",
        # The click-to-load player is Spotify's embed page; no other site may be framed.
        "frame-src https://open.spotify.com",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def install_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
