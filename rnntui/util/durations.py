"""Durations for people: one format for the CLI's progress line and the app's status bar."""

from __future__ import annotations

import math


def format_duration(seconds: float | None) -> str:
    """ "1:02:03" past an hour, else "02:03"; "--:--" when unknown (None, inf, NaN, or below
    zero: the time left of a run already past the total it was planned with)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
