"""How texts, times and durations are read and written for people and for JSON, in one place."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second, like ``2021-01-03T17:30:00Z``; a naive time is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + "Z"


def human_duration(seconds: int) -> str:
    """A wait in words: "1 second", "45 seconds", "3 minutes", "2 hours"."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{round(minutes / 60)} hours"


#: Unicode categories a reader does not see: spaces, line and paragraph separators, controls, and format
#: characters (zero-width spaces and joiners, bidirectional marks and overrides, the BOM).
INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: only whitespace and invisible characters (an empty text too)."""
    return all(unicodedata.category(ch) in INVISIBLE_CATEGORIES for ch in text)


def some_handles(usernames: list[str], most: int = 6) -> str:
    """Handles for a message, ``@a, @b and 12 more`` past ``most``: a message about thousands of accounts
    stays short."""
    named = ", ".join("@" + u for u in usernames[:most])
    return named + (f" and {len(usernames) - most:,} more" if len(usernames) > most else "")
