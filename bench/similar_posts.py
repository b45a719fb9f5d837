"""Are the "similar posts" on topic? The model's evidence (services/similar.py) against spaCy cosine.

For each trial, k senators are drawn and the app's model fitted as ``bench/accuracy.py`` does (per author
the newest ``--test`` posts held out, the ``--train`` before them stored). ``--texts`` held-out posts are
then typed as questions, and for each candidate account the similar posts are chosen two ways:

* ``evidence``: the app's way, the account's stored posts using the most of the text's words that point
  to it in the model's explanation (``similar.similar_for_accounts``);
* ``cosine``: the app's way before, the 3 stored posts nearest by spaCy embedding cosine.

Reported per k, method and column (the guessed account's, and all columns): posts shown per column; the
share of shown posts that use a deciding word (a telling word, see ``similar.telling``, among that
account's explanation words with a positive weight); the share that use any telling word of the text at
all, and two or more of them ("topic2": a stricter measure of topic that ignores the model); their mean
spaCy cosine to the text (the old method's own number); and the share of columns with a post shown. The
evidence method shares a deciding word, and so a telling word, by construction: "topic2" and the cosine
are the measures it does not choose by.

    OPENBLAS_NUM_THREADS=1 python bench/similar_posts.py --k 2,4 --trials 3 [--texts 100] [--json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DEFAULT_DATA, draw_trials, embed_once, load_tweets

from twitapp.authorship import fit_with_cv
from twitapp.services.similar import (
    SIMILAR_PER_ACCOUNT,
    TERMS_PER_ACCOUNT,
    similar_for_accounts,
    stored_posts,
    telling,
    word_of,
    words_of,
)


def cosine_top(unit: np.ndarray, vector: np.ndarray, count: int = SIMILAR_PER_ACCOUNT) -> list[int]:
    scores = unit @ (vector / (np.linalg.norm(vector) or 1))
    return np.argsort(-scores, kind="stable")[:count].tolist()


def run_trial(texts, times, vectors, draw, n_texts: int, seed: int) -> dict:
    authors = sorted(draw)
    rows = [r for a in authors for r in draw[a][0]]
    labels = [a for a in authors for _ in draw[a][0]]
    matrix = vectors(rows)
    model, _ = fit_with_cv([texts[r] for r in rows], matrix, labels, times=[times[r] for r in rows])
    oof = model.out_of_fold_proba()
    classes = list(model.classes_)
    label_array = np.array(labels)
    per = {a: np.flatnonzero(label_array == a) for a in authors}
    posts = {
        a: stored_posts([str(rows[i]) for i in per[a]], [texts[rows[i]] for i in per[a]], oof[per[a], classes.index(a)])
        for a in authors
    }
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = {a: (matrix / np.where(norms == 0, 1, norms))[per[a]] for a in authors}

    held = [r for a in authors for r in draw[a][1]]
    rng = np.random.default_rng(seed)
    asked = rng.choice(held, min(n_texts, len(held)), replace=False)
    tally: dict = defaultdict(float)
    for row in asked.tolist():
        text, vector = texts[row], vectors([row])[0]
        probs, evidence = model.predict_and_explain(text, vector)
        chosen = similar_for_accounts(model, posts, text, probs, evidence)
        content = {w for w in words_of(text) if telling(w)}
        winner = classes[int(np.argmax(probs))]
        towards = model.explain_each(text, probs, top=TERMS_PER_ACCOUNT)
        for account in authors:
            ev = evidence if account == winner else towards[classes.index(account)]
            deciding = {word_of(e.term) for e in ev if e.weight > 0 and telling(word_of(e.term))}
            index_of = {t: i for i, t in enumerate(posts[account].ids)}
            by_method = {
                "evidence": [index_of[t.id] for t in chosen[account]],
                "cosine": cosine_top(unit[account], vector),
            }
            direction = vector / (np.linalg.norm(vector) or 1)
            for method, picked in by_method.items():
                shown = [posts[account].texts[i] for i in picked]
                words = [words_of(t) for t in shown]
                for column in ("winner", "all") if account == winner else ("all",):
                    key = (method, column)
                    tally[key + ("columns",)] += 1
                    tally[key + ("shown",)] += len(shown)
                    tally[key + ("deciding",)] += sum(bool(w & deciding) for w in words)
                    tally[key + ("topic",)] += sum(bool(w & content) for w in words)
                    tally[key + ("topic2",)] += sum(len(w & content) >= 2 for w in words)
                    tally[key + ("cosine",)] += float(np.sum(unit[account][picked] @ direction))
                    tally[key + ("nonempty",)] += bool(shown)
    return tally


def summarize(tally: dict) -> dict:
    out = {}
    for method in ("evidence", "cosine"):
        for column in ("winner", "all"):
            key = (method, column)
            shown = tally[key + ("shown",)] or 1
            out[f"{method}/{column}"] = {
                "per_column": tally[key + ("shown",)] / tally[key + ("columns",)],
                "deciding": tally[key + ("deciding",)] / shown,
                "topic": tally[key + ("topic",)] / shown,
                "topic2": tally[key + ("topic2",)] / shown,
                "cosine": tally[key + ("cosine",)] / shown,
                "nonempty": tally[key + ("nonempty",)] / tally[key + ("columns",)],
            }
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--k", default="2,4")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--texts", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--half", default="check")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    texts, times, by_author = load_tweets(args.data)
    ks = [int(k) for k in args.k.split(",")]
    draws = draw_trials(by_author, ks, args.trials, args.train, args.test, args.seed, args.half)
    needed = [r for k in ks for draw in draws[k] for rows in draw.values() for part in rows for r in part]
    vectors = embed_once(texts, needed)
    results = {}
    for k in ks:
        total: dict = defaultdict(float)
        for i, draw in enumerate(draws[k]):
            for key, value in run_trial(texts, times, vectors, draw, args.texts, args.seed + i).items():
                total[key] += value
        results[k] = summarize(total)
        if not args.json:
            print(f"k={k} ({args.trials} trials x {args.texts} held-out texts, half {args.half})")
            print(
                f"  {'method/column':<18} {'posts/col':>9} {'deciding':>9} {'topic':>7} {'topic2':>7}"
                f" {'cosine':>7} {'non-empty':>9}"
            )
            for name, row in results[k].items():
                print(
                    f"  {name:<18} {row['per_column']:>9.2f} {row['deciding']:>9.1%} {row['topic']:>7.1%}"
                    f" {row['topic2']:>7.1%} {row['cosine']:>7.2f} {row['nonempty']:>9.1%}"
                )
    if args.json:
        print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
