"""Two web processes and two job workers on one PostgreSQL and one Redis, as on Heroku (issue 20).

    OPENBLAS_NUM_THREADS=1 pipenv run python bench/topology.py [--database-url postgresql://postgres@127.0.0.1/hypotweet_topology]
        [--tweets 400] [--jobs 6] [--skip-load-data]

Starts two gunicorns from the Procfile (one worker each, ports of their own) and two ``flask worker``
processes, all with one ``DATABASE_URL``, one ``REDIS_URL`` (database 14 of the local Redis, its app keys
deleted first), one ``SECRET_KEY``, and the X API faked on 127.0.0.1. Then shows, printing figures:

1. a set of 4 accounts fitted once: the first guess through web A fits (``model.source`` "fitted"), the
   same set through web B answers from the shared store ("shared"), then from its memory ("memory");
2. jobs spread over both workers: ``--jobs`` accounts added through the two webs, each a job; which worker
   ran each (RQ's ``worker_name``);
3. rate limits counted across processes: with ``RATE_LIMIT_PREDICT=8 per minute``, guesses alternating
   between A and B are refused (429) past the eighth of the minute, whichever process gets it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests
from common import ROOT
from load import HANDLES, free_port, prepare_database, start_gunicorn

sys.path.insert(0, str(ROOT))
from tests.fake_xapi import FakeXAPI

REDIS_URL = "redis://127.0.0.1:6379/14"
TEXT = "We must lower the cost of prescription drugs for every family in this country."


def clear_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for pattern in ("hypotweet:*", "rq:*", "LIMITS:*"):
        for key in client.scan_iter(match=pattern, count=500):
            client.delete(key)


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "twitapp", "worker"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def guess(base: str, text: str = TEXT) -> requests.Response:
    return requests.post(f"{base}/api/predict", json={"accounts": HANDLES, "text": text}, timeout=120)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1/hypotweet_topology")
    parser.add_argument("--tweets", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--skip-load-data", action="store_true")
    args = parser.parse_args(argv)
    print(f"1. data: {len(HANDLES)} senators x {args.tweets} tweets into {args.database_url}")
    prepare_database(args.database_url, args.tweets, args.skip_load_data)
    clear_redis()
    logs = Path(tempfile.mkdtemp(prefix="hypotweet-topology-"))
    fake = FakeXAPI().start()
    for i in range(args.jobs):
        fake.add_user(f"NewAccount{i}", tweets=FakeXAPI.make_tweets(120, prefix=f"account {i}", seed=i))
    shared = {
        "DATABASE_URL": args.database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "topology-" + os.urandom(8).hex(),
        "X_API_URL": fake.url,
        "X_BEARER_TOKEN": "test-token",
        "WEB_CONCURRENCY": "1",
        "BACKGROUND_FIT_POSTS": "1000000",  # (this bench shows the shared store: fits run in the request)
        "RATE_LIMIT_PREDICT": "8 per minute",
        "RATE_LIMIT_ACCOUNTS": "1000 per minute",
        "OPENBLAS_NUM_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }
    processes = []
    try:
        ports = [free_port(), free_port()]
        for name, port in zip("AB", ports):
            processes.append(start_gunicorn(args.database_url, port, logs / f"web-{name}.log", shared))
        env = dict(os.environ, **shared)
        processes += [start_worker(env, logs / f"worker-{n}.log") for n in (1, 2)]
        web_a, web_b = (f"http://127.0.0.1:{port}" for port in ports)

        print("2. one fit for every process")
        for label, base in (("web A", web_a), ("web B", web_b), ("web B again", web_b)):
            started = time.perf_counter()
            answer = guess(base).json()
            print(
                f"  {label}: {answer['model']['source']:>7}, {time.perf_counter() - started:6.2f} s "
                f"(fit {answer['model']['fit_seconds']:.1f} s), @{answer['author']}"
            )

        print(f"3. {args.jobs} jobs over two workers")
        ids = []
        for i in range(args.jobs):
            base = (web_a, web_b)[i % 2]
            response = requests.post(f"{base}/api/accounts", json={"username": f"NewAccount{i}"}, timeout=30)
            ids.append(response.json()["job"]["id"])
        from redis import Redis
        from rq.job import Job
        from rq.serializers import JSONSerializer

        connection = Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            jobs = [Job.fetch(i, connection=connection, serializer=JSONSerializer) for i in ids]
            if all(job.get_status() in ("finished", "failed") for job in jobs):
                break
            time.sleep(1)
        ran = Counter(job.worker_name for job in jobs)
        statuses = Counter(str(job.get_status()) for job in jobs)
        print(f"  statuses {dict(statuses)}; jobs per worker: {sorted(ran.values(), reverse=True)}")

        print("4. rate limits counted across processes (8 guesses a minute)")
        codes = [guess((web_a, web_b)[i % 2], f"{TEXT} {i}").status_code for i in range(10)]
        print(f"  guesses 1-10, alternating A/B (3 were made in step 2: from the sixth on, 429): {codes}")
    finally:
        fake.stop()
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        print(f"logs: {logs}")


if __name__ == "__main__":
    main()
