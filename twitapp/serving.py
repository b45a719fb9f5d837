"""The gunicorn worker of the Procfile's web process: gthread that reads each request whole before a thread.

gunicorn's own threaded worker hands a connection to a thread as soon as its first byte arrives, and the
thread then blocks reading the rest of the headers and body: ten clients trickling a partial request held
every thread of 2 workers x 2 threads, and the app answered nobody (issue 17, finding 8). gunicorn's docs
ask for a buffering proxy in front of such workers (nginx); Heroku's router does not buffer bodies. This
worker is that buffer: its main loop reads every request, headers and body, without blocking, alongside all
the other connections, and only a complete request reaches a thread, which then reads it from memory (or
from a temporary file past ``MEMORY_BYTES``), so the app's CPU-bound fits keep real threads while slow
clients cost a socket each. A client gets ``HEADER_SECONDS`` to send its headers, may pause at most
``IDLE_SECONDS`` while sending its body and must average ``MIN_BYTES_PER_SECOND`` over it; else it is closed
(a trickle of a byte a second would otherwise keep a socket forever).
"""

from __future__ import annotations

import errno
import re
import selectors
import tempfile
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

HEADER_SECONDS = 10.0  # a request line and headers must arrive within this (nginx: client_header_timeout)
IDLE_SECONDS = 10.0  # longest pause while a body is sent (nginx: client_body_timeout)
MIN_BYTES_PER_SECOND = 1024  # a body of N bytes gets HEADER_SECONDS + N / this to arrive (100 MB: 28 h)
HEADER_BYTES = 64 * 1024  # past this without an empty line the request goes to gunicorn, which refuses it
MEMORY_BYTES = 16 * 1024  # per connection; a larger body is buffered in a temporary file
DEFAULT_BODY_BYTES = 100 * 1024 * 1024  # when the app says nothing (Flask's MAX_CONTENT_LENGTH)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
CHUNKED = re.compile(rb"^transfer-encoding:.*chunked", re.IGNORECASE | re.MULTILINE)
EXPECT = re.compile(rb"^expect:[ \t]*100-continue", re.IGNORECASE | re.MULTILINE)


class ChunkedEnd:
    """Finds where a chunked body ends, fed its bytes as they arrive (sizes, data, trailers)."""

    def __init__(self) -> None:
        self.line = b""
        self.skip = 0  # data bytes (and their CRLF) still to pass
        self.trailers = False

    def feed(self, data: bytes) -> int | None:
        """The offset in ``data`` just past the body's end, or None while it goes on."""
        i = 0
        while i < len(data):
            if self.skip:
                step = min(self.skip, len(data) - i)
                self.skip -= step
                i += step
                continue
            end = data.find(b"\n", i)
            if end < 0:
                self.line += data[i:]
                if len(self.line) > 4096:
                    return len(data)  # not HTTP: let gunicorn refuse it
                return None
            line, self.line, i = (self.line + data[i:end]).rstrip(b"\r"), b"", end + 1
            if self.trailers:
                if not line:
                    return i
                continue
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return i  # malformed: gunicorn answers 400
            if size == 0:
                self.trailers = True
            else:
                self.skip = size + 2
        return None


class BufferedRequest:
    """One connection's bytes read ahead by the main loop, and where its request ends."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.head = b""
        self.body_left: int | None = None  # bytes of a Content-Length body still to come
        self.chunked: ChunkedEnd | None = None
        self.spool = tempfile.SpooledTemporaryFile(max_size=MEMORY_BYTES)  # noqa: SIM115 (closed by BufferedSocket)
        self.started = time.monotonic()
        self.last = self.started
        self.deadline = self.started + HEADER_SECONDS  # for the headers; then for the whole body
        self.expects_continue = False

    def feed(self, data: bytes) -> bool:
        """Keep ``data``; True once a whole request (or something gunicorn will refuse) is held."""
        self.last = time.monotonic()
        self.spool.write(data)
        if self.body_left is None and self.chunked is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return len(self.head) > HEADER_BYTES
            headers, body = self.head[: end + 4], self.head[end + 4 :]
            self.head = headers
            self.expects_continue = bool(EXPECT.search(headers))
            if CHUNKED.search(headers):
                self.chunked = ChunkedEnd()
                return self.chunked.feed(body) is not None
            lengths = LENGTH.findall(headers)
            length = int(lengths[0]) if len(lengths) == 1 else 0  # several: gunicorn refuses the request
            if length > self.max_body:
                return True  # the app answers 413 from the headers alone
            self.body_left = length - len(body)
            self.deadline = self.last + HEADER_SECONDS + length / MIN_BYTES_PER_SECOND
            return self.body_left <= 0
        if self.chunked is not None:
            return self.chunked.feed(data) is not None
        self.body_left = (self.body_left or 0) - len(data)
        return self.body_left <= 0

    def expired(self, now: float) -> bool:
        if self.body_left is None and self.chunked is None:
            return now > self.deadline
        return now - self.last > IDLE_SECONDS or (self.body_left is not None and now > self.deadline)


class BufferedSocket:
    """The client socket as gunicorn's parser sees it: reads come from the buffer, never from the network
    (a thread must not wait for a client); sends, ``fileno`` and the rest go to the real socket."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._spool: Any = None
        self.continue_sent = False

    def load(self, request: BufferedRequest) -> None:
        if self._spool is not None:
            self._spool.close()
        request.spool.seek(0)
        self._spool = request.spool
        self.continue_sent = request.expects_continue

    def recv(self, size: int, *flags: int) -> bytes:
        return self._spool.read(size) if self._spool is not None else b""

    def send(self, data: bytes, *flags: int) -> int:
        if self.continue_sent and data == CONTINUE:  # the main loop already told the client to go on
            self.continue_sent = False
            return len(data)
        return self._sock.send(data, *flags)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BufferingWorker(ThreadWorker):
    """gunicorn's gthread worker, but a thread gets a connection only once its request has fully arrived."""

    def init_process(self) -> None:
        self.reading: dict[TConn, BufferedRequest] = {}
        super().init_process()

    def max_body(self) -> int:
        """The largest body worth reading: the app's ``MAX_CONTENT_LENGTH``; a larger one gets its 413 at once."""
        config = getattr(self.wsgi, "config", None) or {}
        return int(config.get("MAX_CONTENT_LENGTH") or DEFAULT_BODY_BYTES)

    def accept(self, listener: Any) -> None:
        """A new connection: read its request in the main loop (gunicorn's would hand it to a thread)."""
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise  # as gunicorn's: the arbiter starts a new worker
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, BufferedSocket(client_sock), client_addr, listener.getsockname())
        self.start_reading(conn)

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection sends its next request: read it whole too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self.start_reading(conn)

    def start_reading(self, conn: TConn) -> None:
        """Watch ``conn`` for the bytes of its next request, without a thread."""
        conn.sock.setblocking(False)
        self.reading[conn] = BufferedRequest(self.max_body())
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, conn))

    def on_request_bytes(self, conn: TConn, client: Any) -> None:
        """Bytes arrived: keep them; once the request is whole, hand it to a thread (or say 100 Continue)."""
        request = self.reading[conn]
        try:
            data = conn.sock._sock.recv(256 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop(conn)
            return
        had_head = request.body_left is not None or request.chunked is not None
        if request.feed(data):
            self.poller.unregister(client)
            del self.reading[conn]
            conn.sock.load(request)
            conn.data_ready = True
            conn.sock.setblocking(True)
            self.enqueue_req(conn)
        elif request.expects_continue and not had_head:
            try:
                conn.sock._sock.send(CONTINUE)
            except OSError:
                self.drop(conn)

    def drop(self, conn: TConn) -> None:
        """Close a connection still sending its request (gone, or too slow)."""
        request = self.reading.pop(conn, None)
        if request is not None:
            request.spool.close()
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Once a loop (about a second): close the connections too slow to send their request."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [conn for conn, request in self.reading.items() if request.expired(now)]:
            self.drop(conn)
