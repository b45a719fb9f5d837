"""Bluesky's public AppView, read without auth: ``app.bsky.actor.getProfile`` and
``app.bsky.feed.getAuthorFeed`` over ``requests`` (the README says why not the ``atproto`` SDK).

Like the X client, it turns every failure into a domain exception with a message a person can act on,
never sleeps on a rate limit, and returns nothing until every page is read, so nothing is stored half.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from ..exceptions import (
    AccountNotFound,
    AccountUnavailable,
    HypoTweetError,
    RateLimited,
    UpstreamAuthFailed,
    UpstreamError,
)
from ..formatting import human_duration
from .handles import parse_handle
from .records import FetchedPost, FetchedProfile, json_count, json_time, post_order

PUBLIC_APPVIEW = "https://public.api.bsky.app"
PAGE_SIZE = 100  # the most getAuthorFeed serves a page
#: Empty pages with a new cursor followed in a row (the AppView drops posts it hides after paging), then
#: the feed counts as stopped early.
MAX_EMPTY_PAGES = 3
REPOST = "app.bsky.feed.defs#reasonRepost"
PIN = "app.bsky.feed.defs#reasonPin"
POST = "app.bsky.feed.post"
LINK = "app.bsky.richtext.facet#link"
NO_UNAUTHENTICATED = "!no-unauthenticated"
TAKEN_DOWN = ("AccountTakedown", "RepoTakendown")
DEACTIVATED = ("AccountDeactivated", "RepoDeactivated", "RepoSuspended")


@dataclass(frozen=True)
class BlueskyUser(FetchedProfile):
    """A Bluesky profile: ``id`` is the account's key here (its DID, see :func:`account_key`), ``username``
    its handle."""

    did: str = ""


@dataclass(frozen=True)
class BlueskyPost(FetchedPost):
    """An original post: ``id`` is its record key (a TID, sortable by time), ``text`` with links written out."""


class FeedEndedEarly(UpstreamError):
    """The feed promised another page (a cursor) and sent none, or the same page again."""


class BlueskyClient:
    """What the app reads from Bluesky: one profile and that account's original posts."""

    platform = "bluesky"

    def __init__(self, api_url: str = PUBLIC_APPVIEW, timeout: float = 10):
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"

    @classmethod
    def from_config(cls, config) -> BlueskyClient:
        return cls(config["BLUESKY_API_URL"], config["BLUESKY_TIMEOUT"])

    def get_user(self, username: str) -> BlueskyUser:
        """The profile of the handle (``name.bsky.social``); refused when its author asked not to be shown
        to logged-out readers."""
        handle = parse_handle(username, "bluesky").name
        body = self._get("app.bsky.actor.getProfile", {"actor": handle}, handle)
        try:
            did, written = str(body["did"]), str(body["handle"])
        except (KeyError, TypeError) as exc:
            raise UpstreamError("Bluesky sent a profile without a DID or handle.") from exc
        written = handle if written == "handle.invalid" else written.lower()
        labels = body.get("labels") or []
        if any(isinstance(label, dict) and label.get("val") == NO_UNAUTHENTICATED for label in labels):
            raise AccountUnavailable(
                f"@{written} has asked Bluesky not to show their posts to people who are not logged in "
                f"(the {NO_UNAUTHENTICATED} label, “logged-out visibility” in their settings). This app reads "
                "Bluesky without logging in, so it respects that choice and does not read their posts."
            )
        return BlueskyUser(
            id=account_key(did),
            did=did,
            username=written,
            name=str(body.get("displayName") or "").strip()[:100] or written,
            description=str(body.get("description") or ""),
            profile_image_url=_text_or_none(body.get("avatar")),
            followers_count=json_count(body.get("followersCount")),
            following_count=json_count(body.get("followsCount")),
            tweet_count=json_count(body.get("postsCount")),
        )

    def get_tweets(
        self,
        user: BlueskyUser,
        limit: int,
        since_id: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[BlueskyPost]:
        """The account's newest original posts (no reposts, no replies, no pinned duplicate), newest first,
        at most ``limit``. Pages of 100 are read until ``limit``, the end of the feed, or a post no newer
        than ``since_id`` (the newest stored). Any failure raises before anything is returned."""
        posts: list[BlueskyPost] = []
        seen: set[str] = set()
        cursor: str | None = None
        pages = empty = 0
        while len(posts) < limit:
            params = {"actor": user.did or user.username}
            params |= {"limit": str(PAGE_SIZE), "filter": "posts_no_replies"}
            if cursor:
                params["cursor"] = cursor
            try:
                body = self._get("app.bsky.feed.getAuthorFeed", params, user.username)
            except HypoTweetError as exc:
                if pages:
                    exc.message += f" This happened after {len(posts):,} posts had been read; nothing was stored."
                raise
            pages += 1
            feed = body.get("feed")
            if not isinstance(feed, list):
                raise UpstreamError("Bluesky sent a feed page without a feed.")
            reached = False
            for item in feed:
                post = _original_post(item, user)
                if post is None or post.id in seen:
                    continue
                if since_id is not None and post_order(post.id) <= post_order(since_id):
                    reached = True
                    break
                seen.add(post.id)
                posts.append(post)
                if len(posts) >= limit:
                    break
            if progress is not None:
                progress(len(feed))
            next_cursor = body.get("cursor")
            if reached or not next_cursor:
                break
            empty = 0 if feed else empty + 1
            if empty > MAX_EMPTY_PAGES or next_cursor == cursor:
                raise FeedEndedEarly(
                    f"Bluesky stopped serving @{user.username}'s posts after {len(posts):,} (it promised another "
                    "page and sent none); nothing was stored. Try again later."
                )
            cursor = str(next_cursor)
        return posts

    def _get(self, method: str, params: dict[str, str], handle: str) -> dict:
        try:
            response = self.session.get(f"{self.api_url}/xrpc/{method}", params=params, timeout=self.timeout)
        except requests.Timeout as exc:
            raise UpstreamError(f"Bluesky did not answer within {self.timeout:g} seconds. Try again later.") from exc
        except requests.RequestException as exc:
            raise UpstreamError("Could not reach Bluesky (network error). Try again later.") from exc
        if response.status_code != 200:
            raise _http_error(response, handle, self.api_url)
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamError("Bluesky sent a malformed answer. Try again later.") from exc
        if not isinstance(body, dict):
            raise UpstreamError("Bluesky sent a malformed answer. Try again later.")
        return body


def account_key(did: str) -> str:
    """The key of an account read from Bluesky: its DID, which never looks like an X id or an import's key
    (a ``did:web`` longer than the key column is shortened to a stable digest of itself)."""
    if not did.startswith("did:"):
        raise UpstreamError("Bluesky sent a profile whose DID is not one.")
    if len(did) <= 40:
        return did
    return "did:sha1:" + hashlib.sha1(did.encode()).hexdigest()[:31]


def _original_post(item: Any, user: BlueskyUser) -> BlueskyPost | None:
    """The feed item's post when it is the author's own original one, else None (a repost, a pin, a reply)."""
    if not isinstance(item, dict):
        return None
    reason = (item.get("reason") or {}).get("$type") if isinstance(item.get("reason"), dict) else None
    if reason in (REPOST, PIN):
        return None
    post = item.get("post")
    if not isinstance(post, dict):
        return None
    author = post.get("author") or {}
    record = post.get("record") or {}
    if author.get("did") and user.did and author["did"] != user.did:
        return None
    if not isinstance(record, dict) or record.get("$type", POST) != POST or record.get("reply"):
        return None
    try:
        rkey = str(post["uri"]).rsplit("/", 1)[-1]
        text = record.get("text") or ""
        created = json_time(record.get("createdAt")) or json_time(post.get("indexedAt"))
    except (KeyError, TypeError) as exc:
        raise UpstreamError("Bluesky sent a post without a URI.") from exc
    if not rkey or len(rkey) > 40 or created is None or not isinstance(text, str):
        raise UpstreamError("Bluesky sent a post without a record key, text or date.")
    return BlueskyPost(id=rkey, text=with_links(text, record.get("facets")), created_at=created)


def with_links(text: str, facets: Any) -> str:
    """The post's text with each link facet's shortened label replaced by the link itself (as X's texts
    hold their t.co links), so the model sees one link mark there. Facets index UTF-8 bytes."""
    if not isinstance(facets, list):
        return text
    raw = text.encode("utf-8")
    spans = []
    for facet in facets:
        if not isinstance(facet, dict):
            continue
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        links = [f.get("uri") for f in facet.get("features") or [] if isinstance(f, dict) and f.get("$type") == LINK]
        if not links or not isinstance(links[0], str) or not isinstance(start, int) or not isinstance(end, int):
            continue
        if 0 <= start < end <= len(raw):
            spans.append((start, end, links[0]))
    pieces: list[bytes] = []
    position = 0
    for start, end, uri in sorted(spans):
        if start < position:  # overlapping facets: keep the first
            continue
        pieces += [raw[position:start], uri.encode("utf-8")]
        position = end
    pieces.append(raw[position:])
    return b"".join(pieces).decode("utf-8", errors="replace")


def _text_or_none(value: Any) -> str | None:
    return value[:500] if isinstance(value, str) and value else None


def _http_error(response: requests.Response, handle: str, api_url: str) -> Exception:
    """The domain error of a non-200 answer: XRPC errors are ``{"error": name, "message": text}``."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    name, message = str(body.get("error") or ""), str(body.get("message") or "")
    status = response.status_code
    if status == 429:
        return _rate_limited(response)
    if status == 401:
        return UpstreamAuthFailed(
            f"The Bluesky server at {api_url} asks for a login ({name or 'AuthRequired'}), but this app reads only "
            "what Bluesky shows to everyone. The administrator should set BLUESKY_API_URL to the public AppView, "
            f"{PUBLIC_APPVIEW}."
        )
    if status >= 500:
        return UpstreamError(f"Bluesky's servers failed ({status}). Try again in a few minutes.")
    lowered = message.lower()
    if name in TAKEN_DOWN or "suspended" in lowered or "taken down" in lowered:
        return AccountUnavailable(
            f"@{handle} has been suspended or taken down by Bluesky, so its posts cannot be read."
        )
    if name in DEACTIVATED or "deactivated" in lowered:
        return AccountUnavailable(f"@{handle} has deactivated their Bluesky account, so its posts cannot be read.")
    if name in ("BlockedActor", "BlockedByActor"):
        return AccountUnavailable(f"Bluesky will not show @{handle}'s posts here ({name}).")
    if status in (400, 404) and ("not found" in lowered or name in ("NotFound", "ProfileNotFound")):
        return AccountNotFound(
            f"Bluesky has no account @{handle}. Check the spelling (a handle like name.bsky.social)."
        )
    detail = f"{name}: {message}" if name and message else name or message or f"HTTP {status}"
    return UpstreamError(f"Bluesky refused the request ({status}, {detail[:200]}).")


def _rate_limited(response: requests.Response) -> RateLimited:
    """Bluesky says when its limit resets (``ratelimit-reset``, epoch seconds) or how long to wait (``retry-after``)."""
    wait = None
    reset = response.headers.get("ratelimit-reset")
    retry = response.headers.get("retry-after")
    if reset and reset.isdigit():
        wait = max(1, int(reset) - int(time.time()) + 1)
    elif retry and retry.isdigit():
        wait = max(1, int(retry))
    elif retry:
        try:
            wait = max(1, int(parsedate_to_datetime(retry).timestamp() - time.time()) + 1)
        except (TypeError, ValueError):
            wait = None
    when = f"in {human_duration(wait)}" if wait else "in 5 minutes"
    return RateLimited(f"Bluesky's rate limit for this server is used up. Try again {when}.", retry_after=wait or 300)
