"""The page of a background job: its progress while it runs, then its result or its error.

Without JavaScript the page reloads itself (a ``<noscript>`` meta refresh) and offers a reload link; with it,
``static/jobs.js`` polls ``/api/jobs/<id>`` and updates the counts, reloading once the job is over.
"""

from __future__ import annotations

from flask import render_template, url_for

from ..tasks import find_job_state
from . import bp
from .forms import PredictForm
from .views import home_page

REFRESH_SECONDS = 2


def next_url(job: dict) -> str:
    if len(job["usernames"]) == 1:
        return url_for("web.account", username=job["usernames"][0])
    return url_for("web.index")


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    state = find_job_state(job_id)  # JobNotFound: the 404 page
    if state["kind"] == "predict" and state["prediction"] is not None:  # a background guess, answered
        prediction = state["prediction"]
        form = PredictForm(formdata=None, data={"accounts": list(prediction.probabilities)})
        return home_page(predict_form=form, prediction=prediction)
    return render_template(
        "job.html",
        job=state,
        next_url=next_url(state),
        refresh=REFRESH_SECONDS,
        poll_url=url_for("api.job", job_id=job_id),
    )
