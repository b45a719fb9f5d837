"""Flask CLI commands; they call the same services as the pages."""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from . import runtime, tasks
from .exceptions import HypoTweetError
from .extensions import db
from .services import accounts as account_service
from .services import reembed as reembed_service
from .services.file_import import ImportSummary, import_demo
from .services.x_budget import announcement
from .sources.handles import parse_handle


class ProgressBars:
    """A ``progress(phase, done, total)`` callback that draws one click progress bar per phase."""

    def __init__(self, label: str):
        self.label = label
        self.phase: str | None = None
        self.bar: Any = None  # the open click progress bar of the current phase
        self.done = 0

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.done = phase, 0
            self.bar = click.progressbar(length=total or 0, label=f"{self.label} {phase}", file=None)
            self.bar.__enter__()
        if self.bar is not None and done > self.done:
            self.bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@click.group("accounts")
def accounts_cli():
    """Add, update, list and delete accounts (X, Bluesky, Mastodon)."""


def _ingest_each(handles, platform: str | None = None) -> int:
    failures = 0
    for handle in handles:
        _announce_x_reads(handle, platform)
        with ProgressBars(f"@{handle.lstrip('@')}") as bars:
            try:
                submitted = tasks.submit("ingest", handle=handle, platform=platform, progress=bars)
            except HypoTweetError as exc:
                db.session.rollback()
                failures += 1
                bars.close()
                click.secho(f"@{handle.lstrip('@')}: {exc.message}", fg="red", err=True)
                continue
        if submitted.queued:
            _echo_queued(submitted)
        else:
            click.echo(submitted.result.summary())
    return failures


def _announce_x_reads(handle: str, platform: str | None) -> None:
    """Say, before an X fetch runs, how many posts it may read from X (each is billed)."""
    try:
        parsed = parse_handle(handle, platform)
    except HypoTweetError:
        return  # the submission says what is wrong with the handle
    if parsed.platform == "x":
        click.echo(f"@{parsed.name}: {announcement(current_app.config['TWEETS_PER_ACCOUNT'])}.")


@accounts_cli.command("add")
@click.argument("handles", nargs=-1, required=True)
@click.option(
    "--platform",
    type=click.Choice(["x", "bluesky", "mastodon"]),
    default=None,
    help="The handles' platform; without it, each handle's form says (name: X, name.bsky.social: Bluesky, "
    "name@instance: Mastodon).",
)
@with_appcontext
def add(handles, platform):
    """Fetch HANDLES' recent original posts from X, Bluesky or Mastodon and store them."""
    if _ingest_each(handles, platform):
        raise SystemExit(1)


@accounts_cli.command("update")
@click.argument("handles", nargs=-1)
@click.option("--all", "update_all", is_flag=True, help="Update every account read from X, Bluesky or Mastodon.")
@with_appcontext
def update(handles, update_all):
    """Fetch tweets newer than the stored ones (suits Heroku Scheduler with --all)."""
    if update_all:
        handles = account_service.updatable_usernames(db.session)
    elif not handles:
        raise click.UsageError("Name accounts to update, or pass --all.")
    if _ingest_each(handles):
        raise SystemExit(1)


@accounts_cli.command("list")
@with_appcontext
def list_():
    """List stored accounts with their tweet counts."""
    summaries = account_service.list_accounts(db.session)
    if not summaries:
        click.echo("No accounts stored yet. Add one with: flask accounts add HANDLE")
        return
    for s in summaries:
        fetched = s.account.fetched_at.strftime("%Y-%m-%d %H:%M") if s.account.fetched_at else "never"
        click.echo(
            f"@{s.account.username:<16} {s.account.platform:<8} {s.tweet_count:>6} tweets  {s.account.source:<8} "
            f"updated {fetched}"
        )


@accounts_cli.command("recount")
@with_appcontext
def recount():
    """Count every account's stored tweets again and repair the kept counts (a database from before they
    were kept atomically)."""
    repaired = account_service.recount_tweets(db.session)
    for username, kept, real in repaired:
        click.echo(f"@{username}: {kept:,} -> {real:,} tweets")
    click.echo(f"Repaired {len(repaired)} account{'s' if len(repaired) != 1 else ''}; the others were right.")


@accounts_cli.command("delete")
@click.argument("handle")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def delete(handle, yes):
    """Delete an account and its tweets."""
    if not yes:
        click.confirm(f"Delete @{handle.lstrip('@')} and all its tweets?", abort=True)
    try:
        deleted = account_service.delete_account(db.session, handle)
    except HypoTweetError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Deleted @{deleted}.")


@accounts_cli.command("reembed")
@click.option("--all", "everything", is_flag=True, help="Embed every stored tweet again, not only stale ones.")
@with_appcontext
def reembed(everything):
    """Embed stored tweets again with SPACY_MODEL (after changing it): predictions refuse tweets
    embedded by another model."""
    embedder = runtime.embedder()
    bars: list[ProgressBars] = []

    def account_bars(account) -> ProgressBars:
        if bars:
            bars[-1].close()
        bars.append(ProgressBars(f"@{account.username}"))
        return bars[-1]

    try:
        summary = reembed_service.reembed(db.session, embedder, everything, progress=account_bars)
    finally:
        if bars:
            bars[-1].close()
    if not summary.accounts:
        click.echo(f"Every stored tweet is embedded with {embedder.model_name} already.")
        return
    click.echo(f"Embedded {summary.tweets} tweets of {summary.accounts} accounts with {embedder.model_name}.")


@click.group("import")
def import_cli():
    """Import posts from an account archive (X, Mastodon, Bluesky) or a CSV file."""


def _import_file(path: str, account: str | None, kind: str) -> None:
    try:
        with open(path, "rb") as handle, ProgressBars("import") as bars:
            submitted = tasks.submit(
                "import", stream=handle, filename=path, account=account, format=kind, may_update=True, progress=bars
            )
    except HypoTweetError as exc:
        raise click.ClickException(exc.message) from exc
    _echo_summary(submitted)


def _echo_queued(submitted) -> None:
    how = "already running; joined" if submitted.joined else "queued"
    click.echo(
        f"{submitted.job_id}: {how}. A worker (flask worker) runs it; "
        f"follow it at /jobs/{submitted.job_id} or /api/jobs/{submitted.job_id}."
    )


def _echo_summary(submitted) -> None:
    if submitted.queued:
        _echo_queued(submitted)
        return
    _echo_import(submitted.result)


def _echo_import(summary: ImportSummary) -> None:
    for result in summary.results:
        click.echo(f"  @{result.username}: {result.added:,} added")
    click.echo(summary.summary())


@import_cli.command("archive")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--account",
    help="The account's handle: needed for a lone tweets.js file; for a Bluesky .car, else its DID names it.",
)
@with_appcontext
def import_archive(path, account):
    """Import an account archive, whose kind its content says: X's .zip as downloaded (or its
    data/tweets.js), Mastodon's .zip (outbox.json), or a Bluesky repository export (.car)."""
    _import_file(path, account, "archive")


@import_cli.command("csv")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--account",
    help="The account that wrote every row (when the file has no author column), "
    "or the one author to take from a file that has one.",
)
@with_appcontext
def import_csv(path, account):
    """Import a CSV file (text, and author or --account; optional tweet_id, created_at). .csv.gz works too."""
    _import_file(path, account, "csv")


@click.command("demo")
@click.option(
    "--base-url", help="Where to download the six demo files from (default: DEMO_BASE_URL, else the pinned commit)."
)
@click.option(
    "--from",
    "folder",
    type=click.Path(exists=True, file_okay=False),
    help="A local folder with the six demo files and their SHA256SUMS, read instead of downloading "
    "(e.g. ../shared/data/senate117-demo-source). Imported here, never as a background job.",
)
@with_appcontext
def demo(base_url, folder):
    """Download six US senators' tweets (MIT licensed), or read them from a local folder (--from), verify
    their checksums and import them."""
    if folder and base_url:
        raise click.UsageError("Give --from or --base-url, not both.")
    try:
        with ProgressBars("demo") as bars:
            if folder:  # a job worker may be another machine: a local folder is read and imported right here
                summary = import_demo(db.session, runtime.embedder(), folder=folder, progress=bars)
            else:
                submitted = tasks.submit("demo", base_url=base_url, progress=bars)
    except HypoTweetError as exc:
        raise click.ClickException(exc.message) from exc
    if folder:
        _echo_import(summary)
    else:
        _echo_summary(submitted)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
@with_appcontext
def worker(burst):
    """Run background jobs (adding accounts, imports, the demo) from the Redis queue at REDIS_URL."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without Redis every job runs inline, no worker is needed.")
    tasks.run_worker(burst=burst)
