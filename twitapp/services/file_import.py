"""Importing tweets without the X API: an account archive, a CSV file, or the demo set.

The readers in ``twitapp.sources`` parse; this module stores what they return through the ingest
service, every account of one file in one transaction, so a failed import leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError

from ..exceptions import ImportFailed
from ..extensions import DbSession
from ..formatting import is_blank
from ..sources import DEFAULT_DEMO_BASE_URL, DEMO_HANDLES, ImportedAccount, fetch_demo, read_archive, read_csv
from ..sources.demo import read_demo_folder
from .embedding import Embedder
from .ingest import AccountData, IngestResult, NewTweet, local_account_id, store
from .progress import Progress, no_progress

ARCHIVE_SUFFIXES = (".zip", ".js")
CSV_SUFFIXES = (".csv", ".csv.gz", ".gz", ".txt")


@dataclass
class ImportSummary:
    source: str
    results: list[IngestResult] = field(default_factory=list)
    without_originals: list[str] = field(default_factory=list)  # accounts not stored: only retweets

    @property
    def added(self) -> int:
        return sum(r.added for r in self.results)

    def total(self, attribute: str) -> int:
        return sum(getattr(r, attribute) for r in self.results)

    def summary(self) -> str:
        names = ", ".join("@" + r.username for r in self.results[:6])
        if len(self.results) > 6:
            names += f" and {len(self.results) - 6} more"
        return (
            f"Imported {len(self.results)} account{'s' if len(self.results) != 1 else ''} ({names}): "
            f"{self.added:,} tweets added; skipped {self.total('skipped_retweets'):,} retweets, "
            f"{self.total('skipped_duplicates'):,} already stored, {self.total('skipped_empty'):,} empty."
            + (
                f" Not stored, for want of original tweets: {', '.join('@' + u for u in self.without_originals)}."
                if self.without_originals
                else ""
            )
        )


def read_upload(
    stream: bytes | BinaryIO, filename: str, account: str | None, max_uncompressed: int, kind: str | None = None
) -> list[ImportedAccount]:
    """Parse a file as ``kind`` ("archive" or "csv"), or as its name says when ``kind`` is None."""
    name = (filename or "upload").lower()
    if kind is None:
        if name.endswith(ARCHIVE_SUFFIXES):
            kind = "archive"
        elif name.endswith(CSV_SUFFIXES):
            kind = "csv"
        else:
            raise ImportFailed(f"{filename} is neither an X archive (.zip, tweets.js) nor a CSV file (.csv, .csv.gz).")
    if kind == "archive":
        return [read_archive(stream, filename, username=account or None, max_uncompressed=max_uncompressed)]
    return read_csv(stream, filename, account=account or None, max_uncompressed=max_uncompressed)


def import_accounts(
    session: DbSession, accounts: Sequence[ImportedAccount], embedder: Embedder, progress: Progress = no_progress
) -> ImportSummary:
    """Store every account of one import in one transaction (retried once on a concurrent insert)."""
    try:
        return _import_once(session, accounts, embedder, progress)
    except IntegrityError:
        session.rollback()
        return _import_once(session, accounts, embedder, progress)
    except Exception:
        session.rollback()
        raise


def import_demo(
    session: DbSession,
    embedder: Embedder,
    base_url: str | None = None,
    timeout: float = 30,
    progress: Progress = no_progress,
    folder: str | Path | None = None,
) -> ImportSummary:
    """Download the six demo accounts from the pinned commit (or ``base_url``), or read them from a local
    ``folder`` holding the six files and their SHA256SUMS; verify every checksum, and store them."""
    done = 0
    phase = "reading" if folder is not None else "downloading"

    def on_file(handle: str) -> None:
        nonlocal done
        done += 1
        progress(phase, done, len(DEMO_HANDLES))

    if folder is not None:
        accounts = read_demo_folder(folder, progress=on_file)
    else:
        accounts = fetch_demo(base_url or DEFAULT_DEMO_BASE_URL, timeout=timeout, progress=on_file)
    return import_accounts(session, accounts, embedder, progress)


def _import_once(session, accounts, embedder, progress) -> ImportSummary:
    summary = ImportSummary(source=accounts[0].source if accounts else "csv")
    grand_total = sum(len(a.tweets) for a in accounts)
    offset = 0
    for imported in accounts:
        if not any(not t.is_retweet and not is_blank(t.text) for t in imported.tweets):
            summary.without_originals.append(imported.username)
            continue
        data = AccountData(
            id=imported.x_user_id or local_account_id(imported.username),
            username=imported.username,
            source=imported.source,
            name=imported.name,
        )
        tweets = [NewTweet(t.id, t.text, t.created_at, t.is_retweet) for t in imported.tweets]
        result = store(session, data, tweets, embedder, _overall(progress, offset, grand_total), commit=False)
        result.skipped_empty += imported.skipped_empty
        summary.results.append(result)
        offset += len(imported.tweets)
    progress("storing", grand_total, grand_total)
    session.commit()
    return summary


def _overall(progress: Progress, offset: int, grand_total: int) -> Progress:
    """Report one account's embedding as a stretch of the whole import's."""

    def report(phase: str, done: int, total: int | None) -> None:
        if phase == "embedding":
            progress("embedding", offset + done, grand_total)

    return report
