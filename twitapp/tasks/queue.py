"""The RQ queue in Redis: enqueueing a task (joining the job already active for the same account), and
reading a job back as the page and the API show it.

* One job per account: an add/update job's id names the account (``kinds.py``), so a second request
  for it joins the job that is queued or running; a short Redis lock makes the check-and-enqueue atomic.
* No pickle: jobs, their meta and results are JSON (rq's ``JSONSerializer``).
* Uploads: a file's bytes wait in Redis under ``hypotweet:upload:<job id>`` (the worker may be another
  dyno, so a path on the web dyno's disk would not do), not in the job's payload; the worker deletes them
  once the job is over.
* Abandoned jobs: a running job refreshes ``hypotweet:alive:<job id>`` (``worker.py``); a started job
  whose key has lapsed was held by a killed worker: it is shown as failed and may be submitted again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from ..exceptions import JobNotFound, UploadQueueFull
from ..formatting import iso_utc
from ..redis_client import redis_connection
from . import receipts
from .kinds import Params, get_kind

QUEUE = "hypotweet"
KEY_PREFIX = "hypotweet:"
RESULT_TTL = 24 * 3600  # a finished job (and its page) is kept a day
FAILURE_TTL = 24 * 3600
UPLOAD_TTL = 24 * 3600
ACTIVE = ("queued", "started", "scheduled", "deferred")
JOB_ID = re.compile(r"^[a-z0-9_-]{1,80}$")
ABANDONED = (
    "The worker running this job stopped before it finished (it was restarted or crashed). "
    "Nothing of it was stored; start it again."
)


def queue():
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(QUEUE, connection=redis_connection(), serializer=JSONSerializer)


def alive_key(job_id: str) -> str:
    return KEY_PREFIX + "alive:" + job_id


def enqueue(kind_name: str, params: Params) -> tuple[str, bool]:
    """Queue a task; returns its job id and whether an active job for the same work was joined."""
    kind = get_kind(kind_name)
    conn = redis_connection()
    job_id = kind.job_id(params)
    if kind.uploads:
        _park_upload(conn, job_id, params)
    with conn.lock(KEY_PREFIX + "submit:" + job_id, timeout=30, blocking_timeout=15):
        existing = fetch(job_id)
        if existing is not None:
            if state(existing)["active"]:
                return job_id, True
            existing.delete()  # finished, failed or abandoned: run it anew under the same id
        label = kind.describe(params)
        queue().enqueue(
            "twitapp.tasks.worker.perform",
            args=(kind_name, params),
            job_id=job_id,
            job_timeout=kind.timeout,
            result_ttl=kind.result_ttl or RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=label,
            meta={
                "kind": kind_name,
                "label": label,
                "phase": "queued",
                "done": 0,
                "total": None,
                "updated_at": now_iso(),
            },
        )
    return job_id, False


def _park_upload(conn, job_id: str, params: Params) -> None:
    """Put the upload's bytes in Redis for the worker, counted against its sender's queued bytes."""
    data = params.pop("stream").read()
    params["upload_key"] = KEY_PREFIX + "upload:" + job_id
    params["size"] = len(data)
    owner = params.get("owner")
    if owner:
        limit = current_app.config["MAX_QUEUED_UPLOAD_MB"] * 1024 * 1024
        counter = queued_bytes_key(owner)
        queued = conn.incrby(counter, len(data))
        conn.expire(counter, UPLOAD_TTL)
        if queued > limit:
            conn.decrby(counter, len(data))
            raise UploadQueueFull(
                f"Your uploads waiting to be imported already take {(queued - len(data)) / 1e6:,.1f} MB "
                f"(at most {limit // (1024 * 1024)} MB per address). Wait for them to finish, then upload again.",
                retry_after=60,
            )
    conn.set(params["upload_key"], data, ex=UPLOAD_TTL)


def queued_bytes_key(owner: str) -> str:
    return KEY_PREFIX + "queued-bytes:" + owner


def discard_upload(conn, params: Params) -> None:
    """Delete a job's parked upload and give its bytes back to its sender's budget (once)."""
    if conn.delete(params["upload_key"]) and params.get("owner"):
        conn.decrby(queued_bytes_key(params["owner"]), params.get("size") or 0)


def fetch(job_id: str):
    """The RQ job, or None when it is unknown or has expired."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    try:
        return Job.fetch(job_id, connection=redis_connection(), serializer=JSONSerializer)
    except NoSuchJobError:
        return None


def find_job_state(job_id: str) -> dict[str, Any]:
    """The state of the job ``job_id``, or JobNotFound (unknown, expired, malformed, or no Redis here)."""
    job = fetch(job_id) if current_app.config.get("REDIS_URL") and JOB_ID.fullmatch(job_id) else None
    if job is None:
        raise JobNotFound("There is no such job here; it may have finished more than a day ago.")
    return state(job)


def state(job) -> dict[str, Any]:
    """A job as the page and the API show it: status, phase, counts, and the result or the error."""
    status = job.get_status(refresh=True)
    status = getattr(status, "value", status) or "queued"
    meta = job.get_meta(refresh=True)
    error = meta.get("error")
    if status == "started" and _abandoned(job):
        status, error = "failed", ABANDONED
        _discard_uploads_of(job)
    result = job.return_value(refresh=True) if status == "finished" else None
    if status in ("failed", "stopped", "canceled"):
        status = "failed"
        error = error or ABANDONED
        _discard_uploads_of(job)
        if error == ABANDONED and (receipt := receipts.read(job.id)) is not None:
            status, error, result = "finished", None, receipt  # killed after its commit: it did store
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
        "prediction": _answer(job) if status == "finished" and meta.get("kind") == "predict" else None,
        "error": error if status in ("failed", "scheduled") else None,
        "retries": job.number_of_retries or 0,
        "enqueued_at": iso_utc(job.enqueued_at),
        "updated_at": meta.get("updated_at"),
    }


def _answer(job) -> Any:
    """A finished background prediction's answer (tasks/answers.py), from the answer id in its params."""
    from .answers import read

    args = list(job.args or [])
    params = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
    return read(params["answer"]) if params.get("answer") else None


def _discard_uploads_of(job) -> None:
    """A job that is over however it ended (killed worker, timeout) holds no upload any more."""
    args = list(job.args or [])
    params = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
    if params.get("upload_key"):
        discard_upload(redis_connection(), params)


def _abandoned(job) -> bool:
    """Started, but its heartbeat key has lapsed: the worker holding it was killed.

    A job just picked up gets three beats to start its heartbeat before it can count as abandoned."""
    lapse = 3 * current_app.config["JOB_HEARTBEAT_SECONDS"]
    started = job.started_at
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    if started is not None and (datetime.now(UTC) - started).total_seconds() < lapse:
        return False
    return not redis_connection().exists(alive_key(job.id))


def now_iso() -> str:
    """Now, as the jobs' meta records it (to the millisecond: progress moves fast)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
