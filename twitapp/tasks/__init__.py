"""Long work off the request (adding or updating an account, imports, the demo), as RQ jobs or inline.

``submit(kind, **params)`` is the one place that decides. With ``REDIS_URL`` set it queues a job
(``queue.py``; a worker runs it, ``worker.py``) and returns at once; without it, it runs the very same
task (``kinds.py``) here and now and returns the service's result, as on a laptop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from ..exceptions import HypoTweetError
from ..extensions import db
from ..services.progress import Progress, no_progress
from .kinds import KINDS, TaskKind, get_kind
from .queue import ABANDONED, KEY_PREFIX, enqueue, fetch, find_job_state, queue, state
from .worker import MAX_RETRIES, JobProgress, run_worker

__all__ = [
    "ABANDONED",
    "KEY_PREFIX",
    "KINDS",
    "MAX_RETRIES",
    "JobProgress",
    "Submitted",
    "TaskKind",
    "enabled",
    "fetch",
    "find_job_state",
    "queue",
    "run_worker",
    "state",
    "submit",
    "submit_each",
]


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


def enabled() -> bool:
    """True when work goes to the queue (``REDIS_URL`` is set)."""
    return bool(current_app.config.get("REDIS_URL"))


def submit(kind: str, *, progress: Progress | None = None, **params: Any) -> Submitted:
    """Run the task ``kind`` in the background when Redis is configured, else here (see the module docstring).

    Errors a person can fix before any work (an invalid handle) are raised here in both modes.
    """
    task = get_kind(kind)
    params = task.prepare(params)
    if not enabled() or task.runs_inline(params):
        return Submitted(kind, result=task.run(params, progress or no_progress, None))
    job_id, joined = enqueue(kind, task.queued(params))
    return Submitted(kind, job_id=job_id, joined=joined)


def submit_each(
    kind: str, values: list[dict[str, Any]], progress_for=None
) -> list[tuple[dict[str, Any], Submitted | HypoTweetError]]:
    """``submit`` once per parameter set (updating every account); an error is returned in place of that one."""
    outcomes: list[tuple[dict[str, Any], Submitted | HypoTweetError]] = []
    for params in values:
        try:
            outcomes.append((params, submit(kind, progress=progress_for(params) if progress_for else None, **params)))
        except HypoTweetError as exc:
            if not enabled():
                db.session.rollback()
            outcomes.append((params, exc))
    return outcomes
