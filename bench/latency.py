"""Prediction latency: the app's cached model against the seed's way, side by side in one run.

    pipenv run python bench/latency.py [--requests 200] [--database-url URL]

Loads 4 senators x 3,200 tweets from the shared file into a scratch database, then measures:
- the seed's way: embed the text and refit ``LogisticRegression()`` on the 96-d embeddings every request;
- the cold prediction (fit + cross-validation + the map's projection, on a cache miss);
- warm predictions through the service and through ``POST /api/predict`` (server-side: the test client);
- that the model cache never holds more than ``MODEL_CACHE_SIZE`` models.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime

import numpy as np
from common import scratch_app, senate_by_author
from threadpoolctl import threadpool_limits

HANDLES = ["JohnCornyn", "MarshaBlackburn", "SenatorHagerty", "SenWhitehouse"]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def report(label: str, seconds: list[float]) -> float:
    ms = [s * 1000 for s in seconds]
    p50 = statistics.median(ms)
    print(
        f"{label:<44} p50 {p50:8.1f} ms   p90 {percentile(ms, 90):8.1f} ms   p99 {percentile(ms, 99):8.1f} ms"
        f"   (n={len(ms)})"
    )
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--tweets", type=int, default=3200)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sqlalchemy import select

    from twitapp import runtime
    from twitapp.extensions import db
    from twitapp.models import Tweet
    from twitapp.services.file_import import import_accounts
    from twitapp.services.prediction import predict_author
    from twitapp.sources import ImportedAccount, ImportedTweet

    by_author = senate_by_author()
    app = scratch_app(args.database_url, MODEL_CACHE_SIZE=8)
    texts_pool = [r["text"] for h in by_author if h not in HANDLES for r in by_author[h][-50:] if len(r["text"]) <= 280]
    rng = random.Random(0)
    with app.app_context():
        accounts = [
            ImportedAccount(
                h,
                "csv",
                [
                    ImportedTweet(r["tweet_id"], r["text"], datetime.fromisoformat(r["created_at"]))
                    for r in by_author[h][-args.tweets :]
                ],
            )
            for h in HANDLES
        ]
        t0 = time.perf_counter()
        import_accounts(db.session, accounts, runtime.embedder())
        print(
            f"loaded {len(HANDLES)} x {args.tweets} tweets in {time.perf_counter() - t0:.1f} s "
            f"({db.engine.url.get_backend_name()})"
        )
        embedder, cache = runtime.embedder(), runtime.model_cache()

        # The seed's way: every request embeds the text and refits on the accounts' stored embeddings.
        rows = db.session.execute(select(Tweet.account_id, Tweet.embedding)).all()
        labels = [r[0] for r in rows]
        seed_requests = max(10, args.requests // 10)
        seed = []
        for _ in range(seed_requests):
            text = rng.choice(texts_pool)
            start = time.perf_counter()
            vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            with threadpool_limits(1):
                model = LogisticRegression().fit(vectors, labels)
            model.predict_proba(embedder.embed([text]))
            seed.append(time.perf_counter() - start)

        start = time.perf_counter()
        predict_author(db.session, HANDLES, rng.choice(texts_pool), embedder, cache)
        cold = time.perf_counter() - start

        warm = []
        for _ in range(args.requests):
            text = rng.choice(texts_pool)
            start = time.perf_counter()
            predict_author(db.session, HANDLES, text, embedder, cache)
            warm.append(time.perf_counter() - start)

        client = app.test_client()
        through_api = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = client.post("/api/predict", json={"accounts": HANDLES, "text": rng.choice(texts_pool)})
            through_api.append(time.perf_counter() - start)
            assert response.status_code == 200, response.json

        print(f"\nprediction over {len(HANDLES)} accounts x {args.tweets} tweets, one BLAS thread")
        seed_p50 = report("seed's way (refit 96-d LR every request)", seed)
        print(f"{'hypotweet cold (fit + cross-validation)':<44} {cold * 1000:8.0f} ms")
        warm_p50 = report("hypotweet warm, service call", warm)
        api_p50 = report("hypotweet warm, POST /api/predict", through_api)
        print(
            f"speed-up of a warm prediction over the seed's way: {seed_p50 / warm_p50:.0f}x (service), "
            f"{seed_p50 / api_p50:.0f}x (API)"
        )

        pairs = [list(p) for p in ((a, b) for i, a in enumerate(HANDLES) for b in HANDLES[i + 1 :])]
        for subset in pairs + [HANDLES[:3], HANDLES[1:]] + [HANDLES[::2] + HANDLES[1:2]]:
            predict_author(db.session, subset, "bounded cache check", embedder, cache)
        print(
            f"model cache: {len(cache)} models held after {len(pairs) + 4} distinct sets "
            f"(bound MODEL_CACHE_SIZE={cache.maxsize})"
        )


if __name__ == "__main__":
    main()
