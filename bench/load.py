"""Load and memory: gunicorn as the Procfile starts it, on PostgreSQL, 4 accounts x 3,200 real tweets.

    OPENBLAS_NUM_THREADS=1 pipenv run python bench/load.py [--database-url postgresql://postgres@127.0.0.1/hypotweet_load]
        [--connections 50] [--seconds 60] [--mix-seconds 30] [--skip-load-data] [--client async|threads|both]

1. Creates the database if needed (``createdb``), migrates it, and stores the newest 3,200 tweets of four
   senators from ../shared/data/senate117/tweets.csv.gz through the ingest service (real spaCy embeddings),
   then ``VACUUM ANALYZE`` (what autovacuum does to a settled database: the planner's row counts, and the
   visibility map that lets an index answer alone).
2. Starts gunicorn with the Procfile's command (``--preload --workers 2 --threads 2``) on 127.0.0.1, with
   the rate limits raised for the run (a last phase puts them back low to show the intended 429s).
3. Phase "predict": N keep-alive connections POST /api/predict for S seconds, each a different real tweet
   over the same four accounts (the fitted model is cached per worker). The load comes from one asyncio
   thread (bench/loadclient.py), or with ``--client threads`` from a ``requests`` session per thread (the
   first client), or ``both``, one after the other; each prints the CPU it and the server took.
4. Phase "mix": the same connections, 50% predictions (page form and API alternately), 50% page views
   (home, account pages, JSON list).
5. Memory: RSS and PSS of the gunicorn master and workers from /proc/<pid>/smaps_rollup, with the model
   loaded and fitted in each worker. Goal: the two workers under 512 MiB together (a Heroku basic dyno).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from common import ROOT, senate_by_author
from loadclient import Call, run_async, run_threads

HANDLES = ["JohnCornyn", "MarshaBlackburn", "SenatorHagerty", "SenWhitehouse"]
SERVER = ROOT  # the checkout gunicorn runs (--server-tree: another one, under this bench's clients)


def procfile_web() -> str:
    """The Procfile's web command of the server's checkout, without its leading VAR=value pairs (set in env)."""
    web = (SERVER / "Procfile").read_text().split("web:", 1)[1].splitlines()[0].strip()
    return re.sub(r"^(\w+=\S+\s+)+", "", web)


def sh(*args, **kwargs):
    return subprocess.run(args, check=False, capture_output=True, text=True, **kwargs)


def prepare_database(url: str, tweets: int, skip: bool) -> None:
    name = url.rsplit("/", 1)[1]
    created = sh("createdb", "-h", "127.0.0.1", "-U", "postgres", name)
    if created.returncode and "already exists" not in created.stderr:
        sys.exit(f"createdb {name} failed: {created.stderr.strip()}")
    from common import scratch_app  # migrates and empties the tables

    if skip:
        return
    from twitapp import runtime
    from twitapp.extensions import db
    from twitapp.services.ingest import AccountData, NewTweet, store

    by_author = senate_by_author()
    app = scratch_app(url)
    started = time.perf_counter()
    with app.app_context():
        for handle in HANDLES:
            rows = by_author[handle][-tweets:]
            new = [
                NewTweet(r["tweet_id"], r["text"], datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")))
                for r in rows
            ]
            result = store(
                db.session,
                AccountData(id=f"local:{handle.lower()}", username=handle, source="csv"),
                new,
                runtime.embedder(),
            )
            print(f"  stored @{handle}: {result.added} tweets")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE tweets, accounts")
        db.engine.dispose()
    print(f"  data loaded in {time.perf_counter() - started:.0f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, port: int, log: Path, extra_env: dict | None = None) -> subprocess.Popen:
    command = procfile_web().replace("0.0.0.0:${PORT:-8000}", f"127.0.0.1:{port}")
    command = command.replace("--access-logfile -", f"--access-logfile {log}.access")
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY="load-test-" + os.urandom(8).hex(),
        OPENBLAS_NUM_THREADS="1",
        RATE_LIMIT_PREDICT="100000 per minute",
        RATE_LIMIT_ACCOUNTS="1000 per minute",
        TRUSTED_PROXIES="1",
        LOG_LEVEL="WARNING",
        SESSION_COOKIE_SECURE="false",  # plain http here
        PATH=f"{SERVER / '.venv' / 'bin'}:{os.environ['PATH']}",
    )
    env.pop("WEB_CONCURRENCY", None)
    env.update(extra_env or {})
    print(f"  $ {command}")
    process = subprocess.Popen(
        ["bash", "-c", "exec " + command],
        cwd=SERVER,
        env=env,
        stdout=open(log, "w"),  # noqa: SIM115 (the server writes it until it is stopped)
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import requests

    for _ in range(240):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/accounts", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        if process.poll() is not None:
            sys.exit(f"gunicorn exited: see {log}")
        time.sleep(0.5)
    sys.exit(f"gunicorn did not answer: see {log}")


def workers_of(master: int) -> list[int]:
    out = sh("pgrep", "-P", str(master)).stdout.split()
    return [int(p) for p in out]


def memory(pid: int) -> dict[str, int]:
    """kB figures from smaps_rollup: Rss, Pss, and the private and shared parts."""
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return {
        k: int(v)
        for k, v in re.findall(
            r"^(Rss|Pss|Shared_Clean|Shared_Dirty|Private_Clean|Private_Dirty):\s+(\d+) kB", text, re.MULTILINE
        )
    }


def print_memory(master: int, label: str) -> None:
    rows = [("master", master)] + [(f"worker {i + 1}", pid) for i, pid in enumerate(workers_of(master))]
    total_rss = total_pss = 0
    print(f"\n  memory {label}:")
    for name, pid in rows:
        m = memory(pid)
        print(
            f"    {name:9} pid {pid:>7}: RSS {m['Rss'] / 1024:6.1f} MiB  PSS {m['Pss'] / 1024:6.1f} MiB  "
            f"(private {(m['Private_Clean'] + m['Private_Dirty']) / 1024:6.1f} MiB)"
        )
        if name != "master":
            total_rss += m["Rss"]
            total_pss += m["Pss"]
    all_pss = sum(memory(pid)["Pss"] for _, pid in rows)
    print(
        f"    two workers: RSS {total_rss / 1024:.1f} MiB summed, PSS {total_pss / 1024:.1f} MiB; "
        f"master + workers PSS {all_pss / 1024:.1f} MiB (budget 512 MiB)"
    )


CLIENTS = {"async": run_async, "threads": run_threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hypotweet_load")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--mix-seconds", type=float, default=30)
    parser.add_argument("--tweets", type=int, default=3200)
    parser.add_argument("--skip-load-data", action="store_true", help="reuse the accounts already stored")
    parser.add_argument(
        "--client",
        choices=["async", "threads", "both"],
        default="async",
        help="the load generator: one asyncio thread (lean), a requests session per thread (the first bench's), "
        "or both, each phase run with one then the other",
    )
    parser.add_argument("--server-tree", help="run gunicorn from this checkout (another commit) instead of this tree")
    args = parser.parse_args()
    if args.server_tree:
        global SERVER
        SERVER = Path(args.server_tree).resolve()
        print(f"  server: {SERVER} (this bench's data set-up and clients)")
    clients = ["threads", "async"] if args.client == "both" else [args.client]

    print("1. data")
    prepare_database(args.database_url, args.tweets, args.skip_load_data)
    print("2. gunicorn")
    port = free_port()
    log = Path(f"/tmp/hypotweet-load-{port}.log")
    process = start_gunicorn(args.database_url, port, log)
    base = f"http://127.0.0.1:{port}"
    server = lambda: [process.pid, *workers_of(process.pid)]  # noqa: E731
    try:
        import requests

        print_memory(process.pid, "after start (model not loaded yet)")
        texts = [r["text"] for h, rows in senate_by_author().items() if h not in HANDLES for r in rows[:2000]]
        texts = [t[:280] for t in texts if t.strip()]
        body = lambda rng: {"accounts": HANDLES, "text": rng.choice(texts)}  # noqa: E731
        warm = time.perf_counter()
        for _ in range(8):  # a new connection each time: every worker fits (or finds) the model once
            assert (
                requests.post(
                    base + "/api/predict", json=body(random), timeout=60, headers={"Connection": "close"}
                ).status_code
                == 200
            )
        print(f"  warm-up (a model fit per worker) {time.perf_counter() - warm:.1f} s")
        print_memory(process.pid, "with the model fitted in each worker")

        print(f"3. predict: {args.connections} connections, {args.seconds:.0f} s, POST /api/predict")
        for client in clients:
            predict = CLIENTS[client](
                base, args.connections, args.seconds, lambda rng, state: Call("POST", "/api/predict", body(rng)), server
            )
            predict.report(f"predict ({client} client)")

        pages = (
            ["/", "/api/accounts"] + [f"/accounts/{h}" for h in HANDLES] + [f"/accounts/{h}?page=9" for h in HANDLES]
        )

        def keep_token(state: dict, text: str) -> None:
            state["csrf"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text).group(1)

        def mixed(rng, state: dict) -> Call:
            """Each connection in turn: an API prediction, a form's prediction (the home page first, for the
            CSRF token of this connection's session), two page views."""
            state["n"] = n = state.get("n", -1) + 1
            if n % 4 == 0:
                return Call("POST", "/api/predict", body(rng))
            if n % 4 == 1:
                if "csrf" not in state:
                    return Call("GET", "/", on_text=keep_token)
                form = {"accounts": HANDLES, "text": rng.choice(texts), "csrf_token": state["csrf"]}
                return Call("POST", "/predict", form=form)
            return Call("GET", rng.choice(pages))

        print(f"4. mix: {args.connections} connections, {args.mix_seconds:.0f} s, half predictions, half page views")
        for client in clients:
            mix = CLIENTS[client](base, args.connections, args.mix_seconds, mixed, server)
            mix.report(f"mix ({client} client)")
        print_memory(process.pid, "after the load")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)

    print("5. intended 429s: a second gunicorn with the default RATE_LIMIT_PREDICT (30 per minute per address)")
    port = free_port()
    env_before = dict(os.environ)
    process = start_gunicorn_default_limits(args.database_url, port, log)
    try:
        # cheap refused bodies (400) so that the 31st request of the minute comes quickly: it must be 429
        limited = CLIENTS[clients[-1]](
            f"http://127.0.0.1:{port}", 5, 5, lambda rng, state: Call("POST", "/api/predict", {}), server
        )
        limited.report("default limits, one address")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        os.environ.clear()
        os.environ.update(env_before)
    print(f"\n  gunicorn log: {log}")


def start_gunicorn_default_limits(url: str, port: int, log: Path) -> subprocess.Popen:
    command = procfile_web().replace("0.0.0.0:${PORT:-8000}", f"127.0.0.1:{port}").replace("--access-logfile -", "")
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY="load-test-" + os.urandom(8).hex(),
        OPENBLAS_NUM_THREADS="1",
        LOG_LEVEL="WARNING",
        PATH=f"{SERVER / '.venv' / 'bin'}:{os.environ['PATH']}",
    )
    for key in ("RATE_LIMIT_PREDICT", "WEB_CONCURRENCY", "REDIS_URL"):
        env.pop(key, None)
    process = subprocess.Popen(
        ["bash", "-c", "exec " + command],
        cwd=SERVER,
        env=env,
        stdout=open(f"{log}.limited", "w"),  # noqa: SIM115 (the server writes it until it is stopped)
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import requests

    for _ in range(240):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/accounts", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.5)
    sys.exit("gunicorn (default limits) did not answer")


if __name__ == "__main__":
    main()
