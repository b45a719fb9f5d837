"""Who wrote this tweet: validate the question, fit (or reuse) a model over the chosen accounts, explain.

A fitted model is cached with everything a prediction needs (cross-validated accuracy, the accounts'
normalised embeddings for the most similar tweets), so a warm prediction embeds one text and does a few
small matrix products; no database read beyond the key.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, over, select

from ..authorship import MIN_TWEETS_PER_ACCOUNT, Evidence, fit_with_cv
from ..config import DEFAULT_TWEETS_PER_ACCOUNT
from ..exceptions import AccountNotFound, InvalidInput, NotEnoughTweets, StaleEmbeddings
from ..extensions import DbSession
from ..models import Account, Tweet
from ..sources.handles import Handle, parse_handle
from .accounts import find_accounts
from .charts import MapLayout, TweetMap, set_map_layout, tweet_map
from .embedding import Embedder
from .model_cache import ModelCache
from .questions import Question, one_post

SIMILAR_PER_ACCOUNT = 3
WEIGHED_POSTS = 3  # the posts of a set shown as having weighed most
EXPLAINED_POSTS = 20  # the posts of a set whose words are weighed for its explanation (the heaviest)


@dataclass(frozen=True)
class SimilarTweet:
    id: str
    text: str
    similarity: float


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
    map_layout: MapLayout | None = None  # the map of a PCA of a sample of the tweets (charts.map_layout)


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
    this_guess: object | None = None  # how sure this one guess is (level, reason)

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


def resolve_candidates(session: DbSession, handles: Sequence[str], max_candidates: int) -> list[Account]:
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


def cache_key(accounts: Sequence[Account]) -> tuple:
    """Each account's id, row creation time, content version and handle: any store of posts or rename
    (the version moves in the storing transaction), or an account deleted and stored again, gives a new
    key. Both are columns of the account rows the request reads anyway, so no query."""
    return tuple(sorted((a.id, a.created_at, a.content_version, a.username) for a in accounts))


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
    key = (*cache_key(accounts), tweets_per_account)
    fitted, cached = cache.get_or_build(
        key, lambda: with_map(fit_set(session, accounts, embedder.model_name, tweets_per_account))
    )
    vectors = question.vectors if question.vectors is not None else embedder.embed(list(question.texts))
    classes = fitted.model.classes_
    if question.posts == 1:
        probs, evidence = fitted.model.predict_and_explain(question.texts[0], vectors[0])
        weighed: list[WeighedPost] = []
    else:
        probs, evidence, weighed = _predict_posts(fitted.model, question.texts, vectors)
    order = np.argsort(-probs, kind="stable")  # (ties: the first, as predict_and_explain explains)
    winner = classes[order[0]]
    centre = vectors.mean(axis=0)
    return Prediction(
        text=question.texts[0],
        author=fitted.usernames[winner],
        probabilities={fitted.usernames[classes[i]]: float(probs[i]) for i in order},
        cv_accuracy=fitted.cv_accuracy,
        chance=1 / len(classes),
        evidence=evidence,
        similar={fitted.usernames[a]: _most_similar(fitted, a, centre) for a in classes},
        cached=cached,
        fit_seconds=fitted.fit_seconds,
        seconds=time.perf_counter() - started,
        n_tweets=fitted.n_tweets,
        tweet_map=_tweet_map(fitted, centre),
        posts=question.posts,
        weighed_most=weighed,
        unknown=question.unknown.username if question.unknown is not None else None,
    )


def _predict_posts(
    model, texts: Sequence[str], vectors: np.ndarray
) -> tuple[np.ndarray, list[Evidence], list[WeighedPost]]:
    """Probabilities of a set of posts of one author, the words that weighed most across its heaviest
    posts, and those posts."""
    combined = _combine(model, texts, vectors)
    target = int(np.argmax(combined.probabilities))
    winner = model.classes_[target]
    heaviest = np.argsort(-combined.weights, kind="stable")[:EXPLAINED_POSTS]
    explained = {
        int(i): model.explain(texts[i], vectors[i], winner, probabilities=combined.post_probabilities[i])
        for i in heaviest
    }
    totals: dict[str, tuple[str, float]] = {}
    for evidence in explained.values():
        for e in evidence:
            term, weight = totals.get(e.term.lower(), (e.term, 0.0))
            totals[e.term.lower()] = (term, weight + e.weight)
    words = sorted(totals.values(), key=lambda item: -item[1])[:8]
    weighed = [
        WeighedPost(int(i) + 1, texts[i], float(combined.weights[i]), explained[int(i)])
        for i in heaviest[:WEIGHED_POSTS]
        if combined.weights[i] > 0
    ]
    return combined.probabilities, [Evidence(term, weight, ()) for term, weight in words], weighed


@dataclass
class _Combined:
    probabilities: np.ndarray
    post_probabilities: np.ndarray
    weights: np.ndarray


def _combine(model, texts: Sequence[str], vectors: np.ndarray) -> _Combined:
    """PROVISIONAL: the product of the posts' probabilities (to be replaced by the model's predict_set)."""
    post = model.predict_proba(list(texts), vectors)
    logs = np.log(np.clip(post, 1e-12, 1))
    total = logs.sum(axis=0)
    probabilities = np.exp(total - total.max())
    probabilities /= probabilities.sum()
    target = int(np.argmax(probabilities))
    others = np.delete(np.arange(post.shape[1]), target)
    return _Combined(probabilities, post, logs[:, target] - logs[:, others].mean(axis=1))


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
        fit_seconds=time.perf_counter() - started,
        n_tweets=len(rows),
    )


def with_map(fitted: FittedSet) -> FittedSet:
    """``fitted`` with the layout of its map (a PCA of its tweets), drawn once and cached with it."""
    fitted.map_layout = set_map_layout(fitted.unit_vectors, fitted.usernames)
    return fitted


def release_free_memory() -> None:
    """Give the memory a fit freed back to the OS: glibc keeps it in the heap otherwise (fragmented),
    and a worker's RSS grows by a few hundred MiB per fit. A no-op without glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _tweet_map(fitted: FittedSet, vector: np.ndarray) -> TweetMap | None:
    return tweet_map(fitted.map_layout, vector) if fitted.map_layout is not None else None


def _most_similar(fitted: FittedSet, account_id: str, vector: np.ndarray) -> list[SimilarTweet]:
    norm = np.linalg.norm(vector)
    if norm == 0:
        return []
    scores = fitted.unit_vectors[account_id] @ (vector / norm)
    count = min(SIMILAR_PER_ACCOUNT, scores.size)
    best = np.argpartition(-scores, count - 1)[:count] if count else np.zeros(0, int)  # (no full sort)
    top = best[np.argsort(-scores[best], kind="stable")]
    return [
        SimilarTweet(fitted.tweet_ids[account_id][i], fitted.tweet_texts[account_id][i], float(scores[i])) for i in top
    ]


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
