"""Tweet embeddings with spaCy.

The model is loaded once per process, lazily, with only the ``tok2vec`` component: ``doc.vector`` is the
mean of the tok2vec tensor, identical to the full pipeline's, and skipping tagger/parser/ner/lemmatizer
makes embedding several times faster.

Its layers multiply matrices with numpy's BLAS rather than thinc's default, BLIS, which is slower on a
tweet's small matrices, with the same vectors to rounding (measurements: ``docs/model.md``).

Given ``processes`` > 1 (imports, commands and the job worker; a web request embeds in its own process),
batches of at least ``POOL_MIN_TEXTS`` are split among that many worker processes, each with its own copy
of the model, loaded once per pool: embedding is pure CPU, and threads would share one core under the GIL.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

EXCLUDED_COMPONENTS = ("tagger", "parser", "ner", "lemmatizer", "attribute_ruler", "senter")
BATCH_SIZE = 256
POOL_MIN_TEXTS = 512  # fewer texts are embedded here: handing them to the pool costs more than it saves

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

    def __init__(self, model_name: str, processes: int = 1):
        self.model_name = model_name
        self.processes = max(1, processes)

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
        if self.pools(len(texts)):
            return self._embed_in_pool(texts, progress)
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

    def pools(self, count: int) -> bool:
        """Whether ``count`` texts are embedded by the embedding processes rather than in this one."""
        return self.processes > 1 and count >= POOL_MIN_TEXTS

    def embed_ahead(self, texts: Sequence[str]) -> Callable[[], np.ndarray] | None:
        """Hand ``texts`` to the embedding processes now and return what waits for their vectors, so that the
        caller works meanwhile (an import stores a batch while the next is embedded); None where ``embed``
        would embed them in this process (one process, or too few texts for the pool)."""
        if not self.pools(len(texts)):
            return None
        pool = _pool(self.model_name, self.processes)
        futures = [pool.submit(_embed_in_child, self.model_name, part) for part in self._shares(texts)]
        return lambda: np.vstack([future.result() for future in futures])

    def _shares(self, texts: Sequence[str]) -> list[list[str]]:
        """One contiguous share of ``texts`` per process, and as many more, to even out their pace."""
        shares = np.array_split(np.arange(len(texts)), self.processes * 2)
        return [[texts[i] for i in share] for share in shares if share.size]

    def _embed_in_pool(self, texts: Sequence[str], progress: Callable[[int], None] | None) -> np.ndarray:
        """``embed`` split among the embedding processes (see ``_shares``)."""
        pool = _pool(self.model_name, self.processes)
        parts = self._shares(texts)
        out = []
        for vectors in pool.map(_embed_in_child, [self.model_name] * len(parts), parts):
            out.append(vectors)
            if progress is not None:
                progress(len(vectors))
        return np.vstack(out)


class EmbeddedAhead(Embedder):
    """An embedder for one batch of an import whose texts were embedded ahead (``Embedder.embed_ahead``):
    it answers those from their vectors and embeds any other text with ``embedder``."""

    def __init__(self, embedder: Embedder, texts: Sequence[str], vectors: np.ndarray):
        super().__init__(embedder.model_name, embedder.processes)
        self._embedder = embedder
        self._known = dict(zip(texts, vectors))

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._known))
        if missing:
            self._known.update(zip(missing, self._embedder.embed(missing)))
        if progress is not None and texts:
            progress(len(texts))
        return np.array([self._known[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)


_pools: dict[tuple[str, int], ProcessPoolExecutor] = {}
os.register_at_fork(after_in_child=_pools.clear)  # a forked process (a job's work horse) starts its own


def _pool(model_name: str, processes: int) -> ProcessPoolExecutor:
    """This process's pool of embedding processes (spawned, not forked: a web or job process has threads)."""
    with _lock:
        pool = _pools.get((model_name, processes))
        if pool is None:
            context = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(
                processes, mp_context=context, initializer=_start_child, initargs=(model_name, os.getpid())
            )
            _pools[model_name, processes] = pool
    return pool


def shutdown_pools() -> None:
    """End this process's embedding processes (they start again on the next large batch)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown()


def _start_child(model_name: str, parent: int) -> None:
    """An embedding process: the model loaded, and a watch that ends it once its parent is gone (a job's
    work horse ends with ``os._exit``, and a killed one says nothing; the pool's queues would keep it)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    load_spacy(model_name)


def _embed_in_child(model_name: str, texts: list[str]) -> np.ndarray:
    return Embedder(model_name).embed(texts)


def _clean(texts: Iterable[str]) -> Iterable[str]:
    for text in texts:
        yield text.replace("\x00", " ") if text else ""


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()
