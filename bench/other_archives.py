"""Import time and peak memory of a 3,200-post archive of each platform: X's .zip, Mastodon's .zip,
Bluesky's repository .car (issue 19, "Archives of the other platforms").

    pipenv run python bench/other_archives.py [--posts 3200] [--fake-embedder] [--json]

The three files are built with the tests' factories (``tests/archive_factory.py``,
``tests/other_archive_factory.py``) from the same generated posts (``fake_xapi.generated_posts``), each with
a link in every fifth post; the Mastodon archive also holds a boost per 20 posts, the repository a repost
and a like per 20 posts and the profile. Each is imported in a fresh Python process as ``flask import
archive`` does (``tasks.submit("import", ...)`` inline, no Redis) into a new SQLite database, after spaCy is
loaded and warmed up. Printed per file: its size, the reader alone (parse time, no database, no
embedding), then the whole import: resident memory before (``base``) and its peak during the import
(Linux's VmHWM reset just before), the wall time, and what was stored.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from common import ROOT, peak_mib, report_result, reset_peak, rss_mib, run_child, scratch_app, settle, use_tree

KINDS = ("x", "mastodon", "bluesky")
HANDLES = {"x": None, "mastodon": None, "bluesky": "bench.bsky.social"}
START = datetime(2023, 1, 1, 9, tzinfo=UTC)


def build(kind: str, posts: int, folder: Path) -> Path:
    """The archive of ``kind`` holding ``posts`` original posts."""
    from tests.fake_xapi import generated_posts

    made = generated_posts(posts, START, "post", timedelta(hours=3), seed=7)
    for i, post in enumerate(made):
        if i % 5 == 0:
            post["text"] += " More at https://example.com/news/2023/item-" + str(i)
    if kind == "x":
        from tests.archive_factory import archive_tweet, build_archive

        tweets = [
            archive_tweet(str(1_600_000_000_000_000_000 + i), p["text"], p["created_at"]) for i, p in enumerate(made)
        ]
        path, data = folder / "twitter.zip", build_archive("benchx", "4242", "Bench X", tweets)
    elif kind == "mastodon":
        from tests.other_archive_factory import build_mastodon_archive, mastodon_boost, mastodon_note

        activities = []
        for i, p in enumerate(made):
            body, _, url = p["text"].partition(" More at ")
            link = f' More at <a href="{url}" rel="nofollow noopener">{url[8:38]}…</a>' if url else ""
            html = f"<p>{escape(body, quote=False)}{link}</p>"
            activities.append(mastodon_note(str(109_000_000_000_000_000 + i), html, p["created_at"]))
            if i % 20 == 0:
                activities.append(mastodon_boost(str(109_500_000_000_000_000 + i), p["created_at"]))
        path, data = folder / "mastodon-archive.zip", build_mastodon_archive("alice", "mastodon.example", activities)
    else:
        from tests.other_archive_factory import (
            bluesky_post,
            bluesky_profile,
            bluesky_repost,
            build_bluesky_repo,
            link_facet,
        )

        records = [bluesky_profile("Bench B.")]
        for i, p in enumerate(made):
            body, _, url = p["text"].partition(" More at ")
            text, facets = body, None
            if url:
                text = f"{body} More at {url[8:38]}…"
                facets = [link_facet(text, f"{url[8:38]}…", url)]
            records.append(bluesky_post(f"3k{i:011d}", text, p["created_at"], facets=facets))
            if i % 20 == 0:
                records.append(bluesky_repost(f"3r{i:011d}", p["created_at"]))
                like = {"$type": "app.bsky.feed.like", "createdAt": "2023-01-01T00:00:00Z"}
                records.append((f"app.bsky.feed.like/3l{i:011d}", like))
        path, data = (
            folder / "bluesky-repo.car",
            build_bluesky_repo("did:plc:benchbenchbenchbenchbenc", records, fanout=16),
        )
    path.write_bytes(data)
    return path


def child(args: argparse.Namespace) -> None:
    use_tree(ROOT)
    from sqlalchemy import func, select

    from twitapp import runtime, tasks
    from twitapp.extensions import db
    from twitapp.models import Tweet
    from twitapp.services.file_import import read_upload

    started = time.perf_counter()
    with open(args.file, "rb") as handle:
        parsed = sum(len(batch.tweets) for batch in read_upload(handle, args.file, args.account, 512 << 20))
    parse_s = time.perf_counter() - started

    app = scratch_app(f"sqlite:///{args.database}")
    with app.app_context():
        if args.fake_embedder:
            from import_memory import HashedEmbedder

            app.extensions[runtime.KEY]["embedder"] = HashedEmbedder(runtime.embedder().model_name)
        runtime.embedder().embed(["warm up the spaCy model"])
        base = settle()
        reset_peak()
        started = time.perf_counter()
        with open(args.file, "rb") as handle:
            summary = tasks.submit("import", stream=handle, filename=args.file, account=args.account).result
        seconds = time.perf_counter() - started
        peak = peak_mib()
        stored = db.session.scalar(select(func.count()).select_from(Tweet))
    report_result(
        {"parsed": parsed, "parse_s": parse_s, "base_mib": base, "peak_mib": peak, "after_mib": rss_mib()}
        | {"seconds": seconds, "stored": stored, "message": summary.summary()}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3200)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--fake-embedder", action="store_true", help="hashed vectors instead of spaCy's")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--account", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    folder = Path(tempfile.mkdtemp(prefix="hypotweet-other-archives-"))
    results = {}
    try:
        print("| archive | file | reader alone | base / peak MiB | import | stored |")
        print("| --- | --- | --- | --- | --- | --- |")
        for kind in args.kinds.split(","):
            path = build(kind, args.posts, folder)
            extra = (["--account", HANDLES[kind]] if HANDLES[kind] else []) + (["--fake-embedder"] * args.fake_embedder)
            database = folder / f"{kind}.sqlite3"
            result = run_child(
                Path(__file__).resolve(), ROOT, ["--child", "--file", str(path), "--database", str(database)] + extra
            )
            results[kind] = result | {"kb": path.stat().st_size / 1024}
            if "error" in result:
                print(f"| {kind} | failed: {result['error']} |||||")
                continue
            print(
                f"| {kind} | {path.name}, {path.stat().st_size / 1024:,.0f} KB | {result['parse_s']:.2f} s, "
                f"{result['parsed']:,} records | {result['base_mib']:,.0f} / **{result['peak_mib']:,.0f}** "
                f"(+{result['peak_mib'] - result['base_mib']:,.0f}) | {result['seconds']:.1f} s "
                f"| {result['stored']:,} |",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
