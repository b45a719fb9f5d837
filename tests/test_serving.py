"""Serving (issue 17, finding 8): the Procfile runs gunicorn with the buffering worker, and under it the app
still answers while clients trickle partial requests, and odd but valid requests (a body sent in pieces,
chunked, ``Expect: 100-continue``, two on one kept-alive connection) are served whole.

The timed figures (50 slow clients, one normal client) are ``bench/slow_clients.py``'s; nothing here times.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twitapp.serving import BufferedRequest, ChunkedEnd

ROOT = Path(__file__).resolve().parents[1]


def procfile_web() -> str:
    return (ROOT / "Procfile").read_text(encoding="utf-8").split("web:", 1)[1].splitlines()[0].strip()


def test_the_procfile_serves_with_the_buffering_worker():
    web = procfile_web()
    assert "--worker-class twitapp.serving.BufferingWorker" in web
    assert "--threads 2" in web and "--preload" in web and "--timeout 25" in web


# --- the request buffer, unit by unit ---------------------------------------------------------------


def fed_whole(parts: list[bytes], max_body: int = 1000) -> list[bool]:
    request = BufferedRequest(max_body)
    try:
        return [request.feed(part) for part in parts]
    finally:
        request.spool.close()


def test_a_request_is_whole_only_once_its_headers_and_body_are():
    head = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
    assert fed_whole([head[:10], head[10:], b"ab", b"cde"]) == [False, False, False, True]
    assert fed_whole([b"GET / HTTP/1.1\r\nHost: a\r\n", b"\r\n"]) == [False, True]
    assert fed_whole([head + b"abcde"]) == [True]


def test_a_body_over_the_apps_limit_goes_on_at_once_for_its_413():
    assert fed_whole([b"POST /x HTTP/1.1\r\nContent-Length: 5000\r\n\r\nab"], max_body=1000) == [True]


def test_chunked_bodies_end_at_their_last_chunk_and_trailers():
    end = ChunkedEnd()
    assert end.feed(b"5\r\nhel") is None and end.feed(b"lo\r\n") is None
    assert end.feed(b"0\r\n") is None
    assert end.feed(b"\r\nGET") == 2
    with_trailer = ChunkedEnd()
    assert with_trailer.feed(b"3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n") == 27
    assert ChunkedEnd().feed(b"zz\r\n") == 4  # not a size: handed on, gunicorn answers 400


def test_slow_senders_expire_header_first_then_when_idle():
    request = BufferedRequest(1000)
    request.feed(b"POST /x HTTP/1.1\r\n")
    assert not request.expired(request.started + 5) and request.expired(request.started + 11)
    request.feed(b"Content-Length: 10\r\n\r\n")
    assert not request.expired(request.last + 9) and request.expired(request.last + 11)
    request.spool.close()


def test_a_body_trickled_below_a_kilobyte_a_second_expires_even_without_pauses():
    request = BufferedRequest(10**6)
    request.feed(b"POST /x HTTP/1.1\r\nContent-Length: 10240\r\n\r\n")  # 10 s for the headers + 10 s of body
    began = request.last
    for second in range(1, 20):
        request.last = began + second  # a byte every second: never idle
        assert not request.expired(began + second)
    assert request.expired(began + 21)
    request.spool.close()


# --- a real gunicorn, started as the Procfile says ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory, sqlite_schema):
    """gunicorn from the Procfile's web line, one worker, on a copy of the migrated SQLite schema."""
    folder = tmp_path_factory.mktemp("served")
    database = folder / "served.sqlite3"
    shutil.copyfile(sqlite_schema, database)
    port = free_port()
    env = dict(
        os.environ,
        PORT=str(port),
        WEB_CONCURRENCY="1",
        DATABASE_URL=f"sqlite:///{database}",
        SECRET_KEY="serving-test-secret",
        RATELIMIT_ENABLED="false",
        LOG_LEVEL="WARNING",
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    command = procfile_web().replace("0.0.0.0:", "127.0.0.1:")
    log = folder / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(["bash", "-c", "exec env " + command], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        for _ in range(240):
            assert process.poll() is None, log.read_text()
            try:
                if exchange(port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").startswith(
                    b"HTTP/1.1 200"
                ):
                    break
            except OSError:
                time.sleep(0.5)
        yield port
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def exchange(port: int, *parts: bytes, pause: float = 0.0, timeout: float = 20.0) -> bytes:
    """Send ``parts`` (``pause`` seconds apart) on one connection, and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        for part in parts:
            s.sendall(part)
            time.sleep(pause)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_the_app_answers_while_more_slow_clients_than_threads_trickle(served):
    slow = []
    for i in range(8):  # one worker of 2 threads: the old worker froze with two of these
        s = socket.create_connection(("127.0.0.1", served), timeout=20)
        if i % 2:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: a")
        else:
            s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{")  # fmt: skip
        slow.append(s)
    try:
        assert exchange(served, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")
        answer = exchange(served, b"GET /api/accounts HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200") and b'"accounts"' in answer
    finally:
        for s in slow:
            s.close()


BODY = b'{"accounts": ["nobody1", "nobody2"], "text": "who wrote this?"}'
PREDICT = b"POST /api/predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nConnection: close\r\n"


def test_a_body_sent_in_pieces_reaches_the_app_whole(served):
    head = PREDICT + b"Content-Length: %d\r\n\r\n" % len(BODY)
    answer = exchange(served, head[:20], head[20:], BODY[:10], BODY[10:], pause=0.2)
    assert answer.startswith(b"HTTP/1.1 404") and b"nobody1" in answer  # read whole: the accounts were named


def test_chunked_and_expect_continue_bodies_reach_the_app(served):
    chunked = PREDICT + b"Transfer-Encoding: chunked\r\n\r\n"
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, BODY[:10], len(BODY) - 10, BODY[10:])
    assert b"nobody1" in exchange(served, chunked, chunks[:7], chunks[7:], pause=0.1)
    expecting = PREDICT + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    with socket.create_connection(("127.0.0.1", served), timeout=20) as s:
        s.sendall(expecting)
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(BODY)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 404") and data.count(b"100 Continue") == 0


def test_two_requests_on_one_kept_alive_connection(served):
    request = b"GET /api/accounts HTTP/1.1\r\nHost: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served), timeout=20) as s:
        for _ in range(2):
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                data += s.recv(65536)
            assert data.startswith(b"HTTP/1.1 200")
