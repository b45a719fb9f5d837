"""A fake Mastodon instance on 127.0.0.1 (the app sends every instance's requests here when
``MASTODON_API_URL`` is set), for tests that must never reach the internet.

What it fakes
-------------
The two REST endpoints HypoTweet reads without auth, with the bodies of the Mastodon API docs (the
``Account`` and ``Status`` entities, ``GET /api/v1/accounts/lookup``, ``GET /api/v1/accounts/:id/statuses``):

* ``GET /api/v1/accounts/lookup?acct=<name>`` (or ``name@domain``) -- an ``Account`` (``id``, ``username``,
  ``acct``, ``display_name``, ``locked``, ``bot``, ``discoverable``, ``noindex``, ``group``, ``created_at``,
  ``note`` (HTML), ``url``, ``uri``, ``avatar``, ``header``, ``followers_count``, ``following_count``,
  ``statuses_count``, ``last_status_at``, ``emojis``, ``fields``, and ``suspended`` / ``moved`` when so).
  Unknown: 404 ``{"error": "Record not found"}``.
* ``GET /api/v1/accounts/:id/statuses?exclude_reblogs=&exclude_replies=&limit=&max_id=&since_id=&min_id=``
  -- a list of ``Status`` (``id``, ``created_at``, ``in_reply_to_id``, ``sensitive``, ``spoiler_text``,
  ``visibility``, ``language``, ``uri``, ``url``, ``content`` (HTML), ``reblog``, ``account``, ``mentions``,
  ``tags``, ``media_attachments``...), newest first; ``limit`` default 20, at most 40; a ``Link`` header
  with ``rel="next"`` (``max_id``) and ``rel="prev"`` (``min_id``) while there are more.
* ``GET /.well-known/webfinger?resource=acct:<name>@<domain>`` -- a JRD (``subject``, ``aliases``,
  ``links`` with the ``self`` link of type ``application/activity+json``) for an account it holds, or for
  any name of a domain :meth:`delegate` sends elsewhere (as a domain whose accounts live on another host
  does); else 404. Served even with ``require_auth``, as WebFinger always is.
* Unknown parameters get 400 ``{"error": ...}`` (the real server ignores them) so a typo shows up. Answers
  carry ``X-RateLimit-Limit/-Remaining/-Reset`` (ISO 8601); the limit is not enforced.
* ``require_auth = True`` answers 401 ``{"error": "This method requires an authenticated user"}`` as an
  instance in limited federation mode (``DISALLOW_UNAUTHENTICATED_API_ACCESS``) does. Faults are the fake
  X API's (:meth:`fail`, :meth:`malformed`, :meth:`delay`, :meth:`reset_connection`), with Mastodon's error
  bodies; a 429 gets ``X-RateLimit-Reset``.

Not faked: auth, OAuth apps, pinned posts, polls, media files, real rate limits.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .fake_bluesky import FakeBluesky
from .fake_xapi import FakeXAPI, _utc

_ERRORS = {
    400: {"error": "Validation failed"},
    401: {"error": "This method requires an authenticated user"},
    403: {"error": "This action is not allowed"},
    404: {"error": "Record not found"},
    410: {"error": "Record not found"},
    429: {"error": "Too many requests"},
    500: {"error": "We're sorry, but something went wrong."},
    502: {"error": "Bad Gateway"},
    503: {"error": "Service Unavailable"},
}
STATUS_PARAMS = {
    "exclude_reblogs",
    "exclude_replies",
    "limit",
    "max_id",
    "since_id",
    "min_id",
    "only_media",
    "pinned",
    "tagged",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def link_html(url: str) -> str:
    """A link as Mastodon writes it in ``content``: the scheme and the tail hidden, the middle shortened."""
    scheme, rest = url.split("://", 1)
    return (
        f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer" translate="no">'
        f'<span class="invisible">{scheme}://</span><span class="ellipsis">{rest[:30]}</span>'
        f'<span class="invisible">{rest[30:]}</span></a>'
    )


def mention_html(name: str, instance: str) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="https://{instance}/@{name}" class="u-url mention">'
        f"@<span>{name}</span></a></span>"
    )


def hashtag_html(tag: str, instance: str) -> str:
    return f'<a href="https://{instance}/tags/{tag}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>'


class FakeMastodon(FakeXAPI):
    """A fake Mastodon instance (see the module docstring); the fault machinery is the fake X API's."""

    def __init__(self) -> None:
        super().__init__(valid_token=None)
        self._routes = Map(
            [
                Rule("/api/v1/accounts/lookup", endpoint="lookup", methods=["GET"]),
                Rule("/api/v1/accounts/<account_id>/statuses", endpoint="statuses", methods=["GET"]),
                Rule("/.well-known/webfinger", endpoint="webfinger", methods=["GET"]),
            ]
        )

    def _clear_state(self) -> None:
        super()._clear_state()
        self._accounts: dict[str, dict] = {}  # by id
        self._next_id = 109_000_000_000_000_000
        self.require_auth = False
        self._delegated: dict[str, str] = {}  # domain -> the base URL its WebFinger names

    # --- data --------------------------------------------------------------------------------------------

    def add_account(
        self,
        handle: str,
        posts=(),
        *,
        display_name: str = "",
        note: str = "",
        followers: int = 0,
        following: int = 0,
        noindex: bool = False,
        suspended: bool = False,
        moved_to: str | None = None,
    ) -> dict:
        """Add ``name@instance`` and its statuses (oldest first: dicts from :meth:`make_posts`, each with
        ``text`` as plain words or ``content`` as HTML, and possibly ``reply``, ``reblog``, ``visibility``,
        ``spoiler_text``)."""
        name, instance = handle.split("@", 1)
        with self._lock:
            self._next_id += 1
            account = {
                "id": str(self._next_id),
                "username": name,
                "instance": instance.lower(),
                "display_name": display_name,
                "note": note,
                "followers": followers,
                "following": following,
                "noindex": noindex,
                "suspended": suspended,
                "moved_to": moved_to,
                "items": [],
            }
            self._accounts[account["id"]] = account
            self._add_posts(account, posts)
            return copy.deepcopy(account)

    def add_posts(self, handle: str, posts) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._add_posts(self._by_handle(handle), posts))

    def account(self, handle: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._by_handle(handle))

    def _by_handle(self, handle: str) -> dict:
        name, instance = handle.split("@", 1)
        return next(
            a for a in self._accounts.values() if a["username"].lower() == name.lower() and a["instance"] == instance
        )

    def _add_posts(self, account: dict, posts) -> list[dict]:
        added = []
        for raw in posts:
            created = _utc(raw.get("created_at") or datetime.now(UTC))
            # Snowflake-like ids: the time in milliseconds, shifted, and a sequence: newer is larger.
            self._seq += 1
            status_id = str((int(created.timestamp() * 1000) << 16) | (self._seq & 0xFFFF))
            added.append(dict(raw, created_at=created, id=status_id))
        account["items"].extend(added)
        account["items"].sort(key=lambda item: (item["created_at"], int(item["id"])))
        return added

    make_posts = staticmethod(FakeBluesky.make_posts)

    def delegate(self, domain: str, base: str) -> None:
        """Answer WebFinger for every ``name@domain`` with the actor ``<base>/users/<name>``: the domain's
        accounts live at ``base`` (``https://social.example.com``; a test may give a hostile one)."""
        with self._lock:
            self._delegated[domain.lower()] = base.rstrip("/")

    # --- faults ------------------------------------------------------------------------------------------

    def _error_body(self, status: int) -> Any:
        """Mastodon's error body for ``status``."""
        return _ERRORS.get(status, {"error": f"HTTP {status}"})

    def _limit_headers(self, given: set[str]) -> dict[str, str]:
        """Mastodon's rate-limit headers, reset in 5 minutes, unless the test gave a reset or retry time."""
        if given & {"x-ratelimit-reset", "retry-after"}:
            return {}
        reset = iso(datetime.now(UTC) + timedelta(minutes=5))
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}

    # --- HTTP --------------------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        try:
            endpoint, values = self._routes.bind_to_environ(request.environ).match()
        except Exception:
            return self._json(404, {"error": "Record not found"})
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "299",
            "X-RateLimit-Reset": iso(datetime.now(UTC) + timedelta(minutes=5)),
        }
        if endpoint == "webfinger":
            with self._lock:
                status, body = self._webfinger(request.args)
            return self._json(status, body, {"Content-Type": "application/jrd+json; charset=utf-8"})
        if self.require_auth:
            return self._json(401, _ERRORS[401], headers)
        with self._lock:
            if endpoint == "lookup":
                status, body = self._lookup(request.args)
            else:
                status, body, link = self._statuses(values["account_id"], request)
                if link:
                    headers["Link"] = link
        return self._json(status, body, headers)

    def _entity(self, account: dict) -> dict:
        instance, name = account["instance"], account["username"]
        own = [i for i in account["items"] if not i.get("reblog")]
        entity: dict[str, Any] = {
            "id": account["id"],
            "username": name,
            "acct": name,
            "display_name": account["display_name"],
            "locked": False,
            "bot": False,
            "discoverable": True,
            "indexable": not account["noindex"],
            "group": False,
            "created_at": "2022-11-05T00:00:00.000Z",
            "note": account["note"],
            "url": f"https://{instance}/@{name}",
            "uri": f"https://{instance}/users/{name}",
            "avatar": f"https://files.{instance}/accounts/avatars/{account['id']}/original/a.png",
            "avatar_static": f"https://files.{instance}/accounts/avatars/{account['id']}/original/a.png",
            "header": f"https://{instance}/headers/original/missing.png",
            "header_static": f"https://{instance}/headers/original/missing.png",
            "followers_count": account["followers"],
            "following_count": account["following"],
            "statuses_count": len(own),
            "last_status_at": own[-1]["created_at"].strftime("%Y-%m-%d") if own else None,
            "hide_collections": False,
            "noindex": account["noindex"],
            "emojis": [],
            "roles": [],
            "fields": [],
        }
        if account["suspended"]:
            entity |= {"suspended": True, "display_name": "", "note": "", "followers_count": 0, "statuses_count": 0}
        if account["moved_to"]:
            target_name, target_instance = account["moved_to"].split("@", 1)
            entity["moved"] = {
                "id": "110000000000000001",
                "username": target_name,
                "acct": account["moved_to"] if target_instance != instance else target_name,
                "display_name": account["display_name"],
                "url": f"https://{target_instance}/@{target_name}",
            }
        return entity

    def _lookup(self, args) -> tuple[int, Any]:
        if set(args) - {"acct"} or not args.get("acct"):
            return 400, {"error": "Validation failed: acct is missing"}
        name, _, domain = args["acct"].partition("@")
        for account in self._accounts.values():
            if account["username"].lower() == name.lower() and domain.lower() in ("", account["instance"]):
                return 200, self._entity(account)
        return 404, {"error": "Record not found"}

    def _webfinger(self, args) -> tuple[int, Any]:
        resource = args.get("resource", "")
        if set(args) - {"resource"} or not resource.startswith("acct:") or "@" not in resource:
            return 400, {"error": "Validation failed: resource"}
        name, domain = resource.removeprefix("acct:").split("@", 1)
        base = self._delegated.get(domain.lower())
        if base is None:
            local = [a for a in self._accounts.values() if a["username"].lower() == name.lower()]
            local = [a for a in local if a["instance"] == domain.lower()]
            if not local:
                return 404, {"error": "Record not found"}
            base, name = f"https://{domain.lower()}", local[0]["username"]
        actor = f"{base}/users/{name}"
        return 200, {
            "subject": f"acct:{name}@{domain}",
            "aliases": [f"{base}/@{name}", actor],
            "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"{base}/@{name}"},
                {"rel": "self", "type": "application/activity+json", "href": actor},
                {
                    "rel": "http://ostatus.org/schema/1.0/subscribe",
                    "template": f"{base}/authorize_interaction?uri={{uri}}",
                },
            ],
        }

    def _status(self, account: dict, item: dict) -> dict:
        instance = account["instance"]
        content = item.get("content") or "<p>" + item["text"].replace("&", "&amp;").replace("<", "&lt;") + "</p>"
        status = {
            "id": item["id"],
            "created_at": iso(item["created_at"]),
            "in_reply_to_id": "108999999999999999" if item.get("reply") else None,
            "in_reply_to_account_id": "108999999999999998" if item.get("reply") else None,
            "sensitive": bool(item.get("spoiler_text")),
            "spoiler_text": item.get("spoiler_text") or "",
            "visibility": item.get("visibility") or "public",
            "language": "en",
            "uri": f"https://{instance}/users/{account['username']}/statuses/{item['id']}",
            "url": f"https://{instance}/@{account['username']}/{item['id']}",
            "replies_count": 0,
            "reblogs_count": len(item.get("text") or "") % 5,
            "favourites_count": len(item.get("text") or "") % 23,
            "edited_at": None,
            "content": "" if item.get("reblog") else content,
            "reblog": None,
            "application": {"name": "Web", "website": None},
            "account": self._entity(account),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        if item.get("reblog"):
            original = dict(status, id=str(int(item["id"]) - 1), content=content, account=self._entity(account))
            status["reblog"] = original
        return status

    def _statuses(self, account_id: str, request: Request) -> tuple[int, Any, str | None]:
        args = request.args
        unknown = set(args) - STATUS_PARAMS
        if unknown:
            return 400, {"error": f"Unknown parameters: {sorted(unknown)}"}, None
        account = self._accounts.get(account_id)
        if account is None:
            return 404, {"error": "Record not found"}, None
        if account["suspended"]:
            return 410, {"error": "Record not found"}, None
        try:
            limit = min(40, max(1, int(args.get("limit", "20"))))
        except ValueError:
            return 400, {"error": "Validation failed: limit is not a number"}, None
        items = list(reversed(account["items"]))  # newest first
        if args.get("exclude_reblogs") == "true":
            items = [i for i in items if not i.get("reblog")]
        if args.get("exclude_replies") == "true":
            items = [i for i in items if not i.get("reply")]
        # (A real instance serves a logged-out reader only public and unlisted posts; this one serves any
        # visibility it is given, so a test can see the app leave the others out.)
        if args.get("max_id"):
            items = [i for i in items if int(i["id"]) < int(args["max_id"])]
        if args.get("since_id"):
            items = [i for i in items if int(i["id"]) > int(args["since_id"])]
        more = len(items) > limit
        page = items[:limit]
        link = None
        if page:
            base = f"{request.host_url.rstrip('/')}{request.path}"
            prev = f'<{base}?min_id={page[0]["id"]}>; rel="prev"'
            link = f'<{base}?max_id={page[-1]["id"]}>; rel="next", {prev}' if more else prev
        return 200, [self._status(account, i) for i in page], link
