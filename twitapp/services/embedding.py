"""Tweet embeddings with spaCy.

The model is loaded once per process, lazily, with only the ``tok2vec`` component: ``doc.vector`` is the
mean of the tok2vec tensor, identical to the full pipeline's, and skipping tagger/parser/ner/lemmatizer
makes embedding several times faster.

Its layers multiply matrices with numpy's BLAS rather than thinc's default, BLIS, which is slower on a
tweet's small matrices, with the same vectors to rounding (measurements: ``docs/model.md``).
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
