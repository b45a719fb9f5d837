"""A fake X (Twitter) API v2 server on 127.0.0.1, for tests that must never reach the internet.

What it fakes
-------------
The two read endpoints HypoTweet uses, with app-only (bearer token) auth, shaped like the public API
documentation and the examples in ``../shared/xapi/*.json``:

* ``GET /2/users/by/username/<username>`` -- case-insensitive lookup answering the canonical username;
  ``user.fields`` honoured (``created_at``, ``description``, ``profile_image_url``, ``protected``,
  ``public_metrics``, ``verified``; other valid field names are accepted and ignored). A username that does
  not match ``^[A-Za-z0-9_]{1,15}$`` gets 400 (Invalid Request); an unknown user gets **200** with an
  ``errors`` entry (resource-not-found) and no ``data``; a suspended user gets 200 with a "User has been
  suspended" entry.
* ``GET /2/users/<id>/tweets`` -- newest first; ``max_results`` 5..100 (default 10, 400 outside);
  opaque ``pagination_token`` (``next_token`` is accepted too) from ``meta.next_token``, and
  ``meta.previous_token`` on later pages; ``since_id``, ``until_id``, ``start_time``, ``end_time``;
  ``exclude=retweets,replies``; only the newest 3,200 tweets of the timeline are reachable (800 when
  replies are excluded), the cap applying before the filters, as on the real API; ``tweet.fields`` honoured
  (``created_at``, ``note_tweet`` -- only on tweets that have one --, ``public_metrics``, ``author_id``,
  ``conversation_id``, ``lang``, ``referenced_tweets``, ``in_reply_to_user_id``, ``possibly_sensitive``);
  every tweet carries ``edit_history_tweet_ids``; ``meta`` has ``result_count``, ``newest_id``,
  ``oldest_id`` and ``next_token``; an empty page is exactly ``{"meta": {"result_count": 0}}``; a protected
  user's timeline is 200 with an Authorization Error entry and no ``data``; an unknown id is 200 with a
  resource-not-found entry; a non-numeric id is 400.
* Texts (``text``, ``note_tweet.text``) and the user ``description`` are HTML-escaped (``&`` ``<`` ``>``)
  as the real API does (for ``note_tweet`` and ``description`` this is assumed, not verified).
* Auth: ``Authorization: Bearer <valid_token>`` is required (``valid_token=None`` accepts anything);
  otherwise 401 with the body of ``unauthorized.json``. Unknown query parameters and unknown field names
  get 400, like the real API, so a typo in the app's request shows up in tests.
* Normal answers carry ``x-rate-limit-limit/-remaining/-reset`` headers; the limit is never enforced
  (inject a 429 with :meth:`FakeXAPI.fail`).
* Fault injection, each scoped by ``path_contains`` and counted over matching requests: :meth:`fail`
  (any status and JSON or raw body, with headers), :meth:`malformed` (200 with a body that is not JSON),
  :meth:`delay` (sleep, then answer normally: for client timeouts) and :meth:`reset_connection` (close the
  socket with a TCP RST and no answer).

What it does not fake
---------------------
Any other endpoint (404 ``about:blank``), user-context OAuth 1.0a / OAuth 2 PKCE, ``expansions``
(accepted, no ``includes``), media / polls / places, real rate limiting, edits (one id in
``edit_history_tweet_ids``), the truncated-text and ``t.co`` rewriting of long posts beyond "first 275
characters and an ellipsis", and the real API's occasional trailing empty page.

Usage::

    with FakeXAPI() as api:
        api.add_user("SenWarren", tweets=FakeXAPI.make_tweets(250))
        api.fail(429, path_contains="/tweets", after=1)      # the 2nd timeline page is rate limited
        app.config["X_API_URL"] = api.url
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

__all__ = [
    "CLIENT_FORBIDDEN",
    "FORBIDDEN_453",
    "TOO_MANY_REQUESTS",
    "UNAUTHORIZED",
    "FakeXAPI",
    "snowflake",
]

# --- bodies of the real API (see ../shared/xapi/) ------------------------------------------------------

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
CLIENT_FORBIDDEN = {
    "client_id": "12262375",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens "
    "from a Twitter developer App that is attached to a Project. You can create a project via "
    "the developer portal.",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}
#: 403 of a plan that may not read tweets (Free tier): tweepy raises Forbidden with api_codes == [453].
FORBIDDEN_453 = {
    "errors": [
        {
            "message": "You currently have access to a subset of X API V2 endpoints and limited v1.1 endpoints "
            "(e.g. media post, oauth) only. If you need access to this endpoint, you may need a "
            "different access level. You can learn more here: "
            "https://developer.x.com/en/portal/product",
            "code": 453,
        }
    ]
}
TOO_MANY_REQUESTS = {"title": "Too Many Requests", "type": "about:blank", "status": 429, "detail": "Too Many Requests"}
_DEFAULT_BODIES = {
    400: {
        "errors": [{"parameters": {}, "message": "Bad request"}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    },
    401: UNAUTHORIZED,
    403: CLIENT_FORBIDDEN,
    404: {"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"},
    429: TOO_MANY_REQUESTS,
    500: {"title": "Internal Server Error", "type": "about:blank", "status": 500, "detail": "Internal Server Error"},
    502: {"title": "Bad Gateway", "type": "about:blank", "status": 502, "detail": "Bad Gateway"},
    503: {"title": "Service Unavailable", "type": "about:blank", "status": 503, "detail": "Service Unavailable"},
    504: {"title": "Gateway Timeout", "type": "about:blank", "status": 504, "detail": "Gateway Timeout"},
}
_PROBLEMS = "https://api.twitter.com/2/problems/"

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
ID_RE = re.compile(r"^[0-9]{1,19}$")
TIMELINE_CAP = 3200
TIMELINE_CAP_NO_REPLIES = 800
RATE_WINDOW = 15 * 60
RATE_LIMITS = {"user": 300, "tweets": 1500}

USER_FIELDS = frozenset(
    [
        "affiliation",
        "connection_status",
        "created_at",
        "description",
        "entities",
        "id",
        "is_identity_verified",
        "location",
        "most_recent_tweet_id",
        "name",
        "parody",
        "pinned_tweet_id",
        "profile_banner_url",
        "profile_image_url",
        "protected",
        "public_metrics",
        "receives_your_dm",
        "subscription",
        "subscription_type",
        "url",
        "username",
        "verified",
        "verified_followers_count",
        "verified_type",
        "withheld",
    ]
)
TWEET_FIELDS = frozenset(
    [
        "article",
        "attachments",
        "author_id",
        "card_uri",
        "community_id",
        "context_annotations",
        "conversation_id",
        "created_at",
        "display_text_range",
        "edit_controls",
        "edit_history_tweet_ids",
        "entities",
        "geo",
        "id",
        "in_reply_to_user_id",
        "lang",
        "media_metadata",
        "non_public_metrics",
        "note_tweet",
        "organic_metrics",
        "possibly_sensitive",
        "promoted_metrics",
        "public_metrics",
        "referenced_tweets",
        "reply_settings",
        "scopes",
        "source",
        "text",
        "withheld",
    ]
)
USER_PARAMS = ("expansions", "tweet.fields", "user.fields")
TWEETS_PARAMS = (
    "end_time",
    "exclude",
    "expansions",
    "max_results",
    "media.fields",
    "next_token",
    "pagination_token",
    "place.fields",
    "poll.fields",
    "since_id",
    "start_time",
    "tweet.fields",
    "until_id",
    "user.fields",
)

_TWEPOCH_MS = 1288834974657  # Twitter's snowflake epoch, 2010-11-04T01:42:54.657Z


def snowflake(created_at: datetime, sequence: int = 0) -> int:
    """A tweet id as X makes them: milliseconds since the Twitter epoch, shifted 22 bits, plus a sequence."""
    ms = int(_utc(created_at).timestamp() * 1000) - _TWEPOCH_MS
    return (max(ms, 0) << 22) | (sequence & 0x3FFFFF)


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _status_line(status: int) -> str:
    """``"429 Too Many Requests"``: the API's reason phrases (werkzeug would upper-case them)."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"


def _invalid(param: str, value: str, message: str) -> tuple[int, dict]:
    return 400, {
        "errors": [{"parameters": {param: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": _PROBLEMS + "invalid-request",
    }


# --- fault rules ---------------------------------------------------------------------------------------


@dataclass
class _Fault:
    kind: str  # "fail" | "malformed" | "delay" | "reset"
    path_contains: str
    after: int
    times: int | None  # None = forever
    status: int = 200
    body: Any = None
    headers: dict = field(default_factory=dict)
    seconds: float = 0.0
    seen: int = 0  # matching requests counted so far
    fired: int = 0

    def matches(self, path: str) -> bool:
        return self.path_contains in path

    def in_window(self, index: int) -> bool:
        return index >= self.after and (self.times is None or index < self.after + self.times)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class _ResetConnection(ConnectionResetError):
    """Raised by the WSGI app after arming an abortive close; werkzeug treats it as a dropped connection."""


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # no access log in test output
        pass


def generated_posts(n: int, start: datetime | str, prefix: str, step: timedelta, seed: int) -> list[dict]:
    """``n`` posts, oldest first, ``step`` apart from ``start``, with distinct texts that read like a
    politician's account: ``"<prefix> <i>: <sentence>"`` (the fakes of every platform make theirs here)."""
    rng = random.Random(seed)
    begin = _utc(start)
    return [
        {
            "text": f"{prefix} {i}: " + rng.choice(_TEMPLATES).format(who=rng.choice(_WHO), topic=rng.choice(_TOPIC)),
            "created_at": begin + i * step,
        }
        for i in range(n)
    ]


_TEMPLATES = [
    "Great meeting today with {who} about {topic}. Thank you for your work!",
    "Today I introduced a bill on {topic}. {who} deserve better, and we will keep fighting.",
    "Proud to stand with {who} on {topic}. Read more about what we are doing next week.",
    "Working families & {who} cannot wait any longer for action on {topic}.",
    "Spoke on the floor this afternoon about {topic}: it matters to {who} in every county.",
    "Thanks to {who} for a productive roundtable on {topic} this morning.",
    "We passed it! A big win on {topic} for {who} across the country.",
    "My statement on the latest news about {topic}: {who} need answers, not excuses.",
]
_WHO = [
    "farmers",
    "veterans",
    "teachers",
    "small business owners",
    "nurses",
    "students",
    "seniors",
    "local leaders",
    "first responders",
    "parents",
]
_TOPIC = [
    "rural broadband",
    "infrastructure",
    "health care costs",
    "child care",
    "energy prices",
    "clean water",
    "the supply chain",
    "public safety",
    "housing",
    "college affordability",
]


class FakeXAPI:
    """A fake X API v2 server (see the module docstring). Thread-safe; start it once, ``reset()`` between
    tests if it is shared."""

    def __init__(self, *, valid_token: str | None = "test-token"):
        self.valid_token = valid_token
        self._default_token = valid_token
        self.url: str = ""
        self.requests: list[dict] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server = None
        self._thread: threading.Thread | None = None
        self._aborted: set[int] = set()  # id() of sockets to close with an RST
        self._started_at = time.time()
        self._routes = Map(
            [
                Rule("/2/users/by/username/<username>", endpoint="user", methods=["GET"]),
                Rule("/2/users/<user_id>/tweets", endpoint="tweets", methods=["GET"]),
            ]
        )
        self._clear_state()

    def _clear_state(self) -> None:
        self._users: dict[str, dict] = {}  # by id
        self._by_name: dict[str, str] = {}  # lower-case username -> id
        self._faults: list[_Fault] = []
        self._tokens: dict[str, tuple[str, str, int]] = {}  # token -> (user id, "next"|"prev", bound id)
        self._rate_counts: dict[str, int] = {}
        self._next_user_id = 1_000_000_001
        self._seq = 0
        self.requests.clear()

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> FakeXAPI:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        original_shutdown = server.shutdown_request

        def shutdown_request(request):
            # A connection to reset: close it with SO_LINGER 0 (an RST), without the FIN of shutdown(SHUT_WR).
            if id(request) in self._aborted:
                self._aborted.discard(id(request))
                request.close()
            else:
                original_shutdown(request)

        server.shutdown_request = shutdown_request
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.005}, name="fake-xapi", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes requests sleeping in a delay()
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeXAPI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget users, faults, pagination tokens and the request log; restore the constructor's token."""
        with self._lock:
            self._clear_state()
            self.valid_token = self._default_token

    # --- data --------------------------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        user_id: str | int | None = None,
        name: str | None = None,
        tweets=(),
        protected: bool = False,
        suspended: bool = False,
        description: str = "",
        profile_image_url: str | None = None,
        followers: int = 0,
        *,
        following: int = 0,
        created_at: datetime | str = datetime(2012, 3, 4, 5, 6, 7, tzinfo=UTC),
        verified: bool = False,
    ) -> dict:
        """Add an account and its tweets; return a copy of it (``tweets`` normalised, oldest first, each
        with its ``id`` string and an aware UTC ``created_at``)."""
        if not USERNAME_RE.fullmatch(username):
            raise ValueError(f"invalid X username: {username!r}")
        with self._lock:
            if username.lower() in self._by_name:
                raise ValueError(f"user {username!r} already exists")
            if user_id is None:
                user_id = self._next_user_id
                self._next_user_id += 1
            user_id = str(user_id)
            if not ID_RE.fullmatch(user_id) or user_id in self._users:
                raise ValueError(f"invalid or duplicate user id: {user_id!r}")
            if profile_image_url is None:
                profile_image_url = f"https://pbs.twimg.com/profile_images/{user_id}/avatar_normal.jpg"
            user = {
                "id": user_id,
                "username": username,
                "name": name if name is not None else username,
                "protected": protected,
                "suspended": suspended,
                "description": description,
                "profile_image_url": profile_image_url,
                "followers": followers,
                "following": following,
                "created_at": _utc(created_at),
                "verified": verified,
                "tweets": [],
            }
            self._users[user_id] = user
            self._by_name[username.lower()] = user_id
            self._add(user, tweets)
            return copy.deepcopy(user)

    def add_tweets(self, username: str, tweets) -> list[dict]:
        """Add tweets to an existing account (by username, case-insensitive); return them normalised."""
        with self._lock:
            user = self._users[self._by_name[username.lower()]]
            return copy.deepcopy(self._add(user, tweets))

    def user(self, username: str) -> dict:
        """A copy of an account as stored (tweets oldest first)."""
        with self._lock:
            return copy.deepcopy(self._users[self._by_name[username.lower()]])

    def _add(self, user: dict, tweets) -> list[dict]:
        existing = {t["id"] for u in self._users.values() for t in u["tweets"]}
        added = []
        for raw in tweets:
            tweet = self._normalise(raw, existing)
            existing.add(tweet["id"])
            added.append(tweet)
        user["tweets"].extend(added)
        user["tweets"].sort(key=lambda t: int(t["id"]))
        return added

    def _normalise(self, raw: dict, existing: set[str]) -> dict:
        if "text" not in raw and "note_tweet" not in raw:
            raise ValueError(f"a tweet needs a text: {raw!r}")
        created = raw.get("created_at")
        if created is None:
            created = datetime.now(UTC)
            if raw.get("id") is not None and int(raw["id"]) >> 22:
                created = datetime.fromtimestamp(((int(raw["id"]) >> 22) + _TWEPOCH_MS) / 1000, UTC)
        created = _utc(created)
        if raw.get("id") is not None:
            tweet_id = str(raw["id"])
            if not ID_RE.fullmatch(tweet_id) or tweet_id in existing:
                raise ValueError(f"invalid or duplicate tweet id: {tweet_id!r}")
        else:
            self._seq += 1
            tweet_id = str(snowflake(created, self._seq))
            while tweet_id in existing:
                self._seq += 1
                tweet_id = str(snowflake(created, self._seq))
        note = raw.get("note_tweet")
        text = raw.get("text")
        if text is None:  # a long post: the API's text is its beginning
            text = note if len(note) <= 280 else note[:275].rstrip() + "…"
        return {
            "id": tweet_id,
            "text": text,
            "created_at": created,
            "note_tweet": note,
            "retweet": bool(raw.get("retweet")),
            "reply": bool(raw.get("reply")),
            "lang": raw.get("lang", "en"),
            "in_reply_to_user_id": str(raw.get("in_reply_to_user_id", "783214")),
            "public_metrics": raw.get("public_metrics")
            or {
                "retweet_count": int(tweet_id) % 7,
                "reply_count": int(tweet_id) % 5,
                "like_count": int(tweet_id) % 97,
                "quote_count": int(tweet_id) % 3,
                "bookmark_count": 0,
                "impression_count": int(tweet_id) % 1000,
            },
        }

    @staticmethod
    def make_tweets(
        n: int,
        start: datetime | str = datetime(2022, 1, 3, 14, 0, tzinfo=UTC),
        prefix: str = "tweet",
        *,
        step: timedelta = timedelta(hours=5, minutes=17),
        seed: int = 0,
    ) -> list[dict]:
        """``n`` tweets (see :func:`generated_posts`); some contain ``&`` (sent as ``&amp;``)."""
        return generated_posts(n, start, prefix, step, seed)

    # --- faults ------------------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        body: Any = None,
        *,
        path_contains: str = "",
        after: int = 0,
        times: int | None = 1,
        headers: dict | None = None,
    ) -> None:
        """The next ``times`` requests whose path contains ``path_contains``, after ``after`` of them, answer
        ``status`` with ``body`` (a dict/list sent as JSON; str/bytes sent as is, text/html; None: the real
        API's body for that status, :meth:`_error_body`). A 429 gets the platform's rate-limit headers
        (:meth:`_limit_headers`) unless given. ``times=None``: every matching request from then on."""
        if body is None:
            body = self._error_body(status)
        headers = dict(headers or {})
        if status == 429:
            headers |= self._limit_headers({k.lower() for k in headers})
        self._add_fault(_Fault("fail", path_contains, after, times, status=status, body=body, headers=headers))

    def _error_body(self, status: int) -> Any:
        """What the real API answers with ``status``: X's problem details."""
        return _DEFAULT_BODIES.get(
            status, {"title": f"HTTP {status}", "type": "about:blank", "status": status, "detail": f"HTTP {status}"}
        )

    def _limit_headers(self, given: set[str]) -> dict[str, str]:
        """The rate-limit headers a 429 adds to the ``given`` ones (lower-case names): X's, reset in 15 minutes."""
        defaults = {
            "x-rate-limit-limit": "1500",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(time.time()) + RATE_WINDOW),
        }
        return {k: v for k, v in defaults.items() if k not in given}

    def malformed(
        self,
        *,
        path_contains: str = "",
        after: int = 0,
        times: int | None = 1,
        body: str | bytes = '{"data": [{"id": "15',
        content_type: str = "application/json",
    ) -> None:
        """Answer 200 with a body that is not JSON (by default a truncated JSON document)."""
        self._add_fault(
            _Fault(
                "malformed", path_contains, after, times, status=200, body=body, headers={"Content-Type": content_type}
            )
        )

    def delay(self, seconds: float, *, path_contains: str = "", after: int = 0, times: int | None = 1) -> None:
        """Sleep ``seconds`` before answering (normally, or with another fault). ``stop()`` cuts it short."""
        self._add_fault(_Fault("delay", path_contains, after, times, seconds=seconds))

    def reset_connection(self, *, path_contains: str = "", after: int = 0, times: int | None = 1) -> None:
        """Close the connection with a TCP reset, without answering."""
        self._add_fault(_Fault("reset", path_contains, after, times))

    def pending_faults(self) -> int:
        """How many fault rules have not fired all their ``times`` yet (0 once every injected fault hit)."""
        with self._lock:
            return sum(1 for f in self._faults if not f.exhausted and f.times is not None)

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _pick_faults(self, path: str) -> tuple[float, _Fault | None]:
        """Count this request in every matching rule; return the total delay and the first answering fault.

        Every rule counts every request its ``path_contains`` matches, whether or not another rule fired,
        so ``after=N`` always means "after N matching requests"."""
        delay, chosen = 0.0, None
        for fault in self._faults:
            if not fault.matches(path):
                continue
            index = fault.seen
            fault.seen += 1
            if not fault.in_window(index):
                continue
            if fault.kind == "delay":
                fault.fired += 1
                delay += fault.seconds
            elif chosen is None:
                fault.fired += 1
                chosen = fault
        return delay, chosen

    # --- HTTP --------------------------------------------------------------------------------------------

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        entry = {
            "method": request.method,
            "path": request.path,
            "params": request.args.to_dict(),
            "authorization": request.headers.get("Authorization"),
            "status": None,
        }
        with self._lock:
            self.requests.append(entry)
            delay, fault = self._pick_faults(request.path)
        if delay and self._stopping.wait(delay):
            entry["status"] = "stopped"
            self._abort(environ)
        if fault is not None and fault.kind == "reset":
            entry["status"] = "reset"
            self._abort(environ)
        response = self._fault_response(fault) if fault is not None else self._dispatch(request)
        entry["status"] = response.status_code
        return response(environ, start_response)

    def _abort(self, environ) -> None:
        """Close this request's connection with a TCP reset and no answer (raises)."""
        sock = environ["werkzeug.socket"]
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Keep-alive: without this the handler would wait for a next request the client never sends.
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        with self._lock:
            self._aborted.add(id(sock))  # shutdown_request() then closes without a FIN: an RST
        raise _ResetConnection("fake X API reset the connection")

    def _fault_response(self, fault: _Fault) -> Response:
        body = fault.body
        headers = dict(fault.headers)
        if isinstance(body, (str, bytes)):
            headers.setdefault("Content-Type", "text/html; charset=utf-8")
            return Response(body, status=_status_line(fault.status), headers=headers)
        return self._json(fault.status, body, headers)

    @staticmethod
    def _json(status: int, body: Any, headers: dict | None = None) -> Response:
        response = Response(
            json.dumps(body, ensure_ascii=False),
            status=_status_line(status),
            content_type="application/json; charset=utf-8",
        )
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    def _dispatch(self, request: Request) -> Response:
        if self.valid_token is not None and request.headers.get("Authorization") != f"Bearer {self.valid_token}":
            return self._json(401, UNAUTHORIZED)
        try:
            endpoint, args = self._routes.bind_to_environ(request.environ).match()
        except NotFound:
            return self._json(404, _DEFAULT_BODIES[404])
        except HTTPException as exc:  # 405
            return self._json(
                exc.code, {"title": exc.name, "type": "about:blank", "status": exc.code, "detail": exc.name}
            )
        with self._lock:
            if endpoint == "user":
                status, body = self._get_user(args["username"], request.args)
            else:
                status, body = self._get_tweets(args["user_id"], request.args)
            headers = self._rate_headers(endpoint)
        return self._json(status, body, headers)

    def _rate_headers(self, endpoint: str) -> dict:
        window = int((time.time() - self._started_at) // RATE_WINDOW)
        key = f"{endpoint}:{window}"
        self._rate_counts[key] = self._rate_counts.get(key, 0) + 1
        limit = RATE_LIMITS[endpoint]
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(limit - self._rate_counts[key], 0)),
            "x-rate-limit-reset": str(int(self._started_at + (window + 1) * RATE_WINDOW)),
        }

    @staticmethod
    def _check_params(args, allowed: tuple[str, ...]) -> tuple[int, dict] | None:
        for name in args:
            if name not in allowed:
                return _invalid(name, args[name], f"The query parameter [{name}] is not one of [{','.join(allowed)}]")
        return None

    @staticmethod
    def _fields(args, name: str, allowed: frozenset) -> tuple[set[str], tuple[int, dict] | None]:
        raw = args.get(name)
        if not raw:
            return set(), None
        fields = set(raw.split(","))
        for value in sorted(fields):
            if value not in allowed:
                return fields, _invalid(
                    name,
                    value,
                    f"The `{name}` query parameter value [{value}] is not one of [{','.join(sorted(allowed))}]",
                )
        return fields, None

    @staticmethod
    def _not_found(kind: str, value: str) -> dict:
        return {
            "errors": [
                {
                    "value": value,
                    "detail": f"Could not find user with {kind}: [{value}].",
                    "title": "Not Found Error",
                    "resource_type": "user",
                    "parameter": kind,
                    "resource_id": value,
                    "type": _PROBLEMS + "resource-not-found",
                }
            ]
        }

    @staticmethod
    def _suspended(kind: str, value: str) -> dict:
        return {
            "errors": [
                {
                    "parameter": kind,
                    "resource_id": value,
                    "value": value,
                    "detail": f"User has been suspended: [{value}].",
                    "title": "Forbidden",
                    "resource_type": "user",
                    "type": _PROBLEMS + "resource-not-found",
                }
            ]
        }

    def _get_user(self, username: str, args) -> tuple[int, dict]:
        if not USERNAME_RE.fullmatch(username):
            return _invalid(
                "username",
                username,
                f"The `username` query parameter value [{username}] does not match ^[A-Za-z0-9_]{{1,15}}$",
            )
        error = self._check_params(args, USER_PARAMS)
        fields, field_error = self._fields(args, "user.fields", USER_FIELDS)
        error = error or field_error or self._fields(args, "tweet.fields", TWEET_FIELDS)[1]
        if error:
            return error
        user_id = self._by_name.get(username.lower())
        if user_id is None:
            return 200, self._not_found("username", username)
        user = self._users[user_id]
        if user["suspended"]:
            return 200, self._suspended("username", username)
        data = {"id": user["id"], "name": user["name"], "username": user["username"]}
        if "created_at" in fields:
            data["created_at"] = _iso(user["created_at"])
        if "description" in fields:
            data["description"] = _esc(user["description"])
        if "profile_image_url" in fields:
            data["profile_image_url"] = user["profile_image_url"]
        if "protected" in fields:
            data["protected"] = user["protected"]
        if "verified" in fields:
            data["verified"] = user["verified"]
        if "public_metrics" in fields:
            data["public_metrics"] = {
                "followers_count": user["followers"],
                "following_count": user["following"],
                "tweet_count": len(user["tweets"]),
                "listed_count": 0,
            }
        return 200, {"data": data}

    def _get_tweets(self, user_id: str, args) -> tuple[int, dict]:
        if not ID_RE.fullmatch(user_id):
            return _invalid("id", user_id, f"The `id` query parameter value [{user_id}] does not match ^[0-9]{{1,19}}$")
        error = self._check_params(args, TWEETS_PARAMS)
        if error:
            return error
        fields, error = self._fields(args, "tweet.fields", TWEET_FIELDS)
        if error:
            return error
        error = self._fields(args, "user.fields", USER_FIELDS)[1]
        if error:
            return error
        raw_max = args.get("max_results", "10")
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            return _invalid(
                "max_results", raw_max, f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100"
            )
        max_results = int(raw_max)
        exclude = set(filter(None, args.get("exclude", "").split(",")))
        for value in sorted(exclude):
            if value not in ("retweets", "replies"):
                return _invalid(
                    "exclude", value, f"The `exclude` query parameter value [{value}] is not one of [replies,retweets]"
                )
        bounds = {}
        for name in ("since_id", "until_id"):
            if name in args:
                if not ID_RE.fullmatch(args[name]):
                    return _invalid(
                        name,
                        args[name],
                        f"The `{name}` query parameter value [{args[name]}] does not match ^[0-9]{{1,19}}$",
                    )
                bounds[name] = int(args[name])
        for name in ("start_time", "end_time"):
            if name in args:
                try:
                    bounds[name] = _utc(args[name])
                except ValueError:
                    return _invalid(
                        name, args[name], f"Invalid '{name}':'{args[name]}'. '{name}' must be a valid RFC3339 date."
                    )
        token_name = "pagination_token" if "pagination_token" in args else "next_token"
        cursor = None
        if token_name in args:
            cursor = self._tokens.get(args[token_name])
            if cursor is None or cursor[0] != user_id:
                return _invalid(
                    token_name,
                    args[token_name],
                    f"The `{token_name}` query parameter value [{args[token_name]}] is not valid",
                )

        user = self._users.get(user_id)
        if user is None:
            return 200, self._not_found("id", user_id)
        if user["suspended"]:
            return 200, self._suspended("id", user_id)
        if user["protected"]:
            return 200, {
                "errors": [
                    {
                        "detail": f"Sorry, you are not authorized to see the user with id: [{user_id}].",
                        "parameter": "id",
                        "resource_id": user_id,
                        "resource_type": "user",
                        "section": "data",
                        "title": "Authorization Error",
                        "type": _PROBLEMS + "not-authorized-for-resource",
                        "value": user_id,
                    }
                ]
            }

        # The API looks at the newest 3,200 tweets (800 without replies), then filters them.
        newest_first = sorted(user["tweets"], key=lambda t: int(t["id"]), reverse=True)
        reachable = newest_first[: TIMELINE_CAP_NO_REPLIES if "replies" in exclude else TIMELINE_CAP]
        selected = [t for t in reachable if self._keep(t, exclude, bounds)]
        if cursor is None:
            page, more_older, more_newer = selected[:max_results], len(selected) > max_results, False
        elif cursor[1] == "next":
            older = [t for t in selected if int(t["id"]) < cursor[2]]
            page, more_older, more_newer = older[:max_results], len(older) > max_results, True
        else:
            newer = [t for t in selected if int(t["id"]) > cursor[2]]
            page = newer[-max_results:]
            more_older, more_newer = True, len(newer) > max_results
        if not page:
            return 200, {"meta": {"result_count": 0}}
        meta = {"result_count": len(page), "newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if more_older:
            meta["next_token"] = self._token(user_id, "next", int(page[-1]["id"]))
        if more_newer:
            meta["previous_token"] = self._token(user_id, "prev", int(page[0]["id"]))
        return 200, {"data": [self._tweet_json(t, user, fields) for t in page], "meta": meta}

    @staticmethod
    def _keep(tweet: dict, exclude: set[str], bounds: dict) -> bool:
        if "retweets" in exclude and tweet["retweet"]:
            return False
        if "replies" in exclude and tweet["reply"]:
            return False
        tweet_id = int(tweet["id"])
        if "since_id" in bounds and tweet_id <= bounds["since_id"]:
            return False
        if "until_id" in bounds and tweet_id >= bounds["until_id"]:
            return False
        if "start_time" in bounds and tweet["created_at"] < bounds["start_time"]:
            return False
        return not ("end_time" in bounds and tweet["created_at"] >= bounds["end_time"])

    def _token(self, user_id: str, kind: str, bound: int) -> str:
        """An opaque token like the API's (lower-case base 36), remembered for the next request."""
        digest = int.from_bytes(hashlib.sha256(f"{user_id}:{kind}:{bound}".encode()).digest(), "big")
        chars = []
        for _ in range(45):
            digest, rem = divmod(digest, 36)
            chars.append("0123456789abcdefghijklmnopqrstuvwxyz"[rem])
        token = "".join(chars)
        self._tokens[token] = (user_id, kind, bound)
        return token

    @staticmethod
    def _tweet_json(tweet: dict, user: dict, fields: set[str]) -> dict:
        data = {"edit_history_tweet_ids": [tweet["id"]], "id": tweet["id"], "text": _esc(tweet["text"])}
        if "created_at" in fields:
            data["created_at"] = _iso(tweet["created_at"])
        if "note_tweet" in fields and tweet["note_tweet"]:
            data["note_tweet"] = {"text": _esc(tweet["note_tweet"])}
        if "public_metrics" in fields:
            data["public_metrics"] = dict(tweet["public_metrics"])
        if "author_id" in fields:
            data["author_id"] = user["id"]
        if "conversation_id" in fields:
            data["conversation_id"] = tweet["id"]
        if "lang" in fields:
            data["lang"] = tweet["lang"]
        if "possibly_sensitive" in fields:
            data["possibly_sensitive"] = False
        if "referenced_tweets" in fields and (tweet["retweet"] or tweet["reply"]):
            kind = "retweeted" if tweet["retweet"] else "replied_to"
            data["referenced_tweets"] = [{"type": kind, "id": str(int(tweet["id"]) - 1)}]
        if "in_reply_to_user_id" in fields and tweet["reply"]:
            data["in_reply_to_user_id"] = tweet["in_reply_to_user_id"]
        return data
