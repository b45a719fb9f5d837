"""The deciding words shown with a guess are words of the text: punctuation and markup split them (issue 17,
finding 19), on the page and in the API, and the page escapes everything."""

from __future__ import annotations

import html
import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitapp.authorship.blocks import MaskedBlock
from twitapp.authorship.explain import chunk_spans
from twitapp.authorship.ngrams import _is_word_char, chunk_cores, extract, normalize

MARKUP = '<script>alert("xss")</script><b>bold</b> big banks must pay their fair share'


def words_of(text: str) -> list[str]:
    return [text[start:end] for start, end in chunk_spans(text)]


def test_chunks_are_words_without_the_punctuation_or_markup_around_them():
    assert words_of('<script>alert("xss")</script><b>bold</b>') == [
        "script",
        "alert",
        "xss",
        "script",
        "b",
        "bold",
        "b",
    ]
    assert words_of("Don't   see:https://t.co/x?a=1 #tag, @user: 😀 !!! 'quoted'…") == [
        "Don't",
        "see",
        "https://t.co/x?a=1",
        "#tag",
        "@user",
        "😀",
        "!!!",
        "quoted",
    ]
    assert words_of("İstanbul café e\u0301x well-known") == ["İstanbul", "café", "e\u0301x", "well", "known"]
    assert words_of("") == words_of(" \n\t") == []


def test_lower_casing_keeps_every_character_a_word_character_or_not():
    """The chars and words analyzers read the text lower-cased: no character's lower case may join or split a
    chunk (İ becomes two characters), or their occurrences would be credited to the wrong words."""
    changed = [c for c in map(chr, range(0x110000)) if not 0xD800 <= ord(c) < 0xE000 and c.lower() != c]
    for char in changed:
        for kind in (_is_word_char, str.isspace, "'’#@".__contains__):
            assert all(kind(low) == kind(char) for low in char.lower()), hex(ord(char))


def reference_cores(doc: str) -> list[tuple[int, int]]:
    """chunk_cores as its docstring says it, one character at a time."""

    def word(i: int) -> bool:
        def base(j: int) -> bool:
            return 0 <= j < len(doc) and _is_word_char(doc[j])

        return base(i) or (doc[i] in "'’" and base(i - 1) and base(i + 1)) or (doc[i] in "#@" and base(i + 1))

    cores = []
    for run in re.finditer(r"\S+", doc):
        starts = [i for i in range(run.start(), run.end()) if word(i) and (i == run.start() or not word(i - 1))]
        cuts = [run.start(), *starts[1:], run.end()]
        for start, end in itertools.pairwise(cuts):
            inside = [i for i in range(start, end) if word(i)]
            cores.append((inside[0], inside[-1] + 1) if inside else (start, end))
    return cores


ODD = st.text(st.sampled_from(list("ab1_ '’#@<>/\"\n\u0301İ😀\ue000\u200b\u3000")), max_size=30)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(ODD | st.text(max_size=30))
def test_chunk_cores_are_what_their_docstring_says(text):
    doc = normalize(text)
    assert chunk_cores(doc) == reference_cores(doc)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=60) | ODD | st.sampled_from([MARKUP, "a  b", "x'y #z @ #", "https://t.co/x!y", "İİ'İ"]))
def test_every_analyzer_credits_the_same_chunks(text):
    """Each block's text (lower-cased and re-spaced, as written, masked) has the same chunks as the text, so
    every occurrence is credited to one of the words shown."""
    doc = normalize(text)
    n = len(chunk_spans(text))
    assert len(chunk_cores(" " + " ".join(doc.lower().split()) + " ")) == n
    masked = MaskedBlock(keep=0)
    masked.kept_ = frozenset()
    assert len(chunk_cores(masked.mask([doc])[0])) == n
    for analyzer, texts in [("chars", [doc]), ("raw", [doc]), ("raw", masked.mask([doc])), ("words", [doc])]:
        for part in extract(analyzer, texts, (1 if analyzer == "words" else 2, 3), chunks=True):
            assert part.chunks is not None
            assert not part.chunks.size or (part.chunks.min() >= 0 and part.chunks.max() < max(n, 1))
    words = [w for w in doc.lower().split() if re.search(r"\w", w)]
    assert (n == 0) == (not doc.split()) and n >= len(words)


@pytest.mark.parametrize(
    "text", [MARKUP, '<script>alert("xss")</script><b>bold</b>'], ids=["with-words", "markup-only"]
)
def test_the_deciding_words_of_markup_are_its_words_in_the_api_and_on_the_page(client, two_senators, text):
    """Before: ``script>alert("xss")</script><b>bold</b`` was listed and marked as one word."""
    answer = client.post("/api/predict", json={"accounts": list(two_senators), "text": text})
    assert answer.status_code == 200
    evidence = answer.json["evidence"]
    terms = [e["term"] for e in evidence]
    assert terms and set(map(str.lower, terms)) <= set(re.findall(r"\w+", text.lower())), terms
    for e in evidence:
        assert all(text[start:end].lower() == e["term"].lower() for start, end in e["spans"]), e

    page = client.post("/predict", data={"accounts": list(two_senators), "text": text})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<script>alert" not in body and "<b>bold</b>" not in body and "&lt;script&gt;alert(" in body
    listed = [html.unescape(t) for t in re.findall(r'<bdi class="term">(.*?)</bdi>', body)]
    assert listed == terms
    marked = [html.unescape(m) for m in re.findall(r'<mark class="evidence-\d+"[^>]*>(.*?)</mark>', body)]
    assert marked and set(map(str.lower, marked)) <= set(map(str.lower, terms)), marked
    assert sum(len(e["spans"]) for e in evidence) == len(marked)
    assert np.all([re.fullmatch(r"\w+", m) for m in marked])
