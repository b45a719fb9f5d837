"""The worker side of the tasks: the RQ job function (``perform``), its progress and heartbeat, and the
worker process (``flask worker``).

* Nothing half: the services write in one transaction; a job that raises stores nothing, and one whose
  worker is killed before the commit stores nothing. The commit holds the job's receipt (``receipts``),
  so a worker killed after it still shows the job as finished. While it runs, a job refreshes its alive key every
  ``JOB_HEARTBEAT_SECONDS`` (``queue.py`` reads a lapsed key as an abandoned job).
* Retries only where they can help: a rate limit after the reset time X announced, an X server error or
  timeout after 15 s, 1 min, 5 min; at most ``MAX_RETRIES`` times. Any other error fails at once with
  its message; pages and the API show that message, never a traceback.
* A plain ``rq worker`` also works, given ``--serializer rq.serializers.JSONSerializer``.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from typing import Any

from flask import Flask, current_app, has_app_context

from ..exceptions import HypoTweetError, ImportFailed, RateLimited, ReadBudgetExhausted, UpstreamError
from ..extensions import db
from ..redis_client import redis_connection
from . import receipts
from .kinds import Params, get_kind
from .queue import alive_key, discard_upload, now_iso, queue

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between two saves of a job's progress meta
MAX_RETRIES = 3
UPSTREAM_RETRY_INTERVALS = [15, 60, 300]
RECONNECT_EVERY = 2.0  # seconds between two pings of a Redis that went away
UNEXPECTED = "Something went wrong on our side. It has been logged."


class JobProgress:
    """The services' ``progress`` callback, saved in the job's meta at most every ``PROGRESS_EVERY`` s.

    A phase change or a phase's end is saved at once; a step skipped by the throttle is saved by ``flush``,
    which the job's heartbeat thread calls, so a stall (a slow X page) still shows the last count."""

    def __init__(self, job, every: float | None = None):
        self.job = job
        self.every = PROGRESS_EVERY if every is None else every
        self.saved_at = 0.0
        self.phase: str | None = None
        self.pending: tuple[str, int, int | None] | None = None
        self.lock = threading.Lock()

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        with self.lock:
            now = time.monotonic()
            finished = total is not None and done >= total
            if phase == self.phase and not finished and now - self.saved_at < self.every:
                self.pending = (phase, done, total)
                return
            self._save(phase, done, total, now)

    def flush(self) -> None:
        with self.lock:
            if self.pending is not None:
                self._save(*self.pending, time.monotonic())

    def _save(self, phase: str, done: int, total: int | None, now: float) -> None:
        self.phase, self.saved_at, self.pending = phase, now, None
        self.job.meta.update(phase=phase, done=done, total=total, updated_at=now_iso())
        self.job.save_meta()


class Heartbeat:
    """Keeps the job's alive key fresh while it runs, and flushes throttled progress (a daemon thread in
    the work horse)."""

    def __init__(self, conn, job_id: str, every: float, progress: JobProgress):
        self.conn, self.key, self.every = conn, alive_key(job_id), max(every, 0.2)
        self.progress = progress
        self.beaten_at = 0.0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)

    def _beat(self) -> None:
        self.conn.set(self.key, "1", px=int(self.every * 3000))
        self.beaten_at = time.monotonic()

    def _run(self) -> None:
        while not self.stopped.wait(min(self.every, max(PROGRESS_EVERY, 0.1))):
            try:
                self.progress.flush()
                if time.monotonic() - self.beaten_at >= self.every:
                    self._beat()
            except Exception:  # a Redis hiccup must not kill the job; the next beat tries again
                log.warning("job heartbeat failed", exc_info=True)

    def __enter__(self):
        self._beat()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.conn.delete(self.key)


_worker_app: Flask | None = None


def _app() -> Flask:
    """The app of this worker process: the one whose context ``flask worker`` pushed, else one built here
    (``rq worker`` started without Flask reads the same environment)."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        from .. import create_app

        _worker_app = create_app()
    return _worker_app


def perform(kind_name: str, params: Params) -> Any:
    """The RQ job: run the task with progress in meta; retry where it helps; a domain error's message in meta."""
    from rq import Retry, get_current_job
    from rq.exceptions import ShutDownImminentException

    kind = get_kind(kind_name)
    job = get_current_job()
    if job is None:
        raise RuntimeError("perform() is the function of an RQ job; call tasks.submit() instead")
    with _app().app_context():
        conn = redis_connection()
        over = True  # False while a retry still needs the upload
        try:
            progress = JobProgress(job)
            with Heartbeat(conn, job.id, current_app.config["JOB_HEARTBEAT_SECONDS"], progress):
                job.meta.update(phase="starting", error=None, updated_at=now_iso())
                job.save_meta()
                receipts.clear(job.id)
                if kind.uploads:
                    params = params | {"stream": io.BytesIO(_load_upload(conn, params["upload_key"]))}
                result = kind.run(params, progress, receipts.writer(job.id, kind.result_json))
                progress.flush()
                job.meta.update(phase="done", updated_at=now_iso())
                job.save_meta()
                return kind.result_json(result)
        except RateLimited as exc:
            _record_error(job, exc.message)
            if _may_retry(job) and not isinstance(exc, ReadBudgetExhausted):
                over = False
                return Retry(max=MAX_RETRIES, interval=max(int(exc.retry_after or 900), 1))
            raise
        except UpstreamError as exc:
            _record_error(job, exc.message)
            if _may_retry(job):
                over = False
                return Retry(max=MAX_RETRIES, interval=UPSTREAM_RETRY_INTERVALS)
            raise
        except HypoTweetError as exc:
            _record_error(job, exc.message)
            raise
        except ShutDownImminentException:  # HerokuWorker on SIGTERM (dyno restart): run it again elsewhere
            _record_error(job, "The worker was restarted; the job will run again.")
            over = not _may_retry(job)
            return Retry(max=MAX_RETRIES)
        except Exception:
            log.exception("job %s (%s) failed", job.id, kind_name)
            _record_error(job, UNEXPECTED)
            raise
        finally:
            db.session.rollback()
            db.session.remove()
            if kind.uploads and over:
                discard_upload(conn, params)


def _load_upload(conn, key: str) -> bytes:
    data = conn.get(key)
    if data is None:
        raise ImportFailed(
            "The uploaded file is no longer waiting on the server (uploads are kept a day). Upload it again."
        )
    return data


def _may_retry(job) -> bool:
    return (job.number_of_retries or 0) < MAX_RETRIES


def _record_error(job, message: str) -> None:
    job.meta.update(error=message, updated_at=now_iso())
    job.save_meta()


def run_worker(burst: bool = False, with_scheduler: bool = True, reconnect_every: float = RECONNECT_EVERY) -> None:
    """Work the queue in the current app context (``flask worker``), through Redis outages.

    The spaCy model is loaded here, once, so every forked work horse starts with it; database connections
    are dropped before forking, each horse opening its own. ``HerokuWorker`` turns a dyno's SIGTERM into a
    prompt retry of the job instead of a kill 30 seconds later. RQ's worker quits when Redis times out or
    fails mid-job; this loop waits for Redis to answer again and starts a new one, so a Redis restart does
    not leave the queue without a worker.
    """
    from redis.exceptions import RedisError
    from rq.serializers import JSONSerializer
    from rq.worker import HerokuWorker

    from .. import runtime

    runtime.embedder().embed(["warm up the spaCy model"])
    db.engine.dispose()
    while True:
        worker = HerokuWorker([queue()], connection=redis_connection(), serializer=JSONSerializer)
        try:
            worker.work(burst=burst, with_scheduler=with_scheduler)
        except RedisError:
            log.warning("worker lost Redis", exc_info=True)
        if burst or worker._stop_requested:  # done, or asked to stop (SIGTERM, SIGINT)
            return
        _wait_for_redis(reconnect_every)


def _wait_for_redis(every: float) -> None:
    """Block until Redis answers a ping again (checked every ``every`` seconds)."""
    from redis.exceptions import RedisError

    while True:
        time.sleep(every)
        try:
            if redis_connection().ping():
                log.warning("Redis answers again; starting a new worker")
                return
        except RedisError:
            continue
