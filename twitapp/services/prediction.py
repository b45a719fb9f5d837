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
from ..authorship.confidence import GuessConfidence, guess_confidence
from ..authorship.explain import TextRows
from ..authorship.openset import post_counts
from ..config import DEFAULT_TWEETS_PER_ACCOUNT
from ..exceptions import AccountNotFound, InvalidInput, NotEnoughTweets, StaleEmbeddings
from ..extensions import DbSession
from ..models import Tweet
from ..sources.handles import Handle, parse_handle
from .accounts import Candidate, find_accounts
from .charts import MapLayout, TweetMap, map_layout, tweet_map
from .embedding import Embedder
from .model_cache import ModelCache
from .outsiders import NoneOfThese, OutsiderCheck, fit_outsider_check
from .questions import Question, one_post
from .similar import SimilarTweet, StoredPosts, similar_for_accounts, stored_posts

WEIGHED_POSTS = 3  # the posts of a set shown as having weighed most
EXPLAINED_POSTS = 20  # the posts of a set whose words are weighed for its explanation (the heaviest)


@dataclass
class FittedSet:
    """A model with what it was fitted on, as the cache keeps it."""

    model: object
    cv_accuracy: float
    usernames: dict[str, str]  # account id -> username
    tweet_ids: dict[str, list[str]]  # account id -> its tweets' ids, in the fit's order
    tweet_texts: dict[str, list[str]]
    fit_seconds: float
    n_tweets: int
    rows: dict[str, np.ndarray] = field(default_factory=dict)  # account id -> its rows in the fit's order
    outsiders: OutsiderCheck | None = None  # is a text by none of them? (services/outsiders.py)
    # set by with_map: the map in the model's space, and each account's posts indexed by word
    map_layout: MapLayout | None = None
    posts: dict[str, StoredPosts] = field(default_factory=dict)
    # seconds of each part of the fit: "model" (with its cross-validation), "none_of_these", "map" (with_map)
    timings: dict[str, float] = field(default_factory=dict)


# (level, least skill): the skill score of Prediction.reliability at which each level starts
RELIABILITY_LEVELS = (("high", 0.75), ("fair", 0.5), ("some", 0.25), ("low", float("-inf")))


@dataclass(frozen=True)
class WeighedPost:
    """A post of a set and how far it moved the verdict towards the guessed account (its log-odds for it
    against the others), with the words that did."""

    number: int  # 1-based, in the order given
    text: str
    weight: float
    evidence: list[Evidence]


@dataclass
class Prediction:
    text: str  # the post, or a set's first post
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
    posts: int = 1  # posts taken to share one author
    weighed_most: list[WeighedPost] = field(default_factory=list)  # a set's heaviest posts
    unknown: str | None = None  # the stored account whose posts these are
    this_guess: GuessConfidence | None = None  # how sure this one guess is (level, reason)
    none_of_these: NoneOfThese | None = None  # is it likely by none of the candidates?
    model_source: str = "fitted"  # "memory" (this process's), "shared" (fitted by another process) or "fitted" now

    @property
    def candidates(self) -> list[str]:
        return list(self.probabilities)

    @property
    def trust_sentence(self) -> str:
        """How good the model is on these accounts, in plain words (the page's and the API's)."""
        return (
            f"Right {round(self.cv_accuracy * 100)} of 100 times on their own tweets from other weeks, which it "
            f"had not learnt from (guessing would be right {round(self.chance * 100)} of 100)."
        )

    @property
    def reliability(self) -> str:
        """How far to trust the model on these accounts, in one word: "high", "fair", "some" or "low".

        Graded on its cross-validated accuracy's share of the way from guessing to always right (a skill
        score), so that 85% among 4 accounts (chance 25%) and 93% between 2 both count as high, and 60%
        between 2 (a fifth of the way) as barely better than guessing."""
        skill = (self.cv_accuracy - self.chance) / (1 - self.chance)
        return next(level for level, floor in RELIABILITY_LEVELS if skill >= floor)


def resolve_candidates(session: DbSession, handles: Sequence[str], max_candidates: int) -> list[Candidate]:
    """The stored accounts named by ``handles``: 2 to ``max_candidates`` distinct ones, each known here."""
    if not isinstance(handles, (list, tuple)) or not all(isinstance(h, str) for h in handles):
        raise InvalidInput("Accounts must be a list of handles.")
    if len(handles) > max_candidates:
        raise InvalidInput(f"Choose at most {max_candidates} accounts; {len(handles)} were chosen.")
    # (each must be a valid handle of its platform before it reaches the database: PostgreSQL refuses a NUL)
    names = [parse_handle(h) for h in handles if h and h.strip()]
    lowered = [Handle(n.platform, n.key) for n in names]
    if len(set(lowered)) != len(lowered):
        raise InvalidInput("Each account can be chosen only once.")
    if len(names) < 2:
        raise InvalidInput(f"Choose at least 2 accounts (at most {max_candidates}) to compare.")
    found = find_accounts(session, lowered)
    for name, key in zip(names, lowered):
        if key not in found:
            raise AccountNotFound(f"@{name.name[:60]} is not stored here; it may have been deleted. Add it first.")
    return [found[key] for key in lowered]


def cache_key(accounts: Sequence[Candidate]) -> tuple:
    """Each account's id, row creation time, content version and handle: any store of posts or rename
    (the version moves in the storing transaction), or an account deleted and stored again, gives a new
    key. Both are columns of the account rows the request reads anyway, so no query."""
    return tuple(sorted((a.id, a.created_at, a.content_version, a.username) for a in accounts))


def model_key(accounts: Sequence[Candidate], tweets_per_account: int) -> tuple:
    return (*cache_key(accounts), tweets_per_account)


def fit_needed(
    session: DbSession,
    handles: Sequence[str],
    cache: ModelCache,
    max_candidates: int,
    tweets_per_account: int = DEFAULT_TWEETS_PER_ACCOUNT,
) -> int:
    """How many posts a prediction among ``handles`` must fit on first (0: their model is fitted already,
    here or in the shared store); refuses what :func:`predict_author` refuses about the accounts."""
    accounts = resolve_candidates(session, handles, max_candidates)
    _require_enough_tweets(accounts)
    if cache.has(model_key(accounts, tweets_per_account)):
        return 0
    return sum(min(a.tweet_count, tweets_per_account) for a in accounts)


def predict_author(
    session: DbSession,
    handles: Sequence[str],
    question: Question | str,
    embedder: Embedder,
    cache: ModelCache,
    max_candidates: int = 4,
    max_length: int = 280,
    tweets_per_account: int = DEFAULT_TWEETS_PER_ACCOUNT,
) -> Prediction:
    """Guess which of ``handles`` wrote ``question`` (a post, or posts of one author: see
    :mod:`.questions`); the model learns from each account's newest ``tweets_per_account`` posts (the
    TWEETS_PER_ACCOUNT setting)."""
    started = time.perf_counter()
    if isinstance(question, str):
        question = one_post(question, max_length)
    accounts = resolve_candidates(session, handles, max_candidates)
    if question.unknown is not None and any(a.id == question.unknown.id for a in accounts):
        raise InvalidInput(f"@{question.unknown.username} is the account asked about; it cannot also be a candidate.")
    _require_enough_tweets(accounts)
    key = model_key(accounts, tweets_per_account)
    fitted, source = cache.lookup(
        key, lambda: with_map(fit_set(session, accounts, embedder.model_name, tweets_per_account))
    )
    vectors = question.vectors if question.vectors is not None else embedder.embed(list(question.texts))
    classes = fitted.model.classes_
    names = [fitted.usernames[c] for c in classes]
    if question.posts == 1:
        answer = _predict_post(fitted.model, question.texts[0], vectors[0], names)
    else:
        answer = _predict_posts(fitted.model, question.texts, vectors, names)
    probs = answer.probabilities
    read = list(zip(fitted.model.blocks_, answer.rows.blocks)) if answer.rows is not None else None
    outsider = (
        fitted.outsiders.none_of_these(list(question.texts), vectors, answer.per_post, read)
        if fitted.outsiders
        else None
    )
    order = np.argsort(-probs, kind="stable")  # (ties: the first, as the model explains)
    winner = classes[order[0]]
    return Prediction(
        text=question.texts[0],
        author=fitted.usernames[winner],
        probabilities={fitted.usernames[classes[i]]: float(probs[i]) for i in order},
        cv_accuracy=fitted.cv_accuracy,
        chance=1 / len(classes),
        evidence=answer.evidence,
        similar=_most_similar(fitted, answer.explained_text, probs, answer.evidence, answer.rows),
        cached=source != "fitted",
        model_source=source,
        fit_seconds=fitted.fit_seconds,
        seconds=time.perf_counter() - started,
        n_tweets=fitted.n_tweets,
        tweet_map=_tweet_map(fitted, probs),
        posts=question.posts,
        weighed_most=answer.weighed_most,
        this_guess=answer.this_guess,
        none_of_these=outsider,
        unknown=question.unknown.username if question.unknown is not None else None,
    )


def _predict_posts(model, texts: Sequence[str], vectors: np.ndarray, names: list[str]) -> _Answer:
    """A set of posts of one author: the combined verdict (``AuthorshipModel.predict_set``), the words
    that weighed most over the posts, and the heaviest posts with the words that pushed each."""
    result = model.predict_set(list(texts), vectors)
    winner = model.classes_[result.winner]
    heaviest = [int(i) for i in np.argsort(-result.weights, kind="stable")[:WEIGHED_POSTS] if result.weights[i] > 0]
    weighed = [
        WeighedPost(
            i + 1,
            texts[i],
            float(result.weights[i]),
            model.explain(texts[i], vectors[i], winner, probabilities=result.per_post[i]),
        )
        for i in heaviest
    ]
    sure = guess_confidence(
        result.probabilities, float(result.support.sum()), int(result.words.sum()), len(texts), names
    )
    evidence = [Evidence(e.term, e.weight, ()) for e in result.evidence]
    explained = "\n".join(p.text for p in weighed) or texts[0]
    return _Answer(result.probabilities, evidence, sure, weighed, explained, result.per_post)


def _predict_post(model, text: str, vector: np.ndarray, names: list[str]) -> _Answer:
    result = model.predict_text(text, vector)
    sure = guess_confidence(result.probabilities, result.support, result.words, 1, names)
    return _Answer(result.probabilities, result.evidence, sure, [], text, result.probabilities[None, :], result.rows)


@dataclass
class _Answer:
    probabilities: np.ndarray  # in the model's classes_ order
    evidence: list[Evidence]
    this_guess: GuessConfidence
    weighed_most: list[WeighedPost]
    explained_text: str  # the text whose words choose the similar posts
    per_post: np.ndarray  # each post's own probabilities (rows)
    rows: TextRows | None = None  # the explained text's n-grams per block, when the model computed them already


def fit_set(
    session: DbSession,
    accounts: Sequence[Candidate],
    embedding_model: str,
    per_account: int = DEFAULT_TWEETS_PER_ACCOUNT,
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
    model_started = time.perf_counter()
    counts = post_counts(texts)  # (the check's views' n-grams, counted by the model's fit)
    model, cv_accuracy = fit_with_cv(texts, vectors, labels, times=[r.created_at for r in rows], counts=counts)
    model_seconds = time.perf_counter() - model_started
    outsiders = fit_outsider_check(session, accounts, model, texts, vectors, labels, embedding_model, counts=counts)
    release_free_memory()

    label_array = np.array(labels)
    per = {i: np.flatnonzero(label_array == i) for i in ids}
    return FittedSet(
        model=model,
        cv_accuracy=cv_accuracy,
        usernames={a.id: a.username for a in accounts},
        tweet_ids={i: [rows[int(j)][1] for j in per[i]] for i in ids},
        tweet_texts={i: [texts[j] for j in per[i]] for i in ids},
        rows=per,
        outsiders=outsiders,
        fit_seconds=time.perf_counter() - started,
        n_tweets=len(rows),
        timings={"model": model_seconds, "none_of_these": outsiders.fit_seconds},
    )


def with_map(fitted: FittedSet) -> FittedSet:
    """``fitted`` with what its map and similar posts need, built once and cached with it: the map of its
    posts at their out-of-fold probabilities, and each account's word index of its posts."""
    started = time.perf_counter()
    model: Any = fitted.model
    classes = list(model.classes_)
    if not hasattr(model, "out_of_fold_logits_") or not fitted.rows:  # (a model fitted without its CV)
        fitted.posts = {a: stored_posts(fitted.tweet_ids[a], fitted.tweet_texts[a]) for a in classes}
        fitted.timings["map"] = time.perf_counter() - started
        return fitted
    proba = model.out_of_fold_proba()
    per_account = {a: proba[fitted.rows[a]] for a in classes}
    fitted.posts = {
        a: stored_posts(fitted.tweet_ids[a], fitted.tweet_texts[a], per_account[a][:, column])
        for column, a in enumerate(classes)
    }
    totals = {a: len(fitted.rows[a]) for a in classes}
    fitted.map_layout = map_layout(per_account, fitted.usernames, classes, totals=totals)
    fitted.timings["map"] = time.perf_counter() - started
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
    fitted: FittedSet, text: str, probabilities: np.ndarray, evidence: list[Evidence], rows: TextRows | None = None
) -> dict[str, list[SimilarTweet]]:
    """username -> its posts sharing the text's words that point to it, most probable account first."""
    if not fitted.posts:  # (a set built without with_map)
        return {}
    chosen = similar_for_accounts(fitted.model, fitted.posts, text, probabilities, evidence, rows)
    return {fitted.usernames[a]: posts for a, posts in chosen.items()}


def _require_embeddings_of(model: str, accounts: Sequence[Candidate], rows) -> None:
    stale = {row.account_id: row.embedding_model for row in rows if row.embedding_model != model}
    if stale:
        names = ", ".join(f"@{a.username}" for a in accounts if a.id in stale)
        raise StaleEmbeddings(
            f"Tweets of {names} were embedded with {sorted(set(stale.values()))[0]}, but this app now embeds with "
            f"{model}: the two cannot be compared. Embed them again with: flask accounts reembed"
        )


def _require_enough_tweets(accounts: Sequence[Candidate]) -> None:
    short = [a.username for a in accounts if a.tweet_count < MIN_TWEETS_PER_ACCOUNT]
    if short:
        raise NotEnoughTweets(
            f"{', '.join('@' + s for s in short)} {'has' if len(short) == 1 else 'have'} fewer than "
            f"{MIN_TWEETS_PER_ACCOUNT} stored tweets, too few to learn a style from. Update or import more tweets."
        )
