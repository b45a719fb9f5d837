"""How long adding a 3,200-post account takes on each platform, from its fake on 127.0.0.1, and one
prediction across the three.

    pipenv run python bench/add_account.py [--database-url postgresql://postgres@127.0.0.1/test]

Each fake serves real posts of the shared senate file in its platform's pages (X 100, Bluesky 100,
Mastodon 40): per platform the time of each phase (fetching: HTTP pages and parsing; spaCy embedding;
the database write), the requests the fake received, and the process's peak resident memory during the
add above what it held before (the fake runs in this process and holds the posts it serves).
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from common import peak_mib, reset_peak, scratch_app, senate_by_author, settle

from tests.fake_bluesky import FakeBluesky
from tests.fake_mastodon import FakeMastodon
from tests.fake_xapi import FakeXAPI

#: (platform, the senator whose posts the fake serves, the handle it serves them under)
ACCOUNTS = [
    ("x", "JohnCornyn", "JohnCornyn"),
    ("bluesky", "MarshaBlackburn", "blackburn.bsky.social"),
    ("mastodon", "SenatorHagerty", "hagerty@mastodon.social"),
]


def serve(platform: str, handle: str, posts: list[dict]):
    """A started fake of ``platform`` holding ``handle`` and its posts (oldest first)."""
    if platform == "x":
        fake = FakeXAPI()
        fake.add_user(handle, tweets=posts)
    elif platform == "bluesky":
        fake = FakeBluesky()
        fake.add_actor(handle, posts)
    else:
        fake = FakeMastodon()
        fake.add_account(handle, posts)
    return fake.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a scratch SQLite file")
    parser.add_argument("--tweets", type=int, default=3200)
    args = parser.parse_args()

    from twitapp import runtime
    from twitapp.extensions import db
    from twitapp.services.ingest import ingest_from
    from twitapp.services.prediction import predict_author

    by_author = senate_by_author()
    fakes = {}
    for platform, author, handle in ACCOUNTS:
        rows = by_author[author][-args.tweets :]
        posts = [{"text": r["text"], "created_at": datetime.fromisoformat(r["created_at"])} for r in rows]
        fakes[platform] = serve(platform, handle, posts)
    try:
        app = scratch_app(
            args.database_url,
            X_API_URL=fakes["x"].url,
            BLUESKY_API_URL=fakes["bluesky"].url,
            MASTODON_API_URL=fakes["mastodon"].url,
            TWEETS_PER_ACCOUNT=args.tweets,
        )
        with app.app_context():
            runtime.embedder().embed(["warm up the spaCy model"])  # loaded once per process, not per request
            print(f"database: {db.engine.url.get_backend_name()}, {args.tweets:,} posts an account")
            columns = "posts | requests | fetching | embedding | storing | total | peak RSS above start: fetching, all"
            print(f"| platform | {columns} |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for platform, _, handle in ACCOUNTS:
                fake = fakes[platform]
                fake.requests.clear()
                marks: dict[str, float] = {}
                peaks: dict[str, float] = {}

                def progress(phase, done, total, marks=marks, peaks=peaks):
                    if phase not in marks:
                        marks[phase] = time.perf_counter()
                        peaks[phase] = peak_mib()  # the peak of the phases before this one

                before = settle()
                reset_peak()
                started = time.perf_counter()
                client = runtime.fetch_client(platform)
                result = ingest_from(db.session, client, runtime.embedder(), handle, args.tweets, progress=progress)
                ended = time.perf_counter()
                peak, fetch_peak = peak_mib() - before, peaks["embedding"] - before
                fetching, embedding = marks["embedding"] - started, marks["storing"] - marks["embedding"]
                print(
                    f"| {platform} | {result.added:,} | {len(fake.requests)} | {fetching:.2f} s | {embedding:.2f} s "
                    f"| {ended - marks['storing']:.2f} s | {ended - started:.2f} s | {fetch_peak:.1f}, {peak:.1f} MiB |"
                )

            handles = [handle for _, _, handle in ACCOUNTS]
            text = "Proud to stand with Texas families and our law enforcement officers."
            for label in ("cold (fit + cross-validation)", "warm (cached model)"):
                t0 = time.perf_counter()
                prediction = predict_author(
                    db.session, handles, text, runtime.embedder(), runtime.model_cache(), max_length=500
                )
                print(
                    f"predict across X, Bluesky and Mastodon (3 x {args.tweets:,} posts), {label}: "
                    f"{(time.perf_counter() - t0) * 1000:.0f} ms -> @{prediction.author} "
                    f"{prediction.probabilities[prediction.author]:.2f}"
                )
    finally:
        for fake in fakes.values():
            fake.stop()


if __name__ == "__main__":
    main()
