"""Peak memory of an import, the code before the streaming imports and now, side by side (issue 17, finding 4).

    pipenv run python bench/import_memory.py --before /tmp/before [--quick] [--cases senate,csv-bomb,zip-bomb]

``--before`` is a checkout of the code to compare with, e.g. the commit before the stream branch:
``git worktree add --detach /tmp/before 8949ed6``; without it only this tree runs. Three files are built in
a temporary folder:

- ``senate``: the shared senate file as it is (137,605 tweets of 67 accounts, the CSV the importer reads);
- ``csv-bomb``: a .csv.gz of 3,000,000 identical rows (``author,tweet_id,created_at,text``), ~100 KB;
- ``zip-bomb``: an X archive .zip whose data/tweets.js is ~210 MB of one tweet repeated, under 1 MB.

Each file is imported in a fresh Python process per tree, as ``flask import csv|archive`` does
(``tasks.submit("import", ...)`` inline, no Redis) into a new SQLite database, after spaCy is loaded and
warmed up. Printed per case and tree: the process's resident memory before the import (``base``), its
peak during the import (``peak``, Linux's VmHWM reset just before), the import's wall time and its
outcome (tweets stored, or the refusal). ``--fake-embedder`` swaps spaCy for hashed vectors (fast, to
try the script); ``--quick`` imports 10,000 senate rows and a tenth of each bomb.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from common import (
    ROOT,
    SENATE_CSV,
    peak_mib,
    report_result,
    require_shared,
    reset_peak,
    rss_mib,
    run_child,
    settle,
    use_tree,
)

CASES = ("senate", "csv-bomb", "zip-bomb")
BOMB_ROWS = 3_000_000
ZIP_BOMB_MB = 210


# --- the files ---------------------------------------------------------------------------------------------


def senate_file(folder: Path, rows: int | None) -> tuple[Path, str]:
    """The shared senate file, or its first ``rows`` rows (whole CSV records) in a new .csv.gz."""
    source = require_shared(SENATE_CSV)
    if rows is None:
        return source, "csv"
    import csv

    path = folder / f"senate-{rows}.csv.gz"
    with gzip.open(source, "rt", encoding="utf-8", newline="") as inp, gzip.open(path, "wt", encoding="utf-8") as out:
        reader, writer = csv.reader(inp), csv.writer(out, lineterminator="\n")
        writer.writerow(next(reader))
        for _, row in zip(range(rows), reader):
            writer.writerow(row)
    return path, "csv"


def csv_bomb(folder: Path, rows: int) -> tuple[Path, str]:
    """A gzipped CSV of ``rows`` identical rows: tiny, and millions of rows once unpacked."""
    path = folder / f"bomb-{rows}.csv.gz"
    block = b"bomb,1,2021-01-03T02:30:07Z,hello\n" * 10_000
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"author,tweet_id,created_at,text\n")
        for _ in range(rows // 10_000):
            out.write(block)
    return path, "csv"


def zip_bomb(folder: Path, megabytes: int) -> tuple[Path, str]:
    """An X archive whose data/tweets.js is about ``megabytes`` MB of one tweet repeated."""
    from tests.archive_factory import archive_tweet, ytd_js

    account = [{"account": {"username": "zipbomb", "accountId": "4242", "accountDisplayName": "Zip Bomb"}}]
    entry = json.dumps(archive_tweet("1", "hello", datetime(2021, 1, 3, 2, 30, 7, tzinfo=UTC)), indent=2).encode()
    per_block = 1_000
    block = b",\n".join([entry] * per_block)
    blocks = max(1, megabytes * 1_000_000 // len(block))
    path = folder / f"archive-{megabytes}mb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("data/account.js", ytd_js("account", 0, account))
        with archive.open("data/tweets.js", "w", force_zip64=True) as member:
            member.write(b"window.YTD.tweets.part0 = [")
            for number in range(blocks):
                member.write(block if number == 0 else b",\n" + block)
            member.write(b"]")
    return path, "archive"


def build(case: str, folder: Path, quick: bool) -> tuple[Path, str, str]:
    """The file of ``case``, its kind for the importer, and a description."""
    if case == "senate":
        path, kind = senate_file(folder, 10_000 if quick else None)
        return path, kind, f"{'10,000 rows of ' if quick else ''}the senate CSV"
    if case == "csv-bomb":
        rows = BOMB_ROWS // 10 if quick else BOMB_ROWS
        path, kind = csv_bomb(folder, rows)
        return path, kind, f".csv.gz, {rows:,} identical rows"
    megabytes = ZIP_BOMB_MB // 10 if quick else ZIP_BOMB_MB
    path, kind = zip_bomb(folder, megabytes)
    with zipfile.ZipFile(path) as archive:
        unpacked = archive.getinfo("data/tweets.js").file_size
    return path, kind, f".zip, a {unpacked / 1e6:.0f} MB tweets.js"


# --- one import, in the child ------------------------------------------------------------------------------


class HashedEmbedder:
    """A stand-in for spaCy (``--fake-embedder``): a vector per text from its hash, 96 float32."""

    dim = 96

    def __init__(self, model_name: str):
        self.model_name = model_name

    def embed(self, texts, progress=None):
        import numpy as np

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = np.random.default_rng(abs(hash(text))).standard_normal(self.dim, dtype=np.float32)
        if progress is not None and len(texts):
            progress(len(texts))
        return out


def child(args: argparse.Namespace) -> None:
    tree = use_tree(args.tree)
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from twitapp import create_app, runtime, tasks
    from twitapp.config import TestConfig
    from twitapp.exceptions import HypoTweetError
    from twitapp.extensions import db
    from twitapp.models import Tweet

    app = create_app(TestConfig(DATABASE_URL=f"sqlite:///{args.database}"))
    with app.app_context():
        upgrade(directory=str(tree / "migrations"))
        if args.fake_embedder:
            app.extensions[runtime.KEY]["embedder"] = HashedEmbedder(runtime.embedder().model_name)
        runtime.embedder().embed(["warm up the spaCy model"])
        base = settle()
        reset_peak()
        started = time.perf_counter()
        try:
            with open(args.file, "rb") as handle:
                submitted = tasks.submit("import", stream=handle, filename=args.file, account=None, format=args.kind)
            summary = submitted.result
            outcome = f"stored {_count(summary.added, 'tweet')} of {_count(len(summary.results), 'account')}"
        except HypoTweetError as exc:
            outcome = f"refused ({type(exc).__name__}): {exc.message}"
        seconds = time.perf_counter() - started
        peak = peak_mib()
        stored = db.session.scalar(select(func.count()).select_from(Tweet))
    report_result(
        {"base_mib": base, "peak_mib": peak, "after_mib": rss_mib(), "seconds": seconds, "outcome": outcome}
        | {"stored": stored}
    )


# --- the side-by-side run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--quick", action="store_true", help="10,000 senate rows and a tenth of each bomb")
    parser.add_argument("--fake-embedder", action="store_true", help="hashed vectors instead of spaCy's")
    parser.add_argument("--json", action="store_true", help="also print every figure as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    for label, tree in trees:
        commit = (tree / ".git").exists() and _commit(tree)
        print(f"{label}: {tree} ({commit or 'unknown commit'})")
    folder = Path(tempfile.mkdtemp(prefix="hypotweet-import-memory-"))
    results: dict[str, dict[str, dict]] = {}
    try:
        for case in args.cases.split(","):
            path, kind, what = build(case, folder, args.quick)
            print(f"\n{case}: {what}, {path.stat().st_size / 1024:,.0f} KB", flush=True)
            results[case] = {"file": {"what": what, "kb": path.stat().st_size / 1024}}
            for label, tree in trees:
                database = folder / f"{case}-{label}.sqlite3"
                extra = ["--fake-embedder"] if args.fake_embedder else []
                result = run_child(
                    Path(__file__).resolve(),
                    tree,
                    ["--child", "--tree", str(tree), "--file", str(path), "--kind", kind, "--database", str(database)]
                    + extra,
                )
                database.unlink(missing_ok=True)
                results[case][label] = result
                print(f"  {label}: {_cell(result)}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print()
    labels = [label for label, _ in trees]
    print("| case | " + " | ".join(f"{label}: base / peak MiB, time, outcome" for label in labels) + " |")
    print("| --- | " + " | ".join("---" for _ in labels) + " |")
    for case, by_tree in results.items():
        file = by_tree["file"]
        cells = [_cell(by_tree[label]) for label in labels]
        print(f"| {case} ({file['what']}, {file['kb']:,.0f} KB) | " + " | ".join(cells) + " |")
    if args.json:
        print(json.dumps(results, indent=2))


def _cell(result: dict) -> str:
    if "error" in result:
        return f"failed: {result['error']}"
    return (
        f"{result['base_mib']:,.0f} / **{result['peak_mib']:,.0f}** (+{result['peak_mib'] - result['base_mib']:,.0f}),"
        f" {result['seconds']:.1f} s, {result['outcome']}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'s' if number != 1 else ''}"


def _commit(tree: Path) -> str:
    import subprocess

    done = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h"], capture_output=True, text=True)
    return done.stdout.strip()


if __name__ == "__main__":
    main()
