"""The kinds of background task, in one registry: what each runs, how its job is named and described, how
long it may take and what its result looks like as JSON. A new source of posts adds one entry here."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from .. import runtime
from ..exceptions import InvalidInput
from ..extensions import db
from ..services.progress import Progress
from ..sources.handles import PLATFORM_NAMES, SUPPORTED_PLATFORMS, parse_handle
from ..sources.x import x_not_configured

Params = dict[str, Any]
BeforeCommit = Callable[[Any], None] | None


@dataclass(frozen=True)
class TaskKind:
    """One kind of task. ``run(params, progress, before_commit)`` does the work in an app context and
    returns the service's result (``before_commit``, from a job, adds its receipt to the storing
    transaction; None inline); ``prepare`` checks what a person can fix before any work (both modes)."""

    name: str
    run: Callable[[Params, Progress, BeforeCommit], Any]
    describe: Callable[[Params], str]
    job_id: Callable[[Params], str]
    timeout: int
    result_json: Callable[[Any], dict[str, Any]]
    prepare: Callable[[Params], Params] = lambda params: params
    uploads: bool = False  # params["stream"] holds a file; queued, its bytes wait in Redis (queue.py)
    # True where the task is quick enough to run in the request even with a queue (a warm prediction)
    runs_inline: Callable[[Params], bool] = lambda params: False
    result_ttl: int | None = None  # seconds a finished job's result is kept (None: the queue's default)
    queued: Callable[[Params], Params] = lambda params: params  # the params of a job (not of inline work)


KINDS: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> TaskKind:
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> TaskKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown task kind {name!r}") from None


def _summary_json(result: Any) -> dict[str, Any]:
    """An import's result (``file_import.ImportSummary``) as a job shows it."""
    return {"message": result.summary(), "usernames": [r.username for r in result.results], "added": result.added}


# --- adding or updating an account from its platform (X, Bluesky, Mastodon) ------------------------------------------


def _run_ingest(params: Params, progress: Progress, before_commit: BeforeCommit) -> Any:
    from ..services.ingest import ingest_from

    limit = current_app.config["TWEETS_PER_ACCOUNT"]
    client, embedder = runtime.fetch_client(params.get("platform") or "x"), runtime.embedder()
    return ingest_from(db.session, client, embedder, params["handle"], limit, progress, before_commit)


def _prepare_ingest(params: Params) -> Params:
    """A valid handle of a platform this server reads (``platform`` given, or the handle's form), and for X
    a server that can read it at all: said at once, not by a job that fails later."""
    handle = parse_handle(params["handle"], params.get("platform") or None)
    if handle.platform not in SUPPORTED_PLATFORMS:
        raise InvalidInput(f"{handle} is a {PLATFORM_NAMES[handle.platform]} handle, which this server cannot read.")
    if handle.platform == "x" and not current_app.config.get("X_BEARER_TOKEN"):
        raise x_not_configured()
    if handle.platform == "x":
        runtime.x_budget().check()  # the day's cap reached: refused now, before a job or any read from X
    return params | {"handle": handle.name, "platform": handle.platform}


def _ingest_job_id(params: Params) -> str:
    """One job per account: X's keep their ids (``ingest-<name>``); a Bluesky handle's (letters, digits, hyphens
    and dots) is ``ingest-bluesky-<handle, dots as underscores>``, which no X handle (no hyphen) can give,
    as RQ's ids are letters, digits, underscores and hyphens only; a Mastodon one's is
    ``ingest-mastodon-<name>-at-<instance, dots as underscores>-<digest of the handle>`` (its name may hold
    dots, hyphens and underscores, so the digest keeps two handles apart)."""
    platform = params.get("platform") or "x"
    handle = params["handle"].lower()
    if platform == "mastodon":
        digest = hashlib.sha1(handle.encode()).hexdigest()[:8]
        return f"ingest-mastodon-{handle.replace('@', '-at-').replace('.', '_')}-{digest}"
    return "ingest-" + handle if platform == "x" else f"ingest-{platform}-{handle.replace('.', '_')}"


register(
    TaskKind(
        name="ingest",
        run=_run_ingest,
        prepare=_prepare_ingest,
        describe=lambda params: f"Fetching @{params['handle']} from {PLATFORM_NAMES[params.get('platform') or 'x']}",
        job_id=_ingest_job_id,
        timeout=15 * 60,
        result_json=lambda result: {
            "message": result.summary(),
            "usernames": [result.username],
            "created": result.created,
            "added": result.added,
        },
    )
)


# --- importing an uploaded file (an archive or a CSV) -----------------------------------------------------


def _run_import(params: Params, progress: Progress, before_commit: BeforeCommit) -> Any:
    """``params["may_update"]``: the admin password was given, so the file may add to stored accounts."""
    from ..services.file_import import import_accounts, read_upload

    limit = current_app.config["MAX_IMPORT_UNCOMPRESSED_MB"] * 1024 * 1024
    accounts = read_upload(
        params["stream"],
        params.get("filename") or "upload",
        params.get("account") or None,
        limit,
        kind=params.get("format"),
        max_posts=current_app.config["MAX_POSTS_PER_ACCOUNT"],
    )
    may_update = bool(params.get("may_update"))
    return import_accounts(db.session, accounts, runtime.embedder(), progress, may_update, before_commit)


register(
    TaskKind(
        name="import",
        run=_run_import,
        describe=lambda params: f"Importing {params.get('filename') or 'an upload'}",
        job_id=lambda params: f"import-{uuid.uuid4().hex}",  # each upload its own job
        timeout=60 * 60,
        result_json=_summary_json,
        uploads=True,
    )
)


# --- the demo set -----------------------------------------------------------------------------------------


def _run_demo(params: Params, progress: Progress, before_commit: BeforeCommit) -> Any:
    from ..services.file_import import import_demo

    base_url = params.get("base_url") or current_app.config["DEMO_BASE_URL"]
    return import_demo(db.session, runtime.embedder(), base_url, progress=progress, before_commit=before_commit)


register(
    TaskKind(
        name="demo",
        run=_run_demo,
        describe=lambda params: "Importing the demo accounts",
        job_id=lambda params: "demo",
        timeout=30 * 60,
        result_json=_summary_json,
    )
)


# --- a prediction whose model takes long to fit -----------------------------------------------------------


def _question(params: Params):
    """The question itself where the request runs it (read once, with an unknown account's stored posts);
    a job rebuilds it from its plain parameters (``_queued_predict``)."""
    from ..services.questions import Question, stored_posts

    if params.get("question") is not None:
        return params["question"]
    if params.get("unknown"):
        return stored_posts(db.session, params["unknown"], runtime.embedder().model_name)
    return Question(tuple(params["texts"]))


def _run_predict(params: Params, progress: Progress, before_commit: BeforeCommit) -> Any:
    from ..services.prediction import predict_author

    config = current_app.config
    progress("fitting", 0, None)
    prediction = predict_author(
        db.session,
        params["accounts"],
        _question(params),
        runtime.embedder(),
        runtime.model_cache(),
        max_candidates=config["MAX_CANDIDATES"],
        max_length=config["MAX_TWEET_LENGTH"],
        tweets_per_account=config["TWEETS_PER_ACCOUNT"],
    )
    if params.get("answer"):  # a job: its page reads the answer back (tasks/answers.py)
        from .answers import keep

        keep(params["answer"], prediction)
    return prediction


def _queued_predict(params: Params) -> Params:
    """A job's parameters: plain data (an unknown account by its handle) and the id its answer is kept under."""
    from ..services.questions import as_params

    plain = {key: value for key, value in params.items() if key != "question"}
    return plain | as_params(params["question"]) | {"answer": uuid.uuid4().hex}


def _predict_runs_inline(params: Params) -> bool:
    """Warm, or a fit over few posts (about 2 s for BACKGROUND_FIT_POSTS): answered in the request."""
    from ..services.prediction import fit_needed

    config = current_app.config
    posts = fit_needed(
        db.session, params["accounts"], runtime.model_cache(), config["MAX_CANDIDATES"], config["TWEETS_PER_ACCOUNT"]
    )
    return posts <= config["BACKGROUND_FIT_POSTS"]


register(
    TaskKind(
        name="predict",
        run=_run_predict,
        runs_inline=_predict_runs_inline,
        describe=lambda params: "Learning the accounts' posts for your guess",
        queued=_queued_predict,
        job_id=lambda params: f"predict-{params['answer']}",  # unguessable: its page shows the question
        timeout=10 * 60,
        result_json=lambda prediction: {"message": f"Most likely @{prediction.author}.", "usernames": []},
        result_ttl=3600,  # the question is kept no longer than needed to read the answer
    )
)
