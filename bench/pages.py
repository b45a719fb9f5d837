"""Server time of each request of bench/load.py's mix, in-process (the Flask test client, no network), on
the database bench/load.py filled; this tree against another checkout, in turns.

    OPENBLAS_NUM_THREADS=1 pipenv run python bench/pages.py --database-url postgresql://postgres@127.0.0.1:5432/load_bench
        [--requests 60] [--before /tmp/load-before --alternate 4]

Each turn is a fresh process of one tree: a warm-up (the model fitted once), then ``--requests`` calls of
each request; it reports the median wall time and the median CPU time of this process (the database's own
work is in another process: in the wall time only). With ``--before``, the medians over the turns of each
tree side by side. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common import ROOT, report_result, run_child, use_tree

HANDLES = ["JohnCornyn", "MarshaBlackburn", "SenatorHagerty", "SenWhitehouse"]
TEXT = "We must secure the border and support the farmers and ranchers of our state"
REQUESTS = {
    "home page": ("GET", "/"),
    "GET /api/accounts": ("GET", "/api/accounts"),
    "an account's page": ("GET", "/accounts/JohnCornyn"),
    "an account's page 9": ("GET", "/accounts/SenWhitehouse?page=9"),
    "POST /api/predict": ("POST", "/api/predict"),
    "the form's result page": ("POST", "/predict"),
}


def measure(tree: str, url: str, requests: int) -> dict:
    """Median wall and CPU milliseconds of each request, in this process, with ``tree``'s app."""
    use_tree(tree)
    import gc
    import os

    os.environ.setdefault("LOG_LEVEL", "WARNING")  # (a log line per request is not what is measured)

    from twitapp import create_app
    from twitapp.config import TestConfig

    app = create_app(TestConfig(DATABASE_URL=url))
    client = app.test_client()

    def call(method: str, path: str):
        if path == "/api/predict":
            return client.post(path, json={"accounts": HANDLES, "text": TEXT})
        if path == "/predict":
            return client.post(path, data={"accounts": HANDLES, "text": TEXT})
        return client.get(path)

    for method, path in REQUESTS.values():
        for _ in range(3):
            assert call(method, path).status_code == 200, path
    gc.collect()
    gc.freeze()  # the warm-up's objects, as gunicorn.conf.py freezes the preloaded app's
    result = {}
    for name, (method, path) in REQUESTS.items():
        wall, cpu = [], []
        for _ in range(requests):
            started, cpu_started = time.perf_counter(), time.process_time()
            call(method, path)
            cpu.append(time.process_time() - cpu_started)
            wall.append(time.perf_counter() - started)
        result[name] = {"wall": 1000 * statistics.median(wall), "cpu": 1000 * statistics.median(cpu)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hypotweet_load")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--before", help="another checkout, measured in turns with this tree")
    parser.add_argument("--alternate", type=int, default=4)
    parser.add_argument("--tree", help=argparse.SUPPRESS)  # a turn's child: measure this tree and report
    args = parser.parse_args()
    if args.tree:
        report_result(measure(args.tree, args.database_url, args.requests))
        return
    trees = {"before": Path(args.before).resolve(), "after": ROOT} if args.before else {"this tree": ROOT}
    turns: dict[str, list[dict]] = {label: [] for label in trees}
    script = ROOT / "bench" / "pages.py"
    for turn in range(args.alternate if args.before else 1):
        for label, tree in trees.items():
            child = ["--tree", str(tree), "--database-url", args.database_url, "--requests", str(args.requests)]
            result = run_child(script, tree, child)
            if "error" in result:
                raise SystemExit(f"{label}, turn {turn + 1}: {result['error']}")
            turns[label].append(result)
            print(f"  turn {turn + 1}, {label}: done in {result['process_s']:.0f} s", flush=True)
    print(f"\n  median over {len(next(iter(turns.values())))} turn(s) of each turn's median, ms: wall (CPU)")
    print("  | request | " + " | ".join(trees) + " |")
    print("  | --- |" + " --- |" * len(trees))
    for name in REQUESTS:
        cells = []
        for label in trees:
            wall = statistics.median(t[name]["wall"] for t in turns[label])
            cpu = statistics.median(t[name]["cpu"] for t in turns[label])
            cells.append(f"{wall:.1f} ({cpu:.1f})")
        print(f"  | {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
