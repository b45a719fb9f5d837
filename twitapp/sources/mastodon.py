"""Mastodon, read without auth from each handle's home instance: ``GET /api/v1/accounts/lookup`` and
``GET /api/v1/accounts/:id/statuses`` over ``requests`` (the README says why not ``Mastodon.py``).

``MASTODON_API_URL``, when set, sends every instance's requests to that one server (tests, staging);
unset, ``name@instance`` is read from ``https://instance``. As the other clients, every failure becomes a
domain exception with a message a person can act on, a rate limit is never slept on, and nothing is
returned until every page is read, so nothing is stored half.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from ..exceptions import AccountNotFound, AccountUnavailable, HypoTweetError, RateLimited, UpstreamError
from ..formatting import human_duration
from .handles import parse_handle
from .mastodon_html import visible_text
from .records import json_count, json_time, post_order

PAGE_SIZE = 40  # the most /statuses serves a page
VISIBLE = ("public", "unlisted")


@dataclass(frozen=True)
class MastodonUser:
    """A Mastodon account: ``id`` is its key here (see :func:`account_key`), ``username`` its full handle
    ``name@instance``, ``account_id`` the instance's own id, ``base_url`` where its API is read."""

    id: str
    username: str
    name: str
    account_id: str = ""
    base_url: str = ""
    description: str = ""
    profile_image_url: str | None = None
    followers_count: int | None = None
    following_count: int | None = None
    tweet_count: int | None = None


@dataclass(frozen=True)
class MastodonPost:
    """An original public or unlisted status: ``id`` is the instance's (a snowflake: longer is newer),
    ``text`` what a reader sees, links written out."""

    id: str
    text: str
    created_at: datetime


class MastodonClient:
    """What the app reads from Mastodon: one account by handle and its original public posts."""

    platform = "mastodon"

    def __init__(self, api_url: str | None = None, timeout: float = 10):
        self.api_url = (api_url or "").rstrip("/") or None
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"

    @classmethod
    def from_config(cls, config) -> MastodonClient:
        return cls(config.get("MASTODON_API_URL") or None, config["MASTODON_TIMEOUT"])

    def base_url(self, instance: str) -> str:
        """Where the API of ``instance`` is read: ``MASTODON_API_URL`` when set, else the instance over HTTPS."""
        return self.api_url or f"https://{instance}"

    def get_user(self, username: str) -> MastodonUser:
        """The account of ``name@instance`` on its home instance; refused when it asked not to be indexed,
        is suspended, or has moved."""
        handle = parse_handle(username, "mastodon").name
        name, instance = handle.split("@", 1)
        base = self.base_url(instance)
        body = self._get(base, instance, "/api/v1/accounts/lookup", {"acct": name}, handle, lookup=True)
        try:
            account_id, written = str(body["id"]), str(body.get("username") or name)
        except (KeyError, TypeError) as exc:
            raise UpstreamError(f"{instance} sent an account without an id.") from exc
        handle = f"{written}@{instance}"
        if body.get("suspended") is True:
            raise AccountUnavailable(f"@{handle} has been suspended by {instance}, so its posts cannot be read.")
        moved = body.get("moved")
        if moved:
            where = moved.get("acct") if isinstance(moved, dict) else None
            where = where if isinstance(where, str) and where else "another account"
            where = where if "@" in where or where == "another account" else f"{where}@{instance}"
            raise AccountUnavailable(
                f"@{handle} has moved to @{where}: add that account instead (the old one no longer posts)."
                if where != "another account"
                else f"@{handle} has moved to another account, so it no longer posts here."
            )
        if body.get("noindex") is True:
            raise AccountUnavailable(
                f"@{handle} has asked not to be indexed (“opt out of search engine indexing” in their Mastodon "
                "settings, noindex). This app respects that choice and does not read their posts."
            )
        return MastodonUser(
            id=account_key(instance, account_id),
            username=handle,
            name=str(body.get("display_name") or "").strip()[:100] or written,
            account_id=account_id,
            base_url=base,
            description=visible_text(body.get("note") or ""),
            followers_count=json_count(body.get("followers_count")),
            following_count=json_count(body.get("following_count")),
            tweet_count=json_count(body.get("statuses_count")),
        )

    def get_tweets(
        self,
        user: MastodonUser,
        limit: int,
        since_id: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[MastodonPost]:
        """The account's newest original public and unlisted posts (no boosts, no replies), newest first, at
        most ``limit``; pages of 40 follow ``max_id`` (the ``Link`` header's next page when given); an
        update asks only for posts after ``since_id``. Any failure raises before anything is returned."""
        posts: list[MastodonPost] = []
        seen: set[str] = set()
        instance = user.username.split("@", 1)[1]
        base = user.base_url or self.base_url(instance)
        max_id: str | None = None
        pages = 0
        while len(posts) < limit:
            params = {"exclude_reblogs": "true", "exclude_replies": "true", "limit": str(PAGE_SIZE)}
            if since_id:
                params["since_id"] = since_id
            if max_id:
                params["max_id"] = max_id
            path = f"/api/v1/accounts/{user.account_id}/statuses"
            try:
                page, response = self._get_list(base, instance, path, params, user.username)
            except HypoTweetError as exc:
                if pages:
                    exc.message += f" This happened after {len(posts):,} posts had been read; nothing was stored."
                raise
            pages += 1
            if progress is not None:
                progress(len(page))
            if not page:
                break
            for status in page:
                post = _original_post(status)
                if post is None or post.id in seen:
                    continue
                if since_id is not None and post_order(post.id) <= post_order(since_id):
                    continue
                seen.add(post.id)
                posts.append(post)
                if len(posts) >= limit:
                    break
            # The Link header's next page when the instance sends one (none there: the last page), else max_id.
            following = _next_max_id(response) if "Link" in response.headers else _oldest_id(page)
            if following is None or following == max_id:
                break
            max_id = following
        return posts

    def _get(self, base: str, host: str, path: str, params: dict[str, str], handle: str, lookup: bool = False) -> dict:
        body, _ = self._request(base, host, path, params, handle, lookup)
        if not isinstance(body, dict):
            raise UpstreamError(f"{host} sent a malformed answer (not a Mastodon account). Try again later.")
        return body

    def _get_list(
        self, base: str, host: str, path: str, params: dict[str, str], handle: str
    ) -> tuple[list, requests.Response]:
        body, response = self._request(base, host, path, params, handle, False)
        if not isinstance(body, list):
            raise UpstreamError(f"{host} sent a malformed page of posts. Try again later.")
        return body, response

    def _request(self, base: str, host: str, path: str, params: dict[str, str], handle: str, lookup: bool):
        """The JSON of one GET; ``host`` is the handle's instance, as the messages name it."""
        try:
            response = self.session.get(base + path, params=params, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise UpstreamError(f"{host} did not answer within {self.timeout:g} seconds. Try again later.") from exc
        except requests.RequestException as exc:
            raise UpstreamError(
                f"Could not reach the Mastodon instance {host} (network error). Try again later."
            ) from exc
        if response.status_code != 200:
            raise _http_error(response, handle, host, lookup)
        try:
            return response.json(), response
        except ValueError as exc:
            raise UpstreamError(f"{host} sent a malformed answer (not JSON). Is it a Mastodon server?") from exc


def account_key(instance: str, account_id: str) -> str:
    """The key of an account read from Mastodon: ``m:<instance>:<id>`` (ids are per instance; no X id, DID or
    import's key looks like it); one longer than the key column becomes a stable digest, ``m:sha1:<hex>``."""
    key = f"m:{instance.lower()}:{account_id}"
    if len(key) <= 40:
        return key
    return "m:sha1:" + hashlib.sha1(key.encode()).hexdigest()[:33]


def _original_post(status: Any) -> MastodonPost | None:
    """The status as a post when it is the author's own public or unlisted original with some text."""
    if not isinstance(status, dict):
        return None
    if status.get("reblog") or status.get("in_reply_to_id") or status.get("visibility") not in VISIBLE:
        return None
    post_id, created = status.get("id"), json_time(status.get("created_at"))
    if not isinstance(post_id, str) or not post_id or len(post_id) > 40 or created is None:
        raise UpstreamError("Mastodon sent a status without an id or date.")
    text = visible_text(status.get("content") or "")  # spoiler_text (the content warning) is left out
    if not text.strip():
        return None  # media alone
    return MastodonPost(id=post_id, text=text, created_at=created)


def _next_max_id(response: requests.Response) -> str | None:
    """The ``max_id`` of the ``Link`` header's next page (``<...?max_id=...>; rel="next"``), if any."""
    url = (response.links.get("next") or {}).get("url")
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("max_id")
    return values[0] if values and values[0] else None


def _oldest_id(page: list) -> str | None:
    ids = [s["id"] for s in page if isinstance(s, dict) and isinstance(s.get("id"), str)]
    return min(ids, key=post_order) if ids else None


def _http_error(response: requests.Response, handle: str, host: str, lookup: bool) -> Exception:
    """The domain error of a non-200 answer: Mastodon's errors are ``{"error": text}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    status = response.status_code
    if status == 429:
        return _rate_limited(response, host)
    if status in (401, 403) and error:
        return AccountUnavailable(
            f"The Mastodon instance {host} shows accounts and posts only to logged-in users ({status}: {error[:120]}), "
            f"and this app reads only what an instance shows to everyone, so @{handle} cannot be read here."
        )
    if status == 410:
        return AccountUnavailable(f"@{handle} has been suspended or deleted on {host}, so its posts cannot be read.")
    if status == 404 and lookup and error:
        return AccountNotFound(f"{host} has no account @{handle}. Check the spelling (a handle like @name@{host}).")
    if status == 404 and error:
        return AccountNotFound(f"{host} no longer has @{handle}'s posts (404: {error[:120]}).")
    if status == 404:
        return UpstreamError(f"{host} has no Mastodon API here (404). Is it a Mastodon server?")
    if 300 <= status < 400:
        return UpstreamError(f"{host} sent its API elsewhere ({status}); this app reads an instance at its address.")
    if status >= 500:
        return UpstreamError(f"The Mastodon instance {host} failed ({status}). Try again in a few minutes.")
    detail = error or f"HTTP {status}"
    return UpstreamError(f"{host} refused the request ({status}, {detail[:200]}).")


def _rate_limited(response: requests.Response, host: str) -> RateLimited:
    """Mastodon says when its limit resets (``X-RateLimit-Reset``, an ISO 8601 time) or how long to wait
    (``Retry-After``); its default is 300 requests per 5 minutes per address."""
    wait = None
    reset = response.headers.get("X-RateLimit-Reset")
    retry = response.headers.get("Retry-After")
    if reset:
        moment = json_time(reset)
        if moment is not None:
            wait = max(1, int(moment.timestamp() - time.time()) + 1)
    if wait is None and retry and retry.isdigit():
        wait = max(1, int(retry))
    elif wait is None and retry:
        try:
            wait = max(1, int(parsedate_to_datetime(retry).timestamp() - time.time()) + 1)
        except (TypeError, ValueError):
            wait = None
    when = f"in {human_duration(wait)}" if wait else "in 5 minutes"
    return RateLimited(
        f"The Mastodon instance {host}'s rate limit for this server is used up. Try again {when}.",
        retry_after=wait or 300,
    )
