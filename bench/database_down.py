"""A database that stops answering: time from a request to its answer, with the engine options before issue 17
(``pool_pre_ping`` only) and now (``twitapp.config.engine_options``), side by side.

    OPENBLAS_NUM_THREADS=1 pipenv run python bench/database_down.py [--cap 40]
        [--database-url postgresql://postgres@127.0.0.1:5432/hypotweet_down]

Three faults, each on 127.0.0.1: a port whose TCP handshake never completes (a partition before connecting), a
server that accepts and never says a word (the PostgreSQL startup stalls), and, on the PostgreSQL of
``--database-url`` (created with ``createdb`` and migrated; skipped when it does not answer), the ``accounts``
table locked by another connection; then the lock is released and the next request timed (recovery, no
restart). Each request is ``GET /api/accounts`` through the Flask test client, given ``--cap`` seconds at most
(gunicorn would kill the worker at 25 s). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import threading
import time
from contextlib import contextmanager

import common  # the repository on sys.path, OPENBLAS_NUM_THREADS; scratch_app


def before_options(url, config, serving):
    return {"pool_pre_ping": True}


@contextmanager
def unresponsive_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    yield f"postgresql://postgres@127.0.0.1:{port}/hypotweet"
    for s in [*fillers, server]:
        s.close()


@contextmanager
def silent_server():
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"postgresql://postgres@127.0.0.1:{server.getsockname()[1]}/hypotweet"
    server.close()
    for s in held:
        s.close()


def timed(client, cap: float) -> str:
    answer: list = []
    began = time.monotonic()

    def ask():
        response = client.get("/api/accounts")
        answer.append((response.status_code, response.headers.get("Retry-After")))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(cap)
    seconds = time.monotonic() - began
    if not answer:
        return f"no answer within {cap:.0f} s"
    status, retry = answer[0]
    return f"{status} in {seconds:5.2f} s" + (f" (Retry-After {retry})" if retry else "")


def app_for(url: str, options) -> object:
    import twitapp
    from twitapp.config import TestConfig

    original = twitapp.engine_options
    twitapp.engine_options = options
    try:
        return twitapp.create_app(TestConfig(DATABASE_URL=url))
    finally:
        twitapp.engine_options = original


def locked_table(url: str, options, cap: float) -> str:
    from sqlalchemy import create_engine, text

    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", url.rsplit("/", 1)[1]], capture_output=True)
    try:
        common.scratch_app(url)
    except Exception as exc:
        return f"skipped ({type(exc).__name__}: no PostgreSQL at --database-url)"
    app = app_for(url, options)
    client = app.test_client()  # type: ignore[attr-defined]
    locker = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])  # type: ignore[attr-defined]
    with locker.connect() as conn:
        transaction = conn.begin()
        conn.execute(text("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"))
        during = timed(client, cap)
        transaction.rollback()
    after = timed(client, cap)
    locker.dispose()
    return f"{during}; released: {after}"


def main() -> None:
    from twitapp.config import engine_options

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=40)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hypotweet_down")
    args = parser.parse_args()
    for label, options in (("before", before_options), ("now", engine_options)):
        print(f"\n== {label}")
        for name, fault in (("handshake never completes", unresponsive_port), ("server silent", silent_server)):
            with fault() as url:
                print(f"  {name:27}: {timed(app_for(url, options).test_client(), args.cap)}")  # type: ignore[attr-defined]
        print(f"  {'table locked':27}: {locked_table(args.database_url, options, args.cap)}")


if __name__ == "__main__":
    main()
