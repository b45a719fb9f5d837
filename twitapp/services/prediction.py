"""Who wrote this tweet: validate the question, fit (or reuse) a model over the chosen accounts, explain.

A fitted model is cached with everything a prediction needs (cross-validated accuracy, the map of its
posts, the word index of its posts for the similar ones), so a warm prediction embeds one text and does a
few small matrix products; no database read beyond the key.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, over, select

from ..authorship import MIN_TWEETS_PER_ACCOUNT, Evidence, fit_with_cv
from ..config import DEFAULT_TWEETS_PER_ACCOUNT
from ..exceptions import AccountNotFound, InvalidInput, NotEnoughTweets, StaleEmbeddings
from ..extensions import DbSession
from ..formatting import is_blank
from ..models import Account, Tweet
from ..sources.handles import validate_handle
from .charts import MapLayout, TweetMap, map_layout, tweet_map
from .embedding import Embedder
from .model_cache import ModelCache
from .similar import SimilarTweet, StoredPosts, similar_for_accounts, stored_posts


@dataclass
class FittedSet:
    """A model with what it was fitted on, as the cache keeps it."""

    model: object
    cv_accuracy: float
    usernames: dict[str, str]  # account id -> username
    tweet_ids: dict[str, list[str]]  # account id -> tweet ids, rows of ``unit_vectors``
    tweet_texts: dict[str, list[str]]
    unit_vectors: dict[str, np.ndarray]  # account id -> (n, dim) L2-normalised embeddings
    fit_seconds: float
    n_tweets: int
    rows: dict[str, np.ndarray] = field(default_factory=dict)  # account id -> its rows in the fit's order
    # set by with_map: the map in the model's space, and each account's posts indexed by word
    map_layout: MapLayout | None = None
    posts: dict[str, StoredPosts] = field(default_factory=dict)


# (level, least skill): the skill score of Prediction.reliability at which each level starts
RELIABILITY_LEVELS = (("high", 0.75), ("fair", 0.5), ("some", 0.25), ("low", float("-inf")))


@dataclass
class Prediction:
    text: str
    author: str
    probabilities: dict[str, float]  # username -> probability, most likely first
    cv_accuracy: float
    chance: float
    evidence: list[Evidence]
    similar: dict[str, list[SimilarTweet]]
    cached: bool
    fit_seconds: float
    seconds: float
    n_tweets: int
    tweet_map: TweetMap | None = None  # the chosen accounts' tweets and this one, in 2-D

    @property
    def candidates(self) -> list[str]:
        return list(self.probabilities)

    @property
    def reliability(self) -> str:
        """How far to trust the model on these accounts, in one word: "high", "fair", "some" or "low".

        Graded on its cross-validated accuracy's share of the way from guessing to always right (a skill
        score), so that 85% among 4 accounts (chance 25%) and 93% between 2 both count as high, and 60%
        between 2 (a fifth of the way) as barely better than guessing."""
        skill = (self.cv_accuracy - self.chance) / (1 - self.chance)
        return next(level for level, floor in RELIABILITY_LEVELS if skill >= floor)


def question_text(raw: str | None, max_length: int) -> str:
    """The text to attribute, stripped, or InvalidInput (nothing visible, a NUL, longer than ``max_length``)."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("Type the tweet whose author you want to guess.")
    if "\x00" in text:
        raise InvalidInput("The text contains a null character; remove it and try again.")
    if is_blank(text):
        raise InvalidInput("The text has only invisible characters (zero-width spaces, direction marks); type a tweet.")
    if len(text) > max_length:
        raise InvalidInput(f"A tweet has at most {max_length} characters; this text has {len(text)}.")
    return text


def resolve_candidates(session: DbSession, handles: Sequence[str], max_candidates: int) -> list[Account]:
    """The stored accounts named by ``handles``: 2 to ``max_candidates`` distinct ones, each known here."""
    if not isinstance(handles, (list, tuple)) or not all(isinstance(h, str) for h in handles):
        raise InvalidInput("Accounts must be a list of handles.")
    if len(handles) > max_candidates:
        raise InvalidInput(f"Choose at most {max_candidates} accounts; {len(handles)} were chosen.")
    # (each must be a valid handle before it reaches the database: PostgreSQL refuses a NUL in a query)
    names = [validate_handle(h) for h in handles if h and h.strip()]
    lowered = [n.lower() for n in names]
    if len(set(lowered)) != len(lowered):
        raise InvalidInput("Each account can be chosen only once.")
    if len(names) < 2:
        raise InvalidInput(f"Choose at least 2 accounts (at most {max_candidates}) to compare.")
    found = {
        a.username.lower(): a for a in session.scalars(select(Account).where(func.lower(Account.username).in_(lowered)))
    }
    for name, key in zip(names, lowered):
        if key not in found:
            raise AccountNotFound(f"@{name[:40]} is not stored here; it may have been deleted. Add it first.")
    return [found[key] for key in lowered]


def cache_key(accounts: Sequence[Account]) -> tuple:
    """Each account's id, row creation time, content version and handle: any store of posts or rename
    (the version moves in the storing transaction), or an account deleted and stored again, gives a new
    key. Both are columns of the account rows the request reads anyway, so no query."""
    return tuple(sorted((a.id, a.created_at, a.content_version, a.username) for a in accounts))


def predict_author(
    session: DbSession,
    handles: Sequence[str],
    text: str,
    embedder: Embedder,
    cache: ModelCache,
    max_candidates: int = 4,
    max_length: int = 280,
    tweets_per_account: int = DEFAULT_TWEETS_PER_ACCOUNT,
) -> Prediction:
    """Guess which of ``handles`` wrote ``text``; the model learns from each account's newest
    ``tweets_per_account`` posts (the TWEETS_PER_ACCOUNT setting)."""
    started = time.perf_counter()
    text = question_text(text, max_length)
    accounts = resolve_candidates(session, handles, max_candidates)
    _require_enough_tweets(accounts)
    key = (*cache_key(accounts), tweets_per_account)
    fitted, cached = cache.get_or_build(
        key, lambda: with_map(fit_set(session, accounts, embedder.model_name, tweets_per_account))
    )

    vector = embedder.embed([text])
    probs, evidence = fitted.model.predict_and_explain(text, vector[0])
    order = np.argsort(-probs, kind="stable")  # (ties: the first, as predict_and_explain explains)
    classes = fitted.model.classes_
    probabilities = {fitted.usernames[classes[i]]: float(probs[i]) for i in order}
    winner = classes[order[0]]
    return Prediction(
        text=text,
        author=fitted.usernames[winner],
        probabilities=probabilities,
        cv_accuracy=fitted.cv_accuracy,
        chance=1 / len(classes),
        evidence=evidence,
        similar=_most_similar(fitted, text, probs, evidence),
        cached=cached,
        fit_seconds=fitted.fit_seconds,
        seconds=time.perf_counter() - started,
        n_tweets=fitted.n_tweets,
        tweet_map=_tweet_map(fitted, probs),
    )


def fit_set(
    session: DbSession, accounts: Sequence[Account], embedding_model: str, per_account: int = DEFAULT_TWEETS_PER_ACCOUNT
) -> FittedSet:
    """Load each account's newest ``per_account`` stored tweets and their embeddings and fit the model,
    cross-validation included. The embeddings must all come from ``embedding_model``, the model that will
    embed the question."""
    started = time.perf_counter()
    ids = [a.id for a in accounts]
    newest_first = over(
        func.row_number(), partition_by=Tweet.account_id, order_by=(Tweet.created_at.desc(), Tweet.id.desc())
    )
    ranked = (
        select(Tweet.account_id.label("account_id"), Tweet.id.label("tweet_id"), newest_first.label("rank"))
        .where(Tweet.account_id.in_(ids))
        .subquery()
    )
    rows = session.execute(
        select(Tweet.account_id, Tweet.id, Tweet.text, Tweet.embedding, Tweet.embedding_model, Tweet.created_at)
        .join(ranked, (ranked.c.account_id == Tweet.account_id) & (ranked.c.tweet_id == Tweet.id))
        .where(ranked.c.rank <= per_account)
        .order_by(Tweet.account_id, Tweet.created_at, Tweet.id)
    ).all()
    _require_embeddings_of(embedding_model, accounts, rows)
    labels = [r[0] for r in rows]
    texts = [r[2] for r in rows]
    vectors = np.vstack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
    model, cv_accuracy = fit_with_cv(texts, vectors, labels, times=[r.created_at for r in rows])
    release_free_memory()

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1, norms)
    label_array = np.array(labels)
    per = {i: np.flatnonzero(label_array == i) for i in ids}
    return FittedSet(
        model=model,
        cv_accuracy=cv_accuracy,
        usernames={a.id: a.username for a in accounts},
        tweet_ids={i: [rows[int(j)][1] for j in per[i]] for i in ids},
        tweet_texts={i: [texts[j] for j in per[i]] for i in ids},
        unit_vectors={i: unit[per[i]] for i in ids},
        rows=per,
        fit_seconds=time.perf_counter() - started,
        n_tweets=len(rows),
    )


def with_map(fitted: FittedSet) -> FittedSet:
    """``fitted`` with what its map and similar posts need, built once and cached with it: the map of its
    posts at their out-of-fold probabilities, and each account's word index of its posts."""
    model: Any = fitted.model
    classes = list(model.classes_)
    if not hasattr(model, "out_of_fold_logits_") or not fitted.rows:  # (a model fitted without its CV)
        fitted.posts = {a: stored_posts(fitted.tweet_ids[a], fitted.tweet_texts[a]) for a in classes}
        return fitted
    proba = model.out_of_fold_proba()
    per_account = {a: proba[fitted.rows[a]] for a in classes}
    fitted.posts = {
        a: stored_posts(fitted.tweet_ids[a], fitted.tweet_texts[a], per_account[a][:, column])
        for column, a in enumerate(classes)
    }
    totals = {a: len(fitted.rows[a]) for a in classes}
    fitted.map_layout = map_layout(per_account, fitted.usernames, classes, totals=totals)
    return fitted


def release_free_memory() -> None:
    """Give the memory a fit freed back to the OS: glibc keeps it in the heap otherwise (fragmented),
    and a worker's RSS grows by a few hundred MiB per fit. A no-op without glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _tweet_map(fitted: FittedSet, probabilities: np.ndarray) -> TweetMap | None:
    return tweet_map(fitted.map_layout, probabilities) if fitted.map_layout is not None else None


def _most_similar(
    fitted: FittedSet, text: str, probabilities: np.ndarray, evidence: list[Evidence]
) -> dict[str, list[SimilarTweet]]:
    """username -> its posts sharing the text's words that point to it, most probable account first."""
    if not fitted.posts:  # (a set built without with_map)
        return {}
    chosen = similar_for_accounts(fitted.model, fitted.posts, text, probabilities, evidence)
    return {fitted.usernames[a]: posts for a, posts in chosen.items()}


def _require_embeddings_of(model: str, accounts: Sequence[Account], rows) -> None:
    stale = {row.account_id: row.embedding_model for row in rows if row.embedding_model != model}
    if stale:
        names = ", ".join(f"@{a.username}" for a in accounts if a.id in stale)
        raise StaleEmbeddings(
            f"Tweets of {names} were embedded with {sorted(set(stale.values()))[0]}, but this app now embeds with "
            f"{model}: the two cannot be compared. Embed them again with: flask accounts reembed"
        )


def _require_enough_tweets(accounts: Sequence[Account]) -> None:
    short = [a.username for a in accounts if a.tweet_count < MIN_TWEETS_PER_ACCOUNT]
    if short:
        raise NotEnoughTweets(
            f"{', '.join('@' + s for s in short)} {'has' if len(short) == 1 else 'have'} fewer than "
            f"{MIN_TWEETS_PER_ACCOUNT} stored tweets, too few to learn a style from. Update or import more tweets."
        )
