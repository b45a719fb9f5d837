"""Open-set benchmark: is a held-out text by none of the candidates (issue 18, "None of these")?

Per trial, from one half of the authors (``--half``), k candidates, ``--impostors`` impostors and
``--outsiders`` outsiders are drawn, all distinct. The app's model is fitted on each candidate's 1,000 posts
before its newest 100 (as ``bench/accuracy.py``); the checker (``twitapp.authorship.openset``) on those,
the model's out-of-fold probabilities and the impostors' newest ``--per-impostor`` posts from before the
candidates' held-out ones (or, with
``--impostors 0``, on the candidates alone). Tested: the candidates' newest 100 posts against the
outsiders' newest 100, one at a time and in sets of ``--set-size`` posts of one author (``--sets`` per
author). Printed per k: the outsider score's AUC, at the default threshold the share of candidates' texts
flagged ("false") and of outsiders' texts caught, the checker's added fit time (with the model's
probabilities of the impostors' posts), its score time per post in a batch and for one text alone
("warm_ms"), and its pickled size (MiB). Sets' rows are named ``n@set_drift``: ``--drifts 1,1.5,2`` tries
several set thresholds on the same fits; ``--one-class`` the fixed score without impostors.

    OPENBLAS_NUM_THREADS=1 python bench/openset.py --k 2,4 --trials 4 --half tune [--impostors 8] [--json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DEFAULT_DATA, eligible_authors, embed_once, load_tweets

from twitapp.authorship import fit_with_cv
from twitapp.authorship.openset import OpenSetChecker

TRAIN, TEST = 1000, 100


def draw(rng, eligible, k, impostors, outsiders):
    picked = [str(a) for a in rng.choice(eligible, k + impostors + outsiders, replace=False)]
    return sorted(picked[:k]), picked[k : k + impostors], picked[k + impostors :]


def impostor_rows(by_author, times, candidates, author, count: int) -> list[int]:
    """The impostor's newest ``count`` posts from before the candidates' held-out posts: in the app, the
    stored accounts' posts are all older than the question."""
    cutoff = min(times[by_author[a][-TEST]] for a in candidates)
    return [r for r in by_author[author] if times[r] < cutoff][-count:]


def run_trial(texts, times, by_author, vectors, people, args, rng) -> dict:
    candidates, impostors, outsiders = people
    train = [(r, a) for a in candidates for r in by_author[a][-TEST - TRAIN : -TEST]]
    rows = [r for r, _ in train]
    model, _ = fit_with_cv(
        [texts[r] for r in rows], vectors(rows), [a for _, a in train], times=[times[r] for r in rows]
    )
    started = time.perf_counter()
    imp = [(r, a) for a in impostors for r in impostor_rows(by_author, times, candidates, a, args.per_impostor)]
    imp_rows = [r for r, _ in imp]
    imp_texts = [texts[r] for r in imp_rows]
    imp_probabilities = model.predict_proba(imp_texts, vectors(imp_rows)) if imp else None
    checker = OpenSetChecker(one_class=args.one_class).fit(
        [texts[r] for r in rows],
        vectors(rows),
        [a for _, a in train],
        model.out_of_fold_proba(),
        imp_texts,
        vectors(imp_rows) if imp else None,
        [a for _, a in imp],
        imp_probabilities,
    )
    fit_s = time.perf_counter() - started
    size_mib = len(pickle.dumps(checker)) / 2**20
    groups = {a: by_author[a][-TEST:] for a in (*candidates, *outsiders)}
    probabilities = {a: model.predict_proba([texts[r] for r in test], vectors(test)) for a, test in groups.items()}
    scored = {}
    started = time.perf_counter()
    for a, test in groups.items():
        scored[a] = checker.score([texts[r] for r in test], vectors(test), probabilities[a])
    score_s = (time.perf_counter() - started) / sum(len(g) for g in groups.values())
    first = candidates[0]
    started = time.perf_counter()
    for i, r in enumerate(groups[first][:20]):  # one text at a time, as a warm prediction asks
        checker.none_of_these([texts[r]], vectors([r]), probabilities[first][i : i + 1])
    warm_s = (time.perf_counter() - started) / 20
    result = {"fit_s": fit_s, "score_s": score_s, "mib": size_mib, "warm_s": warm_s}
    for n, drift in [(1, 1.0), *((args.set_size, float(d)) for d in args.drifts.split(","))]:
        checker.set_drift, checker.sets_ = drift, {}
        threshold = checker.set_calibration(n)[0]
        values, outside = [], []
        for a, s in scored.items():
            sets = (
                s[:, None] if n == 1 else np.stack([s[rng.choice(s.size, n, replace=False)] for _ in range(args.sets)])
            )
            values.append(sets.mean(axis=1))
            outside.append(np.full(len(sets), a in outsiders))
        v, o = np.concatenate(values), np.concatenate(outside)
        result[n if n == 1 else f"{n}@{drift:g}"] = {
            "auc": roc_auc_score(o, v),
            "false": float(np.mean(v[~o] >= threshold)),
            "caught": float(np.mean(v[o] >= threshold)),
        }
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--k", default="2,4")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--half", choices=("all", "tune", "check"), default="tune")
    parser.add_argument("--impostors", type=int, default=8)
    parser.add_argument("--per-impostor", type=int, default=200)
    parser.add_argument("--outsiders", type=int, default=4)
    parser.add_argument("--set-size", type=int, default=10)
    parser.add_argument("--sets", type=int, default=20)
    parser.add_argument("--drifts", default="1.5", help="set_drift values to try for the sets' threshold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one-class", action="store_true", help="without impostors: the fixed distance score")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    texts, times, by_author = load_tweets(args.data)
    eligible = eligible_authors(by_author, TRAIN, TEST, args.half)
    ks = [int(k) for k in args.k.split(",")]
    draws = {
        k: [
            draw(np.random.default_rng([args.seed, k, t]), eligible, k, args.impostors, args.outsiders)
            for t in range(args.trials)
        ]
        for k in ks
    }
    needed = set()
    for per_k in draws.values():
        for cands, imps, outs in per_k:
            for a in cands:
                needed.update(by_author[a][-TEST - TRAIN :])
            for a in imps:
                needed.update(impostor_rows(by_author, times, cands, a, args.per_impostor))
            for a in outs:
                needed.update(by_author[a][-TEST:])
    started = time.perf_counter()
    vectors = embed_once(texts, sorted(needed))
    print(
        f"embedded {len(needed)} posts in {time.perf_counter() - started:.0f}s; half {args.half}, "
        f"impostors {args.impostors} x {args.per_impostor}",
        flush=True,
    )
    report: dict = {"half": args.half, "impostors": args.impostors, "trials": args.trials, "results": {}}
    print(f"{'k':>2} {'n':>6} {'auc':>6} {'false':>6} {'caught':>6} {'fit_s':>6} {'ms/post':>7} {'warm_ms':>7}", end="")
    print(f" {'MiB':>5}")
    with threadpool_limits(1):
        for k in ks:
            trials = [
                run_trial(texts, times, by_author, vectors, people, args, np.random.default_rng([args.seed, k, t]))
                for t, people in enumerate(draws[k])
            ]
            for n in [key for key in trials[0] if key not in ("fit_s", "score_s", "mib", "warm_s")]:
                row = {m: round(float(np.mean([t[n][m] for t in trials])), 4) for m in ("auc", "false", "caught")}
                row["fit_s"] = round(float(np.mean([t["fit_s"] for t in trials])), 3)
                row["score_ms"] = round(1000 * float(np.mean([t["score_s"] for t in trials])), 3)
                row["warm_ms"] = round(1000 * float(np.mean([t["warm_s"] for t in trials])), 2)
                row["mib"] = round(float(np.mean([t["mib"] for t in trials])), 1)
                report["results"][f"{k}/{n}"] = row
                print(
                    f"{k:>2} {n!s:>6} {row['auc']:>6.3f} {row['false']:>6.3f} {row['caught']:>6.3f} "
                    f"{row['fit_s']:>6.2f} {row['score_ms']:>7.2f} {row['warm_ms']:>7.2f} {row['mib']:>5.1f}",
                    flush=True,
                )
    if args.json:
        print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
