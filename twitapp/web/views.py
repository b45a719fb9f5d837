"""Page views: turn a form into a service call and its errors into messages."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from .. import runtime, tasks
from ..exceptions import HypoTweetError
from ..extensions import db
from ..formatting import some_handles
from ..security import admin_permission, admin_required, rate_limited
from ..services import account_search, monthly, questions
from ..services import accounts as account_service
from ..services.text_limits import guess_limit
from ..sources import DEMO_CREDIT
from . import bp
from .forms import AddAccountForm, ConfirmForm, ImportForm, PredictForm

MAX_CHOSEN_SHOWN = 20  # chosen accounts a form may carry back to the picker (a guess takes at most 10)


def _refused(exc: HypoTweetError, **shown):
    """The home page again with the error flashed, its status, and when to retry a rate limit."""
    flash(exc.message, "error")
    page, status = home_page(exc.status, **shown)
    retry_after = getattr(exc, "retry_after", None)
    return page, status, {"Retry-After": str(retry_after)} if retry_after else {}


def home_page(
    status: int = 200,
    add_form=None,
    predict_form=None,
    prediction=None,
    import_form=None,
    query: str | None = None,
    page: str | None = None,
):
    """The home page (or a guess's result) with one page of the accounts matching ``query``: the picker's
    choices, with the accounts ``predict_form`` has chosen on top wherever they are in the list."""
    predict_form = predict_form or PredictForm()
    try:
        listing = account_search.search_accounts(
            db.session, query, _whole_number(page), current_app.config["ACCOUNTS_PER_PAGE"]
        )
    except HypoTweetError as exc:  # a search too long: said, and every account listed instead
        flash(exc.message, "error")
        status = max(status, exc.status)
        listing = account_search.search_accounts(db.session, "", None, current_app.config["ACCOUNTS_PER_PAGE"])
    chosen = account_search.chosen_accounts(db.session, predict_form.accounts.data or [], MAX_CHOSEN_SHOWN)
    template = "result.html" if prediction else "index.html"
    return render_template(
        template,
        listing=listing,
        chosen=chosen,
        chosen_keys={s.account.username.lower() for s in chosen},
        max_query=account_search.MAX_QUERY,
        add_form=add_form or AddAccountForm(),
        predict_form=predict_form,
        import_form=import_form or ImportForm(),
        confirm_form=ConfirmForm(),
        prediction=prediction,
        demo_credit=DEMO_CREDIT,
        max_candidates=current_app.config["MAX_CANDIDATES"],
    ), status


def _whole_number(value: str | None) -> int | None:
    """A page number from a link or a button (anything else: the first page)."""
    try:
        return account_search.page_number(value)
    except HypoTweetError:
        return None


@bp.get("/")
def index():
    """The home page; ``?q=`` and ``?page=`` choose the page of accounts shown (links that can be kept)."""
    return home_page(query=request.args.get("q"), page=request.args.get("page"))


@bp.post("/pick")
@rate_limited("RATE_LIMIT_PREDICT", "pick")  # (a counter of its own: a search costs no guess)
def pick():
    """The picker's search and page buttons, which submit the guess form (its CSRF token checked): the home
    page again with the form's draft and chosen accounts, and the page of accounts asked for."""
    form = PredictForm()
    return home_page(predict_form=form, query=request.form.get("q"), page=request.form.get("page"))


@bp.get("/accounts")
def accounts():
    """The stored accounts are listed on the home page (the add form posts here, so the URL is visited)."""
    return redirect(url_for("web.index", _anchor="accounts"))


@bp.post("/accounts")
@rate_limited("RATE_LIMIT_ACCOUNTS", "accounts")
def add_account():
    form = AddAccountForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return home_page(400, add_form=form)
    try:
        submitted = tasks.submit("ingest", handle=form.handle.data, platform=form.platform.data or None)
    except HypoTweetError as exc:
        return _refused(exc, add_form=form)
    return _after_submit(submitted, _account_page)


@bp.post("/import")
@rate_limited("RATE_LIMIT_IMPORTS", "imports")
def import_file():
    form = ImportForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return home_page(400, import_form=form)
    upload = form.file.data
    try:
        may_update = admin_permission(form.admin_password.data, "Adding posts to a stored account")
        submitted = tasks.submit(
            "import",
            stream=upload.stream,
            filename=upload.filename or "upload",
            account=(form.account.data or "").strip() or None,
            owner=request.remote_addr,
            may_update=may_update,
        )
    except HypoTweetError as exc:
        return _refused(exc, import_form=form)
    return _after_submit(
        submitted,
        lambda summary: _account_page(summary.results[0]) if len(summary.results) == 1 else url_for("web.index"),
    )


@bp.post("/demo")
@rate_limited("RATE_LIMIT_IMPORTS", "imports")
@admin_required("Loading the demo accounts")
def demo():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        submitted = tasks.submit("demo")
    except HypoTweetError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.index"), code=303)
    return _after_submit(submitted, lambda summary: url_for("web.index"))


@bp.get("/accounts/<username>")
def account(username: str):
    try:
        found = account_service.get_account(db.session, username)
    except HypoTweetError:
        abort(404)
    page = request.args.get("page", 1, type=int)  # (not a whole number: the first page)
    tweets = account_service.tweets_page(db.session, found, page, current_app.config["TWEETS_PER_PAGE"])
    months = monthly.month_chart(monthly.month_counts(account_service.tweets_per_month(db.session, found)))
    return render_template(
        "account.html",
        account=found,
        tweets=tweets,
        confirm_form=ConfirmForm(),
        tweet_count=tweets.total,
        months=months,
    )


@bp.post("/accounts/<username>/update")
@rate_limited("RATE_LIMIT_ACCOUNTS", "accounts")
def update_account(username: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        submitted = tasks.submit("ingest", handle=username)
    except HypoTweetError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.account", username=username), code=303)
    return _after_submit(submitted, _account_page)


@bp.post("/accounts/update-all")
@rate_limited("RATE_LIMIT_ADMIN", "admin")
@admin_required("Updating every account")
def update_all():
    """Fetch new posts of every account read from X, Bluesky or Mastodon: one job each (queued), or one after
    another here, each stored or refused on its own."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    handles = account_service.updatable_usernames(db.session)
    if not handles:
        flash(
            "No stored account can be updated from X, Bluesky or Mastodon: accounts imported from a file or the demo "
            "are not read from there.",
            "error",
        )
        return redirect(url_for("web.index"), code=303)
    queued = []
    for params, outcome in tasks.submit_each("ingest", [{"handle": handle} for handle in handles]):
        if isinstance(outcome, HypoTweetError):
            flash(f"@{params['handle']}: {outcome.message}", "error")
        elif outcome.queued:
            queued.append(params["handle"])
        else:
            flash(outcome.result.summary(), "success")
    if queued:
        flash(
            f"Fetching new tweets of {some_handles(queued)} in the background; each account's "
            "page shows them once stored.",
            "success",
        )
    return redirect(url_for("web.index"), code=303)


@bp.post("/accounts/<username>/delete")
@rate_limited("RATE_LIMIT_ADMIN", "admin")
@admin_required("Deleting an account")
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
@rate_limited("RATE_LIMIT_PREDICT", "predict")
def predict():
    form = PredictForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return home_page(400, predict_form=form, **_shown())
    upload = form.posts_file.data
    try:
        embedder = runtime.embedder()
        limit = guess_limit(form.accounts.data, current_app.config["MAX_TWEET_LENGTH"])
        question = questions.from_form(
            form.text.data,
            form.posts.data,
            (upload.stream, upload.filename or "posts.txt") if upload and upload.filename else None,
            form.unknown.data or None,
            db.session,
            embedder.model_name,
            limit,
        )
        submitted = tasks.submit("predict", accounts=form.accounts.data, question=question)
    except HypoTweetError as exc:
        return _refused(exc, predict_form=form, **_shown())
    if submitted.queued:  # a fit over many posts: its page shows the progress, then the answer
        return redirect(url_for("web.job", job_id=submitted.job_id), code=303)
    return home_page(predict_form=form, prediction=submitted.result, **_shown())


def _shown() -> dict:
    """The picker's search and page as the guess form carried them, to show the same page again."""
    return {"query": request.form.get("q"), "page": request.form.get("at_page")}


def _after_submit(submitted: tasks.Submitted, destination):
    """A queued job goes to its page (progress, then the result or the error: twitapp/web/job_page.py); work
    that ran inline flashes the service's summary and goes to ``destination(result)``."""
    if submitted.queued:
        return redirect(url_for("web.job", job_id=submitted.job_id), code=303)
    flash(submitted.result.summary(), "success")
    return redirect(destination(submitted.result), code=303)


def _account_page(result) -> str:
    return url_for("web.account", username=result.username)


def _flash_form_errors(form) -> None:
    for field_errors in form.errors.values():
        for message in field_errors:
            flash(message, "error")
