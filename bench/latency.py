"""Prediction latency: the app's cached model against the seed's way, side by side in one run.

    pipenv run python bench/latency.py [--requests 200] [--database-url URL] [--before TREE]

Loads 4 senators x 3,200 tweets from the shared file into a scratch database, then measures:
- the seed's way: embed the text and refit ``LogisticRegression()`` on the 96-d embeddings every request;
- the cold prediction (fit + cross-validation + the none-of-these check + the map's projection, on a cache
  miss), split into those parts;
- warm predictions through the service and through ``POST /api/predict`` (server-side: the test client),
  and a warm prediction's parts (embedding, model with its explanation, none of these, similar posts, map);
- that the model cache never holds more than ``MODEL_CACHE_SIZE`` models.

With ``--before TREE`` (a checkout of an older commit: ``git worktree add --detach /tmp/before <commit>``),
the same measurements run in a fresh process on each tree, one after the other, and print side by side;
with ``--alternate ROUNDS`` as well, both processes stay up (set up and fitted cold one after the other)
and measure ``ROUNDS`` batches each (the seed's way ``--seed-runs`` times, ``--requests`` warm predictions
through the service and the API), in turns, so that a busy machine's drift falls on both alike.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from common import ROOT, report_result, run_child, scratch_app, senate_by_author, use_tree
from threadpoolctl import threadpool_limits

HANDLES = ["JohnCornyn", "MarshaBlackburn", "SenatorHagerty", "SenWhitehouse"]
WARM_PARTS = ("embed", "model", "none_of_these", "similar", "map")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def report(label: str, seconds: list[float]) -> float:
    ms = [s * 1000 for s in seconds]
    p50 = statistics.median(ms)
    print(
        f"{label:<44} p50 {p50:8.1f} ms   p90 {percentile(ms, 90):8.1f} ms   p99 {percentile(ms, 99):8.1f} ms"
        f"   (n={len(ms)})"
    )
    return p50


def setup(args: argparse.Namespace, tree: Path) -> tuple[dict, dict]:
    """Store the accounts, fit their set cold, and return the cold figures and what a batch needs."""
    from twitapp import runtime
    from twitapp.extensions import db
    from twitapp.services import prediction
    from twitapp.services.file_import import import_accounts
    from twitapp.sources import ImportedAccount, ImportedTweet

    by_author = senate_by_author()
    app = scratch_app(args.database_url, migrations=tree / "migrations", MODEL_CACHE_SIZE=8)
    texts_pool = [r["text"] for h in by_author if h not in HANDLES for r in by_author[h][-50:] if len(r["text"]) <= 280]
    out: dict = {"tree": str(tree)}
    context = app.app_context()
    context.push()
    accounts = [
        ImportedAccount(
            h,
            "csv",
            [
                ImportedTweet(r["tweet_id"], r["text"], datetime.fromisoformat(r["created_at"]))
                for r in by_author[h][-args.tweets :]
            ],
        )
        for h in HANDLES
    ]
    t0 = time.perf_counter()
    import_accounts(db.session, accounts, runtime.embedder())
    out["load_s"] = time.perf_counter() - t0
    out["backend"] = db.engine.url.get_backend_name()
    embedder, cache = runtime.embedder(), runtime.model_cache()
    rng = random.Random(0)

    start = time.perf_counter()
    prediction.predict_author(db.session, HANDLES, rng.choice(texts_pool), embedder, cache)
    out["cold"] = time.perf_counter() - start
    chosen = prediction.resolve_candidates(db.session, HANDLES, 4)
    fitted, _ = cache.lookup(prediction.model_key(chosen, prediction.DEFAULT_TWEETS_PER_ACCOUNT), lambda: None)
    parts = dict(getattr(fitted, "timings", {}))
    if not parts:  # (an older tree: its fit's total, and its check's own time)
        check = fitted.outsiders.fit_seconds if getattr(fitted, "outsiders", None) else 0.0
        parts = {"model": fitted.fit_seconds - check, "none_of_these": check}
    parts.setdefault("map", out["cold"] - fitted.fit_seconds)
    out["cold_parts"] = parts
    state = {"app": app, "pool": texts_pool, "rng": rng, "fitted": fitted, "embedder": embedder, "cache": cache}
    return out, state


def batch(state: dict, requests: int, seed_runs: int) -> dict:
    """The seed's way ``seed_runs`` times, then ``requests`` warm predictions through the service, their
    parts, and through the API."""
    from sklearn.linear_model import LogisticRegression
    from sqlalchemy import select

    from twitapp.extensions import db
    from twitapp.models import Tweet
    from twitapp.services import prediction

    rng, pool, embedder, cache = state["rng"], state["pool"], state["embedder"], state["cache"]
    out: dict = {}
    # The seed's way: every request embeds the text and refits on the accounts' stored embeddings.
    rows = db.session.execute(select(Tweet.account_id, Tweet.embedding)).all()
    labels = [r[0] for r in rows]
    seed = []
    for _ in range(seed_runs):
        text = rng.choice(pool)
        start = time.perf_counter()
        vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        with threadpool_limits(1):
            model = LogisticRegression().fit(vectors, labels)
        model.predict_proba(embedder.embed([text]))
        seed.append(time.perf_counter() - start)
    out["seed"] = seed

    warm = []
    for _ in range(requests):
        text = rng.choice(pool)
        start = time.perf_counter()
        prediction.predict_author(db.session, HANDLES, text, embedder, cache)
        warm.append(time.perf_counter() - start)
    out["warm"] = warm
    out["warm_parts"] = warm_parts(state["fitted"], embedder, [rng.choice(pool) for _ in range(requests)])

    client = state["app"].test_client()
    through_api = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.post("/api/predict", json={"accounts": HANDLES, "text": rng.choice(pool)})
        through_api.append(time.perf_counter() - start)
        assert response.status_code == 200, response.json
    out["api"] = through_api
    return out


def cache_check(state: dict) -> list[int]:
    """Predictions over 10 more sets: [models held, distinct sets, the bound]."""
    from twitapp.extensions import db
    from twitapp.services import prediction

    cache = state["cache"]
    pairs = [list(p) for p in ((a, b) for i, a in enumerate(HANDLES) for b in HANDLES[i + 1 :])]
    for subset in pairs + [HANDLES[:3], HANDLES[1:]] + [HANDLES[::2] + HANDLES[1:2]]:
        prediction.predict_author(db.session, subset, "bounded cache check", state["embedder"], cache)
    return [len(cache), len(pairs) + 4, cache.maxsize]


def measure(args: argparse.Namespace, tree: Path) -> dict:
    """Every figure of one tree, in this process (``twitapp`` imported from ``tree``)."""
    out, state = setup(args, tree)
    out |= batch(state, args.requests, max(10, args.requests // 10))
    out["cache"] = cache_check(state)
    return out


def serve(args: argparse.Namespace, tree: Path) -> None:
    """A child of ``--alternate``: set up, report the cold figures, then answer "batch" lines (each a
    batch's figures) until "cache" (the cache check's, then exit)."""
    out, state = setup(args, tree)
    report_result(out)
    for line in sys.stdin:
        if line.strip() == "batch":
            report_result(batch(state, args.requests, args.seed_runs))
        else:
            report_result({"cache": cache_check(state)})
            return


def alternate(args: argparse.Namespace, trees: list[Path]) -> list[dict]:
    """Both trees' children set up one after the other, then ``args.alternate`` rounds of a batch each,
    in turns (the first tree first in even rounds): the machine's drift falls on both alike."""
    import json
    import subprocess

    prefix = "BENCH-RESULT "
    common = ["--requests", str(args.requests), "--tweets", str(args.tweets), "--seed-runs", str(args.seed_runs)]
    common += ["--database-url", args.database_url] if args.database_url else []
    children, results = [], []

    def read(child) -> dict:
        for line in child.stdout:
            if line.startswith(prefix):
                return json.loads(line.removeprefix(prefix))
        raise SystemExit(f"a child ended early (its log: {child.log})")

    for tree in trees:
        log = Path(f"/tmp/latency-{os.getpid()}-{len(children)}.log")
        env = dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *common, "--child", str(tree), "--serve"],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(log, "w"),  # noqa: SIM115 (the child writes it until it ends)
            text=True,
        )
        child.log = log  # type: ignore[attr-defined]
        children.append(child)
        results.append(read(child) | {"seed": [], "warm": [], "api": [], "rounds": []})
    for round_ in range(args.alternate):
        order = range(len(trees)) if round_ % 2 == 0 else reversed(range(len(trees)))
        for i in order:
            children[i].stdin.write("batch\n")
            children[i].stdin.flush()
            figures = read(children[i])
            for key in ("seed", "warm", "api"):
                results[i][key] += figures[key]
            results[i]["rounds"].append(figures["warm_parts"])
    for child, result in zip(children, results):
        child.stdin.write("cache\n")
        child.stdin.flush()
        result["cache"] = read(child)["cache"]
        child.wait(60)
        parts = result.pop("rounds")
        result["warm_parts"] = {p: statistics.median(r[p] for r in parts) for p in parts[0]}
    return results


def warm_parts(fitted, embedder, texts: list[str]) -> dict[str, float]:
    """Median seconds of each part of a warm prediction of one post, called as the service calls them."""
    from twitapp.services import prediction

    model = fitted.model
    names = [fitted.usernames[c] for c in model.classes_]
    times: dict[str, list[float]] = {part: [] for part in WARM_PARTS}
    for text in texts:
        t0 = time.perf_counter()
        vector = embedder.embed([text])
        t1 = time.perf_counter()
        answer = prediction._predict_post(model, text, vector[0], names)
        t2 = time.perf_counter()
        if fitted.outsiders is not None:
            fitted.outsiders.none_of_these([text], vector, answer.per_post)
        t3 = time.perf_counter()
        extra = (getattr(answer, "rows", None),) if hasattr(answer, "rows") else ()
        prediction._most_similar(fitted, text, answer.probabilities, answer.evidence, *extra)
        t4 = time.perf_counter()
        prediction._tweet_map(fitted, answer.probabilities)
        t5 = time.perf_counter()
        for part, (a, b) in zip(WARM_PARTS, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5))):
            times[part].append(b - a)
    return {part: statistics.median(values) for part, values in times.items()}


def print_one(out: dict, label: str = "") -> None:
    print(f"\n{label}prediction over {len(HANDLES)} accounts x tweets, one BLAS thread ({out['backend']})")
    seed_p50 = report("seed's way (refit 96-d LR every request)", out["seed"])
    print(f"{'hypotweet cold (everything on a cache miss)':<44} {out['cold'] * 1000:8.0f} ms")
    for part, seconds in out["cold_parts"].items():
        print(f"{'  of which ' + part:<44} {seconds * 1000:8.0f} ms")
    warm_p50 = report("hypotweet warm, service call", out["warm"])
    print("  its parts (p50): " + ", ".join(f"{p} {s * 1000:.2f} ms" for p, s in out["warm_parts"].items()))
    api_p50 = report("hypotweet warm, POST /api/predict", out["api"])
    print(
        f"cold fit / seed's way: {out['cold'] * 1000 / seed_p50:.1f}x; speed-up of a warm prediction over the "
        f"seed's way: {seed_p50 / warm_p50:.0f}x (service), {seed_p50 / api_p50:.0f}x (API)"
    )
    held, sets, bound = out["cache"]
    print(f"model cache: {held} models held after {sets} distinct sets (bound MODEL_CACHE_SIZE={bound})")


def side_by_side(before: dict, after: dict) -> None:
    def ratios(out: dict) -> list[str]:
        seed = statistics.median(out["seed"])
        return [
            f"{seed * 1000:.0f} ms",
            f"{out['cold'] * 1000:.0f} ms",
            *(f"{out['cold_parts'].get(p, float('nan')) * 1000:.0f} ms" for p in ("model", "none_of_these", "map")),
            f"{out['cold'] / seed:.1f}x",
            f"{statistics.median(out['warm']) * 1000:.1f} ms",
            f"{seed / statistics.median(out['warm']):.0f}x",
            f"{statistics.median(out['api']) * 1000:.1f} ms",
            f"{seed / statistics.median(out['api']):.0f}x",
        ]

    labels = [
        "seed's way p50",
        "cold prediction",
        "  model + CV",
        "  none of these",
        "  map / similar",
        "cold / seed (goal <= 8x)",
        "warm service p50",
        "seed / warm service (goal >= 60x)",
        "warm API p50",
        "seed / warm API (goal >= 45x)",
    ]
    print(f"\n{'':<36} {'before':>12} {'after':>12}")
    for label, b, a in zip(labels, ratios(before), ratios(after)):
        print(f"{label:<36} {b:>12} {a:>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--tweets", type=int, default=3200)
    parser.add_argument("--database-url")
    parser.add_argument("--before", help="a checkout of an older commit, measured first in its own process")
    parser.add_argument(
        "--alternate", type=int, default=0, help="with --before: this many rounds of a batch per tree, in turns"
    )
    parser.add_argument("--seed-runs", type=int, default=3, help="the seed's refits per round of --alternate")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # (the tree a child process measures)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # (a child of --alternate)
    args = parser.parse_args()
    if args.child:
        tree = use_tree(args.child)
        if args.serve:
            serve(args, tree)
        else:
            report_result(measure(args, tree))
        return
    if not args.before:
        print_one(measure(args, ROOT))
        return
    if args.alternate:
        results = alternate(args, [Path(args.before).resolve(), ROOT])
        for label, result in zip(("before", "after"), results):
            print_one(result, f"[{label}: {result['tree']}, {args.alternate} rounds in turns] ")
        side_by_side(*results)
        return
    common = ["--requests", str(args.requests), "--tweets", str(args.tweets)]
    common += ["--database-url", args.database_url] if args.database_url else []
    results = []
    for tree in (Path(args.before).resolve(), ROOT):
        result = run_child(Path(__file__).resolve(), tree, [*common, "--child", str(tree)])
        if "error" in result:
            sys.exit(f"{tree}: {result['error']}")
        print_one(result, f"[{'before' if tree != ROOT else 'after'}: {tree}] ")
        results.append(result)
    side_by_side(*results)


if __name__ == "__main__":
    main()
