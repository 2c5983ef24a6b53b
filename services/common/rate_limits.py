"""How a per-minute limit becomes a sliding-window capacity, and the steady pace it allows.

Shared by the enricher (its limiters) and by whoever reports progress (search's ETA, the batch).
"""

from __future__ import annotations

import math


def capacity_for(calls_per_minute: int, window_s: float) -> int:
    """Calls allowed in one window: the per-minute limit scaled to the window, at least one."""
    return max(1, math.floor(calls_per_minute * window_s / 60))


def calls_per_second(calls_per_minute: int, window_s: float) -> float:
    """The steady pace of that limit (capacity rounds down, so it may be below the per-minute figure)."""
    return capacity_for(calls_per_minute, window_s) / window_s
