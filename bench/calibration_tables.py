"""The per-text calibration tables of ``bench/accuracy.py --calibration`` (issue 18): per length of the
held-out posts, content-free texts, and sets of several posts of one author.

"before" is the same fitted model's probabilities with the calibration issue 18 replaced (one temperature
fitted on the out-of-fold logits, no shrinkage by support), so both columns come from the same regression.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from twitapp.authorship.calibration import calibrated_temperature
from twitapp.authorship.sets import combine

BINS = ((1, 4), (5, 9), (10, 19), (20, 10**9))
CONTENT_FREE = ("hello", "ok", "Thank you", "Thanks!", "https://t.co/abc123", "\U0001f1fa\U0001f1f8", "lol")
SET_SIZES = (1, 3, 5, 10, 25)
SETS_PER_AUTHOR = 40


def before_proba(model, texts, embeddings, train_labels) -> np.ndarray:
    """The model's probabilities with one temperature fitted on its out-of-fold logits (the calibration
    before issue 18)."""
    features = model.stacking_features(texts, embeddings)
    scores = (np.asarray(features @ model.regression_.coef_.T) + model.regression_.intercept_) * model.temperature
    if scores.shape[1] == 1:
        scores = np.column_stack([np.zeros(len(scores)), scores[:, 0]])
    y = np.array([model.classes_.index(label) for label in train_labels])
    return softmax(scores / calibrated_temperature(model.out_of_fold_logits_, y), axis=1)


def trial_rows(model, texts, embeddings, truth, train_labels, free_embeddings, seed: int) -> dict:
    """One trial's figures: per held-out post its words, whether the guess is right and its probability
    (after and before); the content-free texts' guess probabilities; sets of posts."""
    after = model.predict_proba(texts, embeddings)
    before = before_proba(model, texts, embeddings, train_labels)
    y = np.array([model.classes_.index(label) for label in truth])
    rows = {
        "words": np.array([len(t.split()) for t in texts]),
        "right": after.argmax(axis=1) == y,
        "same_guess": bool(np.all(after.argmax(axis=1) == before.argmax(axis=1))),
        "after": after.max(axis=1),
        "before": before.max(axis=1),
        "free_after": model.predict_proba(list(CONTENT_FREE), free_embeddings).max(axis=1),
        "free_before": before_proba(model, list(CONTENT_FREE), free_embeddings, train_labels).max(axis=1),
        "exponent": model.set_exponent,
        "scale": model.support_scale,
        "temperature": model.temperature,
    }
    rng = np.random.default_rng(seed)
    logs = np.log(np.clip(after.astype(np.float64), 1e-300, 1))
    sets = {}
    for n in SET_SIZES:
        picks, labels = [], []
        for label in np.unique(y):
            own = np.flatnonzero(y == label)
            if n <= own.size:
                picks += [rng.choice(own, n, replace=False) for _ in range(SETS_PER_AUTHOR)]
                labels += [label] * SETS_PER_AUTHOR
        set_logs, labels = logs[np.stack(picks)], np.asarray(labels)
        sets[n] = {
            rule: (p.argmax(axis=1) == labels, p.max(axis=1))
            for rule, p in (("fitted", combine(set_logs, model.set_exponent)), ("product", combine(set_logs, 0.0)))
        }
    rows["sets"] = sets
    return rows


def print_tables(k: int, trials: list[dict]) -> dict:
    """Print and return the three tables of one k over its trials."""
    words = np.concatenate([t["words"] for t in trials])
    right = np.concatenate([t["right"] for t in trials])
    after = np.concatenate([t["after"] for t in trials])
    before = np.concatenate([t["before"] for t in trials])
    out: dict = {"bins": {}, "sets": {}}
    print(f"k={k} per length: words, n, accuracy, mean p(guess) before / after, gap before / after")
    for low, high in BINS:
        kept = (words >= low) & (words <= high)
        if not kept.any():
            continue
        acc, was, now = right[kept].mean(), before[kept].mean(), after[kept].mean()
        label = f"{low}+" if high > 10**6 else f"{low}-{high}"
        out["bins"][label] = {"n": int(kept.sum()), "accuracy": acc, "before": was, "after": now}
        print(f"  {label:>6} {kept.sum():>5} {acc:6.3f} {was:6.3f} / {now:6.3f} {was - acc:+6.3f} / {now - acc:+6.3f}")
    print(
        f"  all    {right.size:>5} {right.mean():6.3f} {before.mean():6.3f} / {after.mean():6.3f} "
        f"{before.mean() - right.mean():+6.3f} / {after.mean() - right.mean():+6.3f}"
        f"   (guesses unchanged: {all(t['same_guess'] for t in trials)})"
    )
    free_after = np.stack([t["free_after"] for t in trials]).mean(axis=0)
    free_before = np.stack([t["free_before"] for t in trials]).mean(axis=0)
    out["content_free"] = {"before": float(free_before.mean()), "after": float(free_after.mean()), "chance": 1 / k}
    print(
        f"k={k} content-free texts: mean p(guess) before {free_before.mean():.3f}, "
        f"after {free_after.mean():.3f}, chance {1 / k:.3f}"
    )
    for text, was, now in zip(CONTENT_FREE, free_before, free_after):
        print(f"    {text!r:<24} {was:.3f} -> {now:.3f}")
    params = {name: float(np.mean([t[name] for t in trials])) for name in ("temperature", "scale", "exponent")}
    out["params"] = params
    print(
        f"k={k} fitted (mean over trials): temperature {params['temperature']:.2f}, "
        f"support scale {params['scale']:.2f}, set exponent {params['exponent']:.2f}"
    )

    print(f"k={k} post sets: n, rule, accuracy, mean p(guess), gap")
    for n in SET_SIZES:
        for rule in ("fitted", "product"):
            hits = np.concatenate([t["sets"][n][rule][0] for t in trials])
            conf = np.concatenate([t["sets"][n][rule][1] for t in trials])
            out["sets"][f"{n} {rule}"] = {"accuracy": hits.mean(), "conf": conf.mean()}
            print(f"  {n:>3} {rule:<8} {hits.mean():6.3f} {conf.mean():6.3f} {conf.mean() - hits.mean():+6.3f}")
    return out
