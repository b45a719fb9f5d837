"""Time from request to first answer when adding a 3,200-tweet account: inline (no REDIS_URL) vs queued.

    OPENBLAS_NUM_THREADS=1 pipenv run python bench/jobs_latency.py [--redis-url redis://127.0.0.1:6379/5]

The fake X API serves real tweets of the shared senate file (32 pages of 100). Inline, the answer comes after
fetching, embedding and storing; queued, it is the 202 with the job URL, and the job is then run by an
in-process worker to show how long the work itself took. The spaCy model is warmed up first in both modes,
as a web dyno or worker that has served one request would be. The Redis database is flushed.
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
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--tweets", type=int, default=3200)
    args = parser.parse_args()

    from rq import SimpleWorker

    from twitapp import runtime
    from twitapp import tasks as jobs
    from twitapp.redis_client import redis_connection

    rows = senate_by_author()["JohnCornyn"][-args.tweets :]
    tweets = [{"text": r["text"], "created_at": datetime.fromisoformat(r["created_at"])} for r in rows]
    for mode, redis_url in (("inline", None), ("queued", args.redis_url)):
        with FakeXAPI() as fake:
            fake.add_user("JohnCornyn", tweets=tweets)
            app = scratch_app(args.database_url, X_API_URL=fake.url, REDIS_URL=redis_url)
            with app.app_context():
                runtime.embedder().embed(["warm up the spaCy model"])
                if redis_url:
                    redis_connection().flushdb()
            client = app.test_client()
            started = time.perf_counter()
            response = client.post("/api/accounts", json={"username": "JohnCornyn"})
            answered = time.perf_counter() - started
            line = f"{mode:>6}: HTTP {response.status_code} after {answered * 1000:,.0f} ms"
            if redis_url:
                with app.app_context():
                    queue = jobs.queue()  # (jobs are JSON: the worker must read them with the queue's serializer)
                    SimpleWorker([queue], connection=redis_connection(), serializer=queue.serializer).work(burst=True)
                job = client.get(response.get_json()["job"]["url"]).get_json()["job"]
                line += (
                    f"; the job then ran to '{job['status']}' {time.perf_counter() - started:.2f} s after the "
                    f"request ({job['message']})"
                )
                if job["status"] != "finished":
                    raise SystemExit(f"{line}\nthe job did not finish: this figure is not a measurement")
            else:
                line += f" ({response.get_json()['account']['message']})"
            print(line)


if __name__ == "__main__":
    main()
