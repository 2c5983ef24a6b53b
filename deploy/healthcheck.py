"""Container health probe: exit 0 when ``URL`` answers 2xx/3xx within the timeout, else 1.

The slim Python images have no curl or wget; this uses only the standard library.

    python /app/deploy/healthcheck.py http://127.0.0.1:8101/readyz [timeout_seconds]
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def probe(url: str, timeout_s: float = 4.0) -> tuple[bool, str]:
    """``(healthy, reason)``; a 4xx/5xx answer (e.g. /readyz 503 while loading) is unhealthy."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (fixed URL)
            return True, f"{response.status} from {url}"
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} from {url}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url} unreachable: {exc}"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    healthy, reason = probe(argv[1], float(argv[2]) if len(argv) == 3 else 4.0)
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
