"""Each account's stored posts that share the words which, in the model's own explanation, point to it.

For a text and a candidate account, the model's explanation (``AuthorshipModel.explain_each``) lists the
text's words that push the guess towards that account. The account's stored posts are ranked by the
summed weight of those words they use, then by how many of the text's telling words they share, then by
how surely the model (out of fold) gives the post to its own account. Words that say nothing of a topic
count as evidence but do not choose posts (they would pick posts on any topic): English stop words
("now", "the"), words of one or two letters, and words found in more than ``HABIT_SHARE`` of the
account's posts (its habits; never fewer than the posts shown). Words are matched as the model's word
block sees them: lower-cased, every link one mark. Why and how it was measured: ``docs/model.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from ..authorship import Evidence
from ..authorship.explain import TextRows
from ..authorship.ngrams import _WORD, normalize

SIMILAR_PER_ACCOUNT = 3
TERMS_PER_ACCOUNT = 12  # deciding words asked of the explanation per account
HABIT_SHARE = 0.1  # a word in more of an account's posts than this is a habit of it, not a topic
_SEPARATOR = "\x1f"  # between posts when tokenizing an account's posts in one pass (whitespace to links)
_TOKEN = re.compile(_WORD.pattern + "|" + _SEPARATOR)
_NONE = np.zeros(0, dtype=np.int32)
# scikit-learn's English stop words, less the few in it that tell a topic (a "bill" in the Senate)
STOP_WORDS = ENGLISH_STOP_WORDS - {"bill", "fire", "system", "interest", "detail", "describe", "find", "found", "fill"}


@dataclass(frozen=True)
class SimilarTweet:
    """A stored post and the deciding words of the text it shares (as written in the text, strongest first)."""

    id: str
    text: str
    shared: tuple[str, ...]


@dataclass(frozen=True)
class PostIndex:
    """An account's stored posts by the words they use: word -> indices of the posts (in stored order)."""

    postings: dict[str, np.ndarray]
    size: int

    def posts_with(self, word: str) -> np.ndarray:
        return self.postings.get(word, _NONE)


def telling(word: str) -> bool:
    """Whether a word can say what a post is about: not a stop word, a link, or a word of 1-2 letters."""
    if word.startswith(("#", "@")):
        return len(word) > 1
    return len(word) > 2 and word not in STOP_WORDS


def word_of(term: str) -> str:
    """The key a word is matched by: lower-cased, a link as the link mark."""
    return normalize(term).lower()


def words_of(text: str) -> set[str]:
    return set(_WORD.findall(normalize(text).lower()))


def index_posts(texts: Sequence[str]) -> PostIndex:
    """The index of the telling words (see :func:`telling`) of one account's stored posts, built in one
    regular-expression pass over them all."""
    postings: dict[str, list[int]] = {}
    post = 0
    joined = _SEPARATOR.join(text.replace(_SEPARATOR, " ") for text in texts)  # (one post, one separator)
    for token in _TOKEN.findall(normalize(joined).lower()):
        if token == _SEPARATOR:
            post += 1
            continue
        if not telling(token):
            continue
        posts = postings.get(token)
        if posts is None:
            postings[token] = [post]
        elif posts[-1] != post:
            posts.append(post)
    return PostIndex({word: np.array(posts, dtype=np.int32) for word, posts in postings.items()}, len(texts))


@dataclass(frozen=True)
class StoredPosts:
    """One account's posts as the similar posts are chosen from: ids, texts, their word index and each
    post's out-of-fold probability of this account (how typical of it the model finds the post)."""

    ids: Sequence[str]
    texts: Sequence[str]
    index: PostIndex
    own_probability: np.ndarray


def stored_posts(ids: Sequence[str], texts: Sequence[str], own_probability: np.ndarray | None = None) -> StoredPosts:
    own = np.zeros(len(texts)) if own_probability is None else np.asarray(own_probability, dtype=np.float64)
    return StoredPosts(ids, texts, index_posts(texts), own)


def choose_similar(
    posts: StoredPosts, evidence: Sequence[Evidence], text: str, count: int = SIMILAR_PER_ACCOUNT
) -> list[SimilarTweet]:
    """Up to ``count`` of an account's ``posts`` that use most of the ``evidence`` (the text's words pointing
    to this account); ties go to the posts sharing more of the text's telling words, then to the one the model
    finds most typical of the account. Posts that share no deciding word are not shown."""
    index, own_probability = posts.index, posts.own_probability
    deciding: dict[str, tuple[str, float]] = {}
    for e in evidence:
        word = word_of(e.term)
        using = index.posts_with(word)
        habit = len(using) > max(HABIT_SHARE * index.size, SIMILAR_PER_ACCOUNT)
        if e.weight > 0 and using.size and not habit and telling(word) and word not in deciding:
            deciding[word] = (e.term, e.weight)
    if not deciding:
        return []
    # (one count over the words' posts, in their order: the sums of adding them word by word)
    postings = [index.posts_with(word) for word in deciding]
    weight = np.bincount(
        np.concatenate(postings), np.repeat([w for _, w in deciding.values()], [p.size for p in postings]), index.size
    )
    shared_words = [index.posts_with(word) for word in words_of(text)]  # (only telling words are indexed)
    overlap = np.bincount(np.concatenate([_NONE, *shared_words]), minlength=index.size)
    candidates = np.flatnonzero(weight > 0)
    order = np.lexsort((-candidates, -own_probability[candidates], -overlap[candidates], -weight[candidates]))
    chosen = candidates[order[:count]].tolist()
    uses = {word: set(index.posts_with(word).tolist()) for word in deciding}
    shared = [tuple(term for word, (term, _) in deciding.items() if i in uses[word]) for i in chosen]
    return [SimilarTweet(posts.ids[i], posts.texts[i], words) for i, words in zip(chosen, shared)]


def similar_for_accounts(
    model,
    posts: Mapping[str, StoredPosts],
    text: str,
    probabilities: np.ndarray,
    winner_evidence: Sequence[Evidence],
    rows: TextRows | None = None,
) -> dict[str, list[SimilarTweet]]:
    """Per account id, most probable first, its posts sharing the text's words that point to it: the
    winner's from the evidence already shown, the others' from the model's explanation towards each
    (``explain_each``, one pass over the text's n-grams, none with the prediction's ``rows`` of it)."""
    classes = list(model.classes_)
    order = np.argsort(-probabilities, kind="stable").tolist()
    towards = model.explain_each(text, probabilities, top=TERMS_PER_ACCOUNT, rows=rows) if len(order) > 1 else []
    result = {}
    for rank, column in enumerate(order):
        evidence = winner_evidence if rank == 0 else towards[column]
        result[classes[column]] = choose_similar(posts[classes[column]], evidence, text)
    return result
