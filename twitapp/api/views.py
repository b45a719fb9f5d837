"""JSON endpoints. CSRF-exempt (no cookies are needed), ``application/json`` only."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for

from .. import runtime, tasks
from ..exceptions import InvalidInput
from ..extensions import db
from ..formatting import iso_utc
from ..security import ADMIN_HEADER, admin_permission, rate_limited
from ..services import account_search, questions, x_budget
from ..services import accounts as account_service
from ..services.answers import prediction_json
from ..services.text_limits import guess_limit
from . import bp
from .job_status import accepted


def json_body(*required: tuple[str, type]) -> dict:
    """The request's JSON object, with each required key present and of its type, or InvalidInput."""
    if not request.is_json:
        raise InvalidInput("Send a JSON body with the header Content-Type: application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json raises it, not ValueError, on [[[[...]]]] nested deeper than Python's stack
        raise InvalidInput("The JSON body is nested too deeply; send a flat JSON object.") from None
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    if not _valid_unicode(body):  # "\ud800" is valid JSON but no text: it cannot be encoded, stored or shown
        raise InvalidInput("The JSON body contains a lone surrogate (\\ud800-\\udfff), which is not valid text.")
    for key, kind in required:
        if key not in body:
            raise InvalidInput(f"The JSON body needs the key '{key}'.")
        if not isinstance(body[key], kind):
            raise InvalidInput(f"'{key}' must be {_type_name(kind)}.")
    return body


def account_json(summary: account_service.AccountSummary) -> dict:
    account = summary.account
    return {
        "id": account.id,
        "platform": account.platform,
        "handle": account.handle,
        "username": account.username,
        "name": account.name,
        "source": account.source,
        "tweet_count": summary.tweet_count,
        "newest_tweet_at": iso_utc(summary.newest_tweet_at),
        "fetched_at": iso_utc(account.fetched_at),
        "followers_count": account.followers_count,
        "url": url_for("web.account", username=account.username, _external=True),
    }


@bp.get("/accounts")
def list_accounts():
    """A page of the stored accounts (``?page``, ``?per_page``, ``?q`` a search of handles and names)."""
    per_page = account_search.page_number(request.args.get("per_page"), "per_page")
    listing = account_search.search_accounts(
        db.session,
        request.args.get("q"),
        account_search.page_number(request.args.get("page")),
        per_page or account_search.MAX_PER_PAGE,
        clamp=False,
    )
    return jsonify(
        accounts=[account_json(s) for s in listing.items],
        total=listing.total,
        page=listing.page,
        pages=listing.pages,
        per_page=listing.per_page,
        q=listing.query,
    )


@bp.post("/accounts")
@rate_limited("RATE_LIMIT_ACCOUNTS", "accounts")
def add_account():
    body = json_body(("username", str))
    platform = body.get("platform")
    if platform is not None and not isinstance(platform, str):
        raise InvalidInput("'platform' must be a string: x, bluesky or mastodon.")
    submitted = tasks.submit("ingest", handle=body["username"], platform=platform)
    if submitted.queued:
        return accepted(submitted)  # 202, the job and its URL
    result = submitted.result
    [summary] = account_service.list_accounts(db.session, [result.username])
    payload = account_json(summary) | {"added": result.added, "message": result.summary()}
    return jsonify(account=payload), 201 if result.created else 200


@bp.post("/imports")
@rate_limited("RATE_LIMIT_IMPORTS", "imports")
def import_file():
    """An uploaded file (multipart/form-data ``file``, optional ``account``) imported as the page's form
    does; the admin password (``X-Admin-Password``) lets it add to stored accounts."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("Send the file to import as the multipart/form-data field 'file'.")
    may_update = admin_permission(request.headers.get(ADMIN_HEADER), "Adding posts to a stored account")
    submitted = tasks.submit(
        "import",
        stream=upload.stream,
        filename=upload.filename,
        account=(request.form.get("account") or "").strip() or None,
        owner=request.remote_addr,
        may_update=may_update,
    )
    if submitted.queued:
        return accepted(submitted)
    summary = submitted.result
    handles = [result.username for result in summary.results]
    payload = {
        "message": summary.summary(),
        "platform": summary.platform,
        "added": summary.added,
        "skipped_duplicates": summary.total("skipped_duplicates"),
        "skipped_reposts": summary.total("skipped_retweets"),
        "skipped_empty": summary.total("skipped_empty"),
        "accounts": [account_json(s) for s in account_service.list_accounts(db.session, handles)],
    }
    return jsonify(imported=payload), 201 if any(result.created for result in summary.results) else 200


@bp.get("/x-reads")
def x_reads():
    """What an add or update from X may read and cost, asked before ``POST /api/accounts``."""
    return jsonify(x_budget.estimate(current_app.config["TWEETS_PER_ACCOUNT"], runtime.x_budget()))


@bp.post("/predict")
@rate_limited("RATE_LIMIT_PREDICT", "predict")
def predict():
    body = json_body(("accounts", list))
    embedder = runtime.embedder()
    limit = guess_limit(body["accounts"], current_app.config["MAX_TWEET_LENGTH"])
    question = questions.from_json(body, db.session, embedder.model_name, limit)
    submitted = tasks.submit("predict", accounts=body["accounts"], question=question)
    if submitted.queued:
        return accepted(submitted)  # 202: a fit over many posts runs as a job; its JSON gets the answer
    return jsonify(prediction_json(submitted.result))


def _valid_unicode(value) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_valid_unicode(v) for v in value)
    if isinstance(value, dict):
        return all(_valid_unicode(k) and _valid_unicode(v) for k, v in value.items())
    return True


def _type_name(kind: type) -> str:
    return {str: "a string", list: "a list", int: "a number", dict: "an object"}.get(kind, kind.__name__)
