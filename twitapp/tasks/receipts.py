"""Job receipts: the result of a job, committed with the posts it stored, so that a job whose worker died
right after the commit (before Redis heard of it) is shown as finished with what was stored, not failed.

A job's receipt is cleared when the job starts (job ids repeat, as ``ingest-<handle>`` does) and kept a day.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from ..extensions import db
from ..models import JobReceipt, utcnow

KEPT = timedelta(days=1)


def clear(job_id: str) -> None:
    """Forget an earlier run's receipt before this run starts (committed at once)."""
    db.session.execute(delete(JobReceipt).where(JobReceipt.job_id == job_id))
    db.session.commit()


def writer(job_id: str, result_json: Callable[[Any], dict[str, Any]]) -> Callable[[Any], None]:
    """A service's ``before_commit``: adds the job's receipt (and prunes old ones) to the storing transaction."""

    def write(result: Any) -> None:
        db.session.execute(delete(JobReceipt).where(JobReceipt.created_at < utcnow() - KEPT))
        db.session.add(JobReceipt(job_id=job_id, result=json.dumps(result_json(result))))

    return write


def read(job_id: str) -> dict[str, Any] | None:
    """The job's result as its receipt holds it, or None where nothing was committed."""
    receipt = db.session.get(JobReceipt, job_id)
    return json.loads(receipt.result) if receipt is not None else None
