"""One prediction over three 60,000-post accounts, the code before the fit's window and now (issue 17, 10).

    pipenv run python bench/big_accounts.py --before /tmp/before [--posts 60000] [--fake-embedder] [--gunicorn-malloc]

``--before`` is a checkout of the code to compare with (``git worktree add --detach /tmp/before 8949ed6``);
without it only this tree runs. Three accounts of ``--posts`` posts each are written straight into a new
SQLite database (no import, whose caps would refuse them now): the texts of the shared file's three
largest senators' accounts, cycled, with their real spaCy embeddings (float32 bytes, as stored), ten
minutes apart. Then, in a fresh Python process per tree, after spaCy is loaded and warmed up, one
``POST /api/predict`` over the three (the route's own settings: TWEETS_PER_ACCOUNT where the code has the
window), through the test client. Printed per tree: the cold prediction's wall time and status, the
process's resident memory before and at its peak, what the fitted model still holds once garbage is
collected (RSS with the model cached minus RSS after ``cache.clear()``, and its pickled size), and one
warm prediction. ``--gunicorn-malloc`` sets glibc's arenas and mmap threshold as ``gunicorn.conf.py`` does
for the web workers (by default a child runs with glibc's defaults, as ``flask run`` would).
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from common import (
    ROOT,
    gunicorn_malloc,
    peak_mib,
    report_result,
    reset_peak,
    run_child,
    scratch_app,
    senate_by_author,
    settle,
    use_tree,
)

HANDLES = ["JohnCornyn", "MarshaBlackburn", "SenatorHagerty"]
TEXT = "Proud to stand with Texas families and our law enforcement officers."


def build_database(path: Path, posts: int, fake_embedder: bool) -> None:
    """Three accounts of ``posts`` posts each, written with SQLAlchemy core in chunks."""
    from sqlalchemy import insert

    from twitapp import runtime
    from twitapp.extensions import db
    from twitapp.models import Account, Tweet
    from twitapp.services.embedding import to_bytes
    from twitapp.services.ingest import local_account_id

    by_author = senate_by_author()
    app = scratch_app(f"sqlite:///{path}")
    with app.app_context():
        embedder = runtime.embedder()
        if fake_embedder:
            from import_memory import HashedEmbedder

            embedder = HashedEmbedder(embedder.model_name)
        started = time.perf_counter()
        for handle in HANDLES:
            texts = [row["text"] for row in by_author[handle]]
            vectors = [to_bytes(v) for v in embedder.embed(texts)]
            account_id = local_account_id(handle)
            db.session.add(Account(id=account_id, username=handle, source="csv", name=handle, tweet_count=posts))
            db.session.flush()
            first = datetime(2010, 1, 1)
            rows = [
                dict(
                    id=f"big-{handle.lower()}-{i:06d}",
                    account_id=account_id,
                    text=texts[i % len(texts)],
                    created_at=first + timedelta(minutes=10 * i),
                    embedding=vectors[i % len(texts)],
                    embedding_model=embedder.model_name,
                    embedding_dim=96,
                )
                for i in range(posts)
            ]
            for start in range(0, posts, 5_000):
                db.session.execute(insert(Tweet), rows[start : start + 5_000])
            db.session.commit()
            print(f"  @{handle}: {posts:,} posts ({len(texts):,} distinct texts, embedded)", flush=True)
        print(f"  written in {time.perf_counter() - started:.1f} s", flush=True)


def child(args: argparse.Namespace) -> None:
    if args.gunicorn_malloc:
        gunicorn_malloc()
    use_tree(args.tree)
    from twitapp import create_app, runtime
    from twitapp.config import TestConfig

    app = create_app(TestConfig(DATABASE_URL=f"sqlite:///{args.database}"))
    if args.fake_embedder:
        from import_memory import HashedEmbedder

        app.extensions[runtime.KEY]["embedder"] = HashedEmbedder(app.config["SPACY_MODEL"])
    client = app.test_client()
    with app.app_context():
        runtime.embedder().embed(["warm up the spaCy model"])
    body = {"accounts": HANDLES, "text": TEXT}
    base = settle()
    reset_peak()
    started = time.perf_counter()
    response = client.post("/api/predict", json=body)
    cold = time.perf_counter() - started
    peak = peak_mib()
    answer = response.get_json()
    outcome = f"{response.status_code} @{answer['author']}" if response.status_code == 200 else str(answer)
    started = time.perf_counter()
    client.post("/api/predict", json=body)
    warm = time.perf_counter() - started
    with app.app_context():
        cache = runtime.model_cache()
        cached = len(cache)
        try:
            pickled = sum(len(pickle.dumps(value)) for value in cache._items.values()) / 2**20
        except Exception as exc:  # a model that does not pickle: the RSS figures still stand
            pickled = f"not picklable ({type(exc).__name__})"
        held = settle()
        cache.clear()
    released = settle()
    report_result(
        {"base_mib": base, "peak_mib": peak, "cold_s": cold, "warm_s": warm, "outcome": outcome}
        | {"held_mib": held, "released_mib": released, "cached": cached, "pickled_mib": pickled}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--posts", type=int, default=60_000, help="posts per account (default 60,000)")
    parser.add_argument("--fake-embedder", action="store_true", help="hashed vectors instead of spaCy's")
    parser.add_argument(
        "--gunicorn-malloc", action="store_true", help="glibc's settings of gunicorn.conf.py, as a web worker runs"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    folder = Path(tempfile.mkdtemp(prefix="hypotweet-big-accounts-"))
    database = folder / "big.sqlite3"
    print(f"3 accounts x {args.posts:,} posts into {database}", flush=True)
    build_database(database, args.posts, args.fake_embedder)
    results = {}
    try:
        for label, tree in trees:
            extra = ["--fake-embedder"] * args.fake_embedder + ["--gunicorn-malloc"] * args.gunicorn_malloc
            result = run_child(
                Path(__file__).resolve(), tree, ["--child", "--tree", str(tree), "--database", str(database), *extra]
            )
            results[label] = result
            print(f"{label} ({tree}): {json.dumps(result)}", flush=True)
    finally:
        database.unlink(missing_ok=True)
        folder.rmdir()

    print(f"\n| one prediction over 3 x {args.posts:,} posts | " + " | ".join(label for label, _ in trees) + " |")
    print("| --- | " + " | ".join("---" for _ in trees) + " |")
    rows = [
        ("cold prediction (fit + cross-validation + map)", lambda r: f"{r['cold_s']:.1f} s, {r['outcome']}"),
        ("resident memory before / at the peak", lambda r: f"{r['base_mib']:,.0f} / {r['peak_mib']:,.0f} MiB"),
        ("peak rise during the prediction", lambda r: f"+{r['peak_mib'] - r['base_mib']:,.0f} MiB"),
        ("held by the cached model (RSS with it minus after clear)", _held),
        ("the cached model, pickled", _pickled),
        ("warm prediction (cached model)", lambda r: f"{r['warm_s'] * 1000:.0f} ms"),
    ]
    for name, cell in rows:
        print(f"| {name} | " + " | ".join(_safe(cell, results[label]) for label, _ in trees) + " |")


def _held(result: dict) -> str:
    return f"{result['held_mib'] - result['released_mib']:,.0f} MiB ({result['cached']} model)"


def _pickled(result: dict) -> str:
    size = result["pickled_mib"]
    return f"{size:,.0f} MiB" if isinstance(size, float) else size


def _safe(cell, result: dict) -> str:
    return f"failed: {result['error']}" if "error" in result else cell(result)


if __name__ == "__main__":
    main()
