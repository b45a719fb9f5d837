"""Is a text by none of the chosen accounts? Fit the open-set check of a set of candidates, with other
stored accounts as impostors (``twitapp.authorship.openset``), once per fitted set.

The check keeps plain arrays only (no database objects), so it is cached with the set's model. Impostors
are the stored accounts that are not candidates, the ``max_accounts`` with most posts (ties by id: the same
choice every time), each with its newest ``per_account`` posts embedded by the app's embedding model. With
none stored, the check learns from the candidates alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, over, select

from ..authorship import MIN_TWEETS_PER_ACCOUNT
from ..authorship.counts import PostCounts
from ..authorship.openset import OpenSetChecker, ReadText
from ..extensions import DbSession
from ..models import Account, Tweet
from .accounts import Candidate

MAX_IMPOSTORS = 8  # impostor accounts per check: enough for the threshold, bounded fit time
IMPOSTOR_POSTS = 200  # newest posts read per impostor account


@dataclass(frozen=True)
class NoneOfThese:
    """The answer to "is it by none of them?": ``likely`` past the threshold (which flags at most 5% of the
    candidates' own posts), and the probability against an even prior."""

    likely: bool
    probability: float


@dataclass
class OutsiderCheck:
    """A fitted open-set check of one set of candidates, and which stored accounts served as impostors."""

    checker: OpenSetChecker
    impostor_ids: tuple[str, ...]
    fit_seconds: float

    def none_of_these(
        self, texts: list[str], vectors: np.ndarray, probabilities: np.ndarray, read: ReadText | None = None
    ) -> NoneOfThese:
        """For one text or a set of posts taken to share one author: their embeddings and the model's
        probabilities of each (rows in the model's ``classes_`` order); for one text, ``read``: the model's
        blocks with their rows of it (its n-grams, extracted once)."""
        if not texts:
            raise ValueError("no text to check")
        likely, probability, _ = self.checker.none_of_these(
            texts,
            np.asarray(vectors).reshape(len(texts), -1),
            np.asarray(probabilities).reshape(len(texts), -1),
            read,
        )
        return NoneOfThese(bool(likely), round(probability, 4))


def pick_impostors(
    session: DbSession, candidates: Sequence[Candidate], embedding_model: str, max_accounts: int = MAX_IMPOSTORS
) -> list[str]:
    """Ids of the stored accounts that are not candidates and have at least ``MIN_TWEETS_PER_ACCOUNT``
    posts, most posts first (ties by id), at most ``max_accounts``."""
    if max_accounts <= 0:
        return []
    excluded = [a.id for a in candidates]
    embedded = select(Tweet.account_id).where(Tweet.embedding_model == embedding_model).distinct()
    query = (
        select(Account.id)
        .where(Account.id.not_in(excluded), Account.tweet_count >= MIN_TWEETS_PER_ACCOUNT, Account.id.in_(embedded))
        .order_by(Account.tweet_count.desc(), Account.id)
        .limit(max_accounts)
    )
    return list(session.scalars(query))


def impostor_posts(
    session: DbSession, ids: Sequence[str], embedding_model: str, per_account: int = IMPOSTOR_POSTS
) -> tuple[list[str], np.ndarray, list[str]]:
    """The newest ``per_account`` posts of each account in ``ids`` embedded by ``embedding_model``: texts,
    embeddings and account ids, by account then time."""
    if not ids:
        return [], np.zeros((0, 0), np.float32), []
    newest_first = over(
        func.row_number(), partition_by=Tweet.account_id, order_by=(Tweet.created_at.desc(), Tweet.id.desc())
    )
    ranked = (
        select(Tweet.account_id.label("account_id"), Tweet.id.label("tweet_id"), newest_first.label("rank"))
        .where(Tweet.account_id.in_(list(ids)), Tweet.embedding_model == embedding_model)
        .subquery()
    )
    rows = session.execute(
        select(Tweet.account_id, Tweet.text, Tweet.embedding)
        .join(ranked, (ranked.c.account_id == Tweet.account_id) & (ranked.c.tweet_id == Tweet.id))
        .where(ranked.c.rank <= per_account)
        .order_by(Tweet.account_id, Tweet.created_at, Tweet.id)
    ).all()
    if not rows:
        return [], np.zeros((0, 0), np.float32), []
    vectors = np.vstack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
    return [r[1] for r in rows], vectors, [r[0] for r in rows]


def fit_outsider_check(
    session: DbSession,
    candidates: Sequence[Candidate],
    model,
    texts: Sequence[str],
    vectors: np.ndarray,
    labels: Sequence[str],
    embedding_model: str,
    per_account: int = IMPOSTOR_POSTS,
    max_accounts: int = MAX_IMPOSTORS,
    counts: PostCounts | None = None,
) -> OutsiderCheck:
    """The check of ``candidates`` from the posts ``model`` was fitted on by ``fit_with_cv`` (``texts``,
    ``vectors``, ``labels`` in the same order, each account's in time order) and the impostors' posts;
    ``counts``, the posts' n-gram counts that fit shared (``openset.post_counts``)."""
    started = time.perf_counter()
    ids = pick_impostors(session, candidates, embedding_model, max_accounts)
    imp_texts, imp_vectors, imp_labels = impostor_posts(session, ids, embedding_model, per_account)
    imp_probabilities = model.predict_proba(imp_texts, imp_vectors) if imp_texts else None
    checker = OpenSetChecker().fit(
        texts,
        vectors,
        labels,
        model.out_of_fold_proba(),
        imp_texts,
        imp_vectors if imp_texts else None,
        imp_labels,
        imp_probabilities,
        counts,
    )
    return OutsiderCheck(checker, tuple(sorted(set(imp_labels))), time.perf_counter() - started)
