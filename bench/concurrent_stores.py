"""Concurrent stores into one account: the kept post count against the real one (issue 17, finding 5).

    pipenv run python bench/concurrent_stores.py --before /tmp/before [--writers 3] [--posts 1000] [--rounds 3]

``--before`` is a checkout of the code to compare with (``git worktree add --detach /tmp/before d2a2594``);
without it only this tree runs. Each tree runs in a fresh process on PostgreSQL (``--database``, default
``postgresql://postgres@127.0.0.1:5432/bench_concurrent``, created if missing): one account is stored,
then ``--writers`` threads store ``--posts`` new posts each into it at once, through the ingest service
(hashed vectors stand in for spaCy, so the writes overlap). Printed per round: the count the account
keeps, the posts really stored, and the updates lost.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report_result, run_child, use_tree

DEFAULT_DATABASE = "postgresql+psycopg2://postgres@127.0.0.1:5432/bench_concurrent"


class HashedEmbedder:
    """96 float32 from each text's hash: the app's vectors' shape without spaCy's time."""

    model_name = "bench-hashed"

    def embed(self, texts, progress=None):
        return [np.frombuffer(hashlib.sha384(t.encode()).digest() * 8, dtype=np.float32)[:96] for t in texts]


def ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def child(args) -> None:
    use_tree(Path.cwd())
    import inspect

    from common import scratch_app
    from sqlalchemy import create_engine, func, select, text

    from twitapp.extensions import db
    from twitapp.models import Account, Tweet
    from twitapp.services.ingest import AccountData, NewTweet, store

    engine = create_engine(args.database)  # each tree builds the schema by its own migrations
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    app = scratch_app(args.database, migrations=Path.cwd() / "migrations")
    embedder = HashedEmbedder()
    data = AccountData(id="local:racer", username="racer", source="csv")
    allowed = {"may_update": True} if "may_update" in inspect.signature(store).parameters else {}
    start = datetime(2022, 1, 1, tzinfo=UTC)

    def posts(tag: str, n: int):
        return [NewTweet(f"{tag}-{i}", f"post {tag} {i}", start + timedelta(minutes=i)) for i in range(n)]

    with app.app_context():
        store(db.session, data, posts("seed", 10), embedder)
    rounds = []
    for number in range(args.rounds):
        errors: list[str] = []
        barrier = threading.Barrier(args.writers)

        def write(writer: int, number=number, barrier=barrier, errors=errors) -> None:
            with app.app_context():
                barrier.wait()
                try:
                    store(db.session, data, posts(f"r{number}w{writer}", args.posts), embedder, **allowed)
                except Exception as exc:  # a lost race that raises is a figure too
                    errors.append(type(exc).__name__)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(args.writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with app.app_context():
            kept = db.session.scalar(select(Account.tweet_count).where(Account.id == data.id))
            real = db.session.scalar(select(func.count()).select_from(Tweet).where(Tweet.account_id == data.id))
        rounds.append({"kept": kept, "real": real, "errors": errors})
    report_result({"rounds": rounds})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="a checkout of the code to compare with")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    ensure_database(args.database)
    here = Path(__file__).resolve()
    trees = {"after": here.parents[1]} | ({"before": Path(args.before).resolve()} if args.before else {})
    flags = ["--child", "--database", args.database, "--writers", str(args.writers), "--posts", str(args.posts)]
    flags += ["--rounds", str(args.rounds)]
    print(f"{args.writers} writers x {args.posts} posts into one account, {args.rounds} rounds, PostgreSQL")
    print(f"{'tree':<7} {'round':>5} {'kept count':>11} {'real posts':>11} {'lost':>6}  errors")
    for name, tree in sorted(trees.items(), reverse=True):
        result = run_child(here, tree, flags)
        if "error" in result:
            print(f"{name:<7} failed: {result['error']}")
            continue
        for number, r in enumerate(result["rounds"], start=1):
            errors = ", ".join(r["errors"]) or "-"
            print(f"{name:<7} {number:>5} {r['kept']:>11,} {r['real']:>11,} {r['real'] - r['kept']:>6,}  {errors}")


if __name__ == "__main__":
    main()
