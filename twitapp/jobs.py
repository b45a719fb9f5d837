"""Long work off the request: adding or updating an account, imports and the demo, as RQ jobs or inline.

``submit(kind, **params)`` is the one place that decides. With ``REDIS_URL`` set it enqueues an RQ job on
the ``hypotweet`` queue (or joins the one already running for the same account) and returns at once; without
it, it runs the very same work here and now and returns the service's result, as the app always did. The
work itself is ``_perform``: the ingest and import services, whose ``progress(phase, done, total)`` callback
a job saves in its meta (at most every ``PROGRESS_EVERY`` seconds).

Guarantees
----------
* One job per account: an add/update job's id is ``ingest-<lower-case handle>``, so a second request for the
  same account joins the job that is queued or running (a short Redis lock makes the check-and-enqueue
  atomic). The demo is one job, ``demo``. Each upload is its own job.
* Nothing half: the services write in one transaction; a job that raises stores nothing, and one whose
  worker is killed never commits. A running job refreshes ``hypotweet:alive:<job id>`` every
  ``JOB_HEARTBEAT_SECONDS``; once that key has lapsed (3 beats) the job counts as abandoned: it is shown as
  failed and the next request for it runs it again.
* Retries only where they can help: a rate limit is retried after the reset time X announced, an X server
  error or timeout after 15 s, 1 min, 5 min; at most ``MAX_RETRIES`` times (an rq ``Retry`` returned by the
  job). Any other error fails at once, with its message; the page and API show that message, never a
  traceback.
* No pickle: jobs, their meta and results are JSON (rq's ``JSONSerializer``); a plain ``rq worker`` needs
  ``--serializer rq.serializers.JSONSerializer``.
* Uploads: the file's bytes go to Redis under ``hypotweet:upload:<job id>`` (expiring after a day), not into
  the job's payload, and are deleted once the job is over. The worker may be another dyno, so a path on
  the web dyno's disk would not do; Redis holds each upload (up to ``MAX_UPLOAD_MB``) while it waits.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, has_app_context

from .exceptions import HypoTweetError, ImportFailed, RateLimited, UpstreamError
from .services.ingest import no_progress
from .sources.handles import validate_handle

log = logging.getLogger(__name__)

KINDS = ("ingest", "import", "demo")
QUEUE = "hypotweet"
KEY_PREFIX = "hypotweet:"
PROGRESS_EVERY = 0.5  # seconds between two saves of a job's progress meta
RESULT_TTL = 24 * 3600  # a finished job (and its page) is kept a day
FAILURE_TTL = 24 * 3600
UPLOAD_TTL = 24 * 3600
TIMEOUTS = {"ingest": 15 * 60, "import": 60 * 60, "demo": 30 * 60}
MAX_RETRIES = 3
UPSTREAM_RETRY_INTERVALS = [15, 60, 300]
ACTIVE = ("queued", "started", "scheduled", "deferred")
UNEXPECTED = "Something went wrong on our side. It has been logged."
ABANDONED = (
    "The worker running this job stopped before it finished (it was restarted or crashed). "
    "Nothing of it was stored; start it again."
)


@dataclass
class Submitted:
    """What ``submit`` did: queued (``job_id`` to follow) or ran inline (``result`` of the service)."""

    kind: str
    job_id: str | None = None
    result: Any = None
    joined: bool = False  # an earlier request's job for the same account, still active, was joined

    @property
    def queued(self) -> bool:
        return self.job_id is not None


# --- the one decision ------------------------------------------------------------------------------------


def enabled() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def submit(kind: str, *, progress=None, **params) -> Submitted:
    """Run ``kind`` ("ingest": ``handle``; "import": ``stream``, ``filename``, ``account``, ``format``;
    "demo": ``base_url``) in the background when Redis is configured, else here; see the module docstring.

    Errors a person can fix before any work (an invalid handle) are raised here in both modes.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    if kind == "ingest":
        params["handle"] = validate_handle(params["handle"])
    if not enabled():
        return Submitted(kind, result=_perform(kind, params, progress or no_progress))
    return _enqueue(kind, params)


def submit_each(kind: str, values: list[dict], progress_for=None) -> list[tuple[dict, Submitted | HypoTweetError]]:
    """``submit`` once per parameter set (updating every account); an error is returned in place of that one."""
    outcomes = []
    for params in values:
        try:
            outcomes.append((params, submit(kind, progress=progress_for(params) if progress_for else None, **params)))
        except HypoTweetError as exc:
            if not enabled():
                from .extensions import db

                db.session.rollback()
            outcomes.append((params, exc))
    return outcomes


# --- Redis and the queue ---------------------------------------------------------------------------------


def connection():
    """The app's Redis client (one per process and URL)."""
    from redis import Redis

    url = current_app.config["REDIS_URL"]
    store = current_app.extensions.setdefault("hypotweet_redis", {})
    if url not in store:
        options = {}
        if url.startswith("rediss://"):  # Heroku Redis serves TLS with a self-signed certificate
            options["ssl_cert_reqs"] = None
        store[url] = Redis.from_url(url, **options)
    return store[url]


def queue():
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(QUEUE, connection=connection(), serializer=JSONSerializer)


def job_id_for(kind: str, params: dict) -> str:
    if kind == "ingest":
        return "ingest-" + params["handle"].lower()
    if kind == "demo":
        return "demo"
    return f"import-{uuid.uuid4().hex}"


def _enqueue(kind: str, params: dict) -> Submitted:
    conn = connection()
    job_id = job_id_for(kind, params)
    if kind == "import":
        stream = params.pop("stream")
        data = stream.read()
        params["upload_key"] = KEY_PREFIX + "upload:" + job_id
        params["size"] = len(data)
        conn.set(params["upload_key"], data, ex=UPLOAD_TTL)
    with conn.lock(KEY_PREFIX + "submit:" + job_id, timeout=30, blocking_timeout=15):
        existing = fetch(job_id)
        if existing is not None:
            if state(existing)["active"]:
                return Submitted(kind, job_id=job_id, joined=True)
            existing.delete()  # finished, failed or abandoned: run it anew under the same id
        queue().enqueue(
            perform,
            args=(kind, params),
            job_id=job_id,
            job_timeout=TIMEOUTS[kind],
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=describe(kind, params),
            meta={
                "kind": kind,
                "label": describe(kind, params),
                "phase": "queued",
                "done": 0,
                "total": None,
                "updated_at": _now_iso(),
            },
        )
    return Submitted(kind, job_id=job_id)


def describe(kind: str, params: dict) -> str:
    if kind == "ingest":
        return f"Fetching @{params['handle']} from X"
    if kind == "demo":
        return "Importing the demo accounts"
    return f"Importing {params.get('filename') or 'an upload'}"


def fetch(job_id: str):
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    try:
        return Job.fetch(job_id, connection=connection(), serializer=JSONSerializer)
    except NoSuchJobError:
        return None


def state(job) -> dict:
    """A job as the page and the API show it: status, phase, counts, and the result or the error."""
    status = job.get_status(refresh=True)
    status = getattr(status, "value", status) or "queued"
    meta = job.get_meta(refresh=True)
    error = meta.get("error")
    if status == "started" and _abandoned(job):
        status, error = "failed", ABANDONED
    result = job.return_value(refresh=True) if status == "finished" else None
    if status in ("failed", "stopped", "canceled"):
        status = "failed"
        error = error or ABANDONED
    return {
        "id": job.id,
        "kind": meta.get("kind"),
        "label": meta.get("label") or job.description,
        "status": status,
        "active": status in ACTIVE,
        "phase": "done" if status == "finished" else meta.get("phase") or "queued",
        "done": meta.get("done") or 0,
        "total": meta.get("total"),
        "message": (result or {}).get("message"),
        "usernames": (result or {}).get("usernames") or [],
        "error": error if status in ("failed", "scheduled") else None,
        "retries": job.number_of_retries or 0,
        "enqueued_at": _iso(job.enqueued_at),
        "updated_at": meta.get("updated_at"),
    }


# --- the work, in either mode ----------------------------------------------------------------------------


def _abandoned(job) -> bool:
    """Started, but its heartbeat key has lapsed: the worker holding it was killed (see the module docstring).

    A job just picked up gets three beats to start its heartbeat before it can count as abandoned."""
    lapse = 3 * current_app.config["JOB_HEARTBEAT_SECONDS"]
    started = job.started_at
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    if started is not None and (datetime.now(UTC) - started).total_seconds() < lapse:
        return False
    return not connection().exists(KEY_PREFIX + "alive:" + job.id)


def _perform(kind: str, params: dict, progress):
    """Call the service for ``kind`` in the current app context; returns its result object."""
    from . import runtime
    from .extensions import db

    config = current_app.config
    if kind == "ingest":
        from .services.ingest import ingest_from_x

        return ingest_from_x(
            db.session,
            runtime.x_client(),
            runtime.embedder(),
            params["handle"],
            config["TWEETS_PER_ACCOUNT"],
            progress=progress,
        )
    if kind == "import":
        from .services.file_import import import_accounts, read_upload

        stream = params.get("stream") or io.BytesIO(_load_upload(params["upload_key"]))
        accounts = read_upload(
            stream,
            params.get("filename") or "upload",
            params.get("account") or None,
            config["MAX_IMPORT_UNCOMPRESSED_MB"] * 1024 * 1024,
            kind=params.get("format"),
        )
        return import_accounts(db.session, accounts, runtime.embedder(), progress)
    from .services.file_import import import_demo

    return import_demo(
        db.session, runtime.embedder(), params.get("base_url") or config["DEMO_BASE_URL"], progress=progress
    )


def _load_upload(key: str) -> bytes:
    data = connection().get(key)
    if data is None:
        raise ImportFailed(
            "The uploaded file is no longer waiting on the server (uploads are kept a day). Upload it again."
        )
    return data


def result_json(kind: str, result) -> dict:
    if kind == "ingest":
        return {
            "message": result.summary(),
            "usernames": [result.username],
            "created": result.created,
            "added": result.added,
        }
    return {"message": result.summary(), "usernames": [r.username for r in result.results], "added": result.added}


class JobProgress:
    """The services' ``progress`` callback, saved in the job's meta at most every ``PROGRESS_EVERY`` s.

    A phase change or a phase's end is saved at once; a step skipped by the throttle is saved by ``flush``,
    which the job's heartbeat thread calls, so a stall (a slow X page) still shows the last count."""

    def __init__(self, job, every: float | None = None):
        self.job = job
        self.every = PROGRESS_EVERY if every is None else every
        self.saved_at = 0.0
        self.phase = None
        self.pending = None
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

    def _save(self, phase, done, total, now) -> None:
        self.phase, self.saved_at, self.pending = phase, now, None
        self.job.meta.update(phase=phase, done=done, total=total, updated_at=_now_iso())
        self.job.save_meta()


class _Heartbeat:
    """Keeps ``hypotweet:alive:<job id>`` alive while the job runs, and flushes throttled progress (a daemon
    thread in the work horse)."""

    def __init__(self, conn, job_id: str, every: float, progress: JobProgress):
        self.conn, self.key, self.every = conn, KEY_PREFIX + "alive:" + job_id, max(every, 0.2)
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
        return current_app._get_current_object()
    if _worker_app is None:
        from . import create_app

        _worker_app = create_app()
    return _worker_app


def perform(kind: str, params: dict):
    """The RQ job: run ``kind`` with progress in meta; retry where it helps; a domain error's message in meta."""
    from rq import Retry, get_current_job
    from rq.exceptions import ShutDownImminentException

    from .extensions import db

    job = get_current_job()
    with _app().app_context():
        conn = connection()
        over = True  # False while a retry still needs the upload
        try:
            progress = JobProgress(job)
            with _Heartbeat(conn, job.id, current_app.config["JOB_HEARTBEAT_SECONDS"], progress):
                job.meta.update(phase="starting", error=None, updated_at=_now_iso())
                job.save_meta()
                result = _perform(kind, params, progress)
                progress.flush()
                job.meta.update(phase="done", updated_at=_now_iso())
                job.save_meta()
                return result_json(kind, result)
        except RateLimited as exc:
            _record_error(job, exc.message)
            if _may_retry(job):
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
            log.exception("job %s (%s) failed", job.id, kind)
            _record_error(job, UNEXPECTED)
            raise
        finally:
            db.session.rollback()
            db.session.remove()
            if kind == "import" and over:
                conn.delete(params["upload_key"])


def _may_retry(job) -> bool:
    return (job.number_of_retries or 0) < MAX_RETRIES


def _record_error(job, message: str) -> None:
    job.meta.update(error=message, updated_at=_now_iso())
    job.save_meta()


# --- the worker process ----------------------------------------------------------------------------------


def run_worker(burst: bool = False, with_scheduler: bool = True) -> None:
    """Work the ``hypotweet`` queue in the current app context (``flask worker``).

    The spaCy model is loaded here, once, so every forked work horse starts with it; database connections
    are dropped before forking, each horse opening its own. ``HerokuWorker`` turns a dyno's SIGTERM into a
    prompt retry of the job instead of a kill 30 seconds later.
    """
    from rq.serializers import JSONSerializer
    from rq.worker import HerokuWorker

    from . import runtime
    from .extensions import db

    runtime.embedder().embed(["warm up the spaCy model"])
    db.engine.dispose()
    worker = HerokuWorker([queue()], connection=connection(), serializer=JSONSerializer)
    worker.work(burst=burst, with_scheduler=with_scheduler)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _iso(moment) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")
