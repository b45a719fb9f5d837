"""The load generators of bench/load.py: N keep-alive connections for S seconds, each asking what ``pick`` says.

Two generators of the same calls: ``run_async``, one thread driving every connection over raw HTTP/1.1 with
asyncio (lean: the server shares the machine's cores with the client), and ``run_threads``, a thread with a
``requests`` session per connection (the first bench's client, kept to compare both in one run). Both count
their own CPU and the server's, so a table says how much of the machine the client took.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

TIMEOUT = 30.0
TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


@dataclass(frozen=True)
class Call:
    """One request: a JSON or a form body, and what to keep of the answer's text in the connection's state."""

    method: str
    path: str
    json: Any = None
    form: dict | None = None
    on_text: Callable[[dict, str], None] | None = None

    def body(self) -> tuple[bytes, str | None]:
        if self.json is not None:
            return json.dumps(self.json).encode(), "application/json"
        if self.form is not None:
            return urlencode(self.form, doseq=True).encode(), "application/x-www-form-urlencoded"
        return b"", None


Pick = Callable[[random.Random, dict], Call]  # (the connection's random numbers, its state) -> the next call


@dataclass
class Tally:
    """What a run counted: each answer's latency and status, connection errors, and the CPU both sides took."""

    connections: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    client_cpu: float = 0.0  # seconds of CPU of this process
    server_cpu: float = 0.0  # seconds of CPU of the server's processes

    def report(self, label: str) -> None:
        done = len(self.latencies)
        q = statistics.quantiles(self.latencies, n=100) if done > 1 else [0] * 99
        non2xx = sum(n for s, n in self.statuses.items() if not 200 <= s < 300)
        print(
            f"\n  {label}: {done} requests in {self.elapsed:.1f} s = {done / self.elapsed:.1f} req/s, "
            f"{self.connections} connections"
        )
        print(
            f"    latency p50 {q[49] * 1000:.0f} ms, p90 {q[89] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
            f"max {max(self.latencies, default=0) * 1000:.0f} ms"
        )
        print(
            f"    statuses {dict(sorted(self.statuses.items()))}; non-2xx {non2xx} "
            f"(429: {self.statuses.get(429, 0)}); connection errors {sum(self.errors.values())} {dict(self.errors)}"
        )
        print(
            f"    CPU: client {self.client_cpu / self.elapsed:.2f} cores, server {self.server_cpu / self.elapsed:.2f} "
            f"cores (client {1000 * self.client_cpu / max(done, 1):.1f} ms, server "
            f"{1000 * self.server_cpu / max(done, 1):.1f} ms a request)"
        )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def _measured(tally: Tally, server_pids: Callable[[], list[int]], run: Callable[[], None]) -> Tally:
    pids = server_pids()
    client, server, started = _own_cpu(), _cpu_of(pids), time.perf_counter()
    run()
    tally.elapsed = time.perf_counter() - started
    tally.client_cpu, tally.server_cpu = _own_cpu() - client, _cpu_of(pids) - server
    return tally


def run_threads(base: str, connections: int, seconds: float, pick: Pick, server_pids) -> Tally:
    """A thread per connection, each with its own keep-alive ``requests`` session."""
    import requests

    tally, lock = Tally(connections), threading.Lock()

    def connection(seed: int, deadline: float) -> None:
        rng, state, session = random.Random(seed), {}, requests.Session()
        while time.perf_counter() < deadline:
            call = pick(rng, state)
            started = time.perf_counter()
            try:
                response = session.request(
                    call.method, base + call.path, json=call.json, data=call.form, timeout=TIMEOUT
                )
                text = response.text  # the whole body, as a client would read it
            except requests.RequestException as exc:
                with lock:
                    tally.errors[type(exc).__name__] += 1
                continue
            elapsed = time.perf_counter() - started
            with lock:
                tally.latencies.append(elapsed)
                tally.statuses[response.status_code] += 1
            if call.on_text:
                call.on_text(state, text)

    def run() -> None:
        deadline = time.perf_counter() + seconds
        threads = [threading.Thread(target=connection, args=(i, deadline)) for i in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return _measured(tally, server_pids, run)


def run_async(base: str, connections: int, seconds: float, pick: Pick, server_pids) -> Tally:
    """Every connection in one thread: asyncio streams, HTTP/1.1 with keep-alive, cookies kept per connection."""
    tally = Tally(connections)
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80

    async def connection(seed: int, deadline: float) -> None:
        rng, state = random.Random(seed), {}
        cookies: dict[str, str] = {}
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while time.perf_counter() < deadline:
            call = pick(rng, state)
            body, content_type = call.body()
            head = [f"{call.method} {call.path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
            if content_type:
                head.append(f"Content-Type: {content_type}")
            if cookies:
                head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
            request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(request)
                status, headers, content = await asyncio.wait_for(_response(reader), TIMEOUT)
            except (TimeoutError, OSError, EOFError, asyncio.IncompleteReadError, ValueError) as exc:
                tally.errors[type(exc).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[status] += 1
            for value in headers.get("set-cookie", []):
                name, _, rest = value.split(";", 1)[0].partition("=")
                cookies[name.strip()] = rest.strip()
            if "close" in headers.get("connection", []) and writer is not None:
                writer.close()
                reader = writer = None
            if call.on_text:
                call.on_text(state, content.decode("utf-8", "replace"))
        if writer is not None:
            writer.close()

    async def run_all() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(connection(i, deadline) for i in range(connections)))

    return _measured(tally, server_pids, lambda: asyncio.run(run_all()))


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, list[str]], bytes]:
    """An HTTP/1.1 answer: its status, its headers (lower-case names, every value) and its whole body."""
    line = await reader.readline()
    if not line:
        raise EOFError("connection closed before an answer")
    status = int(line.split(None, 2)[1])
    headers: dict[str, list[str]] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        parts = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        return status, headers, b"".join(parts)
    if "content-length" in headers:
        return status, headers, await reader.readexactly(int(headers["content-length"][0]))
    headers.setdefault("connection", []).append("close")  # the body runs to the end of the connection
    return status, headers, await reader.read()
