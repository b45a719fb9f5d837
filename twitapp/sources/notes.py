"""Long posts ("note tweets") of an X archive: matched to the truncated tweets they complete.

tweets.js holds only the first ~280 characters of a long post, note-tweet.js its full text, and nothing
links the two. A note replaces a tweet's text when either
  - the tweet's visible text (without the trailing "…" and t.co links X appends) is a non-empty prefix
    of the note's text and both were created within 10 minutes, or
  - both were created in the same second.
A tweet takes the note matching both ways first, then by prefix (closest in time), then by time alone;
each note is used at most once, retweets never take one, and unmatched notes are ignored.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..exceptions import ImportFailed, UploadTooLarge
from .records import ImportedTweet, checked_text, decode_post_text

NOTE_WINDOW = timedelta(minutes=10)


def read_notes(entries: Iterator[Any], name: str, max_posts: int) -> list[tuple[datetime, str]]:
    """Return (createdAt in UTC, full text) of each long post in note-tweet.js (at most ``max_posts``)."""
    notes = []
    for number, entry in enumerate(entries, start=1):
        if number > max_posts:
            raise UploadTooLarge(f"{name} holds more than {max_posts:,} long posts, the most one account may import.")
        note = entry.get("noteTweet") if isinstance(entry, dict) else None
        core = note.get("core") if isinstance(note, dict) else None
        text = core.get("text") if isinstance(core, dict) else None
        moment = _iso_time(note.get("createdAt")) if isinstance(note, dict) else None
        if not isinstance(text, str) or moment is None:
            raise ImportFailed(
                f"Long post {number} in {name} lacks its text or a readable createdAt; the file is damaged."
            )
        notes.append((moment, checked_text(decode_post_text(text), f"The text of long post {number} in {name}")))
    return notes


def _iso_time(value: object) -> datetime | None:
    """Parse an ISO 8601 time such as ``2023-06-06T13:02:35.000Z`` to UTC; None if it is not one (or UTC
    cannot hold it)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is None:
            return None
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


class NoteMatcher:
    """Gives truncated long posts their full text, tweet by tweet in the files' order (the rule above).

    Both ways of matching need the two within NOTE_WINDOW, so each tweet only looks at the notes of
    that window (found by bisection): archives can hold tens of thousands of tweets and many notes."""

    def __init__(self, notes: list[tuple[datetime, str]]):
        self._notes = sorted(notes)
        self._times = [moment for moment, _ in self._notes]
        self._used: set[int] = set()

    def attach(self, tweet: ImportedTweet) -> ImportedTweet:
        if tweet.is_retweet or not self._notes:
            return tweet
        low = bisect_left(self._times, tweet.created_at - NOTE_WINDOW)
        high = bisect_right(self._times, tweet.created_at + NOTE_WINDOW)
        best = _best_note(tweet, [(i, self._notes[i]) for i in range(low, high) if i not in self._used])
        if best is None:
            return tweet
        self._used.add(best)
        return replace(tweet, text=self._notes[best][1])


def _best_note(tweet: ImportedTweet, candidates: list[tuple[int, tuple[datetime, str]]]) -> int | None:
    """Return the index of the note that fits ``tweet`` best, or None."""
    visible = _visible_text(tweet.text)
    ranked = []
    for index, (moment, text) in candidates:
        same_second = moment.replace(microsecond=0) == tweet.created_at
        prefix = bool(visible) and text.startswith(visible)
        if same_second or prefix:
            ranked.append(((not (same_second and prefix), not prefix, abs(moment - tweet.created_at)), index))
    return min(ranked)[1] if ranked else None


def _visible_text(text: str) -> str:
    """``text`` without the trailing "…" and t.co links X appends when it truncates a long post."""
    while True:
        text = text.rstrip().rstrip("…").rstrip()
        words = text.rsplit(None, 1)
        if not words or not words[-1].startswith("https://t.co/"):
            return text
        text = words[0] if len(words) == 2 else ""
