"""A text's support: how many distinct word n-grams of it, beyond the accounts' commonest, the accounts'
posts have used. The calibration shrinks a text's logits toward chance by it (a greeting no account wrote,
a bare link or an emoji has none, so its probabilities are close to chance), and the confidence of a guess
reads it.

Word n-grams are the words block's uni- and bigrams (links are one mark, common to every account, so they
count for nothing, nor do the bigrams of a link with the start or end of the text). The support of a
stored post for the out-of-fold calibration counts only the n-grams used in other folds' posts, as the
fold's model knew them.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .ngrams import URL_MARK, extract

SUPPORT_SKIP = 100  # the training posts' commonest words (and the text marks) are no evidence of anything
# Texts without a word: the n-grams of their marks (start and end of text, a link, two links) are no
# evidence either, however few posts start or end with a link.
WORDLESS = ["", URL_MARK, f"{URL_MARK} {URL_MARK}"]


def informative_words(
    block, docs: list[str], matrix: sparse.csr_matrix, skip: int = SUPPORT_SKIP, unigrams: bool = True
) -> np.ndarray:
    """Which columns of a fitted words block are words (unigrams; with ``unigrams`` False, bigrams too)
    beyond the ``skip`` found in most of the training texts ``docs`` (normalized; ``matrix`` is their
    rows): a boolean mask over the columns."""
    if unigrams:
        kept = np.zeros(block.buckets_.size, bool)
        for part in extract(block.analyzer, docs, (1, 1)):
            kept[np.searchsorted(block.buckets_, part.keys)] = True
    else:
        kept = np.ones(block.buckets_.size, bool)
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    words = np.flatnonzero(kept)
    commonest = words[np.argsort(-df[words], kind="stable")[:skip]]
    kept[commonest] = False
    marks = block.lookup(WORDLESS).keys
    kept[marks[marks >= 0]] = False
    return kept


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
