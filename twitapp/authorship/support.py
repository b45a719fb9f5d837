"""A text's support: how many distinct words of it, beyond the accounts' commonest, the accounts' posts
have used. The calibration shrinks a text's logits toward chance by it (a greeting, a bare link or an
emoji has none, so its probabilities are close to chance), and the confidence of a guess reads it.

Words are the words block's unigrams (links are one mark, common to every account, so they count for
nothing). The support of a stored post for the out-of-fold calibration counts only the words used in
other folds' posts, as the fold's model knew them.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .ngrams import extract

SUPPORT_SKIP = 100  # the training posts' commonest words (and the text marks) are no evidence of anything


def informative_words(block, docs: list[str], matrix: sparse.csr_matrix, skip: int = SUPPORT_SKIP) -> np.ndarray:
    """Which columns of a fitted words block are words (unigrams) beyond the ``skip`` found in most of the
    training texts ``docs`` (normalized; ``matrix`` is their rows): a boolean mask over the columns."""
    unigram = np.zeros(block.buckets_.size, bool)
    for part in extract(block.analyzer, docs, (1, 1)):
        unigram[np.searchsorted(block.buckets_, part.keys)] = True
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    words = np.flatnonzero(unigram)
    commonest = words[np.argsort(-df[words], kind="stable")[:skip]]
    unigram[commonest] = False
    return unigram


def support_of(matrix: sparse.csr_matrix, informative: np.ndarray) -> np.ndarray:
    """Per row of a words block's TF-IDF rows, its distinct informative known words."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return np.bincount(rows, weights=informative[matrix.indices], minlength=matrix.shape[0])


def out_of_fold_support(matrix: sparse.csr_matrix, informative: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """:func:`support_of` of every row of ``matrix`` (rows in fold order, fold f the rows
    ``bounds[f]:bounds[f + 1]``) counting only the words found in rows of other folds."""
    n_rows = matrix.shape[0]
    rows = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
    keep = informative[matrix.indices]
    rows, columns = rows[keep], matrix.indices[keep].astype(np.int64)
    fold = np.searchsorted(bounds, rows, side="right") - 1
    df = np.bincount(columns, minlength=matrix.shape[1])
    _, which, in_fold = np.unique(fold * matrix.shape[1] + columns, return_inverse=True, return_counts=True)
    elsewhere = df[columns] - in_fold[which] > 0
    return np.bincount(rows, weights=elsewhere, minlength=n_rows)
