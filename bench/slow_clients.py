"""Slow clients: 50 connections trickling partial requests while one normal client is timed, per serving config.

    OPENBLAS_NUM_THREADS=1 pipenv run python bench/slow_clients.py [--config old|new|gevent|both|all]
        [--fits N] [--slow 50] [--seconds 40] [--database-url URL]

For each config (``old``: the Procfile's web line before issue 17; ``new``: the Procfile's web line now;
``gevent``: the old line with gevent workers instead of threads, for comparison, needs ``pip install
gevent``), starts gunicorn exactly as that line says, on 127.0.0.1 with a new migrated SQLite file (or
``--database-url``) and a SECRET_KEY, then for ``--seconds``:

- ``--slow`` slow clients, in equal thirds: a slowloris that sends a request line and then one header byte
  every 2 s, never ending its headers; a POST that ends its headers, announces a 10,000-byte body and sends
  a byte of it every 2 s; a POST whose headers stop half way (a byte every 2 s). Each reconnects when the
  server closes it, as an attacker would.
- one normal client, every 0.25 s: ``GET /`` and ``POST /api/predict`` (a JSON 404, through the database),
  each on a new connection with a 30 s timeout, timed.
- with ``--fits N`` (the six accounts of the tests' sample CSV imported first), N more clients asking for
  predictions over one pair after another, ``MODEL_CACHE_SIZE=1``: each one fits a model (CPU-bound).

Prints, per config: the normal client's requests, p50 and max time, answers slower than 2 s and failures,
how often the server closed a slow client, and the memory (RSS and PSS) of the gunicorn processes. Asserts
nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT
from load import free_port, memory, workers_of

OLD_WEB = (
    "OPENBLAS_NUM_THREADS=1 gunicorn wsgi:app --preload --workers ${WEB_CONCURRENCY:-2} --threads 2 "
    "--timeout 25 --bind 0.0.0.0:${PORT:-8000}"
)
NEW_WEB = (ROOT / "Procfile").read_text().split("web:", 1)[1].splitlines()[0].strip()
GEVENT_WEB = OLD_WEB.replace("--threads 2", "--worker-class gevent --worker-connections 1000")  # needs gevent
SAMPLE = ROOT / "tests" / "data" / "senate117-sample.csv.gz"
PAIRS = [["SenWarren", "marcorubio"], ["ChuckGrassley", "AlexPadilla4CA"], ["brianschatz", "CaptMarkKelly"]]
TRICKLE_SECONDS = 2.0
PREDICT_BODY = b'{"accounts": ["nobody1", "nobody2"], "text": "who wrote this?"}'


def migrated_sqlite(fits: int) -> str:
    """A new SQLite file, migrated; with ``fits``, holding the six accounts of the tests' sample CSV."""
    url = f"sqlite:///{tempfile.mkdtemp(prefix='hypotweet-slow-')}/slow.sqlite3"
    env = dict(os.environ, DATABASE_URL=url, OPENBLAS_NUM_THREADS="1")
    flask = [sys.executable, "-m", "flask", "--app", "twitapp"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    if fits:
        subprocess.run([*flask, "import", "csv", str(SAMPLE)], cwd=ROOT, env=env, check=True, capture_output=True)
    return url


def start(command: str, port: int, url: str, log: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        PORT=str(port),
        DATABASE_URL=url,
        SECRET_KEY="slow-clients-" + os.urandom(8).hex(),
        LOG_LEVEL="WARNING",
        RATE_LIMIT_PREDICT="100000 per minute",  # the normal client's POSTs are timed, not limited
        MODEL_CACHE_SIZE="1",  # with --fits, every prediction over another pair fits a model
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    env.pop("WEB_CONCURRENCY", None)
    command = command.replace("0.0.0.0:", "127.0.0.1:")
    print(f"  $ {command}")
    process = subprocess.Popen(
        ["bash", "-c", "exec env " + command],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),  # noqa: SIM115 (written by the server until it stops)
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited: see {log}")
        try:
            if request(port, b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n", 2)[0] == 200:
                return process
        except OSError:
            time.sleep(0.5)
    sys.exit(f"gunicorn did not answer: see {log}")


def request(port: int, raw: bytes, timeout: float) -> tuple[int, float]:
    """Send ``raw`` on a new connection and read the whole answer: (status, seconds)."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, time.monotonic() - began


SLOW_KINDS = {
    # (what is sent at once, what is then trickled a byte at a time)
    "headers": (b"GET / HTTP/1.1\r\nHost: bench\r\n", b"X-Slow: " + b"a" * 10_000),
    "body": (
        b"POST /api/predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n",
        b"{" + b" " * 9_999,
    ),
    "post-headers": (b"POST /api/predict HTTP/1.1\r\nHost: bench\r\nContent-Ty", b"pe: application/json" * 500),
}


class SlowClients:
    """Connections trickling their requests a byte every TRICKLE_SECONDS, reconnecting when closed."""

    def __init__(self, port: int, count: int, until: float):
        self.port, self.count, self.until = port, count, until
        self.closed_by_server = 0
        self.lock = threading.Lock()

    def run(self) -> list[threading.Thread]:
        kinds = list(SLOW_KINDS)
        threads = [
            threading.Thread(target=self.client, args=(kinds[i % len(kinds)],), daemon=True) for i in range(self.count)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.01)
        return threads

    def client(self, kind: str) -> None:
        head, trickle = SLOW_KINDS[kind]
        while time.monotonic() < self.until:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.sendall(head)
                    for byte in trickle:
                        if time.monotonic() >= self.until:
                            return
                        time.sleep(TRICKLE_SECONDS)
                        s.sendall(bytes([byte]))
            except OSError:
                with self.lock:
                    self.closed_by_server += 1
                time.sleep(0.2)


def normal_client(port: int, until: float) -> dict[str, list]:
    raws = {
        "GET /": b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
        "POST /api/predict": (
            b"POST /api/predict HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(PREDICT_BODY), PREDICT_BODY)
        ),
    }
    results: dict[str, list] = {name: [] for name in raws}
    while time.monotonic() < until:
        for name, raw in raws.items():
            try:
                results[name].append(request(port, raw, 30))
            except OSError as exc:
                results[name].append((type(exc).__name__, 30.0))
        time.sleep(0.25)
    return results


def fitting_client(port: int, until: float, answers: list, pairs: list) -> None:
    """Predictions over a pair other than the last one, back to back: each a fit of a second or so (CPU)."""
    for pair in itertools.cycle(pairs):
        if time.monotonic() >= until:
            return
        body = json.dumps({"accounts": pair, "text": "We must protect Social Security and Medicare."}).encode()
        raw = (
            b"POST /api/predict HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        try:
            answers.append(request(port, raw, 60))
        except OSError as exc:
            answers.append((type(exc).__name__, 60.0))


def rss_pss(master: int) -> str:
    pids = [master, *workers_of(master)]
    figures = [memory(pid) for pid in pids]
    rss = sum(f["Rss"] for f in figures) / 1024
    pss = sum(f["Pss"] for f in figures) / 1024
    return f"{len(pids)} processes: RSS {rss:.0f} MiB summed, PSS {pss:.0f} MiB (budget 512 MiB)"


def run(name: str, command: str, slow: int, seconds: float, url: str, fits: int) -> None:
    print(f"\n== {name}")
    port = free_port()
    log = Path(f"/tmp/hypotweet-slow-{name}-{port}.log")
    process = start(command, port, url, log)
    try:
        print(f"  memory at start: {rss_pss(process.pid)}")
        until = time.monotonic() + seconds
        clients = SlowClients(port, slow, until)
        clients.run()
        fitted: list = []
        for i in range(fits):
            args = (port, until, fitted, PAIRS[i:] + PAIRS[:i])
            threading.Thread(target=fitting_client, args=args, daemon=True).start()
        time.sleep(3)  # let the slow clients take their places first
        results = normal_client(port, until)
        if fits:
            results[f"{fits} fitting clients"] = fitted
        for label, rows in results.items():
            times = [t for status, t in rows if isinstance(status, int) and status]
            failed = [status for status, _ in rows if not isinstance(status, int) or not status]
            codes = sorted({status for status, _ in rows if isinstance(status, int) and status})
            slow_answers = sum(1 for t in times if t > 2)
            print(
                f"  {label:18} {len(rows):4} requests, status {codes}: p50 {statistics.median(times or [0]):6.3f} s, "
                f"max {max(times or [0]):6.2f} s, {slow_answers} over 2 s, {len(failed)} failed {sorted(set(failed))}"
            )
        print(f"  slow clients ({slow}): closed by the server {clients.closed_by_server} times in {seconds:.0f} s")
        print(f"  memory under the slow clients: {rss_pss(process.pid)}")
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=["old", "new", "gevent", "both", "all"], default="both")
    parser.add_argument("--fits", type=int, default=0, help="clients asking for a new fit after another")
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--database-url", help="default: a new migrated SQLite file")
    args = parser.parse_args()
    url = args.database_url or migrated_sqlite(args.fits)
    configs = {"old": OLD_WEB, "new": NEW_WEB, "gevent": GEVENT_WEB}
    names = {"both": ["old", "new"], "all": ["old", "gevent", "new"]}.get(args.config, [args.config])
    for name in names:
        run(name, configs[name], args.slow, args.seconds, url, args.fits)


if __name__ == "__main__":
    main()
