"""Build X account archives shaped like the real ones, in memory, for tests.

tweets = [archive_tweet("1", "Fish & chips", datetime(2020, 6, 6, 13, 2, 35, tzinfo=UTC))]
data = build_archive("jane_doe", "12345", "Jane Doe", tweets)   # bytes of a .zip
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime


def archive_time(moment: datetime) -> str:
    """Format like the archive: ``Sat Jun 06 13:02:35 +0000 2020`` (locale-independent)."""
    moment = moment.astimezone(UTC)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{days[moment.weekday()]} {months[moment.month - 1]} {moment:%d %H:%M:%S} +0000 {moment.year}"


def archive_tweet(tweet_id: str, text: str, created_at: datetime, in_reply_to: str | None = None) -> dict:
    """One entry of tweets.js: ``{"tweet": {...}}`` with every number a string and the text HTML-escaped."""
    tweet = {
        "edit_info": {
            "initial": {
                "editTweetIds": [tweet_id],
                "editableUntil": "2020-06-06T14:02:35.000Z",
                "editsRemaining": "5",
                "isEditEligible": True,
            }
        },
        "retweeted": False,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
        "display_text_range": ["0", str(len(text))],
        "favorite_count": "3",
        "id_str": tweet_id,
        "truncated": False,
        "retweet_count": "1",
        "id": tweet_id,
        "created_at": archive_time(created_at),
        "favorited": False,
        "full_text": html.escape(text, quote=False),
        "lang": "en",
    }
    if in_reply_to is not None:
        tweet |= {
            "in_reply_to_status_id_str": in_reply_to,
            "in_reply_to_status_id": in_reply_to,
            "in_reply_to_user_id_str": "999",
            "in_reply_to_screen_name": "someone",
        }
    return {"tweet": tweet}


def archive_note(note_id: str, text: str, created_at: datetime) -> dict:
    """One entry of note-tweet.js (a long post's full text)."""
    stamp = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "noteTweet": {
            "noteTweetId": note_id,
            "updatedAt": stamp,
            "lifecycle": {"value": "live"},
            "core": {"styletags": [], "urls": [], "text": text, "mentions": [], "cashtags": [], "hashtags": []},
            "createdAt": stamp,
        }
    }


def ytd_js(kind: str, part: int, entries: Sequence[dict]) -> bytes:
    """A data/*.js file: ``window.YTD.<kind>.part<part> = [...]`` as X writes it."""
    return f"window.YTD.{kind}.part{part} = {json.dumps(list(entries), indent=2)}".encode()


def build_archive(
    username: str,
    account_id: str,
    display_name: str,
    tweets: Sequence[dict],
    note_tweets: Sequence[dict] = (),
    parts: int = 1,
    tweets_name: str = "tweets",
) -> bytes:
    """Return the bytes of an archive .zip: account.js (with an email), tweets split over ``parts`` files
    (``data/tweets.js``, ``data/tweets-part1.js``...), note-tweet.js when notes are given, and the
    unrelated files a real archive holds. ``tweets_name="tweet"`` gives the older ``data/tweet.js``."""
    account = [
        {
            "account": {
                "email": "owner@example.com",
                "createdVia": "web",
                "username": username,
                "accountId": account_id,
                "createdAt": "2012-01-01T00:00:00.000Z",
                "accountDisplayName": display_name,
            }
        }
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Your archive.html", "<html><body>Your archive</body></html>")
        archive.writestr("data/manifest.js", 'window.__THAR_CONFIG = {"userInfo": {}}')
        archive.writestr("data/account.js", ytd_js("account", 0, account))
        for part in range(parts):
            name = f"data/{tweets_name}.js" if part == 0 else f"data/{tweets_name}-part{part}.js"
            archive.writestr(name, ytd_js(tweets_name, part, tweets[part::parts]))
        if note_tweets:
            archive.writestr("data/note-tweet.js", ytd_js("note_tweet", 0, note_tweets))
        archive.writestr("data/tweets_media/1-abc.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    return buffer.getvalue()
