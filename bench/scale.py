"""Thousands of accounts: the home page and GET /api/accounts with 10 and with 2,000 stored accounts, the
database's size per stored post (SQLite and PostgreSQL), and the cold fit from 2 to 10 accounts.

    pipenv run python bench/scale.py [--requests 40] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

The accounts are synthesised from the shared senators' file (../shared/data/senate117): each of the 67
senators' tweets, oldest first, is cut into 30 runs of consecutive tweets, each run an account of its own
(``<handle[:9]><senator><run>``), 2,010 in all (the first 2,000 kept), so all 137,605 real tweets are stored
(about 69 an account). To keep the bench fast the posts are written straight into the tables in bulk (not
through the ingest), with random unit-length 96-d float32 vectors in place of spaCy's: the same bytes a
stored post takes, so the sizes hold; the pages and the API never read a vector.

A request's server time is the test client's call (the whole WSGI app, no network), p50 and p90 of
``--requests`` calls after one warm-up, the bench's own data frozen out of the garbage collector first
(``gc.freeze``: without it, collections walking the 137,605 rows the bench holds made a page 10x slower).
With ``--postgres URL`` (a server's maintenance database) the same
runs on a scratch database (``--postgres-db``, default hypotweet_bench_scale) created there and dropped at
the end.

The cold fit: ``prediction.predict_author`` on a cache miss (fit, cross-validation, none-of-these check,
map), for 2, 4, 6, 8 and 10 whole senators with their newest ``--fit-tweets`` tweets each (18 stored, so
that every set has the none-of-these check's 8 impostor accounts beside it), random vectors too unless
``--spacy`` (spaCy's, embedded first).

``--tree DIR`` measures the pages of another checkout (``git archive <commit> | tar -x -C DIR``), for a
before and after; ``--skip-fits`` leaves the fits out.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from datetime import datetime

import numpy as np
from common import ROOT, scratch_app, senate_by_author, use_tree

RUNS_PER_SENATOR = 30
ACCOUNTS = 2000
FEW = 10
FIT_SIZES = (2, 4, 6, 8, 10)


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, 96)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def synthetic_accounts(by_author: dict[str, list[dict]]) -> list[tuple[str, str, list[dict]]]:
    """(handle, name, rows) of the 2,000 accounts cut from the senators' tweets."""
    accounts = []
    for i, (handle, rows) in enumerate(sorted(by_author.items())):
        for j in range(RUNS_PER_SENATOR):
            run = rows[j * len(rows) // RUNS_PER_SENATOR : (j + 1) * len(rows) // RUNS_PER_SENATOR]
            accounts.append((f"{handle[:9]}{i:02d}{j:02d}", f"{handle} part {j + 1}", run))
    return accounts[:ACCOUNTS]


def store(app, accounts: list[tuple[str, str, list[dict]]], model_name: str, seed: int = 0) -> int:
    """Write the accounts and their posts in bulk; the number of posts written."""
    from sqlalchemy import insert

    from twitapp.extensions import db
    from twitapp.models import Account, Tweet

    rng = np.random.default_rng(seed)
    posts = 0
    with app.app_context():
        for start in range(0, len(accounts), 200):
            chunk = accounts[start : start + 200]
            db.session.execute(
                insert(Account),
                [
                    {"id": f"local:{h.lower()}", "username": h, "name": name, "source": "csv", "tweet_count": len(rows)}
                    for h, name, rows in chunk
                ],
            )
            tweets = []
            for handle, _, rows in chunk:
                vectors = unit_vectors(rng, len(rows))
                for row, vector in zip(rows, vectors, strict=True):
                    tweets.append(
                        {
                            "account_id": f"local:{handle.lower()}",
                            "id": row["tweet_id"],
                            "text": row["text"],
                            "created_at": datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")).replace(
                                tzinfo=None
                            ),
                            "embedding": vector.tobytes(),
                            "embedding_model": model_name,
                            "embedding_dim": 96,
                        }
                    )
            for at in range(0, len(tweets), 5000):
                db.session.execute(insert(Tweet), tweets[at : at + 5000])
            db.session.commit()
            posts += len(tweets)
    return posts


def server_times(app, url: str, requests: int) -> list[float]:
    gc.collect()
    gc.freeze()  # the bench's own 137,605 rows in memory are no server's: kept out of the collector's rounds
    client = app.test_client()
    assert client.get(url).status_code == 200, url  # warm-up: templates compiled, connections open
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, url
    return times


def p(times: list[float], q: int) -> float:
    return float(np.percentile(times, q)) * 1000


def size_per_post(app, posts: int) -> str:
    from sqlalchemy import text

    from twitapp.extensions import db

    with app.app_context():
        if db.engine.url.get_backend_name() == "sqlite":
            db.session.commit()
            with db.engine.connect() as conn:
                conn.exec_driver_sql("VACUUM")
            path = db.engine.url.database
            total = os.path.getsize(path)
            return f"{total / posts:,.0f} bytes a post ({total / 2**20:,.1f} MiB file after VACUUM, {posts:,} posts)"
        tables = db.session.scalar(text("SELECT pg_total_relation_size('tweets') + pg_total_relation_size('accounts')"))
        whole = db.session.scalar(text("SELECT pg_database_size(current_database())"))
        return (
            f"{tables / posts:,.0f} bytes a post (tweets + accounts with indexes and TOAST: {tables / 2**20:,.1f} MiB;"
            f" the whole database {whole / 2**20:,.1f} MiB, {posts:,} posts)"
        )


def pages_at_scale(label: str, database_url: str | None, accounts, model_name: str, requests: int, tree=ROOT) -> None:
    app = scratch_app(database_url, migrations=tree / "migrations")
    urls = {
        "home page GET /": "/",
        "home page searched GET /?q=warren": "/?q=warren",
        "GET /api/accounts": "/api/accounts",
    }
    figures: dict[str, dict[int, list[float]]] = {name: {} for name in urls}
    posts = store(app, accounts[:FEW], model_name)
    for name, url in urls.items():
        figures[name][FEW] = server_times(app, url, requests)
    posts += store(app, accounts[FEW:], model_name, seed=1)
    for name, url in urls.items():
        figures[name][len(accounts)] = server_times(app, url, requests)
    print(f"\n[{label}] server time, {requests} requests each")
    for name, by_count in figures.items():
        few, many = by_count[FEW], by_count[len(accounts)]
        print(
            f"  {name:<36} {FEW:>5} accounts: p50 {p(few, 50):6.1f} ms  p90 {p(few, 90):6.1f} ms | "
            f"{len(accounts):,} accounts: p50 {p(many, 50):6.1f} ms  p90 {p(many, 90):6.1f} ms | "
            f"p50 ratio {statistics.median(many) / statistics.median(few):.2f}x"
        )
    print(f"  database size: {size_per_post(app, posts)}")
    with app.app_context():
        from twitapp.extensions import db

        db.engine.dispose()


def cold_fits(by_author, fit_tweets: int, spacy: bool) -> None:
    from twitapp import runtime
    from twitapp.extensions import db
    from twitapp.services import prediction

    rng = random.Random(0)
    from twitapp.services.outsiders import MAX_IMPOSTORS

    # every set has as many other stored accounts beside it (the none-of-these check's impostors)
    senators = sorted(by_author, key=lambda h: -len(by_author[h]))[: max(FIT_SIZES) + MAX_IMPOSTORS]
    app = scratch_app(MODEL_CACHE_SIZE=2)
    with app.app_context():
        embedder = runtime.embedder()
        model_name = embedder.model_name
    accounts = [(h, h, by_author[h][-fit_tweets:]) for h in senators]
    store(app, accounts, model_name, seed=2)
    if spacy:
        from sqlalchemy import update

        from twitapp.models import Tweet

        with app.app_context():
            for _, _, rows in accounts:
                vectors = embedder.embed([r["text"] for r in rows])
                for row, vector in zip(rows, vectors, strict=True):
                    db.session.execute(
                        update(Tweet).where(Tweet.id == row["tweet_id"]).values(embedding=vector.tobytes())
                    )
            db.session.commit()
    others = [r["text"] for h in by_author if h not in senators for r in by_author[h][-20:] if len(r["text"]) <= 280]
    print(
        f"\n[cold fit] predict_author on a cache miss, senators' newest {fit_tweets:,} tweets each, "
        f"{'spaCy' if spacy else 'random unit'} vectors (SQLite)"
    )
    first = None
    with app.app_context():
        embedder = runtime.embedder()
        prediction.predict_author(db.session, senators[-2:], rng.choice(others), embedder, runtime.model_cache())
        for k in FIT_SIZES:  # (a first fit above loaded spaCy and warmed the code; each set below is new)
            cache = runtime.model_cache()
            cache.clear()
            start = time.perf_counter()
            prediction.predict_author(db.session, senators[:k], rng.choice(others), embedder, cache, max_candidates=k)
            seconds = time.perf_counter() - start
            first = first or seconds
            chosen = prediction.resolve_candidates(db.session, senators[:k], k)
            key = prediction.model_key(chosen, prediction.DEFAULT_TWEETS_PER_ACCOUNT)
            fitted, _ = cache.lookup(key, lambda: None)
            parts = ", ".join(f"{name} {t:.2f} s" for name, t in getattr(fitted, "timings", {}).items())
            ratio = seconds / first
            posts = f"{k * fit_tweets:,} posts"
            print(f"  {k:>2} accounts ({posts}): {seconds:6.2f} s  ({ratio:.1f}x the 2 accounts'; {parts})")


def postgres_scratch(maintenance_url: str, name: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from twitapp.config import database_url

    engine = create_engine(database_url(maintenance_url, ""), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(maintenance_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--postgres", help="a PostgreSQL maintenance database URL (a scratch database is made there)")
    parser.add_argument("--postgres-db", default="hypotweet_bench_scale", help="the scratch database's name")
    parser.add_argument("--fit-tweets", type=int, default=800)
    parser.add_argument("--spacy", action="store_true", help="the cold fits on spaCy's vectors, not random ones")
    parser.add_argument("--skip-fits", action="store_true")
    parser.add_argument("--tree", help="measure the pages of another checkout (an older commit) instead of this one")
    args = parser.parse_args()
    tree = use_tree(args.tree) if args.tree else ROOT
    by_author = senate_by_author()
    accounts = synthetic_accounts(by_author)
    tweets = sum(map(len, by_author.values()))
    print(f"{len(accounts):,} accounts cut from {len(by_author)} senators' {tweets:,} tweets")
    print(f"(tree {tree}; settings: ACCOUNTS_PER_PAGE 24 on the home page, 100 a page on the API)")
    from twitapp.config import TestConfig

    model_name = TestConfig().SPACY_MODEL
    pages_at_scale("SQLite", None, accounts, model_name, args.requests, tree)
    if args.postgres:
        url, drop = postgres_scratch(args.postgres, args.postgres_db)
        try:
            pages_at_scale("PostgreSQL", url, accounts, model_name, args.requests, tree)
        finally:
            drop()
    if not args.skip_fits:
        cold_fits(by_author, args.fit_tweets, args.spacy)


if __name__ == "__main__":
    main()
