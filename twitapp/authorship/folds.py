"""Labels and folds: the accounts' labels checked and encoded, and the folds of the stacking and of the
cross-validation, shuffled or (given the tweets' times) stretches of each account's timeline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold

MIN_TWEETS_PER_ACCOUNT = 10


def encode_labels(labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The sorted accounts and each label's index among them; at least 2 accounts, each with at least
    ``MIN_TWEETS_PER_ACCOUNT`` tweets."""
    classes, y = np.unique(np.asarray([str(label) for label in labels]), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("need tweets of at least 2 accounts")
    counts = np.bincount(y)
    if counts.min() < MIN_TWEETS_PER_ACCOUNT:
        short = classes[counts.argmin()]
        raise ValueError(f"account {short!r} has {counts.min()} tweets; at least {MIN_TWEETS_PER_ACCOUNT} are needed")
    return [str(c) for c in classes], y


def stratified_folds(y: np.ndarray, folds: int, random_state: int) -> list[np.ndarray]:
    """Stratified, shuffled fold row indices."""
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    return [test for _, test in splitter.split(np.zeros(len(y)), y)]


def time_blocked_folds(y: np.ndarray, times: Sequence, folds: int) -> list[np.ndarray]:
    """Stratified folds that are stretches of time: fold f holds the f-th fifth (for 5 folds) of every
    account's tweets in time order (ties in the order given).

    A typed tweet is new and what an account tweets about drifts, so the stacking's trust in each block
    and the accuracy shown are measured on tweets from other weeks than the training ones."""
    if len(times) != len(y):
        raise ValueError("times must give one time per text")
    order = sorted(range(len(y)), key=times.__getitem__)  # (stable: ties keep the given order)
    ranked = np.asarray(order, dtype=np.int64)
    parts: list[list[np.ndarray]] = [[] for _ in range(folds)]
    for label in range(int(y.max()) + 1):
        for fold, rows in enumerate(np.array_split(ranked[y[ranked] == label], folds)):
            parts[fold].append(rows)
    return [np.sort(np.concatenate(rows)) for rows in parts]
