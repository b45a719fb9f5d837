"""Several posts of one author at once: how to combine the model's per-post probabilities (issue 18).

For each trial, k senators are drawn and the app's model fitted as ``bench/accuracy.py`` does (the newest
``--test`` posts of each held out). Sets of n held-out posts of one author are then drawn (``--sets`` per
author and n) and their per-post probabilities combined by each rule:

* ``product``: the posts taken as independent, ``softmax(sum log p)`` (naive Bayes over posts);
* ``tempered``: ``softmax(n ** -alpha * sum log p)``, alpha fitted on the tuning half of the authors
  (minimum log loss over sets of every n), then used on the checking half;
* ``mean``: the geometric mean, ``softmax(mean log p)``, alpha = 1;
* ``pooled``: the n posts joined into one text and attributed once.

Printed per k, n and rule: accuracy, the mean probability of the guess ("conf") and their gap, on the
checking half of the authors (``--half check``) with alpha from the tuning half.

    OPENBLAS_NUM_THREADS=1 python bench/post_sets.py --k 2,4 --trials 6 [--sizes 1,3,5,10,25] [--json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.special import log_softmax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DEFAULT_DATA, HypoTweet, draw_trials, embed_once, load_tweets

ALPHAS = np.round(np.arange(0.0, 1.01, 0.05), 2)
EPS = 1e-12


def per_post(texts, times, vectors, draw):
    """Fit on the draw's training posts; the held-out posts' log-probabilities per author (classes order)."""
    train = [(row, author) for author, (rows, _) in draw.items() for row in rows]
    model = HypoTweet().fit(
        [texts[r] for r, _ in train],
        vectors([r for r, _ in train]),
        [a for _, a in train],
        [times[r] for r, _ in train],
    )
    held = {a: rows for a, (_, rows) in draw.items()}
    logs = {
        a: np.log(np.clip(model.predict_proba([texts[r] for r in rows], vectors(rows)), EPS, 1))
        for a, rows in held.items()
    }
    return model, list(model.classes_), held, logs


def sample_sets(rng, rows: int, n: int, count: int) -> np.ndarray:
    return np.stack([rng.choice(rows, n, replace=False) for _ in range(count)])


def combine(logs: np.ndarray, alpha: float) -> np.ndarray:
    """(sets, n, k) per-post log-probabilities -> (sets, k) probabilities, tempered by n ** -alpha."""
    n = logs.shape[1]
    return np.exp(log_softmax(n**-alpha * logs.sum(axis=1), axis=1))


def collect(texts, times, vectors, draws, sizes, sets, seed, pooled: bool):
    """Per trial: for each n, the per-post logs of every set (with the true class) and the pooled answers."""
    out = []
    for number, draw in enumerate(draws):
        model, classes, held, logs = per_post(texts, times, vectors, draw)
        rng = np.random.default_rng([seed, number])
        trial = {}
        for n in sizes:
            set_logs, truth, pooled_probs = [], [], []
            for author, rows in held.items():
                picks = sample_sets(rng, len(rows), n, sets)
                set_logs.append(logs[author][picks])
                truth += [classes.index(author)] * sets
                if pooled and n > 1:
                    joined = ["\n".join(texts[rows[i]] for i in pick) for pick in picks]
                    mean_vectors = np.stack([vectors([rows[i] for i in pick]).mean(axis=0) for pick in picks])
                    pooled_probs.append(model.predict_proba(joined, mean_vectors))
            trial[n] = {
                "logs": np.concatenate(set_logs),
                "truth": np.asarray(truth),
                "pooled": np.concatenate(pooled_probs) if pooled_probs else None,
            }
        out.append(trial)
    return out


def scores(probs: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    guess = probs.argmax(axis=1)
    accuracy = float(np.mean(guess == truth))
    confidence = float(probs.max(axis=1).mean())
    log_loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(truth)), truth], EPS, 1))))
    return {"accuracy": accuracy, "conf": confidence, "gap": confidence - accuracy, "log_loss": log_loss}


def fit_alpha(trials, sizes) -> float:
    """The alpha of least log loss over every set of every size, on the tuning half's trials."""
    losses = []
    for alpha in ALPHAS:
        total = 0.0
        for trial in trials:
            for n in sizes:
                total += scores(combine(trial[n]["logs"], alpha), trial[n]["truth"])["log_loss"]
        losses.append(total)
    return float(ALPHAS[int(np.argmin(losses))])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--k", default="2,4")
    parser.add_argument("--sizes", default="1,3,5,10,25")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--sets", type=int, default=40, help="sets per author and size")
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pooled", action="store_true", help="skip the pooled-text rule (the slowest)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.k.split(",")]
    sizes = [int(n) for n in args.sizes.split(",")]
    texts, times, by_author = load_tweets(args.data)
    halves = {
        h: draw_trials(by_author, ks, args.trials, args.train, args.test, args.seed, h) for h in ("tune", "check")
    }
    rows = {r for draws in halves.values() for k in ks for d in draws[k] for a in d.values() for r in a[0] + a[1]}
    vectors = embed_once(texts, rows)
    results: dict = {}
    print(f"{'k':>2} {'n':>3} {'rule':<9} {'accuracy':>8} {'conf':>6} {'gap':>6}   (checking half; alpha from tuning)")
    for k in ks:
        tune = collect(texts, times, vectors, halves["tune"][k], sizes, args.sets, args.seed, pooled=False)
        alpha = fit_alpha(tune, sizes)
        check = collect(texts, times, vectors, halves["check"][k], sizes, args.sets, args.seed, not args.no_pooled)
        results[k] = {"alpha": alpha, "sizes": {}}
        for n in sizes:
            logs = np.concatenate([t[n]["logs"] for t in check])
            truth = np.concatenate([t[n]["truth"] for t in check])
            rules = {"product": combine(logs, 0.0), "tempered": combine(logs, alpha), "mean": combine(logs, 1.0)}
            if n > 1 and not args.no_pooled:
                rules["pooled"] = np.concatenate([t[n]["pooled"] for t in check])
            results[k]["sizes"][n] = {rule: scores(p, truth) for rule, p in rules.items()}
            for rule, s in results[k]["sizes"][n].items():
                print(f"{k:>2} {n:>3} {rule:<9} {s['accuracy']:>8.3f} {s['conf']:>6.3f} {s['gap']:>+6.3f}")
        print(f"   k={k}: alpha fitted on the tuning half = {alpha}")
    if args.json:
        print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
