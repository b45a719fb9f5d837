"""A fake Bluesky AppView on 127.0.0.1 (the public one is https://public.api.bsky.app), for tests that must
never reach the internet.

What it fakes
-------------
The two XRPC queries HypoTweet reads without auth, shaped like their lexicons (``app.bsky.actor.getProfile``,
``app.bsky.feed.getAuthorFeed``, ``app.bsky.feed.defs``, ``app.bsky.richtext.facet``):

* ``GET /xrpc/app.bsky.actor.getProfile?actor=<handle or DID>`` -- a ``profileViewDetailed`` (``did``,
  ``handle``, ``displayName``, ``description``, ``avatar``, ``followersCount``, ``followsCount``,
  ``postsCount``, ``labels``, ``createdAt``, ``indexedAt``, ``viewer``, ``associated``); handles compare
  case-insensitively. Unknown actor: 400 ``{"error": "InvalidRequest", "message": "Profile not found"}``;
  a taken-down account: 400 ``AccountTakedown``; a deactivated one: 400 ``AccountDeactivated``.
* ``GET /xrpc/app.bsky.feed.getAuthorFeed?actor=...&limit=...&cursor=...&filter=...&includePins=...`` --
  ``{"feed": [feedViewPost...], "cursor": ...}``, newest first; ``limit`` 1..100 (default 50, 400 outside);
  an opaque ``cursor`` (absent on the last page); ``filter`` ``posts_with_replies`` (default),
  ``posts_no_replies``, ``posts_and_author_threads``, ``posts_with_media`` (no media here: empty); reposts
  appear as the reposted post with ``reason`` ``app.bsky.feed.defs#reasonRepost``; with ``includePins=true``
  the pinned post comes first with ``reason`` ``#reasonPin`` (and again in its place). Posts carry their
  ``record`` (``text``, ``createdAt``, ``langs``, ``facets``, ``reply``, ``embed``), a quote post's
  ``embed`` is an ``app.bsky.embed.record#view`` of the quoted post.
* Unknown parameters get 400 ``InvalidRequest`` (the real server is laxer) so a typo in the app shows up.
  Normal answers carry ``ratelimit-limit/-remaining/-reset/-policy`` headers; the limit is not enforced.
* Faults, as in ``fake_xapi``: :meth:`fail` (XRPC error bodies by default; a 429 gets ``ratelimit-reset``),
  :meth:`malformed`, :meth:`delay`, :meth:`reset_connection`; :meth:`end_feed_early` (pages with no posts
  and the same cursor again) and :meth:`hide_pages` (pages with no posts but their real cursor, as when the
  AppView drops posts it hides). ``serve_pins = True`` sends the pinned post first even without
  ``includePins``.

Not faked: auth, blocks and mutes, moderation labels beyond those given, media, threads, real rate limits.
"""

from __future__ import annotations

import copy
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .fake_xapi import FakeXAPI, _Fault, _utc, generated_posts

REPOST = "app.bsky.feed.defs#reasonRepost"
PIN = "app.bsky.feed.defs#reasonPin"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_ERRORS = {
    400: {"error": "InvalidRequest", "message": "Invalid request"},
    401: {"error": "AuthMissing", "message": "Authentication Required"},
    404: {"error": "NotFound", "message": "Not Found"},
    429: {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
    500: {"error": "InternalServerError", "message": "Internal Server Error"},
    502: {"error": "UpstreamFailure", "message": "Upstream Failure"},
    503: {"error": "NotEnoughResources", "message": "Service Unavailable"},
}
FEED_PARAMS = {"actor", "limit", "cursor", "filter", "includePins"}
FILTERS = {"posts_with_replies", "posts_no_replies", "posts_with_media", "posts_and_author_threads", "posts_with_video"}


def tid(moment: datetime, clock: int = 0) -> str:
    """A record key as the AT Protocol makes one: microseconds since 1970 and a clock id, in sortable base32."""
    value = (int(moment.timestamp() * 1_000_000) << 10) | (clock & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def link_facet(text: str, label: str, uri: str) -> dict:
    """The facet of a link whose label ``label`` (e.g. ``example.com/a…``) appears in ``text``; byte offsets."""
    start = text.encode("utf-8").index(label.encode("utf-8"))
    return {
        "index": {"byteStart": start, "byteEnd": start + len(label.encode("utf-8"))},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


class FakeBluesky(FakeXAPI):
    """A fake public AppView (see the module docstring); the fault machinery is the fake X API's."""

    def __init__(self) -> None:
        super().__init__(valid_token=None)
        self.serve_pins = False
        self._routes = Map(
            [
                Rule("/xrpc/app.bsky.actor.getProfile", endpoint="profile", methods=["GET"]),
                Rule("/xrpc/app.bsky.feed.getAuthorFeed", endpoint="feed", methods=["GET"]),
            ]
        )

    def _clear_state(self) -> None:
        super()._clear_state()
        self._actors: dict[str, dict] = {}  # by DID
        self._handles: dict[str, str] = {}  # lower-case handle -> DID
        self._cursors: dict[str, tuple[str, int]] = {}
        self._hidden_pages: set[int] = set()
        self._feed_requests = 0
        self.serve_pins = False

    # --- data --------------------------------------------------------------------------------------------

    def add_actor(
        self,
        handle: str,
        posts=(),
        *,
        did: str | None = None,
        display_name: str = "",
        description: str = "",
        followers: int = 0,
        follows: int = 0,
        labels: tuple[str, ...] = (),
        status: str | None = None,  # "takendown" | "deactivated"
        pinned: int | None = None,  # index (oldest first) of the pinned post
    ) -> dict:
        """Add an account and its feed items (oldest first: dicts from :meth:`make_posts`, each possibly with
        ``reply``, ``repost_of`` (a handle and index), ``quote`` (text quoted) or ``facets``)."""
        with self._lock:
            did = did or f"did:plc:{random.Random(handle).getrandbits(120):030x}"[:32]
            actor = {
                "did": did,
                "handle": handle.lower(),
                "displayName": display_name,
                "description": description,
                "followers": followers,
                "follows": follows,
                "labels": list(labels),
                "status": status,
                "items": [],
                "pinned": None,
            }
            self._actors[did] = actor
            self._handles[handle.lower()] = did
            self._add_posts(actor, posts)
            if pinned is not None:
                actor["pinned"] = actor["items"][pinned]["rkey"]
            return copy.deepcopy(actor)

    def add_posts(self, handle: str, posts) -> list[dict]:
        with self._lock:
            actor = self._actors[self._handles[handle.lower()]]
            return copy.deepcopy(self._add_posts(actor, posts))

    def actor(self, handle: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._actors[self._handles[handle.lower()]])

    def _add_posts(self, actor: dict, posts) -> list[dict]:
        added = []
        for raw in posts:
            self._seq += 1
            created = _utc(raw.get("created_at") or datetime.now(UTC))
            item = dict(raw, created_at=created, rkey=raw.get("rkey") or tid(created, self._seq))
            added.append(item)
        actor["items"].extend(added)
        actor["items"].sort(key=lambda item: (item["created_at"], item["rkey"]))
        return added

    @staticmethod
    def make_posts(
        n: int,
        start: datetime | str = datetime(2024, 2, 1, 9, 0, tzinfo=UTC),
        prefix: str = "post",
        *,
        step: timedelta = timedelta(hours=3, minutes=11),
        seed: int = 0,
    ) -> list[dict]:
        """``n`` posts, oldest first, ``step`` apart (see ``fake_xapi.generated_posts``)."""
        return generated_posts(n, start, prefix, step, seed)

    # --- faults ------------------------------------------------------------------------------------------

    def _error_body(self, status: int) -> Any:
        """XRPC's error body for ``status``."""
        return _ERRORS.get(status, {"error": "InternalServerError", "message": f"HTTP {status}"})

    def _limit_headers(self, given: set[str]) -> dict[str, str]:
        """Bluesky's rate-limit headers, reset in 5 minutes, unless the test gave a reset or retry time."""
        if given & {"ratelimit-reset", "retry-after"}:
            return {}
        return {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 300)}

    def end_feed_early(self, *, after: int = 1) -> None:
        """Feed pages from ``after`` (from 0) on answer ``{"feed": [], "cursor": ...}`` with the same cursor
        each time: more promised, none sent."""
        body = {"feed": [], "cursor": "stalled::0"}
        self._add_fault(_Fault("fail", "getAuthorFeed", after, None, status=200, body=body))

    def hide_pages(self, *pages: int) -> None:
        """The feed pages so numbered (from 0, counting feed requests) come with no posts but their real
        cursor, as when the AppView drops the posts it hides after paging."""
        self._hidden_pages.update(pages)

    # --- HTTP --------------------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        try:
            endpoint, _ = self._routes.bind_to_environ(request.environ).match()
        except Exception:
            return self._json(404, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
        with self._lock:
            if endpoint == "profile":
                status, body = self._get_profile(request.args)
            else:
                status, body = self._get_feed(request.args)
        reset = str(int(time.time()) + 300)
        headers = {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "2999",
            "ratelimit-reset": reset,
            "ratelimit-policy": "3000;w=300",
        }
        return self._json(status, body, headers)

    def _find(self, actor: str) -> tuple[dict | None, tuple[int, dict] | None]:
        did = actor if actor.startswith("did:") else self._handles.get(actor.lower())
        found = self._actors.get(did or "")
        if found is None:
            return None, (400, {"error": "InvalidRequest", "message": "Profile not found"})
        if found["status"] == "takendown":
            return None, (400, {"error": "AccountTakedown", "message": "Account has been suspended"})
        if found["status"] == "deactivated":
            return None, (400, {"error": "AccountDeactivated", "message": "Account is deactivated"})
        return found, None

    def _get_profile(self, args) -> tuple[int, dict]:
        if set(args) - {"actor"} or not args.get("actor"):
            return 400, {"error": "InvalidRequest", "message": 'Error: Params must have the property "actor"'}
        actor, error = self._find(args["actor"])
        if error:
            return error
        assert actor is not None
        own = [i for i in actor["items"] if not i.get("repost_of")]
        return 200, {
            **self._basic(actor),
            "description": actor["description"],
            "banner": f"https://cdn.bsky.app/img/banner/plain/{actor['did']}/bafkreibanner@jpeg",
            "followersCount": actor["followers"],
            "followsCount": actor["follows"],
            "postsCount": len(own),
            "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
            "indexedAt": "2024-01-10T12:00:00.000Z",
            "pinnedPost": {"uri": self._uri(actor, actor["pinned"]), "cid": "bafyreipin"} if actor["pinned"] else None,
        }

    def _basic(self, actor: dict) -> dict:
        return {
            "did": actor["did"],
            "handle": actor["handle"],
            "displayName": actor["displayName"],
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{actor['did']}/bafkreiavatar@jpeg",
            "viewer": {"muted": False, "blockedBy": False},
            "labels": [
                {
                    "src": actor["did"],
                    "uri": f"at://{actor['did']}/app.bsky.actor.profile/self",
                    "cid": "bafyreilabel",
                    "val": value,
                    "cts": "2024-01-10T12:00:00.000Z",
                }
                for value in actor["labels"]
            ],
            "createdAt": "2023-05-01T10:00:00.000Z",
        }

    @staticmethod
    def _uri(actor: dict, rkey: str) -> str:
        return f"at://{actor['did']}/app.bsky.feed.post/{rkey}"

    def _post_view(self, actor: dict, item: dict) -> dict:
        created = item["created_at"].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": item["text"],
            "createdAt": created,
            "langs": ["en"],
        }
        if item.get("facets"):
            record["facets"] = item["facets"]
        if item.get("reply"):
            parent = {
                "uri": f"at://did:plc:someoneelse/app.bsky.feed.post/{tid(item['created_at'], 999)}",
                "cid": "bafyreiparent",
            }
            record["reply"] = {"root": parent, "parent": parent}
        view: dict[str, Any] = {
            "uri": self._uri(actor, item["rkey"]),
            "cid": "bafyrei" + item["rkey"],
            "author": self._basic(actor),
            "record": record,
            "replyCount": 0,
            "repostCount": len(item["text"]) % 5,
            "likeCount": len(item["text"]) % 23,
            "quoteCount": 0,
            "indexedAt": created,
            "viewer": {"threadMuted": False, "embeddingDisabled": False},
            "labels": [],
        }
        if item.get("quote"):
            quoted = {"uri": "at://did:plc:quoted/app.bsky.feed.post/3kquotedpost2a", "cid": "bafyreiquoted"}
            record["embed"] = {"$type": "app.bsky.embed.record", "record": quoted}
            view["embed"] = {
                "$type": "app.bsky.embed.record#view",
                "record": {
                    "$type": "app.bsky.embed.record#viewRecord",
                    **quoted,
                    "author": {"did": "did:plc:quoted", "handle": "quoted.bsky.social", "labels": []},
                    "value": {"$type": "app.bsky.feed.post", "text": item["quote"], "createdAt": created},
                    "indexedAt": created,
                },
            }
        return view

    def _feed_items(self, actor: dict, feed_filter: str, pins: bool) -> list[dict]:
        items = []
        for item in reversed(actor["items"]):  # newest first
            if item.get("reply") and feed_filter != "posts_with_replies":
                continue
            if feed_filter in ("posts_with_media", "posts_with_video"):
                continue
            if item.get("repost_of"):
                handle, index = item["repost_of"]
                source = self._actors[self._handles[handle.lower()]]
                entry = {"post": self._post_view(source, source["items"][index])}
                entry["reason"] = {
                    "$type": REPOST,
                    "by": self._basic(actor),
                    "indexedAt": item["created_at"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                }
                items.append(entry)
            else:
                items.append({"post": self._post_view(actor, item)})
        if pins and actor["pinned"]:
            pinned = next(i for i in actor["items"] if i["rkey"] == actor["pinned"])
            items.insert(0, {"post": self._post_view(actor, pinned), "reason": {"$type": PIN}})
        return items

    def _get_feed(self, args) -> tuple[int, dict]:
        unknown = set(args) - FEED_PARAMS
        if unknown or not args.get("actor"):
            return 400, {"error": "InvalidRequest", "message": f"Invalid parameters: {sorted(unknown) or 'actor'}"}
        try:
            limit = int(args.get("limit", "50"))
        except ValueError:
            return 400, {"error": "InvalidRequest", "message": "limit must be an integer"}
        if not 1 <= limit <= 100:
            return 400, {"error": "InvalidRequest", "message": "limit can not be greater than 100"}
        feed_filter = args.get("filter", "posts_with_replies")
        if feed_filter not in FILTERS:
            return 400, {"error": "InvalidRequest", "message": f"Invalid filter: {feed_filter}"}
        actor, error = self._find(args["actor"])
        if error:
            return error
        assert actor is not None
        start = 0
        if args.get("cursor"):
            if args["cursor"] not in self._cursors or self._cursors[args["cursor"]][0] != actor["did"]:
                return 400, {"error": "InvalidRequest", "message": "Malformed cursor"}
            start = self._cursors[args["cursor"]][1]
        pins = args.get("includePins") == "true" or self.serve_pins
        items = self._feed_items(actor, feed_filter, pins and start == 0)
        page = items[start : start + limit]
        body: dict[str, Any] = {"feed": [] if self._feed_requests in self._hidden_pages else page}
        self._feed_requests += 1
        if start + limit < len(items):
            last = page[-1]["post"]
            cursor = f"{last['indexedAt']}::{last['cid']}"
            self._cursors[cursor] = (actor["did"], start + limit)
            body["cursor"] = cursor
        return 200, body
