"""Mastodon, read without auth from each handle's home instance: ``GET /api/v1/accounts/lookup`` and
``GET /api/v1/accounts/:id/statuses`` over ``requests`` (the README says why not ``Mastodon.py``).

``MASTODON_API_URL``, when set, sends every instance's requests to that one server (tests, staging);
unset, ``name@instance`` is read from ``https://instance`` (or the host its WebFinger names), each host
checked to be on the public internet first (``public_hosts``: a handle is a stranger's choice of URL).
As the other clients, every failure becomes a domain exception with a message a person can act on, a
rate limit is never slept on, and nothing is returned until every page is read, so nothing is stored half.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from ..exceptions import AccountNotFound, AccountUnavailable, HypoTweetError, RateLimited, UpstreamError
from ..formatting import human_duration
from . import public_hosts
from .handles import BLUESKY_RE, MAX_DOMAIN_CHARS, parse_handle
from .mastodon_html import visible_text
from .public_hosts import NotPublicHost, Resolver
from .records import FetchedPost, FetchedProfile, json_count, json_time, post_order

PAGE_SIZE = 40  # the most /statuses serves a page
VISIBLE = ("public", "unlisted")
LOOKUP = "/api/v1/accounts/lookup"
WEBFINGER = "/.well-known/webfinger"
ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")
#: A page of 40 statuses is some 200 KB; an answer past this is refused unread (a hostile instance's).
MAX_ANSWER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class MastodonUser(FetchedProfile):
    """A Mastodon account: ``id`` is its key here (see :func:`account_key`), ``username`` its full handle
    ``name@instance``, ``account_id`` the instance's own id, ``api_host`` the host its API is read from
    (the handle's instance, or the one its WebFinger names)."""

    account_id: str = ""
    api_host: str = ""


@dataclass(frozen=True)
class MastodonPost(FetchedPost):
    """An original public or unlisted status: ``id`` is the instance's (a snowflake: longer is newer),
    ``text`` what a reader sees, links written out."""


class MastodonClient:
    """What the app reads from Mastodon: one account by handle and its original public posts.

    Without ``api_url``, each host is a stranger's choice: it is checked to be a public name before every
    request and connected to at the checked addresses only (``public_hosts``)."""

    platform = "mastodon"

    def __init__(self, api_url: str | None = None, timeout: float = 10, resolver: Resolver | None = None):
        self.api_url = (api_url or "").rstrip("/") or None
        self.timeout = timeout
        self.resolve = resolver or public_hosts.system_resolver
        self.pins: dict[str, list[str]] = {}
        self.session = requests.Session() if self.api_url else public_hosts.pinned_session(self.pins)
        self.session.headers["Accept"] = "application/json"

    @classmethod
    def from_config(cls, config) -> MastodonClient:
        return cls(config.get("MASTODON_API_URL") or None, config["MASTODON_TIMEOUT"])

    def base_url(self, instance: str) -> str:
        """Where the API of ``instance`` is read: ``MASTODON_API_URL`` when set, else the instance over HTTPS."""
        return self.api_url or f"https://{instance}"

    def get_user(self, username: str) -> MastodonUser:
        """The account of ``name@instance`` on its home instance (the one the domain's WebFinger names when
        the domain itself has no such account); refused when it asked not to be indexed, is suspended, or
        has moved."""
        handle = parse_handle(username, "mastodon").name
        name, instance = handle.split("@", 1)
        host, body = self._lookup(instance, name, handle)
        try:
            account_id, written = str(body["id"]), str(body.get("username") or name)
        except (KeyError, TypeError) as exc:
            raise UpstreamError(f"{host} sent an account without an id.") from exc
        handle = f"{written}@{instance}"
        if body.get("suspended") is True:
            raise AccountUnavailable(f"@{handle} has been suspended by {host}, so its posts cannot be read.")
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
            api_host=host,
            description=visible_text(body.get("note") or ""),
            profile_image_url=avatar_url(body.get("avatar_static") or body.get("avatar")),
            followers_count=json_count(body.get("followers_count")),
            following_count=json_count(body.get("following_count")),
            tweet_count=json_count(body.get("statuses_count")),
        )

    def _lookup(self, instance: str, name: str, handle: str) -> tuple[str, dict]:
        """The host whose API serves ``handle`` and its account: the handle's domain, or when that answers
        404 the host its WebFinger's ``self`` link names (one hop, checked like any host)."""
        try:
            return instance, self._get(instance, LOOKUP, {"acct": name}, handle, lookup=True)
        except _Missing as missing:
            home = webfinger_home(self._webfinger(instance, f"{name}@{instance}"), instance)
            if home is None or home == instance:
                raise missing.error from None
        try:
            return home, self._get(home, LOOKUP, {"acct": handle}, handle, lookup=True)
        except _Missing as missing:
            raise missing.error from None

    def _webfinger(self, host: str, acct: str) -> Any:
        """The JRD of ``acct:`` on ``host`` (None when it has none or fails: the lookup's 404 then stands)."""
        try:
            response, body = self._request(host, WEBFINGER, {"resource": f"acct:{acct}"})
        except (UpstreamError, RateLimited):
            return None
        return body if response.status_code == 200 else None

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
        host = user.api_host or user.username.split("@", 1)[1]
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
                page, response = self._get_list(host, path, params, user.username)
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

    def _get(self, host: str, path: str, params: dict[str, str], handle: str, lookup: bool = False) -> dict:
        response, body = self._request(host, path, params)
        if response.status_code != 200:
            error = _http_error(response, body, handle, host, lookup)
            raise _Missing(error) if lookup and response.status_code == 404 else error
        if not isinstance(body, dict):
            raise UpstreamError(f"{host} sent a malformed answer (not a Mastodon account). Try again later.")
        return body

    def _get_list(self, host: str, path: str, params: dict[str, str], handle: str) -> tuple[list, requests.Response]:
        response, body = self._request(host, path, params)
        if response.status_code != 200:
            raise _http_error(response, body, handle, host, False)
        if not isinstance(body, list):
            raise UpstreamError(f"{host} sent a malformed page of posts. Try again later.")
        return body, response

    def _request(self, host: str, path: str, params: dict[str, str]) -> tuple[requests.Response, Any]:
        """One GET of ``path`` on ``host`` (checked to be public first unless ``api_url`` is set) and its
        JSON (None when not JSON), read up to MAX_ANSWER_BYTES; redirects are not followed."""
        if self.api_url is None:
            self.pins[host] = public_hosts.public_addresses(host, 443, self.resolve, "Mastodon instance")
        deadline = time.monotonic() + 3 * self.timeout
        try:
            with self.session.get(
                self.base_url(host) + path, params=params, timeout=self.timeout, allow_redirects=False, stream=True
            ) as response:
                body = public_hosts.read_bounded(response, MAX_ANSWER_BYTES, deadline, host)
        except requests.Timeout as exc:
            raise UpstreamError(f"{host} did not answer within {self.timeout:g} seconds. Try again later.") from exc
        except requests.RequestException as exc:
            raise UpstreamError(
                f"Could not reach the Mastodon instance {host} (network error). Try again later."
            ) from exc
        if response.status_code == 200 and body is None and path != WEBFINGER:
            raise UpstreamError(f"{host} sent a malformed answer (not JSON). Is it a Mastodon server?")
        return response, body


class _Missing(Exception):
    """A lookup answered 404: ``error`` is what to say unless the domain's WebFinger names another host."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def webfinger_home(jrd: Any, domain: str) -> str | None:
    """The host of the ``self`` link (an ActivityPub actor) in a WebFinger answer of ``domain``; None when
    there is none; ``NotPublicHost`` when the link is not an HTTPS URL of a domain name."""
    links = jrd.get("links") if isinstance(jrd, dict) else None
    for link in links if isinstance(links, list) else ():
        if not isinstance(link, dict) or link.get("rel") != "self" or not isinstance(link.get("href"), str):
            continue
        if str(link.get("type") or "").split(";")[0].strip() not in ACTIVITY_TYPES:
            continue
        href = link["href"]
        refused = NotPublicHost(
            f"{domain}'s WebFinger sends its accounts to {href[:80]}, which is not a public Mastodon instance: "
            "this server reads only instances at a domain name over HTTPS."
        )
        try:
            parts = urlsplit(href)
            port = parts.port
        except ValueError as exc:
            raise refused from exc
        host = (parts.hostname or "").rstrip(".")
        if parts.scheme != "https" or parts.username or parts.password or port not in (None, 443):
            raise refused
        if not BLUESKY_RE.fullmatch(host) or len(host) > MAX_DOMAIN_CHARS:
            raise refused
        return host.lower()
    return None


def account_key(instance: str, account_id: str) -> str:
    """The key of an account read from Mastodon: ``m:<instance>:<id>`` (ids are per instance; no X id, DID or
    import's key looks like it); one longer than the key column becomes a stable digest, ``m:sha1:<hex>``."""
    key = f"m:{instance.lower()}:{account_id}"
    if len(key) <= 40:
        return key
    return "m:sha1:" + hashlib.sha1(key.encode()).hexdigest()[:33]


def avatar_url(value: Any) -> str | None:
    """The account's picture, an HTTPS URL on its instance's media host (kept for the API; the pages show
    initials instead, as the CSP allows pictures from X's and Bluesky's hosts only)."""
    return value if isinstance(value, str) and value.startswith("https://") and len(value) <= 500 else None


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


def _http_error(response: requests.Response, body: Any, handle: str, host: str, lookup: bool) -> Exception:
    """The domain error of a non-200 answer: Mastodon's errors are ``{"error": text}``."""
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
