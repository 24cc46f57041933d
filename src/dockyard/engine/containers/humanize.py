"""go-units ``HumanDuration``: the daemon computes ``Status`` strings (``Up 6 seconds``) with it, so the engine
needs it too (the CLI's copy is in ``cli/output.py``, which the engine may not import)."""

from __future__ import annotations

__all__ = ["human_duration"]


def human_duration(seconds: float) -> str:
    """``Less than a second``, ``1 second``, ``7 seconds``, ``About a minute``, ``3 minutes``, ``About an hour``,
    ``5 hours``, ``3 days``, ``2 weeks``, ``4 months``, ``2 years``."""
    if seconds < 1:
        return "Less than a second"
    if int(seconds) == 1:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"
