"""Hashed n-grams of texts: the one extraction every TF-IDF block uses to fit, to transform and to explain.

Texts are first :func:`normalize`d (links become one mark). An analyzer turns a batch of texts into the
occurrences of their n-grams, one length at a time: the text each occurrence is in, its hash bucket, and,
for explanations, the chunk of the text it is credited to: a word with the punctuation around it
(:func:`chunk_cores`), so ``<b>bold</b>`` is the chunks ``b``, ``bold`` and ``b``, never one "word".
Hashing is done with numpy over code points (rolling hashes), several times faster than scikit-learn's
pure-Python analyzers.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

HASH_BITS = 22  # 4 M buckets: few collisions among the n-grams of a few thousand tweets
HASH_MASK = (1 << HASH_BITS) - 1
ANALYZERS = ("chars", "raw", "words")

URL_MARK = "\ue000"  # private-use character standing for any link
MASK = "\ue001"  # private-use character standing for a masked word
_URL = re.compile(r"(?:https?://|www\.)\S+")
_WORD = re.compile(r"[#@]?\w+(?:['’]\w+)*|\ue000")
_START, _END = "\x02", "\x03"  # the words analyzer's start and end of text marks (normalize removes them)
_WORD_OR_MARK = re.compile(_WORD.pattern + "|[\x02\x03]")
_WORD_RUN = re.compile(r"(\w+)")
_P = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SPACE_CODES = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint64)  # as str.split()
_SPACE_TABLE = np.isin(np.arange(0x3002), _SPACE_CODES)  # (U+3000 is the last whitespace character)
_APOSTROPHE, _CURLY_APOSTROPHE = ord("'"), ord("’")  # inside a word between two word characters
_HASH, _AT = ord("#"), ord("@")  # part of the word they stand before
_BMP = 0x10000
_NOT_NORMALIZED = "texts must be normalized: they contain NUL or the word block's markers"


@dataclass
class Ngrams:
    """Occurrences of n-grams in a batch of texts: text index (ascending), key (the hash bucket; after a
    block's lookup, its column or -1), and the chunk (word, see :func:`chunk_cores`) of its text each is
    credited to, when asked for."""

    rows: np.ndarray
    keys: np.ndarray
    chunks: np.ndarray | None = None


def chunk_cores(doc: str) -> list[tuple[int, int]]:
    """The chunks of a normalized text, as the offsets of each one's core (its word, without the
    punctuation around it; the whole chunk where it has no word, as ``!!!`` or an emoji).

    A chunk starts where a whitespace-separated run starts and where a further word starts in it (word
    characters: ``\\w``, combining marks, the link and mask marks, an apostrophe between two of them, ``#``
    or ``@`` before one); a run's punctuation belongs to the word before it (before the first, to the
    first). Lower-casing, masking and the chars analyzer's spacing keep every chunk, so each analyzer's
    occurrences are credited to the same chunks."""
    if not doc:
        return []
    codes = _text_codes(doc)
    is_space = _is_space(codes)
    word = _wordish(codes)
    starts = np.flatnonzero(_chunk_starts(codes, is_space, word))
    if not starts.size:
        return []
    ends = np.append(starts[1:], len(doc))
    # each chunk's first and last word character, where it has one; else its last non-space (it starts with one)
    words, shown = np.append(np.flatnonzero(word), len(doc)), np.flatnonzero(~is_space)
    first = words[np.searchsorted(words, starts)]
    has_word = first < ends
    last = np.where(
        has_word, words[np.maximum(np.searchsorted(words, ends) - 1, 0)], shown[np.searchsorted(shown, ends) - 1]
    )
    return list(zip(np.where(has_word, first, starts).tolist(), (last + 1).tolist()))


def normalize(text: str) -> str:
    """Replace links (random t.co ids) by one mark, and NUL (the batch separator) and the words analyzer's
    marks (U+0001-U+0003) by U+FFFD; whitespace stays as it is, so the text's chunks are unchanged."""
    text = text or ""
    for mark in "\x00\x01\x02\x03":  # (str.replace is much faster than str.translate)
        text = text.replace(mark, "\ufffd")
    return _URL.sub(URL_MARK, text)


def normalize_with_origins(text: str) -> tuple[str, list[tuple[int, int]]]:
    """:func:`normalize` of ``text``, and for each of its characters the span of ``text`` it stands for (a
    link's mark: the whole link)."""
    text = text or ""
    origins: list[tuple[int, int]] = []
    position = 0
    for link in _URL.finditer(text):
        origins += [(i, i + 1) for i in range(position, link.start())]
        origins.append(link.span())
        position = link.end()
    origins += [(i, i + 1) for i in range(position, len(text))]
    return normalize(text), origins


def extract(analyzer: str, docs: list[str], ngram_range: tuple[int, int], chunks: bool = False) -> Iterator[Ngrams]:
    """The n-grams of normalized texts, one length at a time from the shortest (so that a caller can reduce
    each before the next is computed; only the longest lengths go missing, where no text is that long):

    * "chars": lower-cased, space-padded words, n-grams inside them (like scikit-learn's ``char_wb``);
    * "raw": the text as written, whitespace and punctuation included;
    * "words": lower-cased word n-grams between start and end of text marks.

    With ``chunks``, each occurrence is credited to the chunk its last character (a word n-gram: its first
    word) falls in."""
    if analyzer not in ANALYZERS:
        raise ValueError(f"unknown analyzer {analyzer!r}")
    if not docs:
        return iter(())
    nmin, nmax = ngram_range
    if analyzer == "words":
        return _word_ngrams(docs, nmin, nmax, chunks)
    return _char_ngrams(analyzer, docs, nmin, nmax, chunks)


# --------------------------------------------------------------------------------------------------
# character n-grams


def _codes(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the strings joined by NUL, and the string index of every position."""
    joined = "\x00".join(strings)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return codes, np.cumsum(codes == 0, dtype=np.int32 if codes.size < 2**31 else np.int64)


def _char_ngrams(analyzer: str, docs: list[str], nmin: int, nmax: int, chunks: bool) -> Iterator[Ngrams]:
    if analyzer == "chars":
        codes, doc = _codes([" " + " ".join(d.lower().split()) + " " for d in docs])
        interior_ok = codes != 32
    else:
        codes, doc = _codes(docs)
        interior_ok = np.ones(codes.size, bool)
    if doc.size and int(doc[-1]) >= len(docs):
        raise ValueError(_NOT_NORMALIZED)
    word = _chunk_index(codes) if chunks else None
    for n, starts, buckets in _windows(codes, nmin, nmax, interior_ok):
        yield Ngrams(doc[starts], buckets, word[starts + n - 1] if word is not None else None)
        del starts, buckets


def _windows(codes: np.ndarray, nmin: int, nmax: int, interior_ok: np.ndarray):
    """Hash buckets of all windows of length nmin..nmax (nmin >= 2) that contain no NUL and whose inner
    characters (all but the first and last) satisfy ``interior_ok``. Yields (n, starts, buckets) per n."""
    h = np.zeros(codes.size, np.uint64)
    bad = np.zeros(codes.size, bool)
    sep = codes == 0
    for n in range(1, nmax + 1):
        length = codes.size - n + 1
        if length <= 0:
            break
        h = h[:length]  # (in place: views of the previous arrays, no copies)
        h *= _P
        h += codes[n - 1 :]
        bad = bad[:length]
        bad |= sep[n - 1 :]
        if n >= 3:
            bad |= ~interior_ok[n - 2 : n - 2 + length]
        if n >= nmin:
            starts = np.flatnonzero(~bad)
            hashes = h[starts]
            hashes += np.uint64(n)
            hashes *= _MIX
            hashes >>= np.uint64(64 - HASH_BITS)
            yield n, starts, hashes
            del starts, hashes


def _text_codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _wordish(codes: np.ndarray) -> np.ndarray:
    """Which positions are word characters of a chunk (see :func:`chunk_cores`)."""
    base = _word_table()[np.minimum(codes, _BMP - 1)]
    astral = np.flatnonzero(codes >= _BMP)  # (emoji, mostly: looked up one by one)
    if astral.size:
        base[astral] = [_is_word_char(chr(int(c))) for c in codes[astral]]
    before = np.concatenate(([False], base[:-1]))
    after = np.concatenate((base[1:], [False]))
    joined = ((codes == _APOSTROPHE) | (codes == _CURLY_APOSTROPHE)) & before & after
    return base | joined | (((codes == _HASH) | (codes == _AT)) & after)


@functools.cache
def _word_table() -> np.ndarray:
    """``_is_word_char`` of every code point of the Basic Multilingual Plane (built on first use, ~30 ms)."""
    return np.fromiter((_is_word_char(chr(c)) for c in range(_BMP)), bool, _BMP)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_\ue000\ue001" or unicodedata.category(char).startswith("M")


def _is_space(codes: np.ndarray) -> np.ndarray:
    """Which positions are whitespace, as ``str.split()`` reads it (a table lookup: ``np.isin`` is slower)."""
    return _SPACE_TABLE[np.minimum(codes, _SPACE_TABLE.size - 1)]


def _chunk_starts(codes: np.ndarray, is_space: np.ndarray, word: np.ndarray) -> np.ndarray:
    """Where chunks start (see :func:`chunk_cores`): every whitespace-separated run, and every word in it
    after its first."""
    blank = is_space | (codes == 0)
    starts = ~blank & np.concatenate(([True], blank[:-1]))
    word_starts = np.flatnonzero(word & ~np.concatenate(([False], word[:-1])))
    run = np.cumsum(starts)[word_starts]  # the whitespace-separated run of each word start, ascending
    later = np.zeros(word_starts.size, bool)
    later[1:] = run[1:] == run[:-1]
    starts[word_starts[later]] = True
    return starts


def _chunk_index(codes: np.ndarray) -> np.ndarray:
    """For every position, the index of the chunk it belongs to (or follows), counted within its text."""
    starts = _chunk_starts(codes, _is_space(codes), _wordish(codes))
    total = np.cumsum(starts) - 1
    doc_start = np.concatenate(([0], np.flatnonzero(codes == 0) + 1))
    before = np.concatenate(([0], np.cumsum(starts)[doc_start[1:] - 1]))
    doc = np.cumsum(codes == 0)
    return np.maximum(total - before[doc], 0)


# --------------------------------------------------------------------------------------------------
# word n-grams


def _word_ngrams(docs: list[str], nmin: int, nmax: int, chunks: bool) -> Iterator[Ngrams]:
    """Word n-grams of texts tokenized in one pass (the marks separate them); a word n-gram and the marks
    are credited to the chunk of their first word (the end mark: of the text's last word)."""
    lowered = [d.lower() for d in docs]
    tokens = [_START, *_WORD_OR_MARK.findall(f" {_END} {_START} ".join(lowered)), _END]
    marks = np.asarray(tokens, dtype=object)
    is_end = marks == _END
    rows = np.cumsum(marks == _START) - 1
    del marks
    if int(rows[-1]) >= len(docs) or int(is_end.sum()) != len(docs):
        raise ValueError(_NOT_NORMALIZED)
    where = _token_chunks(lowered) if chunks else None
    if where is not None and where.size != len(tokens):
        raise ValueError(_NOT_NORMALIZED)
    for first, buckets in _word_grams(tokens, is_end, nmin, nmax):
        yield Ngrams(rows[first], buckets, where[first] if where is not None else None)


def _token_chunks(lowered: list[str]) -> np.ndarray:
    """The chunk of every token of the words analyzer (that of its first character), marks included."""
    where: list[int] = []
    for d in lowered:
        per_word: list[int] = []
        if d:
            index = _chunk_index(_text_codes(d))
            per_word = [int(index[m.start()]) for m in _WORD.finditer(d)]
        where += [0, *per_word, per_word[-1] if per_word else 0]
    return np.asarray(where, np.int64)


def _word_hashes(tokens: list[str]) -> np.ndarray:
    """Stable 32-bit hashes of tokens (Python's own str hash changes between processes); each distinct
    token is hashed once."""
    code = {token: zlib.crc32(token.encode("utf-8")) for token in dict.fromkeys(tokens)}
    return np.fromiter(map(code.__getitem__, tokens), np.uint64, len(tokens))


def _word_grams(tokens: list[str], is_end: np.ndarray, nmin: int, nmax: int):
    """Hash buckets of the word n-grams (nmin..nmax) of a token sequence of whole texts, each between
    start and end marks. Yields (first token position, buckets) per n; n-grams from an end mark into the
    next text are left out."""
    hashes = _word_hashes(tokens)
    if nmin == 1:
        yield np.arange(hashes.size), hashes & np.uint64(HASH_MASK)
    mixed, bad = hashes, is_end
    for n in range(2, nmax + 1):
        if hashes.size < n:
            break
        mixed = mixed[:-1] * _P + hashes[n - 1 :]
        bad = bad[:-1] | is_end[n - 2 : -1]
        if n >= nmin:
            first = np.flatnonzero(~bad)
            yield first, (mixed[first] + np.uint64(n)) * _MIX >> np.uint64(64 - HASH_BITS)


# --------------------------------------------------------------------------------------------------
# masking (text distortion)


def word_runs(docs: list[str]) -> list[str]:
    """The texts joined by NUL and split into alternating non-word and word (``\\w+``) pieces, words at odd
    positions (one C-level split for all texts: several times faster than a substitution per word)."""
    return _WORD_RUN.split("\x00".join(docs))


def mask_words(pieces: list[str], kept: frozenset[str], n_docs: int) -> list[str]:
    """The texts of :func:`word_runs` pieces with every word whose lower case is not in ``kept`` replaced
    by ``MASK``; whitespace, punctuation and links stay, so each chunk stays non-empty and in place."""
    if not n_docs:
        return []
    pieces[1::2] = [word if word.lower() in kept else MASK for word in pieces[1::2]]
    masked = "".join(pieces).split("\x00")
    if len(masked) != n_docs:
        raise ValueError("texts must be normalized: they contain NUL")
    return masked
