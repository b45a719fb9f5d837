"""The X API v2, read through tweepy with app-only (bearer token) auth.

This module is the only one that knows tweepy. It turns every failure the API or the network can produce
into a domain exception with a message a person can act on, and never sleeps on a rate limit: a request
must not hang for 15 minutes, so a 429 becomes ``RateLimited`` with the time to retry.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import requests
import tweepy

from ..exceptions import (
    AccountNotFound,
    AccountUnavailable,
    PlanDoesNotAllowReading,
    RateLimited,
    SourceNotConfigured,
    UpstreamAuthFailed,
    UpstreamError,
)
from ..formatting import human_duration
from .handles import validate_handle
from .records import FetchedPost, FetchedProfile

TWEEPY_HOST = "https://api.twitter.com"
PAGE_SIZE = 100
USER_FIELDS = ["description", "profile_image_url", "protected", "public_metrics"]
TWEET_FIELDS = ["created_at", "note_tweet"]
IMPORT_HINT = (
    "Import the account's archive or a CSV file instead ('From a file', under 'Add an account' on the home page, "
    "or flask import), or load the demo accounts."
)

# tweepy logs every request's headers, bearer token included, at DEBUG: keep that out of any log.
logging.getLogger("tweepy").setLevel(logging.INFO)


class ReadBudget(Protocol):
    """The day's cap on posts read from X (``services.x_budget.XBudget``)."""

    def check(self) -> None: ...
    def reserve(self, posts: int) -> bool: ...
    def settle(self, reserved: int, returned: int) -> None: ...
    def exhausted(self) -> Exception: ...


@dataclass(frozen=True)
class XUser(FetchedProfile):
    """An X user: ``id`` is X's user id; ``protected`` accounts' tweets cannot be read."""

    protected: bool = False


@dataclass(frozen=True)
class XTweet(FetchedPost):
    """A tweet: ``id`` is X's, ``text`` with its t.co links."""


class _RedirectingSession(requests.Session):
    """Sends tweepy's requests to ``base_url`` instead of api.twitter.com, with a timeout on each."""

    def __init__(self, base_url: str, timeout: float):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWEEPY_HOST):
            url = self.base_url + url[len(TWEEPY_HOST) :]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class XClient:
    """What the app reads from X: one user and that user's original tweets."""

    platform = "x"

    def __init__(
        self,
        bearer_token: str | None,
        api_url: str = TWEEPY_HOST,
        timeout: float = 10,
        exclude_replies: bool = False,
        budget: ReadBudget | None = None,
    ):
        self.bearer_token = bearer_token
        self.exclude_replies = exclude_replies
        self.budget = budget
        self.stopped_by_budget = False  # the last get_tweets stopped early at the day's cap on posts read
        self._client = tweepy.Client(bearer_token=bearer_token, return_type=dict, wait_on_rate_limit=False)
        self._client.session = _RedirectingSession(api_url, timeout)
        self.timeout = timeout

    @classmethod
    def from_config(cls, config, budget: ReadBudget | None = None) -> XClient:
        return cls(
            config["X_BEARER_TOKEN"], config["X_API_URL"], config["X_TIMEOUT"], config["X_EXCLUDE_REPLIES"], budget
        )

    def get_user(self, username: str) -> XUser:
        handle = validate_handle(username)
        self._require_token()
        if self.budget is not None:
            self.budget.check()
        body = self._call(self._client.get_user, username=handle, user_fields=USER_FIELDS)
        data = body.get("data")
        if not data:
            raise _user_error(handle, body.get("errors") or [])
        metrics = data.get("public_metrics") or {}
        try:
            return XUser(
                id=str(data["id"]),
                username=data["username"],
                name=data.get("name") or data["username"],
                description=html.unescape(data.get("description") or ""),
                profile_image_url=data.get("profile_image_url"),
                followers_count=metrics.get("followers_count"),
                following_count=metrics.get("following_count"),
                tweet_count=metrics.get("tweet_count"),
                protected=bool(data.get("protected")),
            )
        except (KeyError, TypeError) as exc:
            raise UpstreamError("The X API sent a user without an id or username.") from exc

    def get_tweets(
        self, user: XUser, limit: int, since_id: str | None = None, progress: Callable[[int], None] | None = None
    ) -> list[XTweet]:
        """The user's newest original tweets (no retweets), newest first, at most ``limit``.

        Pages of 100 are read until ``limit``, the end of the timeline, or ``since_id`` is reached. Any
        failure raises before anything is returned, so callers never store a partial fetch. With a budget,
        each page is reserved before it is read and counted as what X returned; at the day's cap the first
        page raises, a later one stops the fetch with what was read (``stopped_by_budget``).
        """
        self.stopped_by_budget = False
        if user.protected:
            raise AccountUnavailable(f"@{user.username}'s tweets are protected; only approved followers can read them.")
        exclude = ["retweets", "replies"] if self.exclude_replies else ["retweets"]
        tweets: list[XTweet] = []
        token = None
        while len(tweets) < limit:
            params = dict(max_results=PAGE_SIZE, exclude=exclude, tweet_fields=TWEET_FIELDS)
            if since_id:
                params["since_id"] = since_id
            if token:
                params["pagination_token"] = token
            if self.budget is not None and not self.budget.reserve(PAGE_SIZE):
                if not tweets:
                    raise self.budget.exhausted()
                self.stopped_by_budget = True
                break
            body = self._read_page(user.id, params)
            if "data" not in body and body.get("errors"):
                raise _timeline_error(user, body["errors"])
            page = [_parse_tweet(item) for item in body.get("data") or []]
            tweets.extend(page[: limit - len(tweets)])
            if progress is not None:
                progress(len(page))
            token = (body.get("meta") or {}).get("next_token")
            if not token or not page:
                break
        return tweets

    def _read_page(self, user_id: str, params: dict) -> dict:
        """One timeline page, its reservation settled to the posts X returned (none when it failed)."""
        returned = 0
        try:
            body = self._call(self._client.get_users_tweets, user_id, **params)
            data = body.get("data")
            returned = len(data) if isinstance(data, list) else 0
            return body
        finally:
            if self.budget is not None:
                self.budget.settle(PAGE_SIZE, returned)

    def _require_token(self) -> None:
        if not self.bearer_token:
            raise x_not_configured()

    def _call(self, method, *args, **kwargs) -> dict:
        try:
            body = method(*args, **kwargs)
        except tweepy.errors.TooManyRequests as exc:
            raise _rate_limited(exc) from exc
        except tweepy.errors.Unauthorized as exc:
            raise UpstreamAuthFailed(
                "The X API refused this server's bearer token (401). The administrator must set a valid "
                "X_BEARER_TOKEN. " + IMPORT_HINT
            ) from exc
        except tweepy.errors.Forbidden as exc:
            raise _forbidden(exc) from exc
        except tweepy.errors.NotFound as exc:
            raise AccountNotFound("X does not know that account.") from exc
        except tweepy.errors.BadRequest as exc:
            raise UpstreamError(f"The X API refused the request: {_api_detail(exc)}") from exc
        except tweepy.errors.TwitterServerError as exc:
            raise UpstreamError(
                f"X's servers failed ({exc.response.status_code}). Try again in a few minutes."
            ) from exc
        except tweepy.errors.HTTPException as exc:
            raise UpstreamError(f"The X API answered with HTTP {exc.response.status_code}.") from exc
        except requests.Timeout as exc:
            raise UpstreamError(f"The X API did not answer within {self.timeout:g} seconds. Try again later.") from exc
        except requests.ConnectionError as exc:
            raise UpstreamError("Could not reach the X API (network error). Try again later.") from exc
        except ValueError as exc:  # a body that is not JSON
            raise UpstreamError("The X API sent a malformed answer. Try again later.") from exc
        if not isinstance(body, dict):
            raise UpstreamError("The X API sent a malformed answer. Try again later.")
        return body


def _parse_tweet(item: dict) -> XTweet:
    try:
        note = item.get("note_tweet") or {}
        text = note.get("text") or item["text"]
        created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
        return XTweet(id=str(item["id"]), text=html.unescape(text), created_at=created.astimezone(UTC))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UpstreamError("The X API sent a tweet without id, text or date.") from exc


def _user_error(handle: str, errors: list[dict]) -> Exception:
    detail = " ".join(str(e.get("detail") or e.get("message") or "") for e in errors).lower()
    if "suspended" in detail:
        return AccountUnavailable(f"@{handle} is suspended on X, so its tweets cannot be read.")
    if "could not find" in detail or "not found" in detail or not errors:
        return AccountNotFound(f"X has no account @{handle}. Check the spelling.")
    return UpstreamError(f"X could not return @{handle}: {detail[:200]}")


def _timeline_error(user: XUser, errors: list[dict]) -> Exception:
    kinds = " ".join(str(e.get("type", "")) + " " + str(e.get("title", "")) for e in errors).lower()
    if "not-authorized" in kinds or "authorization" in kinds:
        return AccountUnavailable(f"@{user.username}'s tweets are protected; only approved followers can read them.")
    if "not-found" in kinds:
        return AccountNotFound(f"@{user.username} no longer exists on X.")
    return UpstreamError(f"X could not return @{user.username}'s tweets.")


def _forbidden(exc: tweepy.errors.Forbidden) -> Exception:
    return PlanDoesNotAllowReading(
        "This server's X API plan does not allow reading tweets (X answered 403"
        + (", code 453" if 453 in exc.api_codes else "")
        + "; reading needs a paid plan). "
        + IMPORT_HINT
    )


def x_not_configured() -> SourceNotConfigured:
    """The answer to a request for X on a server without a bearer token, before any work is queued."""
    return SourceNotConfigured(
        "This server has no X API bearer token (X_BEARER_TOKEN), so it cannot read accounts from X. " + IMPORT_HINT
    )


def _rate_limited(exc: tweepy.errors.TooManyRequests) -> RateLimited:
    wait = None
    if exc.reset_time:
        wait = max(1, int(exc.reset_time - time.time()) + 1)
    when = f"in {human_duration(wait)}" if wait else "in 15 minutes"
    return RateLimited(f"X's rate limit for this server is used up. Try again {when}.", retry_after=wait or 900)


def _api_detail(exc: tweepy.errors.HTTPException) -> str:
    return "; ".join(exc.api_messages)[:200] or f"HTTP {exc.response.status_code}"
