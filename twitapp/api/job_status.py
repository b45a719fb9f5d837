"""A background job as JSON: ``GET /api/jobs/<id>`` (what ``202 Accepted`` answers point to)."""

from __future__ import annotations

from flask import jsonify, url_for

from .. import tasks
from ..services.answers import prediction_json
from . import bp

#: What a job's JSON copies from its state (``tasks.find_job_state``); ``url`` and ``page`` come on top.
JOB_FIELDS = (
    "id",
    "kind",
    "label",
    "status",
    "phase",
    "done",
    "total",
    "message",
    "usernames",
    "error",
    "retries",
    "enqueued_at",
    "updated_at",
)


def job_json(state: dict) -> dict:
    """The job, and the answer of a finished background prediction (``prediction``, else null)."""
    prediction = state.get("prediction")
    return {key: state[key] for key in JOB_FIELDS} | {
        "url": url_for("api.job", job_id=state["id"], _external=True),
        "page": url_for("web.job", job_id=state["id"], _external=True),
        "prediction": prediction_json(prediction) if prediction is not None else None,
    }


def accepted(submitted):
    """The answer to a request whose work was queued: 202, the job, and where to follow it."""
    state = tasks.find_job_state(submitted.job_id)
    body = job_json(state) | {"joined": submitted.joined}
    return jsonify(job=body), 202, {"Location": body["url"]}


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    return jsonify(job=job_json(tasks.find_job_state(job_id)))
