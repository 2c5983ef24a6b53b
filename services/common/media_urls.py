"""Which outside URLs PixelPlay ever stores or puts on a page: https on the hosts each kind lives on.

An answer from iTunes or Spotify is untrusted: a URL on any other host, or not https, is dropped
by the enricher before it is stored, and again by the UI before it is rendered.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# A leading dot means "this domain's subdomains"; otherwise the host must match exactly.
ART_HOSTS = ("i.scdn.co", "mosaic.scdn.co", "image-cdn-ak.spotifycdn.com", ".mzstatic.com")
PREVIEW_HOSTS = (".itunes.apple.com", ".mzstatic.com")
STORE_LINK_HOSTS = ("music.apple.com", "itunes.apple.com", "open.spotify.com")
SPOTIFY_TRACK_ID = re.compile(r"^[0-9A-Za-z]{22}$")


def _host_allowed(host: str, hosts: tuple[str, ...]) -> bool:
    return any(host.endswith(h) if h.startswith(".") else host == h for h in hosts)


def allowed_url(url: object, hosts: tuple[str, ...]) -> str | None:
    """``url`` (stripped) when it is https on one of ``hosts`` with no credentials; else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or parts.username or parts.password or not host:
        return None
    if any(c.isspace() or ord(c) < 32 for c in url):
        return None
    return url if _host_allowed(host, hosts) else None


def spotify_track_url(track_id: str) -> str:
    return f"https://open.spotify.com/track/{track_id}"


def spotify_embed_url(track_id: str) -> str | None:
    """Spotify's embed player for a track id; None for anything that is not a track id."""
    if not SPOTIFY_TRACK_ID.fullmatch(track_id or ""):
        return None
    return f"https://open.spotify.com/embed/track/{track_id}"
