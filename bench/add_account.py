"""How long adding a 3,200-tweet account takes, against a fake X API on 127.0.0.1, and one prediction.

    pipenv run python bench/add_account.py [--database-url postgresql://postgres@127.0.0.1/test]

The fake serves real tweets of the shared senate file, 100 per page as the X API does; the time covers
32 HTTP pages, parsing, spaCy embedding and the database write, phase by phase.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from common import scratch_app, senate_by_author

from tests.fake_xapi import FakeXAPI


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a scratch SQLite file")
    parser.add_argument("--tweets", type=int, default=3200)
    args = parser.parse_args()

    from twitapp import runtime
    from twitapp.extensions import db
    from twitapp.services.ingest import ingest_from_x
    from twitapp.services.prediction import predict_author

    by_author = senate_by_author()
    handles = ["JohnCornyn", "MarshaBlackburn", "SenatorHagerty", "SenWhitehouse"]
    with FakeXAPI() as fake:
        for handle in handles:
            rows = by_author[handle][-args.tweets :]
            fake.add_user(
                handle,
                tweets=[{"text": r["text"], "created_at": datetime.fromisoformat(r["created_at"])} for r in rows],
            )
        app = scratch_app(args.database_url, X_API_URL=fake.url)
        with app.app_context():
            runtime.embedder().embed(["warm up the spaCy model"])  # loaded once per process, not per request
            marks = {}

            def progress(phase, done, total):
                marks.setdefault(phase, time.perf_counter())

            started = time.perf_counter()
            result = ingest_from_x(
                db.session, runtime.x_client(), runtime.embedder(), handles[0], args.tweets, progress=progress
            )
            total = time.perf_counter() - started
            print(f"database: {db.engine.url.get_backend_name()}")
            print(f"add @{handles[0]}: {result.added} tweets in {total:.2f} s ({result.added / total:.0f} tweets/s)")
            print(
                f"  fetching {marks['embedding'] - started:.2f} s ({len(fake.requests)} requests), "
                f"embedding {marks['storing'] - marks['embedding']:.2f} s, "
                f"storing {started + total - marks['storing']:.2f} s"
            )
            for handle in handles[1:]:
                ingest_from_x(db.session, runtime.x_client(), runtime.embedder(), handle, args.tweets)

            text = "Proud to stand with Texas families and our law enforcement officers."
            for label in ("cold (fit + cross-validation)", "warm (cached model)"):
                t0 = time.perf_counter()
                prediction = predict_author(db.session, handles, text, runtime.embedder(), runtime.model_cache())
                print(
                    f"predict over 4 x {args.tweets} tweets, {label}: {(time.perf_counter() - t0) * 1000:.0f} ms"
                    f" -> @{prediction.author} {prediction.probabilities[prediction.author]:.2f}"
                )


if __name__ == "__main__":
    main()
