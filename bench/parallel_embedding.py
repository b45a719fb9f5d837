"""An import's embedding in one process and in several, side by side (issue 20, "Ingest").

    pipenv run python bench/parallel_embedding.py [--processes 1,2] [--rows 137605] [--embed-only]

For each number of processes, in a fresh Python process (so that nothing is warm from the other run): the
shared senate CSV (or its first ``--rows`` rows) imported as ``flask import csv`` does, into a new SQLite
database, with ``EMBED_PROCESSES`` set to that number. Printed: wall time, posts per second, the speed-up
against the first, and the peak resident memory of the importing process and of its embedding processes
(the largest child's peak). ``--embed-only`` embeds the texts without storing them.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import resource
import sys
import time

from common import ROOT, SENATE_CSV, peak_mib, report_result, require_shared, run_child, scratch_app


def child(processes: int, rows: int, embed_only: bool) -> None:
    data = gzip.decompress(require_shared(SENATE_CSV).read_bytes())
    if rows:  # the first rows, cut by the CSV reader (a text can hold newlines)
        table = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[: rows + 1]
        out = io.StringIO()
        csv.writer(out).writerows(table)
        data = out.getvalue().encode("utf-8")
    app = scratch_app(EMBED_PROCESSES=processes)
    from twitapp import runtime, tasks
    from twitapp.services.embedding import shutdown_pools

    with app.app_context():
        embedder = runtime.embedder()
        embedder.embed(["warm up"] * 8)
        started = time.perf_counter()
        if embed_only:
            texts = [row["text"] for row in csv.DictReader(io.StringIO(data.decode("utf-8")))]
            embedder.embed(texts)
            stored = len(texts)
        else:
            summary = tasks.submit("import", stream=io.BytesIO(data), filename="tweets.csv", account=None).result
            stored = summary.added
        seconds = time.perf_counter() - started
    shutdown_pools()  # (a child's peak is counted once it has ended)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child's peak, MiB
    report_result(
        {"processes": processes, "posts": stored, "seconds": seconds, "peak_mib": peak_mib(), "child_mib": children}
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--rows", type=int, default=0, help="import only the first N rows (0: all)")
    parser.add_argument("--embed-only", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.rows, args.embed_only)
        return
    extra = ["--rows", str(args.rows)] + (["--embed-only"] if args.embed_only else [])
    results = []
    for processes in [int(p) for p in args.processes.split(",")]:
        result = run_child(ROOT / "bench" / "parallel_embedding.py", ROOT, ["--child", str(processes), *extra], 3600)
        results.append(result)
        print(result, file=sys.stderr, flush=True)
    base = results[0].get("seconds")
    print(
        f"{'processes':>9} {'posts':>8} {'seconds':>8} {'posts/s':>8} {'speed-up':>8} {'peak MiB':>9} {'child MiB':>9}"
    )
    for r in results:
        if "error" in r:
            print(f"{'?':>9} {r['error']}")
            continue
        print(
            f"{r['processes']:>9} {r['posts']:>8} {r['seconds']:>8.1f} {r['posts'] / r['seconds']:>8.0f} "
            f"{base / r['seconds']:>7.2f}x {r['peak_mib']:>9.0f} {r['child_mib']:>9.0f}"
        )


if __name__ == "__main__":
    main()
