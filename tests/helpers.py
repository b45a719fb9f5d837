"""Helpers shared by the test modules: where the data is, counting what is stored, CSRF tokens, servers
in threads, waiting, and the embedder stand-ins the app factory in conftest.py installs.

Fixtures live in conftest.py; this module holds plain functions and classes a test calls itself.
"""

from __future__ import annotations

import csv
import gzip
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sqlalchemy import func, select

from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.services.embedding import Embedder, load_spacy

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
MIGRATIONS = ROOT / "migrations"

# Shipped with the tests (tests/data/README.md): real tweets, and the six demo files with their checksums.
SENATE_SAMPLE = DATA / "senate117-sample.csv.gz"
DEMO_SOURCE = DATA / "senate117-demo-source"

# ../shared beside the repository (CI has it, a fresh clone elsewhere does not): tests of the whole files.
SHARED = ROOT.parent / "shared"
SENATE_CSV = SHARED / "data" / "senate117" / "tweets.csv.gz"
SHARED_XAPI = SHARED / "xapi"
NO_SHARED = f"needs ../shared beside the repository ({SHARED} not found): the whole senate117 file"

ADMIN = "test-admin-password"  # TestConfig's ADMIN_PASSWORD


# --- data ----------------------------------------------------------------------------------------


def read_senate(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A senate117 CSV as {author: [(created_at, text), ...]} in the file's order (by author, then time)."""
    csv.field_size_limit(sys.maxsize)
    by_author: dict[str, list[tuple[str, str]]] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_author.setdefault(row["author"], []).append((row["created_at"], row["text"]))
    return by_author


# --- what is stored ------------------------------------------------------------------------------


def row_counts(session) -> tuple[int, int]:
    """(accounts, tweets) as ``session`` sees them."""
    return (session.scalar(select(func.count(Account.id))), session.scalar(select(func.count(Tweet.id))))


def counts(app) -> tuple[int, int]:
    """(accounts, tweets) stored, read in a context of its own."""
    with app.app_context():
        return row_counts(db.session)


def stored(app, username: str) -> int | None:
    """The number of tweets stored for ``username`` (any case), or None where the account is not stored."""
    with app.app_context():
        account = db.session.scalar(select(Account).where(func.lower(Account.username) == username.lower()))
        if account is None:
            return None
        return db.session.scalar(select(func.count()).select_from(Tweet).where(Tweet.account_id == account.id))


# --- pages ---------------------------------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client) -> str:
    """The CSRF token of the home page's forms, in ``client``'s session."""
    return CSRF_FIELD.search(client.get("/").get_data(as_text=True)).group(1)


# --- servers and waiting -------------------------------------------------------------------------


class ServerThread:
    """Serve a ``socketserver``-style server (bound to 127.0.0.1, port 0) from a thread; shut it down and
    close it on exit."""

    def __init__(self, server, name: str = "test-server"):
        self.server = server
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.005}, name=name, daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def wait_for(condition: Callable, timeout: float = 60.0, what: str = "condition", every: float = 0.1):
    """Poll ``condition()`` until it returns something true, and return that; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


# --- embedders -----------------------------------------------------------------------------------
# The app's Embedder runs unchanged (batches, progress, a zero vector for an empty text); only the spaCy
# pipeline behind its ``nlp`` is wrapped, so what a test stores is what the app would store.


class _Pipeline:
    """Stands for a spaCy pipeline: ``pipe()`` yields objects with the ``vector`` of each text; everything
    else (``get_pipe`` for the dimension...) is the real pipeline's."""

    def __init__(self, nlp):
        self._nlp = nlp

    def __getattr__(self, name):
        return getattr(self._nlp, name)

    def vectors(self, texts: list[str], batch_size: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def pipe(self, texts: Iterable[str], batch_size: int = 256):
        texts = list(texts)
        found = self.vectors(texts, batch_size)
        return (SimpleNamespace(vector=found[text]) for text in texts)


class _Memo(_Pipeline):
    """spaCy's own vectors, each text embedded once per test session (by process) and then reused."""

    def __init__(self, nlp, memo: dict[str, np.ndarray]):
        super().__init__(nlp)
        self._memo = memo

    def vectors(self, texts, batch_size):
        missing = [text for text in dict.fromkeys(texts) if text not in self._memo]
        for text, doc in zip(missing, self._nlp.pipe(missing, batch_size=batch_size)):
            self._memo[text] = np.array(doc.vector, copy=True)
        return self._memo


class _StandIn(_Pipeline):
    """Deterministic stand-in vectors from a hash of the text, of the model's dimension: for tests that store
    thousands of tweets and look at no vector."""

    def vectors(self, texts, batch_size):
        dim = int(self._nlp.get_pipe("tok2vec").model.get_dim("nO"))
        return {
            text: np.random.default_rng(zlib.crc32(text.encode("utf-8", "surrogatepass"))).standard_normal(
                dim, dtype=np.float32
            )
            if text.strip()
            else np.zeros(dim, np.float32)
            for text in dict.fromkeys(texts)
        }


_MEMOS: dict[str, dict[str, np.ndarray]] = {}


class MemoEmbedder(Embedder):
    """The app's embedder, with spaCy's vector of each text computed once per test process."""

    @property
    def nlp(self):
        return _Memo(load_spacy(self.model_name), _MEMOS.setdefault(self.model_name, {}))


class StandInEmbedder(Embedder):
    """The app's embedder over stand-in vectors (``@pytest.mark.stand_in_vectors``)."""

    @property
    def nlp(self):
        return _StandIn(load_spacy(self.model_name))
