"""Importing tweets without the X API: an account archive, a CSV file, or the demo set.

The readers in ``twitapp.sources`` parse; this module stores what they return through the ingest
service, every account of one file in one transaction, so a failed import leaves nothing behind. An
upload is read as a stream of batches (``read_upload``), each embedded and stored (not committed) before
the next is parsed: memory grows with the batch, not with the file; the commit comes after the last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..extensions import DbSession
from ..formatting import is_blank, some_handles
from ..sources import DEFAULT_DEMO_BASE_URL, DEMO_HANDLES, ImportedAccount, fetch_demo
from ..sources.archive import stream_archive
from ..sources.bluesky_repo import stream_bluesky_repo
from ..sources.csvfile import stream_csv
from ..sources.demo import read_demo_folder
from ..sources.mastodon_archive import stream_mastodon_archive
from ..sources.records import DEFAULT_MAX_POSTS_PER_ACCOUNT, as_seekable
from ..sources.upload_kind import upload_kind
from .embedding import EmbeddedAhead, Embedder
from .ingest import (
    AccountData,
    IngestResult,
    NewTweet,
    archive_account_id,
    committed,
    local_account_id,
    store,
    stored_ids,
)
from .progress import Progress, no_progress

READERS = {
    "archive": stream_archive,
    "mastodon": stream_mastodon_archive,
    "bluesky": stream_bluesky_repo,
    "csv": stream_csv,
}


@dataclass
class ImportSummary:
    source: str
    results: list[IngestResult] = field(default_factory=list)
    without_originals: list[str] = field(default_factory=list)  # accounts not stored: only retweets
    platform: str = "x"

    @property
    def added(self) -> int:
        return sum(r.added for r in self.results)

    def total(self, attribute: str) -> int:
        return sum(getattr(r, attribute) for r in self.results)

    def summary(self) -> str:
        names = some_handles([r.username for r in self.results])
        posts, reposts = ("tweets", "retweets") if self.platform == "x" else ("posts", "reposts")
        return (
            f"Imported {len(self.results)} account{'s' if len(self.results) != 1 else ''} ({names}): "
            f"{self.added:,} {posts} added; skipped {self.total('skipped_retweets'):,} {reposts}, "
            f"{self.total('skipped_duplicates'):,} already stored, {self.total('skipped_empty'):,} empty."
            + (
                f" Not stored, for want of original {posts}: {some_handles(self.without_originals)}."
                if self.without_originals
                else ""
            )
        )


def read_upload(
    stream: bytes | BinaryIO,
    filename: str,
    account: str | None,
    max_uncompressed: int,
    kind: str | None = None,
    max_posts: int = DEFAULT_MAX_POSTS_PER_ACCOUNT,
) -> Iterable[ImportedAccount]:
    """The batches of a file read as ``kind`` ("csv", or "archive": any platform's), or as its content and
    name say when ``kind`` is None (``upload_kind``): parsed lazily, as ``import_accounts`` asks for them (so
    a reader's errors come from there), and read again from the start if it iterates twice (its retry)."""
    if isinstance(stream, (bytes, bytearray, memoryview)) or not stream.seekable():
        stream = as_seekable(stream)
    reader = READERS[upload_kind(stream, filename or "upload", kind)]
    return _Rereadable(lambda data: reader(data, filename, account or None, max_uncompressed, max_posts), stream)


class _Rereadable:
    """A reader's batches, parsed anew from the stream's start each time they are iterated."""

    def __init__(self, parse: Callable[[bytes | BinaryIO], Iterator[ImportedAccount]], stream: bytes | BinaryIO):
        self._parse, self._stream = parse, stream
        self._start = stream.tell() if not isinstance(stream, bytes) and stream.seekable() else None

    def __iter__(self) -> Iterator[ImportedAccount]:
        if self._start is not None and not isinstance(self._stream, bytes):
            self._stream.seek(self._start)
        return self._parse(self._stream)


def import_accounts(
    session: DbSession,
    accounts: Iterable[ImportedAccount],
    embedder: Embedder,
    progress: Progress = no_progress,
    may_update: bool = False,
    before_commit: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Store every account of one import in one transaction (retried once on a concurrent insert).

    ``accounts`` is a list of whole accounts or a reader's batches (several per account, each stored as it
    comes); an error of the reader or the store rolls back all of it. Without ``may_update`` (the admin's
    permission) an import only creates accounts (``ownership``). ``before_commit(summary)`` adds to the
    same transaction (a job's receipt)."""
    return committed(session, lambda: _import_once(session, accounts, embedder, progress, may_update), before_commit)


def import_demo(
    session: DbSession,
    embedder: Embedder,
    base_url: str | None = None,
    timeout: float = 30,
    progress: Progress = no_progress,
    folder: str | Path | None = None,
    before_commit: Callable[[ImportSummary], None] | None = None,
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
    return import_accounts(session, accounts, embedder, progress, may_update=True, before_commit=before_commit)


def _import_once(session, batches, embedder, progress, may_update) -> ImportSummary:
    summary = ImportSummary(source="csv")
    stored: dict[str, IngestResult] = {}  # lower-case handle -> its result so far
    waiting: dict[str, IngestResult] = {}  # accounts seen without an original post yet: not stored
    done = 0
    for number, (imported, batch_embedder) in enumerate(_embedded_ahead(session, batches, embedder)):
        if number == 0:
            summary.source, summary.platform = imported.source, imported.platform
        key = imported.username.lower()
        if key not in stored and not any(not t.is_retweet and not is_blank(t.text) for t in imported.tweets):
            tally = waiting.setdefault(key, IngestResult(username=imported.username, created=True))
            tally.skipped_retweets += sum(t.is_retweet for t in imported.tweets)
            tally.skipped_empty += imported.skipped_empty + sum(not t.is_retweet for t in imported.tweets)
            done += len(imported.tweets)
            continue
        data = AccountData(
            id=imported.key or _key(imported),
            username=imported.username,
            source=imported.source,
            name=imported.name,
            platform=imported.platform,
        )
        tweets = [NewTweet(t.id, t.text, t.created_at, t.is_retweet) for t in imported.tweets]
        created_here = key in stored and stored[key].created  # a later batch of an account this import made
        writes = may_update or created_here
        result = store(session, data, tweets, batch_embedder, _overall(progress, done), commit=False, may_update=writes)
        result.skipped_empty += imported.skipped_empty
        if key in waiting:
            _add(result, waiting.pop(key))
        if key in stored:
            _add(stored[key], result)
        else:
            stored[key] = result
        done += len(imported.tweets)
    summary.results = list(stored.values())
    summary.without_originals = [tally.username for tally in waiting.values()]
    progress("storing", done, done)
    return summary


def _embedded_ahead(
    session: DbSession, batches: Iterable[ImportedAccount], embedder: Embedder
) -> Iterator[tuple[ImportedAccount, Embedder]]:
    """Each batch with the embedder to store it with: while one batch is stored, the next one's new posts
    are embedded in the embedding processes, where there are any (``Embedder.embed_ahead``)."""
    pending = None
    for imported in batches:
        originals = {t.id: t.text for t in imported.tweets if not t.is_retweet and not is_blank(t.text)}
        if not embedder.pools(len(originals)):  # (embedded in this process when stored: nothing to do ahead)
            originals = {}
        known = stored_ids(session, imported.key or _key(imported), list(originals)) if originals else set()
        texts = [text for post_id, text in originals.items() if post_id not in known]
        started = (imported, texts, embedder.embed_ahead(texts))
        if pending is not None:
            yield _with_vectors(embedder, *pending)
        pending = started
    if pending is not None:
        yield _with_vectors(embedder, *pending)


def _with_vectors(
    embedder: Embedder, imported: ImportedAccount, texts: list[str], ahead
) -> tuple[ImportedAccount, Embedder]:
    return imported, (EmbeddedAhead(embedder, texts, ahead()) if ahead is not None else embedder)


def _key(imported: ImportedAccount) -> str:
    return archive_account_id(imported.x_user_id) if imported.x_user_id else local_account_id(imported.username)


def _add(total: IngestResult, part: IngestResult) -> None:
    """Count ``part`` (a later batch of the same account) into ``total``."""
    total.username = part.username
    for counted in ("added", "skipped_duplicates", "skipped_retweets", "skipped_empty"):
        setattr(total, counted, getattr(total, counted) + getattr(part, counted))


def _overall(progress: Progress, offset: int) -> Progress:
    """Report one batch's embedding as a stretch of the whole import's (whose size is known at its end)."""

    def report(phase: str, done: int, total: int | None) -> None:
        if phase == "embedding":
            progress("embedding", offset + done, None)

    return report
