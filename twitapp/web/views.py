"""Page views: turn a form into a service call and its errors into messages."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from .. import runtime
from ..extensions import db
from ..services import accounts as account_service
from ..services.errors import HypoTweetError
from ..importers import DEMO_CREDIT
from ..services.imports import import_accounts, import_demo, read_upload
from ..services.ingest import ingest_from_x
from ..services.prediction import predict_author
from . import bp
from .forms import AddAccountForm, ConfirmForm, ImportForm, PredictForm


def _home(status: int = 200, add_form=None, predict_form=None, prediction=None, import_form=None):
    summaries = account_service.list_accounts(db.session)
    predict_form = predict_form or PredictForm()
    predict_form.accounts.choices = [(s.account.username, s.account.username) for s in summaries]
    template = "result.html" if prediction else "index.html"
    return render_template(
        template, summaries=summaries, add_form=add_form or AddAccountForm(), predict_form=predict_form,
        import_form=import_form or ImportForm(), confirm_form=ConfirmForm(), prediction=prediction,
        demo_credit=DEMO_CREDIT,
        max_candidates=current_app.config["MAX_CANDIDATES"],
    ), status


@bp.get("/")
def index():
    return _home()


@bp.post("/accounts")
def add_account():
    form = AddAccountForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _home(400, add_form=form)
    try:
        result = _ingest(form.handle.data)
    except HypoTweetError as exc:
        flash(exc.message, "error")
        return _home(exc.status, add_form=form)
    flash(result.summary(), "success")
    return redirect(url_for("web.account", username=result.username), code=303)


@bp.post("/import")
def import_file():
    form = ImportForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _home(400, import_form=form)
    upload = form.file.data
    try:
        accounts = read_upload(upload.stream, upload.filename or "upload", (form.account.data or "").strip() or None,
                               current_app.config["MAX_IMPORT_UNCOMPRESSED_MB"] * 1024 * 1024)
        summary = import_accounts(db.session, accounts, runtime.embedder())
    except HypoTweetError as exc:
        flash(exc.message, "error")
        return _home(exc.status, import_form=form)
    flash(summary.summary(), "success")
    if len(summary.results) == 1:
        return redirect(url_for("web.account", username=summary.results[0].username), code=303)
    return redirect(url_for("web.index"), code=303)


@bp.post("/demo")
def demo():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        summary = import_demo(db.session, runtime.embedder(), current_app.config["DEMO_BASE_URL"])
    except HypoTweetError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.index"), code=303)
    flash(summary.summary(), "success")
    return redirect(url_for("web.index"), code=303)


@bp.get("/accounts/<username>")
def account(username: str):
    try:
        found = account_service.get_account(db.session, username)
    except HypoTweetError:
        abort(404)
    page = request.args.get("page", 1, type=int)
    tweets = account_service.tweets_page(db.session, found, max(page, 1), current_app.config["TWEETS_PER_PAGE"])
    return render_template("account.html", account=found, tweets=tweets, confirm_form=ConfirmForm(),
                           tweet_count=tweets.total)


@bp.post("/accounts/<username>/update")
def update_account(username: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        result = _ingest(username)
    except HypoTweetError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.account", username=username), code=303)
    flash(result.summary(), "success")
    return redirect(url_for("web.account", username=result.username), code=303)


@bp.post("/accounts/<username>/delete")
def delete_account(username: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        deleted = account_service.delete_account(db.session, username)
    except HypoTweetError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.index"), code=303)
    flash(f"Deleted @{deleted} and its tweets.", "success")
    return redirect(url_for("web.index"), code=303)


@bp.post("/predict")
def predict():
    form = PredictForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return _home(400, predict_form=form)
    try:
        prediction = predict_author(
            db.session, form.accounts.data, form.text.data, runtime.embedder(), runtime.model_cache(),
            max_candidates=current_app.config["MAX_CANDIDATES"],
            max_length=current_app.config["MAX_TWEET_LENGTH"],
        )
    except HypoTweetError as exc:
        flash(exc.message, "error")
        return _home(exc.status, predict_form=form)
    return _home(predict_form=form, prediction=prediction)


def _ingest(handle: str):
    return ingest_from_x(db.session, runtime.x_client(), runtime.embedder(), handle,
                         current_app.config["TWEETS_PER_ACCOUNT"])


def _flash_form_errors(form) -> None:
    for field_errors in form.errors.values():
        for message in field_errors:
            flash(message, "error")
